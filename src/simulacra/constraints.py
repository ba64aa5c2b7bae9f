"""Business rules a synthetic table keeps, declared in the metadata's ``"constraints"`` list.

Each rule is a JSON object with a ``type`` (and optionally a ``name`` for
messages and the report):

- ``inequality``: ``{"low": "start", "high": "end", "strict": false}``; with
  ``"redraw": true`` the model keeps ``end`` as it is (conditions on it stay exact)
  and rows out of order are drawn again, rather than learning the gap;
- ``range``: ``{"column": "x", "low": 0, "high": "cap"}``, bounds constants or columns;
- ``positive`` / ``negative``: ``{"column": "x", "strict": false}``;
- ``fixed_combinations``: ``{"columns": ["country", "city"]}``: only combinations seen in training;
- ``formula``: ``{"column": "total", "expression": "price * qty"}``;
- ``one_hot``: ``{"columns": ["is_a", "is_b"]}``: exactly one is true in every row;
- ``unique``: ``{"columns": ["a", "b"]}``: the combination never repeats;
- ``custom``: ``{"expression": "age >= 18 or status != 'retired'"}``.

Rules are enforced, not filtered after the fact where that can be avoided:
:meth:`ConstraintSet.encode` reparametrizes what a model learns (the gap
``end - start``, the one-hot group as one code, the seen combinations as one
code, formula columns dropped), :meth:`ConstraintSet.decode` maps model rows
back, and :meth:`ConstraintSet.repair` fills formulas and clamps what rounding
broke. ``unique`` and ``custom`` rules are met by drawing rows again
(:meth:`ConstraintSet.holds`). Missing cells never break a rule (except in a
one-hot group), as in SQL's ``CHECK``.

>>> import pandas as pd
>>> from simulacra.metadata import Column, Metadata
>>> meta = Metadata(
...     {"start": Column("numerical", integer=True), "end": Column("numerical", integer=True)},
...     constraints=[{"type": "inequality", "low": "start", "high": "end"}],
... )
>>> rules = constraint_set(meta)
>>> [c.name for c in rules.constraints]
['end >= start']
>>> rules.holds(pd.DataFrame({"start": [1, 5], "end": [3, 4]})).tolist()
[True, False]
>>> rules.repair(pd.DataFrame({"start": [1, 5], "end": [3, 4]}))["end"].tolist()
[3, 5]
"""

from __future__ import annotations

import difflib
from graphlib import CycleError, TopologicalSorter
from typing import Any, Self

import numpy as np
import pandas as pd

from simulacra._expressions import Expression
from simulacra._reparam import Drop, Step, Table, plan, step_from_state, swap
from simulacra._rules import (
    KINDS,
    Constraint,
    FixedCombinations,
    Formula,
    Inequality,
    Range,
    Unique,
    View,
)
from simulacra.conditions import Evidence
from simulacra.errors import InvalidDataError
from simulacra.metadata import Metadata
from simulacra.processor import EncodedColumn, EncodedTable

__all__ = [
    "CONSTRAINT_TYPES",
    "Constraint",
    "ConstraintSet",
    "constraint_problems",
    "constraint_set",
]

CONSTRAINT_TYPES = (
    "inequality",
    "range",
    "fixed_combinations",
    "formula",
    "one_hot",
    "unique",
    "positive",
    "negative",
    "custom",
)
SHOWN_ROWS = 5  # violating rows named in an error
_REPAIR_PASSES = 3


# ==================================================================== entry points
def constraint_set(metadata: Metadata) -> ConstraintSet:
    """The rules declared in ``metadata.constraints``; one error lists every bad declaration.

    >>> from simulacra.metadata import Column
    >>> spec = {"type": "positive", "column": "x"}
    >>> meta = Metadata({"x": Column("numerical")}, constraints=[spec])
    >>> constraint_set(meta).constraints[0].name
    'x >= 0'
    """
    problems, rules = _parse_all(metadata)
    if problems:
        raise InvalidDataError(problems)
    return ConstraintSet(metadata, rules)


def constraint_problems(metadata: Metadata) -> list[str]:
    """Every problem in the metadata's constraint declarations, as readable sentences."""
    return _parse_all(metadata)[0]


