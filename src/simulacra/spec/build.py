"""From checked spec data to generators: names resolved, dependencies ordered, rules parsed.

Everything the schema cannot see is checked here, and every problem is
collected before one error names them all: parameters of each distribution,
patterns and expressions that do not parse, columns and tables that do not
exist (with the nearest name), cyclic dependencies, foreign keys that do not
point at a key, correlation matrices that are not valid (with the nearest
valid one) and constraints in the metadata's language.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulacra._expressions import Expression
from simulacra.constraints import ConstraintSet, constraint_problems, constraint_set
from simulacra.errors import InvalidDataError
from simulacra.metadata import Column, Metadata
from simulacra.spec import correlation, distributions
from simulacra.spec.columns import (
    Choice,
    Conditional,
    Constant,
    Dates,
    Fake,
    ForeignKey,
    Formula,
    Gen,
    Numbers,
    PatternGen,
    Sequence,
)
from simulacra.spec.load import Path_, Problems, Source
from simulacra.spec.patterns import Pattern, PatternError
from simulacra.spec.providers import locale_problem

__all__ = ["Spec", "TableSpec", "build", "parse_rows", "whole_number"]

DEFAULT_ROWS = 1000
DEFAULT_LOCALE = "en_US"


@dataclass
class TableSpec:
    """One table: its generators in declared order and how to make them."""

    name: str
    rows: int | None  # None when the rows follow from a parent (children per parent)
    columns: dict[str, Gen]
    nulls: dict[str, float]
    order: list[str]  # dependency order
    groups: list[tuple[list[str], np.ndarray]]  # copula groups: columns and matrix factor
    child_of: tuple[str, str, distributions.Dist] | None = None  # (column, parent, children)
    parents: set[str] = field(default_factory=set)
    rules: ConstraintSet | None = None


@dataclass
class Spec:
    """A checked spec: tables parents first. Make one with :func:`simulacra.spec.load_spec`."""

    tables: dict[str, TableSpec]
    name: str
    data: dict[str, Any]

    def __repr__(self) -> str:
        return f"Spec({self.name!r}, tables={list(self.tables)})"


def whole_number(value: Any) -> int:
    """A whole number from 1000, 1e6, '1e6', '10_000' or -5; ValueError if it is none."""
    number = float(str(value).replace("_", "")) if isinstance(value, str) else float(value)
    if not (math.isfinite(number) and number == int(number)):
        raise ValueError(f"{value!r} is not a whole number of rows")
    return int(number)


def parse_rows(value: Any) -> int:
    """A row count from 1000, 1e6, '1e6' or '10_000'; ValueError if not a whole number >= 0."""
    number = whole_number(value)
    if number < 0:
        raise ValueError(f"{value!r} is not a whole number of rows")
    return number


def build(source: Source) -> Spec:
    data = source.data
    problems = Problems(source)
    locale = data.get("locale", DEFAULT_LOCALE)
    _check_locale(locale, ("locale",), problems)
    tables: dict[str, TableSpec] = {}
    for name, table in data["tables"].items():
        tables[name] = _Table(name, table, locale, problems).build()
    _check_keys(tables, data, problems)
    problems.raise_if_any()
    order = _table_order(tables, problems)
    problems.raise_if_any()
    return Spec({t: tables[t] for t in order}, source.name, data)


def _check_locale(locale: str, path: Path_, problems: Problems) -> None:
    message = locale_problem(locale)
    if message:
        problems.add(path, message)


def _close(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=2, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    return f"; the columns are: {', '.join(options[:12])}" if options else ""


class _Table:
    """Builds one table, reporting problems at their path."""

    def __init__(self, name: str, spec: dict[str, Any], locale: str, problems: Problems) -> None:
        self.name, self.spec, self.problems = name, spec, problems
        self.locale = spec.get("locale", locale)
        self.path: Path_ = ("tables", name)
        if "locale" in spec:
            _check_locale(self.locale, (*self.path, "locale"), problems)

    def fail(self, path: Path_, message: str) -> None:
        self.problems.add((*self.path, *path), message)

    def build(self) -> TableSpec:
        columns, nulls = {}, {}
        for col, spec in self.spec["columns"].items():
            gen = self.column(("columns", col), spec)
            if gen is not None:
                columns[col] = gen
                nulls[col] = float(spec.get("nulls", 0.0))
        rows = None
        if "rows" in self.spec:
            try:
                rows = parse_rows(self.spec["rows"])
            except ValueError as exc:
                self.fail(("rows",), str(exc))
        table = TableSpec(self.name, rows, columns, nulls, [], [])
        self.cases(table)
        self.foreign_keys(table)
        if table.child_of is None and rows is None:
            table.rows = DEFAULT_ROWS
        table.order = self.order(table)
        table.groups = self.correlations(table)
        table.rules = self.constraints(table)
        return table

    # ---------------------------------------------------------------- columns
    def column(self, path: Path_, spec: dict[str, Any]) -> Gen | None:
        if "distribution" in spec:
            return self.numbers(path, spec)
        if "values" in spec:
            return self.choice(path, spec)
        if "fake" in spec:
            locale = spec.get("locale", self.locale)
            if "locale" in spec:
                _check_locale(locale, (*self.path, *path, "locale"), self.problems)
            return Fake(spec["fake"], locale)
        if "pattern" in spec:
            try:
                pattern = Pattern(spec["pattern"])
            except PatternError as exc:
                self.fail((*path, "pattern"), f"{exc}; e.g. 'CUST-[0-9]{{6}}'")
                return None
            unique = bool(spec.get("unique", False))
            if unique and not pattern.fixed:
                self.fail(
                    (*path, "unique"),
                    "unique values need a pattern of fixed shape (no '|', '?' or {m,n})",
                )
                return None
            return PatternGen(pattern, unique=unique)
        if "sequence" in spec:
            seq = spec["sequence"]
            return Sequence(
                seq.get("start", 1), seq.get("step", 1), seq.get("prefix"), seq.get("width")
            )
        if "dates" in spec:
            return self.dates(path, spec["dates"])
        if "expression" in spec:
            return self.formula(path, spec)
        if "depends_on" in spec:
            return self.conditional(path, spec)
        if "foreign_key" in spec:
            return self.foreign_key(path, spec)
        if "constant" in spec:
            return Constant(spec["constant"])
        return None  # the schema already said so

    def bounds(self, path: Path_, spec: dict[str, Any]) -> tuple[float | None, float | None]:
        low, high = spec.get("min"), spec.get("max")
        for key, value in (("min", low), ("max", high)):
            if isinstance(value, str):
                self.fail((*path, key), f"must be a number here, got {value!r}")
                return None, None
        if low is not None and high is not None and low > high:
            self.fail((*path, "min"), f"min {low} is greater than max {high}")
            return None, None
        return low, high

    def dist(self, path: Path_, spec: dict[str, Any]) -> distributions.Dist | None:
        name = spec["distribution"]
        params = {k: v for k, v in spec.items() if k in distributions.PARAMETERS}
        found = distributions.problems(name, params)
        for message in found:
            self.fail((*path, "distribution"), message)
        if found:
            return None
        low, high = self.bounds(path, spec)
        try:
            return distributions.truncate(distributions.make(name, params), low, high)
        except ValueError as exc:
            self.fail((*path, "min"), str(exc))
            return None

    def numbers(self, path: Path_, spec: dict[str, Any]) -> Gen | None:
        dist = self.dist(path, spec)
        if dist is None:
            return None
        return Numbers(dist, integer=bool(spec.get("integer")), decimals=spec.get("decimals"))

    def choice(self, path: Path_, spec: dict[str, Any]) -> Gen | None:
        values = spec["values"]
        if isinstance(values, dict):
            labels, weights = list(values), list(values.values())
            if "weights" in spec:
                self.fail(
                    (*path, "weights"), "give weights in the 'values' mapping or here, not both"
                )
        else:
            labels, weights = values, spec.get("weights", [1.0] * len(values))
            if len(weights) != len(labels):
                self.fail(
                    (*path, "weights"),
                    f"needs one weight per value: {len(labels)} values, {len(weights)} weights",
                )
                return None
        if any(w < 0 for w in weights) or not sum(weights) > 0:
            self.fail((*path, "values"), "weights must be >= 0 and not all 0")
            return None
        if len({type(v) for v in labels} - {int, float}) > 1 or (
            any(isinstance(v, str) for v in labels) and not all(isinstance(v, str) for v in labels)
        ):
            labels = [str(v) for v in labels]
        return Choice(labels, weights)

    def dates(self, path: Path_, spec: dict[str, Any]) -> Gen | None:
        unit = "D" if spec.get("unit", "day") == "day" else "s"
        try:
            start, end = (np.datetime64(spec[k], unit) for k in ("start", "end"))
        except ValueError:
            self.fail((*path, "dates"), "start and end must be dates such as 2024-01-31")
            return None
        if unit == "s" and len(spec["end"]) == 10:  # a date alone: up to the end of that day
            end += np.timedelta64(86_399, "s")
        if end < start:
            self.fail((*path, "dates"), f"end {spec['end']} is before start {spec['start']}")
            return None
        return Dates(start, end, unit)

    def formula(self, path: Path_, spec: dict[str, Any]) -> Gen | None:
        try:
            expression = Expression(spec["expression"])
        except InvalidDataError as exc:
            self.fail((*path, "expression"), "; ".join(exc.problems))
            return None
        low, high = self.bounds(path, spec)
        return Formula(
            expression,
            integer=bool(spec.get("integer")),
            decimals=spec.get("decimals"),
            low=low,
            high=high,
        )

    def conditional(self, path: Path_, spec: dict[str, Any]) -> Gen | None:
        if "cases" not in spec:
            self.fail(path, "depends_on needs 'cases': a way to make the column per value")
            return None
        cases = []
        for value, case in spec["cases"].items():
            gen = self.column((*path, "cases", value), case)
            if gen is not None:
                cases.append((value, gen))
        default = self.column((*path, "default"), spec["default"]) if ("default" in spec) else None
        return Conditional(spec["depends_on"], cases, default)

    def foreign_key(self, path: Path_, spec: dict[str, Any]) -> Gen | None:
        table, _, column = spec["foreign_key"].partition(".")
        children = None
        if "per_parent" in spec:
            per = dict(spec["per_parent"])
            children = self.dist((*path, "per_parent"), per)
            if children is None:
                return None
        return ForeignKey(table, column, children)

    def cases(self, table: TableSpec) -> None:
        """Case values of a conditional column must be values its parent column can take."""
        for col, gen in table.columns.items():
            parent = table.columns.get(gen.parent) if isinstance(gen, Conditional) else None
            if not isinstance(gen, Conditional) or not isinstance(parent, Choice):
                continue
            known = parent.values.to_pylist()
            for value, _ in gen.cases:
                if value not in known and str(value) not in map(str, known):
                    self.fail(
                        ("columns", col, "cases", value),
                        f"case {value!r} is not a value of {gen.parent!r}"
                        + _close(str(value), [str(k) for k in known]).replace(
                            "the columns are", "its values are"
                        ),
                    )

    def foreign_keys(self, table: TableSpec) -> None:
        keys = [(c, g) for c, g in table.columns.items() if isinstance(g, ForeignKey)]
        drivers = [(c, g) for c, g in keys if g.per_parent is not None]
        table.parents = {g.table for _, g in keys}
        for col, _ in drivers[1:]:
            self.fail(
                ("columns", col, "per_parent"),
                f"only one foreign key sets the rows per parent; {drivers[0][0]!r} already does",
            )
        if drivers:
            col, gen = drivers[0]
            assert gen.per_parent is not None
            table.child_of = (col, gen.table, gen.per_parent)
            if "rows" in self.spec:
                self.fail(
                    ("rows",),
                    f"the rows follow from {gen.table!r} ({col!r} has per_parent); "
                    "remove 'rows' here, or per_parent",
                )

    # ------------------------------------------------------------ dependencies
    def order(self, table: TableSpec) -> list[str]:
        names = list(table.columns)
        for col, gen in table.columns.items():
            for need in gen.needs:
                if need not in table.columns:
                    key = "depends_on" if isinstance(gen, Conditional) else "expression"
                    self.fail(
                        ("columns", col, key),
                        f"reads column {need!r}, which table {self.name!r} does not have"
                        + _close(need, names),
                    )
        state: dict[str, int] = {}  # 1 visiting, 2 done
        out: list[str] = []

        def visit(col: str, trail: list[str]) -> None:
            if state.get(col) == 2:
                return
            if state.get(col) == 1:
                loop = [*trail[trail.index(col) :], col]
                self.fail(
                    ("columns", col),
                    f"columns depend on each other in a cycle: {' -> '.join(loop)}; "
                    "make one of them without the others",
                )
                return
            state[col] = 1
            for need in table.columns[col].needs:
                if need in table.columns:
                    visit(need, [*trail, col])
            state[col] = 2
            out.append(col)

        for col in names:
            visit(col, [])
        return out

    def correlations(self, table: TableSpec) -> list[tuple[list[str], np.ndarray]]:
        groups, taken = [], set()
        for i, spec in enumerate(self.spec.get("correlations", [])):
            path = ("correlations", i)
            cols, ok = spec["columns"], True
            for col in cols:
                gen = table.columns.get(col)
                if col not in self.spec["columns"]:
                    self.fail(
                        (*path, "columns"), f"no column {col!r}" + _close(col, list(table.columns))
                    )
                    ok = False
                elif gen is not None and not gen.copula:
                    self.fail(
                        (*path, "columns"),
                        f"column {col!r} is not drawn from a distribution or values; "
                        "only those can be correlated",
                    )
                    ok = False
                elif col in taken or cols.count(col) > 1:
                    self.fail((*path, "columns"), f"column {col!r} is in more than one place")
                    ok = False
                taken.add(col)
            matrix = spec["matrix"]
            if len(matrix) != len(cols) or any(len(r) != len(cols) for r in matrix):
                self.fail(
                    (*path, "matrix"),
                    f"must be {len(cols)} x {len(cols)}, one row and column per listed column",
                )
                continue
            message, _ = correlation.check(matrix)
            if message:
                self.fail((*path, "matrix"), message)
            elif ok:
                groups.append((list(cols), correlation.factor(matrix)))
        return groups

    def constraints(self, table: TableSpec) -> ConstraintSet | None:
        rules = self.spec.get("constraints")
        if not rules:
            return None
        meta = Metadata({c: _column_type(g) for c, g in table.columns.items()}, constraints=rules)
        found = constraint_problems(meta)
        for message in found:
            index = message.split(" ", 2)[1].rstrip(":")
            at = int(index) - 1 if index.isdigit() else 0
            self.fail(("constraints", at), message)
        return None if found else constraint_set(meta)


def _column_type(gen: Gen) -> Column:
    if isinstance(gen, Numbers):
        return Column("numerical", integer=gen.integer or gen.dist.discrete)
    if isinstance(gen, Formula):
        return Column("numerical", integer=gen.integer)
    if isinstance(gen, Choice):
        kind = gen.values.type
        if str(kind) in ("int64", "double"):
            return Column("numerical", integer=str(kind) == "int64")
        return Column("boolean") if str(kind) == "bool" else Column("categorical")
    if isinstance(gen, Dates):
        return Column("datetime")
    if isinstance(gen, Sequence) and gen.prefix is None and gen.width is None:
        return Column("numerical", integer=True)
    if isinstance(gen, Conditional):
        inner = [g for _, g in gen.cases] + ([gen.default] if gen.default else [])
        types = {_column_type(g).type for g in inner}
        return Column("numerical") if types == {"numerical"} else Column("categorical")
    return Column("categorical")


def _check_keys(tables: dict[str, TableSpec], data: dict[str, Any], problems: Problems) -> None:
    for name, table in tables.items():
        for col, gen in table.columns.items():
            if not isinstance(gen, ForeignKey):
                continue
            path = ("tables", name, "columns", col, "foreign_key")
            parent = tables.get(gen.table)
            if parent is None:
                problems.add(
                    path,
                    f"table {gen.table!r} is not in the spec" + _close(gen.table, list(tables)),
                )
                continue
            target = parent.columns.get(gen.column)
            if target is None:
                problems.add(
                    path,
                    f"table {gen.table!r} has no column {gen.column!r}"
                    + _close(gen.column, list(parent.columns)),
                )
            elif not target.key:
                problems.add(
                    path,
                    f"{gen.table}.{gen.column} is not a key; a foreign key must point at a "
                    "'sequence' or a 'pattern' with unique: true",
                )
            elif parent.nulls.get(gen.column):
                problems.add(path, f"{gen.table}.{gen.column} is a key and cannot have nulls")
            elif (
                isinstance(target, PatternGen)
                and parent.rows is not None
                and (parent.rows > target.pattern.capacity)
            ):
                problems.add(
                    ("tables", gen.table, "columns", gen.column, "pattern"),
                    f"holds {target.pattern.capacity:,} unique values but the table has "
                    f"{parent.rows:,} rows; make the pattern longer",
                )


def _table_order(tables: dict[str, TableSpec], problems: Problems) -> list[str]:
    """Tables with every parent before its children; a cycle of foreign keys is a problem."""
    out: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            loop = [*trail[trail.index(name) :], name]
            problems.add(
                ("tables", name),
                f"foreign keys form a cycle: {' -> '.join(loop)}; one table must come first",
            )
            return
        state[name] = 1
        for parent in sorted(tables[name].parents):
            if parent in tables and parent != name:
                visit(parent, [*trail, name])
        state[name] = 2
        out.append(name)

    for name in tables:
        visit(name, [])
    return out
