"""The rule kinds behind :mod:`simulacra.constraints`: checking, repairing, planning steps.

Every rule reads the user-facing frame through a :class:`View` (each column
read once per round: numbers as float64, datetimes as UTC nanoseconds) and
says which rows hold (:meth:`Constraint.holds`), fixes what it can in place
(``_repair``) and asks for reparametrizations of the encoded table (``_steps``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulacra._expressions import Expression, column_values, to_instants
from simulacra._formulas import half_step
from simulacra._reparam import Combine, Drop, Gap, OneHotStep, Ratio, Step, Table
from simulacra.errors import InvalidDataError
from simulacra.metadata import Column, Metadata
from simulacra.transforms import RARE_LABEL, transform_for

if TYPE_CHECKING:
    from simulacra.constraints import _Reader

__all__ = [
    "KINDS",
    "Constraint",
    "Custom",
    "FixedCombinations",
    "Formula",
    "Inequality",
    "OneHot",
    "Range",
    "Sign",
    "Unique",
    "View",
]

_NS = {"D": 86_400 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_ORDERED = ("numerical", "datetime")
_Bound = tuple[np.ndarray, np.ndarray]  # values per row, and where they are missing


# ================================================================ reading columns
class _Scale:
    """One numerical or datetime column on the user-facing frame: read, snap to its grid, write.

    Numbers read as float64 (NaN if missing); datetimes as int64 nanoseconds (UTC).
    """

    def __init__(self, column: Column) -> None:
        self.column = column
        self.dates = column.type == "datetime"
        if self.dates:
            self.unit = _NS[column.resolution or "ns"]
        elif column.integer:
            self.unit = 1
        else:
            self.unit = 10**column.decimals if column.decimals is not None else None

    def read(self, series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        if self.dates:
            stamps = to_instants(series, self.column.format)
            null = np.isnat(stamps)
            return np.where(null, 0, stamps.astype("int64")), null
        values = column_values(series, self.column)
        return values, np.isnan(values)

    def constant(self, value: Any) -> float | int:
        if self.dates:
            stamp = pd.Timestamp(value)
            if stamp.tz is not None:
                stamp = stamp.tz_convert("UTC").tz_localize(None)
            return int(stamp.as_unit("ns").value)
        return float(value)

    def up(self, values: np.ndarray, strict: bool) -> np.ndarray:
        """The smallest values on this column's grid at (or, if ``strict``, above) ``values``."""
        return self._snap(values, strict, up=True)

    def down(self, values: np.ndarray, strict: bool) -> np.ndarray:
        return self._snap(values, strict, up=False)

    def _snap(self, values: np.ndarray, strict: bool, *, up: bool) -> np.ndarray:
        if self.dates:
            step = self.unit
            if up:
                return (values // step + 1) * step if strict else -(-values // step) * step
            return (-(-values // step) - 1) * step if strict else values // step * step
        if self.unit is None:
            return np.nextafter(values, np.inf if up else -np.inf) if strict else values
        scaled = values * self.unit
        near = np.rint(scaled)
        scaled = np.where(np.abs(scaled - near) <= 1e-9 * np.maximum(1, np.abs(near)), near, scaled)
        if up:
            out = (np.floor(scaled) + 1 if strict else np.ceil(scaled)) / self.unit
            return np.where((out < values) | (strict & (out == values)), out + 1 / self.unit, out)
        out = (np.ceil(scaled) - 1 if strict else np.floor(scaled)) / self.unit
        return np.where((out > values) | (strict & (out == values)), out - 1 / self.unit, out)

    def nearest(self, values: np.ndarray) -> np.ndarray:
        if self.dates:
            return np.rint(values / self.unit).astype("int64") * self.unit
        if self.unit is None:
            return values
        return np.rint(values * self.unit) / self.unit

    def tolerance(self, expected: np.ndarray) -> np.ndarray:
        """How far a stored value may sit from an exact result (half a grid step)."""
        if self.dates:
            return np.full(len(expected), self.unit / 2)
        half = 0.5 / self.unit if self.unit is not None else 0.0
        return half * (1 + 1e-9) + 1e-9 * np.maximum(1, np.abs(expected))

    def write(
        self,
        series: pd.Series,
        rows: np.ndarray,
        values: np.ndarray,
        null: np.ndarray | None = None,
    ) -> pd.Series:
        """``series`` with ``rows`` set to ``values`` (missing where ``null``), dtype kept."""
        out = series.copy()
        null = np.zeros(len(out), dtype=bool) if null is None else null & rows
        put = rows & ~null
        if null.any() and out.dtype.kind in "iub":
            out = out.astype({"i": "Int64", "u": "UInt64", "b": "boolean"}[out.dtype.kind])
        if null.any():
            out[null] = None
        if not put.any():
            return out
        if self.dates:
            out[put] = self._stamps(out, values[put])
        elif self.column.integer:
            out[put] = np.rint(values[put]).astype("int64")
        else:
            out[put] = values[put]
        return out

    def _stamps(self, series: pd.Series, nanos: np.ndarray) -> Any:
        stamps = pd.DatetimeIndex(nanos.astype("datetime64[ns]"))
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            tz = series.dt.tz
            return stamps.tz_localize("UTC").tz_convert(tz) if tz is not None else stamps
        fmt = self.column.format
        return stamps.strftime(fmt).to_numpy(object) if fmt else stamps.astype(str).to_numpy()


class View:
    """A frame read once per column for one round of checks (or repairs)."""

    def __init__(self, data: pd.DataFrame, metadata: Metadata) -> None:
        self.data, self.meta = data, metadata
        self._scaled: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._values: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.data)

    def scale(self, name: str) -> _Scale:
        return _Scale(self.meta.columns[name])

    def scaled(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in self._scaled:
            self._scaled[name] = self.scale(name).read(self.data[name])
        return self._scaled[name]

    def values(self, names: tuple[str, ...]) -> dict[str, np.ndarray]:
        for name in names:
            if name not in self._values:
                self._values[name] = column_values(self.data[name], self.meta.columns[name])
        return {n: self._values[n] for n in names}

    def null(self, name: str) -> np.ndarray:
        return self.data[name].isna().to_numpy()

    def update(self, name: str, series: pd.Series) -> None:
        self.data = self.data.assign(**{name: series})
        self._scaled.pop(name, None)
        self._values.pop(name, None)


# ================================================================== the rules
@dataclass
class Constraint:
    """One declared rule: its JSON ``spec``, a readable ``name`` and the ``columns`` it reads."""

    name: str = ""
    columns: tuple[str, ...] = ()
    spec: dict[str, Any] = field(default_factory=dict, repr=False)
    metadata: Metadata | None = field(default=None, repr=False, compare=False)

    @classmethod
    def parse(cls, reader: _Reader) -> Constraint | None:
        raise NotImplementedError

    def holds(self, data: pd.DataFrame, state: dict[str, Any] | None = None) -> np.ndarray:
        """Whether each row of ``data`` (user-facing values) keeps this rule."""
        return self._holds(View(data, self.metadata or Metadata()), state)

    def _holds(self, view: View, state: dict[str, Any] | None) -> np.ndarray:
        raise NotImplementedError

    def _repair(self, view: View, filled: bool) -> int:
        """Fix the rows that break the rule where that can be done; return how many changed."""
        return 0

    def _learn(self, data: pd.DataFrame, metadata: Metadata) -> None:
        """Learn from the training data what checking needs (fixed combinations)."""

    def _steps(self, table: Table, data: pd.DataFrame) -> list[Step]:
        """The reparametrizations of the encoded table this rule asks for."""
        return []

    def get_state(self) -> dict[str, Any]:
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        pass

    @property
    def resampled(self) -> bool:
        """Whether only drawing rows again can meet this rule (no reparametrization or repair)."""
        return False


@dataclass
class Inequality(Constraint):
    """``high >= low`` (``>`` if strict) between two numerical or datetime columns."""

    low: str = ""
    high: str = ""
    strict: bool = False
    redraw: bool = False  # met by drawing rows again, not by learning the gap

    @classmethod
    def parse(cls, reader: _Reader) -> Inequality | None:
        low, high = reader.column("low", _ORDERED), reader.column("high", _ORDERED)
        strict, redraw = reader.flag("strict"), reader.flag("redraw")
        if low is None or high is None:
            return None
        types = {reader.meta.columns[low].type, reader.meta.columns[high].type}
        if len(types) > 1:
            reader.fail(f"columns {low!r} and {high!r} must both be numerical or both datetime")
        if low == high:
            reader.fail(f"'low' and 'high' are the same column {low!r}")
        sign = ">" if strict else ">="
        return cls(
            f"{high} {sign} {low}", (low, high), low=low, high=high, strict=strict, redraw=redraw
        )

    @property
    def resampled(self) -> bool:
        return self.redraw

    def _holds(self, view: View, state: dict[str, Any] | None) -> np.ndarray:
        (lo, lo_null), (hi, hi_null) = view.scaled(self.low), view.scaled(self.high)
        ok = hi > lo if self.strict else hi >= lo
        return ok | lo_null | hi_null

    def _repair(self, view: View, filled: bool) -> int:
        bad = ~self._holds(view, None)
        if not bad.any():
            return 0
        lo = view.scaled(self.low)[0]
        scale = view.scale(self.high)
        view.update(self.high, scale.write(view.data[self.high], bad, scale.up(lo, self.strict)))
        return int(bad.sum())

    def _steps(self, table: Table, data: pd.DataFrame) -> list[Step]:
        if self.redraw or not table.continuous(self.low, self.high):
            return []
        return [Gap.make(table, self.low, self.high, 1, f"{self.high}-{self.low}")]


@dataclass
class Range(Constraint):
    """``low <= column <= high``; each bound a constant, a column, or absent."""

    column: str = ""
    low: Any = None
    high: Any = None
    strict: bool = False

    @classmethod
    def parse(cls, reader: _Reader) -> Range | None:
        column = reader.column("column", _ORDERED)
        strict = reader.flag("strict")
        if column is None:
            return None
        if reader.spec.get("low") is None and reader.spec.get("high") is None:
            reader.fail("needs a 'low' or a 'high' bound (a number or a column name)")
        bounds = [_bound(reader, column, key) for key in ("low", "high")]
        consts = [b for b in bounds if b is not None and not isinstance(b, str)]
        if len(consts) == 2 and consts[0] > consts[1]:
            reader.fail(f"'low' {reader.spec['low']!r} is above 'high' {reader.spec['high']!r}")
        used = tuple(b for b in bounds if isinstance(b, str))
        rule = cls("", (column, *used), column=column, low=bounds[0], high=bounds[1])
        rule.strict = strict
        rule.name = rule._label(reader.spec.get("low"), reader.spec.get("high"))
        return rule

    def _label(self, low: Any, high: Any) -> str:
        sign = "<" if self.strict else "<="
        if low is not None and high is not None:
            return f"{low} {sign} {self.column} {sign} {high}"
        if low is not None:
            return f"{self.column} {'>' if self.strict else '>='} {low}"
        return f"{self.column} {sign} {high}"

    def _bounds(self, view: View) -> tuple[_Bound | None, _Bound | None]:
        """Per row, the low and the high bound with where it is missing (``None``: no bound)."""
        out: list[_Bound | None] = []
        for bound in (self.low, self.high):
            if bound is None:
                out.append(None)
            elif isinstance(bound, str):
                values, null = view.scaled(bound)
                out.append((values, null))
            else:
                out.append((np.full(len(view), bound), np.zeros(len(view), dtype=bool)))
        return out[0], out[1]

    def _holds(self, view: View, state: dict[str, Any] | None) -> np.ndarray:
        x, null = view.scaled(self.column)
        ok = np.ones(len(view), dtype=bool)
        low, high = self._bounds(view)
        if low is not None:
            ok &= (x > low[0] if self.strict else x >= low[0]) | low[1]
        if high is not None:
            ok &= (x < high[0] if self.strict else x <= high[0]) | high[1]
        return ok | null

    def _repair(self, view: View, filled: bool) -> int:
        bad = ~self._holds(view, None)
        if not bad.any():
            return 0
        x = view.scaled(self.column)[0]
        scale = view.scale(self.column)
        low, high = self._bounds(view)
        fixed = x.copy()
        if low is not None:
            below = ~low[1] & (x <= low[0] if self.strict else x < low[0])
            fixed = np.where(below, scale.up(low[0], self.strict), fixed)
        if high is not None:
            above = ~high[1] & (x >= high[0] if self.strict else x > high[0])
            fixed = np.where(above, scale.down(high[0], self.strict), fixed)
        ok = np.ones(len(view), dtype=bool)  # rows whose bounds leave no room stay as they are
        if low is not None:
            ok &= (fixed > low[0] if self.strict else fixed >= low[0]) | low[1]
        if high is not None:
            ok &= (fixed < high[0] if self.strict else fixed <= high[0]) | high[1]
        rows = bad & ok
        if rows.any():
            view.update(self.column, scale.write(view.data[self.column], rows, fixed))
        return int(rows.sum())

    def _steps(self, table: Table, data: pd.DataFrame) -> list[Step]:
        low, high = (b if isinstance(b, str) else None for b in (self.low, self.high))
        x = self.column
        if low and high and table.continuous(x, low, high):
            return [Ratio.make(table, x, low, high, f"({x}-{low})/({high}-{low})")]
        if low and table.continuous(x, low):
            return [Gap.make(table, low, x, 1, f"{x}-{low}")]
        if high and table.continuous(x, high):
            return [Gap.make(table, high, x, -1, f"{high}-{x}")]
        return []


def _bound(reader: _Reader, column: str, key: str) -> Any:
    value = reader.spec.get(key)
    if value is None:
        return None
    col = reader.meta.columns[column]
    if isinstance(value, str) and value in reader.meta.columns:
        return reader.column(key, (col.type,))
    if col.type == "datetime" and isinstance(value, str):
        try:
            return _Scale(col).constant(value)
        except ValueError:
            pass
    elif (
        col.type == "numerical" and isinstance(value, (int, float)) and not isinstance(value, bool)
    ):
        if np.isfinite(value):
            return float(value)
    if isinstance(value, str):
        reader.fail(f"'{key}' {value!r} is not a column{reader.close(value)}")
    else:
        kind = "a date in quotes" if col.type == "datetime" else "a finite number"
        reader.fail(f"'{key}' must be {kind} or a column name, got {value!r}")
    return None


@dataclass
class Sign(Range):
    """``positive`` (``column >= 0``, ``> 0`` if strict) or ``negative``."""

    @classmethod
    def parse(cls, reader: _Reader) -> Sign | None:
        column = reader.column("column", ("numerical",))
        strict = reader.flag("strict")
        if column is None:
            return None
        positive = reader.spec["type"] == "positive"
        rule = cls("", (column,), column=column, strict=strict)
        rule.low, rule.high = (0.0, None) if positive else (None, 0.0)
        rule.name = rule._label(0 if positive else None, None if positive else 0)
        return rule


@dataclass
class FixedCombinations(Constraint):
    """Only combinations of these categorical/boolean columns seen in training."""

    labels: list[list[Any]] | None = field(default=None, repr=False)
    seen: np.ndarray | None = field(default=None, repr=False)  # label slots per combination

    @classmethod
    def parse(cls, reader: _Reader) -> FixedCombinations | None:
        names = reader.columns(("categorical", "boolean"), 2)
        return cls(f"fixed combinations of {', '.join(names)}", tuple(names))

    def _learn(self, data: pd.DataFrame, metadata: Metadata) -> None:
        labels, codes = _combination_codes(data, self.columns, metadata)
        slots = np.column_stack([_slots(lab)[c] for lab, c in zip(labels, codes.T, strict=True)])
        self.labels = labels
        self.seen = np.unique(slots[(codes >= 0).all(axis=1)], axis=0)

    def _holds(self, view: View, state: dict[str, Any] | None) -> np.ndarray:
        if self.seen is None or self.labels is None:
            return np.ones(len(view), dtype=bool)
        null = np.zeros(len(view), dtype=bool)
        found = []
        for name, labels in zip(self.columns, self.labels, strict=True):
            null |= view.null(name)
            uniq = pd.Index(list(dict.fromkeys(labels)), dtype=object)
            found.append(uniq.get_indexer(pd.Index(view.data[name].astype(object))))
        rows = pd.MultiIndex.from_arrays(found)
        known = pd.MultiIndex.from_arrays(list(self.seen.T)) if len(self.seen) else None
        inside = rows.isin(known) if known is not None else np.zeros(len(view), dtype=bool)
        return np.asarray(inside) | null

    def _steps(self, table: Table, data: pd.DataFrame) -> list[Step]:
        if not table.discrete(*self.columns):
            return []
        return [Combine.make(table, list(self.columns), "|".join(self.columns))]

    def get_state(self) -> dict[str, Any]:
        return {"labels": self.labels, "seen": self.seen}

    def set_state(self, state: dict[str, Any]) -> None:
        self.labels = state.get("labels")
        seen = state.get("seen")
        self.seen = (
            None if seen is None else np.asarray(seen, dtype="int64").reshape(-1, len(self.columns))
        )


def _combination_codes(
    data: pd.DataFrame, names: tuple[str, ...] | list[str], metadata: Metadata
) -> tuple[list[list[Any]], np.ndarray]:
    """Each column's decoded label per code, and each row's codes (-1 where missing)."""
    labels, codes = [], []
    for name in names:
        column, values = metadata.columns[name], data[name]
        present = values.notna().to_numpy()
        transform = transform_for(column).fit(values[present])
        code = np.full(len(values), -1, dtype="int64")
        code[present] = transform.encode(values[present])
        labels.append(_decoded_labels(column, transform))
        codes.append(code)
    return labels, np.column_stack(codes) if codes else np.empty((len(data), 0), "int64")


def _decoded_labels(column: Column, transform: Any) -> list[Any]:
    """What each code decodes to (the pooled code as ``(other)`` or the mode, as decoding does)."""
    if column.type == "boolean":
        if column.true_label is None:
            return [False, True]
        return [column.false_label, column.true_label]
    labels = [_plain(c) for c in transform.categories_]
    if transform.has_other_:
        text = all(isinstance(c, str) for c in labels)
        labels.append(RARE_LABEL if text else labels[transform.mode_])
    return labels


def _slots(labels: list[Any]) -> np.ndarray:
    """Per code, the first position of its label (codes decoding to one label share a slot)."""
    first: dict[Any, int] = {}
    for label in labels:
        first.setdefault(label, len(first))
    # a last entry of -1, so that indexing with the code -1 (missing) gives -1
    return np.append(np.array([first[label] for label in labels], dtype="int64"), -1)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class Formula(Constraint):
    """``column = expression``: the column is computed from the others, never learned."""

    column: str = ""
    expression: Expression | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, reader: _Reader) -> Formula | None:
        column = reader.column("column", _ORDERED)
        expr = reader.expression("expression")
        if column is None or expr is None:
            return None
        if column in expr.names:
            reader.fail(f"the expression {expr.text!r} reads its own column {column!r}")
        for name in expr.names:
            col = reader.meta.columns.get(name)
            if col is not None and not col.modelled:
                reader.fail(f"the expression reads {name!r}, a regenerated {col.type} column")
        return cls(f"{column} = {expr.text}", (column, *expr.names), column=column, expression=expr)

    def _expected(self, view: View) -> tuple[np.ndarray, np.ndarray]:
        """The computed values in the column's units, and where they are undefined."""
        assert self.expression is not None
        value = self.expression.evaluate(view.values(self.expression.names), len(view))
        dates = view.scale(self.column).dates
        if value.dtype.kind in "OUS":
            raise InvalidDataError(
                f"the expression {self.expression.text!r} gives text, not numbers or dates; "
                f"column {self.column!r} can only be computed from numeric or date columns"
            )
        if dates != (value.dtype.kind == "M"):
            got = "a datetime" if value.dtype.kind == "M" else "numbers"
            raise InvalidDataError(
                f"formula {self.name!r}: the expression gives {got} but column "
                f"{self.column!r} is {view.meta.columns[self.column].type}"
            )
        if dates:
            null = np.isnat(value)
            return np.where(null, 0, value.astype("int64")), null
        value = np.asarray(value, dtype="float64")
        return value, ~np.isfinite(value)

    def _holds(self, view: View, state: dict[str, Any] | None) -> np.ndarray:
        actual, null = view.scaled(self.column)
        expected, undefined = self._expected(view)
        slack = view.scale(self.column).tolerance(expected) + self._parts_rounding(view, expected)
        close = np.abs(actual - expected) <= slack
        return close | null | undefined

    def _parts_rounding(self, view: View, expected: np.ndarray) -> np.ndarray:
        """How far rounding the read columns to their decimals may move the result.

        A total kept to the fraction of a cent beside parts rounded to the cent
        (``paid_total = paid_principal + paid_interest``) holds only this loosely,
        as :meth:`Metadata.detect` accepts it; each read column is moved by
        detection's :func:`half_step` and the change in the result counted.
        """
        assert self.expression is not None
        names, slack = self.expression.names, np.zeros(len(expected))
        if view.meta.columns[self.column].type != "numerical":
            return slack
        values = view.values(names)
        for name in names:
            step = half_step(view.meta.columns[name])
            if step:
                moved = {**values, name: values[name] + step}
                with np.errstate(all="ignore"):  # undefined rows (x / 0) carry no slack
                    shifted = self.expression.evaluate(moved, len(view))
                    change = np.abs(np.asarray(shifted, dtype="float64") - expected)
                slack += np.nan_to_num(change)
        return slack

    def _repair(self, view: View, filled: bool) -> int:
        """Fill the column: every row if the model never learned it (``filled``), else bad rows."""
        expected, undefined = self._expected(view)
        scale = view.scale(self.column)
        if filled:
            rows = ~view.null(self.column)
            null = undefined
        else:
            rows, null = ~self._holds(view, None), None
        if not rows.any():
            return 0
        values = scale.nearest(expected)
        view.update(self.column, scale.write(view.data[self.column], rows, values, null))
        return int(rows.sum())

    def _steps(self, table: Table, data: pd.DataFrame) -> list[Step]:
        if self.column not in table.kinds:
            return []
        view = View(data, table.metadata)
        implied = np.array_equal(self._expected(view)[1], view.null(self.column))
        return [Drop.make(table, self.column, implied)]


@dataclass
class OneHot(Constraint):
    """Exactly one of these boolean (or 0/1) columns is true in every row."""

    @classmethod
    def parse(cls, reader: _Reader) -> OneHot | None:
        names = reader.columns(("boolean", "numerical", "categorical"), 2)
        for name in names:
            col = reader.meta.columns[name]
            if col.type == "numerical" and not col.integer:
                reader.fail(f"column {name!r} holds decimals; one_hot needs 0/1 or boolean columns")
            if col.type == "categorical" and col.categories is not None:
                if not {_plain(c) for c in col.categories} <= {0, 1}:
                    reader.fail(f"column {name!r} has categories other than 0 and 1")
        return cls(f"exactly one of {', '.join(names)}", tuple(names))

    def _flags(self, view: View, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Where the column is true, and where it holds a value that is neither true nor false."""
        col, values = view.meta.columns[name], view.data[name]
        null = view.null(name)
        if col.type == "boolean" and col.true_label is not None:
            true = (values == col.true_label).to_numpy(dtype=bool, na_value=False)
            false = (values == col.false_label).to_numpy(dtype=bool, na_value=False)
        else:
            numbers = view.values((name,))[name]
            if numbers.dtype == object:
                numbers = np.asarray(pd.to_numeric(pd.Series(numbers), errors="coerce"), "float64")
            true, false = numbers == 1, numbers == 0
        return true, ~(true | false | null)

    def _holds(self, view: View, state: dict[str, Any] | None) -> np.ndarray:
        count = np.zeros(len(view), dtype="int64")
        odd = np.zeros(len(view), dtype=bool)
        for name in self.columns:
            true, other = self._flags(view, name)
            count += true
            odd |= other
        return (count == 1) & ~odd

    def _steps(self, table: Table, data: pd.DataFrame) -> list[Step]:
        if any(n not in table.kinds for n in self.columns):
            return []
        values: list[tuple[float, float]] = []
        for name in self.columns:
            col = table.metadata.columns[name]
            if col.type == "categorical":
                present = data[name].dropna()
                cats = [_plain(c) for c in transform_for(col).fit(present).categories_]
                if 0 not in cats or 1 not in cats:
                    return []
                values.append((float(cats.index(1)), float(cats.index(0))))
            else:
                values.append((1.0, 0.0))
        return [OneHotStep.make(table, list(self.columns), values, "|".join(self.columns))]


@dataclass
class Unique(Constraint):
    """The combination of these columns never repeats (rows with a missing cell aside)."""

    @classmethod
    def parse(cls, reader: _Reader) -> Unique | None:
        names = reader.columns(None, 1)
        label = names[0] if len(names) == 1 else f"({', '.join(names)})"
        return cls(f"unique {label}", tuple(names))

    def _keys(self, view: View) -> tuple[np.ndarray, np.ndarray]:
        """A hash per row of its values, read by value (3, 3.0 and Int64 3 are one value)."""
        keys = np.zeros(len(view), dtype="uint64")
        null = np.zeros(len(view), dtype=bool)
        for name in self.columns:
            values = column_values(view.data[name], view.meta.columns.get(name))
            null |= pd.isna(values)
            if values.dtype.kind in "fM":
                values = values.view("int64")
            hashed = pd.util.hash_array(values.astype(str) if values.dtype == object else values)
            keys = keys * np.uint64(1_000_003) ^ hashed
        return keys, null

    def _holds(self, view: View, state: dict[str, Any] | None) -> np.ndarray:
        keys, null = self._keys(view)
        repeated = pd.Series(np.where(null, 0, keys)).duplicated().to_numpy() & ~null
        seen = _seen(state, self.name)
        if len(seen):
            at = np.minimum(np.searchsorted(seen, keys), len(seen) - 1)
            repeated |= (seen[at] == keys) & ~null
        return ~repeated

    def remember(self, data: pd.DataFrame, state: dict[str, Any]) -> None:
        keys, null = self._keys(View(data, self.metadata or Metadata()))
        state.setdefault("unique", {})[self.name] = np.union1d(_seen(state, self.name), keys[~null])

    @property
    def resampled(self) -> bool:
        return True


def _seen(state: dict[str, Any] | None, name: str) -> np.ndarray:
    if not state:
        return np.empty(0, dtype="uint64")
    return state.get("unique", {}).get(name, np.empty(0, dtype="uint64"))


@dataclass
class Custom(Constraint):
    """Any rule as an expression that is true for every good row."""

    expression: Expression | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, reader: _Reader) -> Custom | None:
        expr = reader.expression("expression")
        if expr is None:
            return None
        return cls(expr.text, expr.names, expression=expr)

    def _holds(self, view: View, state: dict[str, Any] | None) -> np.ndarray:
        assert self.expression is not None
        return self.expression.predicate(view.values(self.expression.names), len(view))

    @property
    def resampled(self) -> bool:
        return True


KINDS: dict[str, type[Constraint]] = {
    "inequality": Inequality,
    "range": Range,
    "fixed_combinations": FixedCombinations,
    "formula": Formula,
    "one_hot": OneHot,
    "unique": Unique,
    "positive": Sign,
    "negative": Sign,
    "custom": Custom,
}