def _parse_all(metadata: Metadata) -> tuple[list[str], list[Constraint]]:
    specs = metadata.constraints
    if not isinstance(specs, list):
        return ["'constraints' must be a list of JSON objects"], []
    problems, rules, names = [], [], set()
    for i, spec in enumerate(specs):
        reader = _Reader(spec, i, metadata)
        rule = reader.parse()
        problems += reader.problems
        if rule is not None and not reader.problems:
            rule.name = _unique_label(rule.name, names)
            names.add(rule.name)
            rules.append(rule)
    loop = _formula_loop([r for r in rules if isinstance(r, Formula)])
    if loop:
        problems.append(
            "formulas compute each other in a loop (each reads the next: "
            + " -> ".join(repr(c) for c in loop)
            + "); drop one of them and let the model learn its column"
        )
    return problems, rules


def _formula_loop(formulas: list[Formula]) -> list[str]:
    """Columns of a loop among the formulas (each reads the next's result), or []."""
    reads = {f.column: list(f.columns[1:]) for f in formulas}
    try:
        TopologicalSorter(reads).prepare()
    except CycleError as loop:
        return loop.args[1][::-1]  # graphlib lists each column before the one reading it
    return []


def _unique_label(name: str, taken: set[str]) -> str:
    out, i = name, 2
    while out in taken:
        out, i = f"{name} #{i}", i + 1
    return out


# ======================================================================= parsing
_COMMON = {"type", "name"}
_FIELDS: dict[str, tuple[set[str], set[str]]] = {  # required, optional
    "inequality": ({"low", "high"}, {"strict", "redraw"}),
    "range": ({"column"}, {"low", "high", "strict"}),
    "fixed_combinations": ({"columns"}, set()),
    "formula": ({"column", "expression"}, set()),
    "one_hot": ({"columns"}, set()),
    "unique": ({"columns"}, set()),
    "positive": ({"column"}, {"strict"}),
    "negative": ({"column"}, {"strict"}),
    "custom": ({"expression"}, set()),
}


class _Reader:
    """Reads one declaration, collecting every problem in it."""

    def __init__(self, spec: Any, index: int, metadata: Metadata) -> None:
        self.spec, self.meta = spec, metadata
        kind = spec.get("type") if isinstance(spec, dict) else None
        self.label = f"constraint {index + 1}" + (f" ({kind})" if isinstance(kind, str) else "")
        self.problems: list[str] = []

    def fail(self, message: str) -> None:
        self.problems.append(f"{self.label}: {message}")

    def close(self, name: str) -> str:
        """Close matches for a name that is not a column, as a hint to append to a message."""
        return _close(name, self.meta)

    def parse(self) -> Constraint | None:
        if not isinstance(self.spec, dict):
            self.fail("must be a JSON object with a 'type'")
            return None
        kind = self.spec.get("type")
        if kind not in _FIELDS:
            self.fail(f"type {kind!r} is not one of {list(CONSTRAINT_TYPES)}")
            return None
        required, optional = _FIELDS[kind]
        if missing := sorted(required - set(self.spec)):
            self.fail(f"needs the field(s) {missing}")
            return None
        if stray := sorted(set(self.spec) - required - optional - _COMMON):
            self.fail(f"has unknown field(s) {stray}; allowed: {sorted(required | optional)}")
        name = self.spec.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            self.fail("'name' must be non-empty text")
        rule = KINDS[kind].parse(self)
        if rule is not None:
            rule.spec, rule.metadata = dict(self.spec), self.meta
            rule.name = name if isinstance(name, str) and name.strip() else rule.name
        return rule

    def column(self, key: str, types: tuple[str, ...] | None, value: Any = None) -> str | None:
        name = self.spec.get(key) if value is None else value
        if not isinstance(name, str):
            self.fail(f"'{key}' must be a column name, got {name!r}")
            return None
        col = self.meta.columns.get(name)
        if col is None:
            self.fail(f"column {name!r} is not in the metadata{self.close(name)}")
            return None
        if types is not None and col.type not in types:
            wanted = " or ".join(types)
            self.fail(f"column {name!r} is {col.type}; {self.spec['type']} needs {wanted} columns")
            return None
        return name

    def columns(self, types: tuple[str, ...] | None, minimum: int) -> list[str]:
        names = self.spec.get("columns")
        if not isinstance(names, list) or len(names) < minimum:
            self.fail(f"'columns' must be a list of at least {minimum} column name(s)")
            return []
        if len(set(map(str, names))) != len(names):
            self.fail(f"'columns' names a column twice: {names}")
        out = [self.column("columns", types, n) for n in names]
        return [n for n in out if n is not None]

    def flag(self, key: str) -> bool:
        value = self.spec.get(key, False)
        if not isinstance(value, bool):
            self.fail(f"'{key}' must be true or false, got {value!r}")
        return bool(value)

    def expression(self, key: str) -> Expression | None:
        try:
            expr = Expression(self.spec.get(key))
        except InvalidDataError as exc:
            self.problems += [f"{self.label}: {p}" for p in exc.problems]
            return None
        for name in expr.names:
            if name not in self.meta.columns:
                self.fail(
                    f"expression {expr.text!r} reads column {name!r}, which is not in the "
                    f"metadata{self.close(name)} (put names with spaces in `backticks`)"
                )
        return expr


