"""Reparametrizations of the encoded table that make constraints hold by construction.

Each step replaces some encoded columns (``writes``) by others (``made``) in
:meth:`Step.encode`, reading others unchanged (``reads``), and undoes that in
:meth:`Step.decode`: ``high`` learned as the gap ``high - low``, ``x`` as its
place between column bounds, a one-hot group as one code, fixed combinations
as one code indexing those seen, formula columns not learned at all.
:func:`plan` orders the steps and leaves out any that would touch a column an
earlier step changed (that rule is then repaired or drawn again instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InvalidDataError
from simulacra.metadata import Metadata
from simulacra.processor import NULL_SUFFIX, EncodedColumn, EncodedTable

__all__ = [
    "Candidate",
    "Combine",
    "Drop",
    "Gap",
    "OneHotStep",
    "Ratio",
    "Step",
    "Table",
    "plan",
    "step_from_state",
    "swap",
]


class Table:
    """The encoded table's columns while reparametrizations are planned."""

    def __init__(self, metadata: Metadata, encoded: EncodedTable) -> None:
        self.metadata, self.data = metadata, encoded.data
        self.kinds = {c.name: c for c in encoded.columns}
        self.taken = set(self.kinds) | set(metadata.columns)

    def continuous(self, *names: str) -> bool:
        return all(n in self.kinds and self.kinds[n].kind == "continuous" for n in names)

    def discrete(self, *names: str) -> bool:
        return all(n in self.kinds and self.kinds[n].kind == "discrete" for n in names)

    def null(self, name: str) -> str | None:
        return name + NULL_SUFFIX if name + NULL_SUFFIX in self.kinds else None

    def fresh(self, base: str) -> str:
        """A readable name no real or encoded column has (nor its ``#null`` twin)."""
        name, i = base, 2
        while name in self.taken or name + NULL_SUFFIX in self.taken:
            name, i = f"{base}#{i}", i + 1
        self.taken |= {name, name + NULL_SUFFIX}
        return name


