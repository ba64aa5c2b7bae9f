"""Metadata -> per-column transforms -> the numeric table a model learns, and back.

Columns a model may learn (numbers, categories, booleans, datetimes) are
encoded; a column with missing values gains a ``<name>#null`` indicator so
that a model learns how often and alongside what values are missing. Ids,
PII and free text never reach a model: they are regenerated on the way back,
and so are the labels of a category column's open tail (its rare values).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd

from simulacra.errors import InvalidDataError
from simulacra.metadata import Metadata
from simulacra.transforms import Transform, generator_for, transform_for
from simulacra.transforms.identifiers import IdGenerator
from simulacra.transforms.pii import PiiGenerator

__all__ = ["NULL_SUFFIX", "EncodedColumn", "EncodedTable", "Processor"]

NULL_SUFFIX = "#null"


@dataclass(frozen=True)
class EncodedColumn:
    """One column of the encoded table: floats (continuous) or codes (discrete)."""

    name: str
    source: str
    kind: str
    cardinality: int | None = None


@dataclass
class EncodedTable:
    """What a synthesizer family learns from: numbers only, with their kinds."""

    data: pd.DataFrame
    columns: list[EncodedColumn]
    # the table's columns the model does not draw: regenerated (ids, PII) or rebuilt by a rule
    drawn_elsewhere: frozenset[str] = frozenset()

    def of_kind(self, kind: str) -> list[EncodedColumn]:
        return [c for c in self.columns if c.kind == kind]

    def filled(self, name: str) -> np.ndarray | None:
        """Rows where column ``name`` was missing and holds a drawn stand-in, if any."""
        indicator = name + NULL_SUFFIX
        if indicator not in self.data:
            return None
        return self.data[indicator].to_numpy() == 1


class Processor:
    """Fits one transform per learned column and one generator per regenerated column."""

    def __init__(self, metadata: Metadata) -> None:
        self.metadata = metadata
        self.transforms_: dict[str, Transform] = {}
        self.generators_: dict[str, IdGenerator | PiiGenerator] = {}
        self.nullable_: dict[str, bool] = {}
        self.null_share_: dict[str, float] = {}
        self.dtypes_: dict[str, dict[str, Any]] = {}  # a training DataFrame's (see _dtypes)

    def fit(self, data: pd.DataFrame, rng: np.random.Generator | None = None) -> Self:
        """Learn every column; ``rng`` draws the open tails (new labels) of category columns.

        The tails draw from a stream spawned off ``rng``, so ``rng``'s own draws are unchanged.
        """
        tails = rng.spawn(1)[0] if rng is not None else None
        clash = [
            n
            for n in self.metadata.columns
            if n.endswith(NULL_SUFFIX) and n.removesuffix(NULL_SUFFIX) in self.metadata.columns
        ]
        if clash:
            raise InvalidDataError(
                f"column {clash[0]!r} has the name of the missing-value flag kept for "
                f"{clash[0].removesuffix(NULL_SUFFIX)!r}; rename it (any name not ending in "
                f"{NULL_SUFFIX!r})"
            )
        for name, column in self.metadata.columns.items():
            values = data[name]
            present = values.dropna()
            self.nullable_[name] = bool(len(present) < len(values))
            if column.modelled:
                self.transforms_[name] = transform_for(column).fit(present, rng=tails)
            else:
                self.generators_[name] = generator_for(column).fit(present)
                self.null_share_[name] = 1.0 - len(present) / len(values)
        return self

    @property
    def columns(self) -> list[EncodedColumn]:
        out = []
        for name, t in self.transforms_.items():
            out.append(EncodedColumn(name, name, t.kind, t.cardinality))
            if self.nullable_[name]:
                out.append(EncodedColumn(name + NULL_SUFFIX, name, "discrete", 2))
        return out

    def encode(self, data: pd.DataFrame, rng: np.random.Generator) -> EncodedTable:
        """Numbers for every learned column; missing cells filled with drawn observed values."""
        out: dict[str, np.ndarray] = {}
        for name, t in self.transforms_.items():
            values = data[name]
            null = values.isna().to_numpy()
            encoded = np.empty(len(values), dtype="int64" if t.kind == "discrete" else "float64")
            encoded[~null] = t.encode(values[~null])
            if t.kind == "discrete" and self.nullable_[name]:
                # no code for it (a DP model's declared categories, no "other"): a gap
                null = null | (encoded >= t.cardinality)
            if null.any():
                observed = encoded[~null]
                if len(observed) == 0:
                    observed = np.zeros(1, dtype=encoded.dtype)
                encoded[null] = observed[rng.integers(0, len(observed), int(null.sum()))]
            out[name] = encoded
            if self.nullable_[name]:
                out[name + NULL_SUFFIX] = null.astype("int64")
        elsewhere = frozenset(self.metadata.columns) - set(self.transforms_)
        return EncodedTable(
            pd.DataFrame(out, index=pd.RangeIndex(len(data))), self.columns, elsewhere
        )

    def decode(
        self,
        encoded: pd.DataFrame,
        *,
        start: int,
        rng: np.random.Generator,
        key: int,
        total: int,
        learned_only: bool = False,
    ) -> pd.DataFrame:
        """Back to the source's columns, types and formats; ids and PII regenerated.

        ``start`` is the global index of the first row (ids stay unique across
        batches); ``key`` and ``total`` (rows in the run) are fixed for one sampling run.
        With ``learned_only`` only the learned columns come back (no draws from ``rng``;
        an open tail's rows read ``(other)``).
        """
        n = len(encoded)
        out: dict[str, pd.Series] = {}
        for name in self.metadata.columns:
            if learned_only and name not in self.transforms_:
                continue
            null = None
            if self.nullable_.get(name) and name + NULL_SUFFIX in encoded:
                null = encoded[name + NULL_SUFFIX].to_numpy() == 1
            if name in self.transforms_:
                transform = self.transforms_[name]
                values = encoded[name].to_numpy()
                if transform.kind == "discrete":
                    values = values.astype(np.int64, copy=False)
                if getattr(transform, "tail_", None) and not learned_only:
                    out[name] = transform.decode(values, null, rng=rng)
                else:
                    out[name] = transform.decode(values, null)
            else:
                values = self.generators_[name].generate(
                    n, start=start, rng=rng, key=key, total=total
                )
                share = self.null_share_.get(name, 0.0)
                if share > 0:
                    values = values.astype(object)
                    values[rng.random(n) < share] = None
                out[name] = values
        return pd.DataFrame(out)

    # ------------------------------------------------------------- persistence
    def get_state(self) -> dict[str, Any]:
        return {
            "nullable": dict(self.nullable_),
            "null_share": dict(self.null_share_),
            "transforms": {k: t.get_state() for k, t in self.transforms_.items()},
            "generators": {k: g.get_state() for k, g in self.generators_.items()},
            "dtypes": self.dtypes_,
        }

    @classmethod
    def from_state(cls, metadata: Metadata, state: dict[str, Any]) -> Processor:
        proc = cls(metadata)
        proc.nullable_ = {k: bool(v) for k, v in state["nullable"].items()}
        proc.null_share_ = {k: float(v) for k, v in state["null_share"].items()}
        proc.dtypes_ = dict(state.get("dtypes", {}))  # model files before 0.1.0's dtypes: none
        for name, sub in state["transforms"].items():
            proc.transforms_[name] = transform_for(metadata.columns[name]).set_state(sub)
        for name, sub in state["generators"].items():
            proc.generators_[name] = generator_for(metadata.columns[name]).set_state(sub)
        return proc