def _close(name: str, metadata: Metadata) -> str:
    close = difflib.get_close_matches(name, list(metadata.columns), n=3, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    shown = list(metadata.columns)[:12]
    more = ", ..." if len(metadata.columns) > len(shown) else ""
    return f"; the columns are: {', '.join(shown)}{more}"


# =================================================================== the set
def _rows_named(index: pd.Index, rows: np.ndarray) -> str:
    """Rows by position, counting the first data row as 0, or by the DataFrame's index label."""
    more = ", ..." if rows.sum() > SHOWN_ROWS else ""
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        first = np.flatnonzero(rows)[:SHOWN_ROWS]
        return f"rows {', '.join(map(str, first))}{more}, counting the first data row as 0"
    return f"index labels {', '.join(map(str, index[rows][:SHOWN_ROWS]))}{more}"


class ConstraintSet:
    """Every rule of one table, and what enforcing them needs.

    The sampling loop calls, in order: :meth:`check_training` and :meth:`fit`
    when fitting, :meth:`encode` on the processor's table before the model
    learns; :meth:`decode` on model rows before ``Processor.decode``, then
    :meth:`repair`, then :meth:`holds` to find rows to draw again (and
    :meth:`remember` for the rows kept, so that ``unique`` holds across batches).

    >>> import pandas as pd
    >>> import numpy as np
    >>> from simulacra.metadata import Metadata
    >>> from simulacra.processor import Processor
    >>> data = pd.DataFrame({"start": [1.0, 2.0, 4.0, 3.0], "end": [2.0, 5.0, 4.5, 3.0]})
    >>> meta = Metadata.detect(data)
    >>> meta.constraints = [{"type": "inequality", "low": "start", "high": "end"}]
    >>> processor = Processor(meta).fit(data)
    >>> encoded = processor.encode(data, np.random.default_rng(0))
    >>> rules = constraint_set(meta).fit(data, encoded)
    >>> learned = rules.encode(encoded)
    >>> [c.name for c in learned.columns]
    ['start', 'end-start']
    >>> learned.data["end-start"].tolist()
    [1.0, 3.0, 0.5, 0.0]
    >>> rules.decode(learned.data)["end"].tolist()
    [2.0, 5.0, 4.5, 3.0]
    """

    def __init__(self, metadata: Metadata, constraints: list[Constraint]) -> None:
        self.metadata = metadata
        self.constraints = constraints
        self.steps_: list[Step] = []
        self.learned_: list[str] = []  # rules a step serves
        self.source_columns_: list[EncodedColumn] | None = None
        self.columns_: list[EncodedColumn] | None = None
        # a set for a family that learns no steps (DP): repair fills every formula and
        # clamps nothing, so rows that break an inequality or a range are drawn again
        self.checks_only = False

    def __bool__(self) -> bool:
        return bool(self.constraints)

    def __len__(self) -> int:
        return len(self.constraints)

    def __repr__(self) -> str:
        return f"ConstraintSet({', '.join(repr(c.name) for c in self.constraints)})"

    @property
    def resampled(self) -> list[str]:
        """Rules that only drawing rows again can meet: unique, custom, and any left unlearned."""
        repaired = (Formula,) if self.checks_only else (Inequality, Range, Formula)
        return [
            c.name
            for c in self.constraints
            if c.resampled or not (isinstance(c, repaired) or c.name in self.learned_)
        ]

    # ------------------------------------------------------------ training
    def training_problems(self, data: pd.DataFrame) -> list[str]:
        """Each rule the training rows break, with a count and the first rows (index labels)."""
        view = View(data, self.metadata)
        problems = []
        for rule in self.constraints:
            if isinstance(rule, FixedCombinations) or not _has_columns(rule, data):
                continue
            try:
                ok = rule._holds(view, None)
            except InvalidDataError as exc:
                problems += [f"constraint {rule.name!r}: {p}" for p in exc.problems]
                continue
            if not ok.all():
                problems.append(
                    f"{int((~ok).sum())} training row(s) break constraint {rule.name!r} "
                    f"({_rows_named(data.index, ~ok)}); fix or drop these rows, or remove the "
                    "constraint"
                )
        return problems

    def check_training(self, data: pd.DataFrame, *, where: str | None = None) -> None:
        """Raise one :class:`InvalidDataError` naming every rule the training data breaks."""
        problems = self.training_problems(data)
        if problems:
            raise InvalidDataError(problems, where=where)

    def fit(self, data: pd.DataFrame, encoded: EncodedTable | None = None) -> Self:
        """Learn from the training rows; with the processor's ``encoded`` table, plan the steps.

        Without ``encoded`` only what checking needs is learned (the seen
        combinations of ``fixed_combinations``), as evaluation does.
        """
        for rule in self.constraints:
            rule._learn(data, self.metadata)
        if encoded is None:
            return self
        table = Table(self.metadata, encoded)
        candidates = [
            (names, step)
            for names, rule in self._merged_combinations()
            for step in rule._steps(table, data)
        ]
        planned = plan(candidates)
        self.steps_ = [step for _, step in planned]
        self.learned_ = [name for names, _ in planned for name in names]
        self.source_columns_ = list(encoded.columns)
        self.columns_ = self._layout()[1]
        return self

    def _merged_combinations(self) -> list[tuple[tuple[str, ...], Constraint]]:
        """The rules (with their names), overlapping fixed combinations joined into one."""
        out: list[tuple[tuple[str, ...], Constraint]] = []
        groups: list[tuple[list[str], list[str]]] = []  # columns, rule names
        for rule in self.constraints:
            if not isinstance(rule, FixedCombinations):
                out.append(((rule.name,), rule))
                continue
            touching = [g for g in groups if set(g[0]) & set(rule.columns)]
            columns = [c for g in touching for c in g[0]]
            columns += [c for c in rule.columns if c not in columns]
            names = [n for g in touching for n in g[1]] + [rule.name]
            groups = [g for g in groups if g not in touching] + [(columns, names)]
        for columns, names in groups:
            out.append((tuple(names), FixedCombinations(columns=tuple(columns))))
        return out

    def _layout(self) -> tuple[list[str], list[EncodedColumn]]:
        """The encoded column names after every step, and their declarations."""
        assert self.source_columns_ is not None
        kinds = {c.name: c for c in self.source_columns_}
        order = list(kinds)
        for step in self.steps_:
            kinds.update({c.name: c for c in step.made})
            order = swap(order, step.writes, [c.name for c in step.made])
        return order, [kinds[n] for n in order]

    # ------------------------------------------------------- encoded space
    def encode(self, encoded: EncodedTable) -> EncodedTable:
        """The table the model learns: the processor's table, reparametrized."""
        if self.source_columns_ is None:
            return encoded
        cols = {name: encoded.data[name].to_numpy() for name in encoded.data.columns}
        for step in self.steps_:
            made = step.encode(cols)
            for name in step.writes:
                cols.pop(name, None)
            cols.update(made)
        order, columns = self._layout()
        frame = pd.DataFrame({n: cols[n] for n in order}, index=pd.RangeIndex(len(encoded.data)))
        rebuilt = {c.source for c in encoded.columns} - {c.source for c in columns}
        return EncodedTable(frame, columns, encoded.drawn_elsewhere | rebuilt)

    def evidence(self, evidence: Evidence) -> Evidence:
        """Conditions on the processor's columns as conditions on the columns the model
        learns, where a step can carry them (a city and its country as their combination)."""
        allowed = evidence.allowed
        for step in self.steps_:
            allowed = step.evidence(allowed)
        return Evidence(evidence.n, allowed, evidence.bounds)

    def decode(self, encoded: pd.DataFrame) -> pd.DataFrame:
        """Model rows back to the processor's encoded columns (in its order; formula columns 0)."""
        if self.source_columns_ is None:
            return encoded
        cols = {name: encoded[name].to_numpy() for name in encoded.columns}
        for step in reversed(self.steps_):
            restored = step.decode(cols)
            for column in step.made:
                cols.pop(column.name, None)
            cols.update(restored)
        out = {
            c.name: cols[c.name].astype("int64" if c.kind == "discrete" else "float64", copy=False)
            for c in self.source_columns_
        }
        return pd.DataFrame(out, index=pd.RangeIndex(len(encoded)))

    # ------------------------------------------------------- user-facing
    def repair(self, data: pd.DataFrame) -> pd.DataFrame:
        """Formula columns filled, and what rounding or bounds broke clamped back.

        Rows that already keep a rule are left as they are; dtypes stay as decoded.
        """
        view = View(data, self.metadata)
        formulas = [c for c in self.constraints if isinstance(c, Formula)]
        if self.checks_only:  # no steps: every formula column is filled, nothing clamped
            filled, clamps = {c.column for c in formulas}, []
        else:
            filled = {s.name for s in self.steps_ if isinstance(s, Drop)}
            clamps = [
                c
                for c in self.constraints
                if isinstance(c, (Inequality, Range)) and not c.resampled
            ]
            clamps.sort(key=lambda c: len(c.columns) > 1)  # bounds that are constants first
        for n in range(_REPAIR_PASSES):
            changed = 0
            for rule in clamps + formulas:
                if _has_columns(rule, view.data):
                    fill = n == 0 and getattr(rule, "column", None) in filled
                    changed += rule._repair(view, fill)
            if not changed:
                break
        return view.data

    def holds(self, data: pd.DataFrame, state: dict[str, Any] | None = None) -> np.ndarray:
        """Whether each row keeps every rule (rules on columns the frame lacks are skipped).

        ``state`` (from :meth:`new_run_state`) holds the rows kept in earlier
        batches, for ``unique``; a row repeating an earlier row of ``data``
        that keeps every other rule fails too.
        """
        view = View(data, self.metadata)
        ok = np.ones(len(data), dtype=bool)
        unique = []
        for rule in self.constraints:
            if not _has_columns(rule, data):
                continue
            if isinstance(rule, Unique):
                unique.append(rule)
            else:
                ok &= rule._holds(view, state)
        if unique and ok.any():
            kept = View(data[ok], self.metadata)  # rows failing another rule never count as seen
            inside = np.ones(int(ok.sum()), dtype=bool)
            for rule in unique:
                inside &= rule._holds(kept, state)
            ok[ok] = inside
        return ok

    def failures(self, data: pd.DataFrame, state: dict[str, Any] | None = None) -> dict[str, int]:
        """Per rule, how many rows break it."""
        view = View(data, self.metadata)
        return {
            rule.name: int((~rule._holds(view, state)).sum())
            for rule in self.constraints
            if _has_columns(rule, data)
        }

    def new_run_state(self) -> dict[str, Any]:
        """What one sampling run carries across batches (the rows ``unique`` has seen)."""
        unique = [c for c in self.constraints if isinstance(c, Unique)]
        return {"unique": {c.name: np.empty(0, dtype="uint64") for c in unique}}

    def remember(self, data: pd.DataFrame, state: dict[str, Any]) -> None:
        """Add the kept rows of a batch to the run's ``unique`` memory."""
        for rule in self.constraints:
            if isinstance(rule, Unique) and _has_columns(rule, data):
                rule.remember(data, state)

    # --------------------------------------------------------- persistence
    def get_state(self) -> dict[str, Any]:
        """Plain data and numpy arrays: what :meth:`from_state` needs besides the metadata."""
        return {
            "rules": [c.get_state() for c in self.constraints],
            "steps": [s.get_state() for s in self.steps_],
            "learned": list(self.learned_),
            "source_columns": _column_dicts(self.source_columns_),
            "columns": _column_dicts(self.columns_),
            "checks_only": self.checks_only,
        }

    @classmethod
    def from_state(cls, metadata: Metadata, state: dict[str, Any]) -> ConstraintSet:
        out = constraint_set(metadata)
        rules = state.get("rules", [])
        if len(rules) != len(out.constraints):
            raise InvalidDataError(
                f"the model holds {len(rules)} constraint state(s) for "
                f"{len(out.constraints)} declared constraint(s); fit the model again"
            )
        for rule, sub in zip(out.constraints, rules, strict=True):
            rule.set_state(sub or {})
        out.steps_ = [step_from_state(s) for s in state.get("steps", [])]
        out.learned_ = [str(n) for n in state.get("learned", [])]
        out.source_columns_ = _columns_from(state.get("source_columns"))
        out.columns_ = _columns_from(state.get("columns"))
        out.checks_only = bool(state.get("checks_only", False))
        return out


def _has_columns(rule: Constraint, data: pd.DataFrame) -> bool:
    return all(n in data.columns for n in rule.columns)


def _column_dicts(columns: list[EncodedColumn] | None) -> list[dict[str, Any]] | None:
    return None if columns is None else [dict(vars(c)) for c in columns]


def _columns_from(items: list[dict[str, Any]] | None) -> list[EncodedColumn] | None:
    return None if items is None else [EncodedColumn(**c) for c in items]
