"""The contract every synthesizer family keeps, and the work they all share.

A family declares its hyperparameters once (``params``) and implements two
methods on the processor's numeric table: ``_fit(encoded, rng)`` and
``_sample(n, rng) -> DataFrame``. The base owns metadata, preprocessing,
seeding, batching and persistence.
"""

from __future__ import annotations

import difflib
import math
import numbers
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from simulacra._dtypes import record as record_dtypes
from simulacra._dtypes import restore as restore_dtypes
from simulacra._dtypes import widened as widen_floats
from simulacra.conditions import Evidence
from simulacra.errors import InvalidParameterError, NotFittedError
from simulacra.io import read_table
from simulacra.metadata import Metadata
from simulacra.processor import EncodedColumn, EncodedTable, Processor

__all__ = ["BLOCK_ROWS", "Param", "Synthesizer"]

BLOCK_ROWS = 262_144  # rows drawn per random stream: output never depends on batch size
DEFAULT_BATCH = 1_000_000
_FIT_STREAM, _BLOCK_STREAM, _KEY_STREAM = 0, 1, 2


@dataclass(frozen=True)
class Param:
    """One hyperparameter: its type, bounds or choices, default and help text."""

    name: str
    type: type
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    open_low: bool = False  # low itself is not allowed (epsilon > 0)
    open_high: bool = False

    def allowed(self) -> str:
        if self.choices is not None:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            kind = {int: "a whole number", float: "a number", bool: "true or false"}.get(
                self.type, self.type.__name__
            )
            lo = "" if self.low is None else f" {'>' if self.open_low else '>='} {self.low:g}"
            hi = "" if self.high is None else f" {'<' if self.open_high else '<='} {self.high:g}"
            text = kind + (f"{lo} and{hi}" if lo and hi else lo or hi)
        return text + (", or None" if self.nullable else "")

    def check(self, value: Any, family: str) -> Any:
        """The value, coerced to the declared type; an error naming what is allowed."""
        if value is None and self.nullable:
            return None
        ok = True
        if self.type is bool:
            ok = isinstance(value, bool | np.bool_)
        elif self.type is int:
            ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        elif self.type is float:
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            ok = ok and math.isfinite(value)
        elif self.choices is None:
            ok = isinstance(value, self.type)
        if ok and self.choices is not None:
            ok = value in self.choices
        if ok and self.low is not None:
            ok = value > self.low if self.open_low else value >= self.low
        if ok and self.high is not None:
            ok = value < self.high if self.open_high else value <= self.high
        if not ok:
            raise InvalidParameterError(
                f"{family}: parameter {self.name!r} got {value!r}; it must be {self.allowed()}"
            )
        return self.type(value) if self.type in (int, float, bool) else value


SEED = Param(
    "seed",
    int,
    None,
    "Seed for every random draw; the same seed, data and version give the same output.",
    low=0,
    nullable=True,
)

GUARD_COPIES = Param(
    "guard_copies",
    bool,
    False,
    "Redraw synthetic rows that repeat a row found once in the training data, down to "
    "the share of unseen real rows that do (read at fit; at most half the rows). The model "
    "file then holds a hash of each such training row: whoever has the file can test "
    "candidate rows against them, so keep it as private as the data.",
)