@dataclass
class Step:
    """One reversible change to the encoded table: ``writes`` are replaced by ``made``."""

    name: str

    @property
    def reads(self) -> tuple[str, ...]:
        return ()

    @property
    def writes(self) -> tuple[str, ...]:
        return ()

    @property
    def made(self) -> list[EncodedColumn]:
        return []

    def encode(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def decode(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def evidence(self, allowed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Conditions on the categories this step ``writes`` as conditions on those it
        ``made``, where they can be (``allowed`` as in ``Evidence``); else unchanged."""
        return allowed

    def get_state(self) -> dict[str, Any]:
        return {
            "step": _STEP_NAMES[type(self)],
            **{f.name: getattr(self, f.name) for f in fields(self)},
        }


def _present(cols: dict[str, np.ndarray], *indicators: str | None) -> np.ndarray | bool:
    """Rows where none of the ``#null`` indicators is set."""
    out: np.ndarray | bool = True
    for name in indicators:
        if name is not None:
            out = out & (cols[name] != 1)
    return out


def _continuous_with_null(name: str, null: str | None) -> list[EncodedColumn]:
    out = [EncodedColumn(name, name, "continuous")]
    if null is not None:
        out.append(EncodedColumn(name + NULL_SUFFIX, name, "discrete", 2))
    return out


@dataclass
class Gap(Step):
    """``target`` learned as ``sign * (target - base)``, never below 0 once decoded."""

    base: str = ""
    target: str = ""
    sign: int = 1
    base_null: str | None = None
    target_null: str | None = None

    @classmethod
    def make(cls, table: Table, base: str, target: str, sign: int, label: str) -> Gap:
        name = table.fresh(label)
        return cls(name, base, target, sign, table.null(base), table.null(target))

    @property
    def reads(self) -> tuple[str, ...]:
        return tuple(n for n in (self.base, self.base_null) if n)

    @property
    def writes(self) -> tuple[str, ...]:
        return tuple(n for n in (self.target, self.target_null) if n)

    @property
    def made(self) -> list[EncodedColumn]:
        return _continuous_with_null(self.name, self.target_null)

    def encode(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {self.name: self.sign * (cols[self.target] - cols[self.base])}
        if self.target_null:
            out[self.name + NULL_SUFFIX] = cols[self.target_null]
        return out

    def decode(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        gap = cols[self.name].astype("float64")
        null = self.name + NULL_SUFFIX if self.target_null else None
        gap = np.where(_present(cols, self.base_null, null), np.maximum(gap, 0.0), gap)
        out = {self.target: cols[self.base] + self.sign * gap}
        if self.target_null and null:
            out[self.target_null] = cols[null]
        return out


@dataclass
class Ratio(Step):
    """``x`` learned as its place ``(x - low) / (high - low)`` between its bounds, in [0, 1]."""

    x: str = ""
    low: str = ""
    high: str = ""
    x_null: str | None = None
    low_null: str | None = None
    high_null: str | None = None

    @classmethod
    def make(cls, table: Table, x: str, low: str, high: str, label: str) -> Ratio:
        name = table.fresh(label)
        return cls(name, x, low, high, table.null(x), table.null(low), table.null(high))

    @property
    def reads(self) -> tuple[str, ...]:
        return tuple(n for n in (self.low, self.high, self.low_null, self.high_null) if n)

    @property
    def writes(self) -> tuple[str, ...]:
        return tuple(n for n in (self.x, self.x_null) if n)

    @property
    def made(self) -> list[EncodedColumn]:
        return _continuous_with_null(self.name, self.x_null)

    def encode(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        span = cols[self.high] - cols[self.low]
        wide = span > 0
        place = np.where(wide, (cols[self.x] - cols[self.low]) / np.where(wide, span, 1.0), 0.0)
        # beside a missing bound's stand-in the place is not clipped, so that x comes back
        bounded = _present(cols, self.low_null, self.high_null)
        out = {self.name: np.where(bounded, np.clip(place, 0.0, 1.0), place)}
        if self.x_null:
            out[self.name + NULL_SUFFIX] = cols[self.x_null]
        return out

    def decode(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        place = cols[self.name].astype("float64")
        place = np.where(_present(cols, self.low_null, self.high_null), np.clip(place, 0, 1), place)
        low, high = cols[self.low], cols[self.high]
        out = {self.x: np.where(place == 1.0, high, low + place * (high - low))}
        if self.x_null:
            out[self.x_null] = cols[self.name + NULL_SUFFIX]
        return out


@dataclass
class OneHotStep(Step):
    """k true/false columns learned as one code: which of them is true."""

    columns: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    values: list[list[float]] = field(default_factory=list)  # per column: [true, false]
    nulls: list[str | None] = field(default_factory=list)

    @classmethod
    def make(
        cls, table: Table, columns: list[str], values: list[tuple[float, float]], label: str
    ) -> OneHotStep:
        kinds = [table.kinds[c].kind for c in columns]
        pairs = [list(v) for v in values]
        return cls(table.fresh(label), columns, kinds, pairs, [table.null(c) for c in columns])

    @property
    def reads(self) -> tuple[str, ...]:
        return tuple(n for n in self.nulls if n)

    @property
    def writes(self) -> tuple[str, ...]:
        return tuple(self.columns)

    @property
    def made(self) -> list[EncodedColumn]:
        return [EncodedColumn(self.name, self.name, "discrete", len(self.columns))]

    def encode(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        hot = np.column_stack(
            [
                (cols[c] == v[0]) & _present(cols, null)
                for c, v, null in zip(self.columns, self.values, self.nulls, strict=True)
            ]
        )
        return {self.name: hot.argmax(axis=1).astype("int64")}

    def evidence(self, allowed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Column j may be the true one where it may be true and every other may be false."""
        named = [j for j, c in enumerate(self.columns) if c in allowed]
        if not named or any(self.kinds[j] != "discrete" for j in named):
            return allowed
        rows, k = len(allowed[self.columns[named[0]]]), len(self.columns)
        out = np.ones((rows, k), dtype=bool)
        for j in named:
            true, false = (int(v) for v in self.values[j])
            codes = allowed[self.columns[j]]
            out[:, j] &= codes[:, true]
            out[:, np.arange(k) != j] &= codes[:, [false]]
        kept = {name: v for name, v in allowed.items() if name not in self.columns}
        return {**kept, self.name: out}

    def decode(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        code = np.clip(np.rint(cols[self.name]), 0, len(self.columns) - 1).astype("int64")
        out = {}
        for j, (name, kind, (true, false), null) in enumerate(
            zip(self.columns, self.kinds, self.values, self.nulls, strict=True)
        ):
            chosen = code == j
            value = np.where(chosen, true, false)
            out[name] = value.astype("int64") if kind == "discrete" else value
            if null:  # the true column is never missing
                out[null] = np.where(chosen, 0, cols[null]).astype("int64")
        return out


@dataclass
class Combine(Step):
    """Categorical/boolean columns learned as one code: which seen combination (missing = -1)."""

    columns: list[str] = field(default_factory=list)
    nulls: list[str | None] = field(default_factory=list)
    seen: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype="int64"))

    @classmethod
    def make(cls, table: Table, columns: list[str], label: str) -> Combine:
        nulls = [table.null(c) for c in columns]
        data = {k: table.data[k].to_numpy() for k in (*columns, *filter(None, nulls))}
        step = cls(table.fresh(label), columns, nulls)
        step.seen = np.unique(step._codes(data), axis=0)
        return step

    @property
    def writes(self) -> tuple[str, ...]:
        return (*self.columns, *(n for n in self.nulls if n))

    @property
    def made(self) -> list[EncodedColumn]:
        return [EncodedColumn(self.name, self.name, "discrete", len(self.seen))]

    def _codes(self, cols: dict[str, np.ndarray]) -> np.ndarray:
        codes = [
            np.where(_present(cols, null), cols[c], -1).astype("int64")
            for c, null in zip(self.columns, self.nulls, strict=True)
        ]
        return np.column_stack(codes)

    def encode(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        codes = self._codes(cols)
        index = pd.MultiIndex.from_arrays(list(self.seen.T)).get_indexer(
            pd.MultiIndex.from_arrays(list(codes.T))
        )
        if (index < 0).any():
            raise InvalidDataError(
                f"{(index < 0).sum()} row(s) hold combinations of {', '.join(self.columns)} "
                "not seen when the constraints were fitted; fit them on this table"
            )
        return {self.name: index.astype("int64")}

    def evidence(self, allowed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """A combination is allowed where each of its columns' codes (or gaps) is."""
        if not set(self.writes) & set(allowed):
            return allowed
        rows = len(next(iter(allowed.values())))
        out = np.ones((rows, len(self.seen)), dtype=bool)
        for j, (name, null) in enumerate(zip(self.columns, self.nulls, strict=True)):
            code = self.seen[:, j]
            if name in allowed:
                out &= np.where(code >= 0, allowed[name][:, np.maximum(code, 0)], True)
            if null in allowed:
                out &= allowed[null][:, np.where(code >= 0, 0, 1)]
        kept = {k: v for k, v in allowed.items() if k not in self.writes}
        return {**kept, self.name: out}

    def decode(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        index = np.clip(np.rint(cols[self.name]), 0, len(self.seen) - 1).astype("int64")
        rows = self.seen[index]
        out = {}
        for j, (name, null) in enumerate(zip(self.columns, self.nulls, strict=True)):
            out[name] = np.maximum(rows[:, j], 0)
            if null:
                out[null] = (rows[:, j] < 0).astype("int64")
        return out


@dataclass
class Drop(Step):
    """A formula column (and its ``#null`` indicator when the inputs imply it) is not learned."""

    null: str | None = None

    @classmethod
    def make(cls, table: Table, column: str, implied: bool) -> Drop:
        return cls(column, table.null(column) if implied else None)

    @property
    def writes(self) -> tuple[str, ...]:
        return tuple(n for n in (self.name, self.null) if n)

    def encode(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {}

    def decode(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        size = len(next(iter(cols.values()))) if cols else 0
        out = {self.name: np.zeros(size)}
        if self.null:
            out[self.null] = np.zeros(size, dtype="int64")
        return out


_STEP_NAMES: dict[type, str] = {
    Gap: "gap",
    Ratio: "ratio",
    OneHotStep: "one_hot",
    Combine: "combine",
    Drop: "drop",
}
_STEP_PRIORITY = {Drop: 0, OneHotStep: 1, Combine: 2, Gap: 3, Ratio: 3}


def step_from_state(state: dict[str, Any]) -> Step:
    kinds = {v: k for k, v in _STEP_NAMES.items()}
    state = dict(state)
    cls = kinds[state.pop("step")]
    if cls is Combine:
        state["seen"] = np.asarray(state["seen"], dtype="int64").reshape(-1, len(state["columns"]))
    return cls(**state)


Candidate = tuple[tuple[str, ...], Step]  # the names of the rules a step serves, and the step


def plan(candidates: list[Candidate]) -> list[Candidate]:
    """The steps to apply, in order; a step touching a column an earlier one changed is left out.

    Formula drops come first, then discrete merges, then gaps and ratios, each
    placed before any step that changes a column it reads, so that chains such
    as ``a <= b <= c`` are all learned as gaps.
    """
    rank = {id(c): (_STEP_PRIORITY[type(c[1])], i) for i, c in enumerate(candidates)}
    remaining = sorted(candidates, key=lambda c: rank[id(c)])
    ordered: list[Candidate] = []
    while remaining:
        pick = 0  # in a cycle, the first remaining step goes; the others are then left out
        for i, (_, step) in enumerate(remaining):
            if not any(
                other is not step
                and _STEP_PRIORITY[type(other)] == _STEP_PRIORITY[type(step)]
                and set(other.reads) & set(step.writes)
                for _, other in remaining
            ):
                pick = i
                break
        ordered.append(remaining.pop(pick))
    applied, changed = [], set()
    for names, step in ordered:
        if not changed & (set(step.reads) | set(step.writes)):
            changed |= set(step.writes)
            applied.append((names, step))
    return applied


def swap(order: list[str], removed: tuple[str, ...], added: list[str]) -> list[str]:
    """``order`` with ``removed`` names taken out and ``added`` put where the first one was."""
    at = min((order.index(n) for n in removed if n in order), default=len(order))
    kept = [n for n in order[:at] if n not in removed]
    return kept + added + [n for n in order[at:] if n not in removed]