class Synthesizer(ABC):
    """Base of every family. Construct with keyword parameters, then ``fit`` and ``sample``."""

    name: ClassVar[str] = "base"
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    # parameters that make a fit quick on a small table (the conformance suite, the tests)
    quick_params: ClassVar[dict[str, Any]] = {}
    # whether the metadata fit detects for itself proposes formula constraints (sums)
    detects_formulas: ClassVar[bool] = True
    # whether the same seed and data give the same model (DP noise is never seeded)
    deterministic_fit: ClassVar[bool] = True
    # whether the family offers the copy guard (``guard_copies``); resampling and DP
    # families do not: one copies by design, the other may not keep training rows' hashes
    guards_copies: ClassVar[bool] = True
    # whether the family learns its rules' reparametrizations (the gap ``end - start``);
    # DP families do not (those read the rows): rows that break a rule are drawn again
    reparametrizes_rules: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        declared = {p.name for p in self.all_params()}
        unknown = sorted(set(params) - declared)
        if unknown:
            near = [difflib.get_close_matches(name, declared, n=1) for name in unknown]
            hint = "".join(
                f" ({name!r}: did you mean {match[0]!r}?)"
                for name, match in zip(unknown, near, strict=True)
                if match
            )
            raise InvalidParameterError(
                f"{self.name}: unknown parameter(s) {unknown}{hint}; known: {sorted(declared)}"
            )
        for p in self.all_params():
            setattr(self, p.name, params.get(p.name, p.default))

    @classmethod
    def all_params(cls) -> tuple[Param, ...]:
        return (SEED, *cls.params, GUARD_COPIES) if cls.guards_copies else (SEED, *cls.params)

    def get_params(self) -> dict[str, Any]:
        return {p.name: getattr(self, p.name) for p in self.all_params()}

    def _checked_params(self) -> dict[str, Any]:
        return {p.name: p.check(getattr(self, p.name), self.name) for p in self.all_params()}

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v is not None}
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        data: pd.DataFrame | str | Path,
        metadata: Metadata | str | Path | None = None,
    ) -> Self:
        """Learn from ``data`` (a DataFrame or a file path); return ``self``.

        Without ``metadata`` the column types are detected. The caller's
        DataFrame is never changed.
        """
        for p, value in self._checked_params().items():
            setattr(self, p, value)
        source = read_table(data)
        frame = widen_floats(source)
        if metadata is None:
            meta = Metadata.detect(frame, formulas=self.detects_formulas)
        else:
            meta = metadata if isinstance(metadata, Metadata) else Metadata.from_json(metadata)
            meta.validate(frame, where=_where(data, metadata), rules=self.reparametrizes_rules)
            if self.detects_formulas:  # DP families clip to declared bounds by design
                for message in meta.outside_bounds(frame):
                    warnings.warn(message, UserWarning, stacklevel=2)
        constraints = None
        if meta.constraints:  # validate() has checked the training rows against them
            from simulacra.constraints import constraint_set

            constraints = constraint_set(meta)
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(_FIT_STREAM,)))
        meta, processor = self._preprocess(meta, frame, rng, declared=metadata is not None)
        if isinstance(data, pd.DataFrame):  # a file's columns are text: no dtypes to give back
            processor.dtypes_ = record_dtypes(source)
        encoded = learned = processor.encode(frame, rng)
        if constraints is not None and self.reparametrizes_rules:
            learned = constraints.fit(frame, encoded).encode(encoded)
        elif constraints is not None:
            constraints.fit(frame).checks_only = True
        self.constraints_ = constraints  # a family may keep some rules while it draws (cart)
        self._fit(learned, rng)
        self.metadata_ = meta
        self.processor_ = processor
        self.columns_ = learned.columns
        self.reparametrized_ = _changed_columns(encoded, learned)
        self.n_training_rows_ = len(frame)
        if self.guards_copies:
            from simulacra.synthesizers._copies import fit_copy_guard

            guard = fit_copy_guard(self, learned.data, rng) if self.guard_copies else None
            self.copy_guard_ = guard
        return self

    def _preprocess(
        self, meta: Metadata, frame: pd.DataFrame, rng: np.random.Generator, *, declared: bool
    ) -> tuple[Metadata, Processor]:
        """The metadata the model keeps and its fitted processor (``declared``: given by the user).

        Differentially private families override this: they may not read ranges
        or categories from the data for free.
        """
        return meta, Processor(meta).fit(frame, rng)

    @abstractmethod
    def _fit(self, encoded: EncodedTable, rng: np.random.Generator) -> None:
        """Learn from the encoded table; store learned state in ``*_`` attributes."""

    @abstractmethod
    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` encoded rows with the columns of the table given to ``_fit``."""

    def _sample_conditional(
        self, n: int, rng: np.random.Generator, evidence: Evidence
    ) -> pd.DataFrame | None:
        """``n`` encoded rows drawn under ``evidence`` (row ``i`` under row ``i``).

        Return ``None`` when this family cannot condition on this evidence; the
        base then falls back to bounded rejection sampling. A family may meet
        part of the evidence natively (its categories, say) and leave the rest
        (ranges): the base checks every row and redraws the ones that miss.
        """
        return None

    # --------------------------------------------------------------- sample
    def _check_fitted(self) -> None:
        if not hasattr(self, "processor_"):
            raise NotFittedError(
                f"this {self.name} synthesizer is not fitted yet; call fit(data) first"
            )

    def sample(
        self,
        n: int | None = None,
        *,
        seed: int | None = None,
        conditions: dict[str, Any] | pd.DataFrame | None = None,
        rebalance: dict[str, dict[Any, float]] | None = None,
    ) -> pd.DataFrame:
        """``n`` synthetic rows in the source's columns, types and formats.

        ``seed`` overrides the constructor's seed; with neither, every call differs.
        ``conditions`` fixes values: a dict such as ``{"region": "North", "age":
        (30, 40)}`` (a tuple is a closed range, a list any of its values, ``None``
        a missing cell) for every row, or a DataFrame with one output row per
        row (``n`` may then be left out; empty cells are free). ``rebalance``
        sets categories' shares, e.g. ``{"diagnosis": {"rare": 0.3}}``; the other
        categories share the rest in their learned proportions. Families that
        can condition exactly do; otherwise rows are drawn until they meet the
        conditions, and an error names a condition too rare to meet.
        ``last_sample_info`` then says how many rows were drawn and how.
        """
        batches = self.sample_batches(
            n, batch_size=None, seed=seed, conditions=conditions, rebalance=rebalance
        )
        return pd.concat(list(batches))

    def sample_batches(
        self,
        n: int | None = None,
        batch_size: int | None = DEFAULT_BATCH,
        *,
        seed: int | None = None,
        conditions: dict[str, Any] | pd.DataFrame | None = None,
        rebalance: dict[str, dict[Any, float]] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """``n`` rows in DataFrames of at most ``batch_size`` rows, memory bounded by one batch.

        The rows are the same as ``sample(n, seed=seed)`` whatever the batch size.
        """
        from simulacra.synthesizers._sampling import make_plan

        self._check_fitted()
        if n is not None:
            n = _positive_int("n", n)
        if seed is not None:
            seed = SEED.check(seed, self.name)
        run_seed = seed if seed is not None else self.seed
        if run_seed is None:
            run_seed = int(np.random.SeedSequence().entropy % 2**63)
        plan = make_plan(self, n, run_seed, conditions, rebalance)
        batch_size = plan.n if batch_size is None else _positive_int("batch_size", batch_size)
        return self._batches(plan, batch_size, run_seed)

    def _batches(self, plan: Any, batch_size: int, seed: int) -> Iterator[pd.DataFrame]:
        from simulacra.synthesizers._sampling import draw_block, to_source

        n = plan.n
        key = int(np.random.SeedSequence(seed, spawn_key=(_KEY_STREAM,)).generate_state(1)[0])
        pending: list[pd.DataFrame] = []
        held = 0
        for block in range(-(-n // BLOCK_ROWS)):
            start = block * BLOCK_ROWS
            rows = min(BLOCK_ROWS, n - start)
            seq = np.random.SeedSequence(seed, spawn_key=(_BLOCK_STREAM, block))
            rng = np.random.default_rng(seq)
            encoded = draw_block(self, plan, start, rows, rng)
            if encoded.columns.empty:  # nothing learned (ids and PII only): rows all the same
                encoded = pd.DataFrame(index=pd.RangeIndex(rows))
            pending.append(to_source(self, encoded, start=start, rng=rng, key=key, total=n))
            held += rows
            self.last_sample_info = {"rows": start + rows, "drawn": plan.drawn, "how": plan.method}
            last = start + rows == n
            while held >= batch_size or (last and held):
                frame = pending[0] if len(pending) == 1 else pd.concat(pending, ignore_index=True)
                take = min(batch_size, held)
                rest = frame.iloc[take:]
                pending, held = ([rest] if len(rest) else []), len(rest)
                yield restore_dtypes(
                    frame.iloc[:take].reset_index(drop=True), self.processor_.dtypes_
                )

    # ------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write the fitted model as a ``.simz`` file (data, not code)."""
        from simulacra.persist import save_model

        self._check_fitted()
        save_model(self, Path(path))

    def get_state(self) -> dict[str, Any]:
        """The family's learned state: every ``*_`` attribute the base does not own."""
        own = {"metadata_", "processor_", "constraints_", "columns_", "n_training_rows_"}
        return {k: v for k, v in vars(self).items() if k.endswith("_") and k not in own}

    def set_state(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)

    def _restore(
        self,
        metadata: Metadata,
        processor: Processor,
        columns: list[EncodedColumn],
        rows: int,
        constraints: Any = None,
    ) -> None:
        self.metadata_, self.processor_, self.constraints_ = metadata, processor, constraints
        self.columns_, self.n_training_rows_ = columns, rows


def _where(*sources: Any) -> str | None:
    """The files a fit read from, for error messages."""
    return " with ".join(str(x) for x in sources if isinstance(x, str | Path)) or None


def _changed_columns(encoded: EncodedTable, learned: EncodedTable) -> list[str]:
    """Encoded columns the constraints replaced, dropped or changed the meaning of."""
    return [
        name
        for name in encoded.data.columns
        if name not in learned.data.columns
        or not np.array_equal(encoded.data[name].to_numpy(), learned.data[name].to_numpy())
    ]


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidParameterError(f"{name} must be a whole number of at least 1, got {value!r}")
    return int(value)
