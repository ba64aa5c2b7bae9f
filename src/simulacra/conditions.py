"""Conditions on sampled rows: what the user asks for, in the model's encoded space.

``sample(n, conditions={"region": "North", "age": (30, 40)})`` or
``sample(conditions=df)`` (one output row per condition row). In a dict a
value is a single value (equality), a ``(low, high)`` tuple (a closed range;
``None`` leaves an end open), a list or set (any of these categories), or
``None`` (the cell is missing). In a DataFrame every cell is an equality and
an empty cell leaves that column free in that row.
"""

from __future__ import annotations

import datetime
import difflib
import numbers
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InvalidParameterError
from simulacra.metadata import Metadata
from simulacra.processor import NULL_SUFFIX, Processor

__all__ = [
    "Conditions",
    "Evidence",
    "check_not_twice",
    "met",
    "parse_conditions",
    "rebalance_conditions",
    "value_step",
]

_RESOLUTION_SECONDS = {"D": 86_400.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


@dataclass(frozen=True)
class Evidence:
    """Conditions per row, in the encoded space a family learns from.

    ``allowed[name]`` is an ``(n, cardinality)`` bool array: the codes discrete
    column ``name`` may take in each row. ``bounds[name]`` is a pair of float
    arrays ``(low, high)`` of length ``n``: the closed interval continuous
    column ``name`` must fall in (``low == high`` pins the value). Columns not
    named are free. A condition on a nullable column also pins its ``#null``
    indicator through ``allowed``.
    """

    n: int
    allowed: dict[str, np.ndarray]
    bounds: dict[str, tuple[np.ndarray, np.ndarray]]

    @property
    def columns(self) -> list[str]:
        return [*self.allowed, *self.bounds]

    def take(self, rows: slice | np.ndarray) -> Evidence:
        """The evidence of a subset of rows."""
        allowed = {k: v[rows] for k, v in self.allowed.items()}
        bounds = {k: (lo[rows], hi[rows]) for k, (lo, hi) in self.bounds.items()}
        return Evidence(len(np.arange(self.n)[rows]), allowed, bounds)

    def broadcast(self, n: int) -> Evidence:
        """This one row's evidence repeated for ``n`` rows (views, no copies)."""
        allowed = {k: np.broadcast_to(v[:1], (n, v.shape[1])) for k, v in self.allowed.items()}
        bounds = {
            k: (np.broadcast_to(lo[:1], (n,)), np.broadcast_to(hi[:1], (n,)))
            for k, (lo, hi) in self.bounds.items()
        }
        return Evidence(n, allowed, bounds)

    def combine(self, other: Evidence) -> Evidence:
        """Both sets of conditions on the same rows; a column in both is an error."""
        check_not_twice(self.columns, other.columns)
        return Evidence(self.n, {**self.allowed, **other.allowed}, {**self.bounds, **other.bounds})

    def patterns(self) -> np.ndarray:
        """A group number per row: rows with the same conditions share it."""
        parts = [np.packbits(a, axis=1) for a in self.allowed.values()]
        parts += [np.column_stack(b).view(np.uint8) for b in self.bounds.values()]
        if not parts:
            return np.zeros(self.n, dtype=np.int64)
        packed = np.ascontiguousarray(np.hstack(parts))
        keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
        return np.unique(keys, return_inverse=True)[1].reshape(-1)


@dataclass(frozen=True)
class Conditions:
    """Parsed conditions: the evidence, and how to say each row's conditions in words."""

    evidence: Evidence
    text: list[str]  # conditions every row shares, as written
    table: pd.DataFrame | None = None  # conditions that differ per row

    def describe(self, row: int = 0) -> str:
        parts = list(self.text)
        if self.table is not None:
            parts += [f"{c} == {_literal(v)}" for c, v in self.table.iloc[row].dropna().items()]
        return " and ".join(parts)

    def combine(self, other: Conditions) -> Conditions:
        tables = [t for t in (self.table, other.table) if t is not None]
        table = pd.concat(tables, axis=1) if tables else None
        return Conditions(self.evidence.combine(other.evidence), self.text + other.text, table)


def check_not_twice(conditioned: Any, rebalanced: Any) -> None:
    """A column both conditioned and rebalanced is an error naming it."""
    both = sorted(set(conditioned) & set(rebalanced), key=str)
    if both:
        raise InvalidParameterError(
            f"{', '.join(map(str, both))}: conditioned twice (conditions and rebalance); keep one"
        )


class _Missing:
    """A conditions-table cell that asks for a missing value (a blank cell asks nothing)."""

    def __repr__(self) -> str:
        return "missing"


MISSING = _Missing()


def _missing_cells(value: pd.Series) -> np.ndarray:
    return np.equal(value.to_numpy(dtype=object), MISSING)


def met(evidence: Evidence, decoded: pd.DataFrame, processor: Processor) -> np.ndarray:
    """Rows of a decoded frame that meet their row's conditions."""
    ok = np.ones(len(decoded), dtype=bool)
    for name, allowed in evidence.allowed.items():
        codes = _codes(decoded, name, processor)
        ok &= allowed[np.arange(len(codes)), codes]
    for name, (low, high) in evidence.bounds.items():
        values = _numbers(decoded, name, processor)
        ok &= np.isnan(values) | ((values >= low) & (values <= high))  # nulls: see #null
    return ok


def parse_conditions(
    conditions: dict[str, Any] | pd.DataFrame,
    metadata: Metadata,
    processor: Processor,
    n: int | None,
) -> tuple[Conditions, int]:
    """Conditions as evidence over the processor's encoded columns, and the row count."""
    if isinstance(conditions, pd.DataFrame):
        if n is not None and n != len(conditions):
            raise InvalidParameterError(
                f"n is {n} but the conditions table has {len(conditions)} rows; "
                "leave n out to get one row per condition row"
            )
        if len(conditions) == 0:
            raise InvalidParameterError("the conditions table has no rows")
        n = len(conditions)
        items = [(c, conditions[c]) for c in conditions.columns]
        for name, cells in items:
            _check_cells(name, cells)
    elif isinstance(conditions, dict):
        if n is None:
            raise InvalidParameterError("say how many rows to sample: sample(n, conditions=...)")
        items = [(c, _plain(v)) for c, v in conditions.items()]
    else:
        raise InvalidParameterError(
            f"conditions must be a dict or a DataFrame, got {type(conditions).__name__}"
        )
    allowed: dict[str, np.ndarray] = {}
    bounds: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    text = []
    for name, value in items:
        transform = _transform(name, metadata, processor)
        per_row = isinstance(value, pd.Series)
        null = _null_rows(name, value, n, processor)
        if transform.kind == "discrete":
            allowed[name] = _allowed_codes(name, value, n, transform)
        else:
            bounds[name] = _bounds(name, value, n, transform, metadata.columns[name])
        if null is not None:
            must, free = null
            allowed[name + NULL_SUFFIX] = np.column_stack([~must, must | free])
        if not per_row:
            text.append(f"{name} {_say(value)}")
    table = conditions.reset_index(drop=True) if isinstance(conditions, pd.DataFrame) else None
    return Conditions(Evidence(n, allowed, bounds), text, table), n


def _plain(value: Any) -> Any:
    """A dict condition's value as typed: NaN, NA or NaT ask for a missing cell, as None
    does; a float32 reads as its shortest decimal (50.3, not 50.29999923706)."""
    if isinstance(value, np.floating) and value.dtype.itemsize < 8:
        value = float(str(value))
    if not isinstance(value, list | tuple | set | frozenset | dict) and pd.isna(value) is True:
        return None
    return value


def _check_cells(name: str, cells: pd.Series) -> None:
    if cells.dtype != object or not pd.api.types.infer_dtype(cells, skipna=True).startswith(
        "mixed"
    ):
        return  # plain text, numbers, dates, booleans: no nested cell (checked in C)
    nested = cells.map(lambda v: isinstance(v, list | tuple | set | frozenset | dict)).to_numpy()
    if nested.any():
        row = int(np.flatnonzero(nested)[0])
        raise InvalidParameterError(
            f"conditions table: column {name!r} holds {cells.iloc[row]!r} in row {row} (counting "
            "from 0); a "
            "table gives one value per cell (a range or a set of values goes in a dict: "
            "sample(n, conditions={...}))"
        )


def rebalance_conditions(
    rebalance: dict[str, dict[Any, float]],
    metadata: Metadata,
    shares: dict[str, dict[Any, float]],
    n: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """A conditions table with each rebalanced column's categories in the asked shares.

    ``shares`` holds the model's own share of every category, which divides the
    rest among the categories the user did not name. Counts are allocated by
    largest remainder, so the shares hold as closely as ``n`` rows allow.
    """
    if not isinstance(rebalance, dict) or not rebalance:
        raise InvalidParameterError("rebalance must look like {'column': {'category': share}}")
    table = {}
    for name, asked in rebalance.items():
        column = metadata.columns.get(name)
        if column is None or column.type not in ("categorical", "boolean"):
            raise InvalidParameterError(
                f"rebalance: {name!r} is not a categorical or boolean column the model learned"
            )
        if not isinstance(asked, dict) or not asked:
            raise InvalidParameterError(
                f"rebalance: give {name!r} a dict of category -> share, e.g. {{'rare': 0.3}}"
            )
        known = shares[name]
        asked = {_label(k, known): v for k, v in asked.items()}
        unknown = [k for k in asked if k not in known]
        if None in unknown:
            raise InvalidParameterError(
                f"rebalance: {name!r} had no missing values in training, so a missing share "
                "cannot be asked for"
            )
        if unknown:
            raise InvalidParameterError(
                f"rebalance: {name!r} has no categor{'y' if len(unknown) == 1 else 'ies'} "
                f"{unknown}; known: {list(known)}"
            )
        bad = [v for v in asked.values() if not _real(v) or not 0 <= v <= 1]
        total = float(sum(v for v in asked.values() if _real(v)))
        if bad or total > 1 + 1e-9:
            raise InvalidParameterError(
                f"rebalance: shares for {name!r} must each lie in [0, 1] and sum to at most 1; "
                f"got {asked}"
            )
        rest = {k: s for k, s in known.items() if k not in asked}
        rest_total = sum(rest.values())
        if total < 1 - 1e-9 and rest_total <= 0:
            raise InvalidParameterError(
                f"rebalance: shares for {name!r} sum to {total:g}, but no other category is left "
                "to take the rest; make them sum to 1"
            )
        target = dict(asked)
        for k, s in rest.items():
            target[k] = (1 - total) * s / rest_total if rest_total > 0 else 0.0
        labels = list(target)
        exact = np.array([target[k] for k in labels]) * n
        counts = np.floor(exact).astype(np.int64)
        counts[np.argsort(counts - exact)[: n - counts.sum()]] += 1
        column_values = np.repeat(np.arange(len(labels)), counts)
        cells = np.empty(len(labels), dtype=object)
        cells[:] = [MISSING if k is None else k for k in labels]  # None: the missing share
        table[name] = pd.Series(cells[rng.permutation(column_values)])
    return pd.DataFrame(table)


# ------------------------------------------------------------------ parsing
def _transform(name: str, metadata: Metadata, processor: Processor):
    if name not in metadata.columns:
        close = difflib.get_close_matches(str(name), list(metadata.columns), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InvalidParameterError(
            f"conditions: the model has no column {name!r}{hint} "
            f"(columns: {', '.join(map(str, metadata.columns))})"
        )
    if name not in processor.transforms_:
        raise InvalidParameterError(
            f"conditions: column {name!r} is {metadata.columns[name].type}, regenerated rather "
            "than learned, so it cannot be conditioned on"
        )
    return processor.transforms_[name]


def _null_rows(
    name: str, value: Any, n: int, processor: Processor
) -> tuple[np.ndarray, np.ndarray] | None:
    """(must be missing, free) per row, or None when the indicator is not touched."""
    if isinstance(value, pd.Series):
        must = _missing_cells(value)
        free = value.isna().to_numpy()
    else:
        must = np.full(n, value is None)
        free = np.zeros(n, dtype=bool)
    if not processor.nullable_.get(name):
        if must.any():
            raise InvalidParameterError(
                f"conditions: column {name!r} had no missing values in training, so a missing "
                "value cannot be asked for"
            )
        return None
    return must, free


def _allowed_codes(name: str, value: Any, n: int, transform: Any) -> np.ndarray:
    k = transform.cardinality
    allowed = np.zeros((n, k), dtype=bool)
    if isinstance(value, pd.Series):
        present = value.notna().to_numpy() & ~_missing_cells(value)
        codes = _known_codes(name, value[present], transform, np.flatnonzero(present))
        allowed[~present] = True
        allowed[np.flatnonzero(present), codes] = True
        return allowed
    if value is None:
        return np.ones((n, k), dtype=bool)
    if isinstance(value, tuple):
        raise InvalidParameterError(
            f"conditions: {name!r} is a category; give one value or a list of values, not a range"
        )
    values = list(value) if isinstance(value, list | set | frozenset) else [value]
    if not values:
        raise InvalidParameterError(f"conditions: the list of values for {name!r} is empty")
    allowed[:, _known_codes(name, pd.Series(values, dtype=object), transform)] = True
    return allowed


def _known_codes(
    name: str, values: pd.Series, transform: Any, rows: np.ndarray | None = None
) -> np.ndarray:
    if hasattr(transform, "categories_"):
        from simulacra.evaluate.fidelity import as_labels

        index = pd.Index(as_labels(pd.Series(transform.categories_, dtype=object)))
        codes = index.get_indexer(as_labels(values.astype(object)))
    else:  # boolean
        true, false = transform.column.true_label, transform.column.false_label
        labels = {True: 1, False: 0} if true is None else {true: 1, false: 0}
        # text as typed on a command line: 'true', 'True', or the column's own labels
        said = {str(k).strip().lower(): c for k, c in labels.items()}
        codes = np.array(
            [labels.get(v, said.get(str(v).strip().lower(), -1)) for v in pd.unique(values)]
        )
        codes = pd.Series(codes, index=pd.unique(values)).reindex(values).to_numpy()
    unknown = pd.unique(values[codes < 0])
    if len(unknown):
        where = ""
        if rows is not None:
            where = (
                f" table (first in row {int(rows[np.flatnonzero(codes < 0)[0]])}, counting from 0)"
            )
        raise InvalidParameterError(
            f"conditions{where}: {name!r} never took the value(s) {list(unknown)[:5]} in training"
            f"{' (or they were too rare to learn)' if hasattr(transform, 'categories_') else ''}; "
            f"known: {_known(transform)}"
        )
    return codes.astype(np.int64)


def _known(transform: Any) -> str:
    if hasattr(transform, "categories_"):
        cats = list(transform.categories_)
        return ", ".join(map(repr, cats[:20])) + (" ..." if len(cats) > 20 else "")
    col = transform.column
    return "True, False" if col.true_label is None else f"{col.true_label!r}, {col.false_label!r}"


def _bounds(name: str, value: Any, n: int, transform: Any, column: Any) -> tuple:
    step = value_step(column)
    seen_low, seen_high = (
        _encode_scalar(transform, column.min),
        _encode_scalar(transform, column.max),
    )
    if isinstance(value, pd.Series):
        present = value.notna().to_numpy()
        low = np.full(n, -np.inf)
        high = np.full(n, np.inf)
        encoded = _encode_cells(name, value, present, transform) if present.any() else np.zeros(0)
        given, rows = value[present], np.flatnonzero(present)
        _check_values(name, encoded, step, seen_low, seen_high, column, given, rows)
        low[present] = high[present] = _on_grid(encoded, step, column)
        return low, high
    if value is None:
        return np.full(n, -np.inf), np.full(n, np.inf)
    if isinstance(value, list | set | frozenset):
        raise InvalidParameterError(
            f"conditions: {name!r} is {column.type}; give one value or a (low, high) range"
        )
    if isinstance(value, tuple):
        if len(value) != 2:
            raise InvalidParameterError(f"conditions: a range for {name!r} is (low, high)")
        low = -np.inf if value[0] is None else _encode_scalar(transform, value[0], name)
        high = np.inf if value[1] is None else _encode_scalar(transform, value[1], name)
        if low > high:
            raise InvalidParameterError(
                f"conditions: the range for {name!r} has low {value[0]!r} above high {value[1]!r}"
            )
        if step > 0:  # the column's values are on a grid: keep the grid points in the range
            low = np.ceil(low / step - _grid_slack(low / step)) * step if np.isfinite(low) else low
            high = (
                np.floor(high / step + _grid_slack(high / step)) * step
                if np.isfinite(high)
                else high
            )
            if low > high:
                raise InvalidParameterError(
                    f"conditions: the range {value!r} for {name!r} holds no value in steps of "
                    f"{step:g} (the column's precision); widen it"
                )
            low, high = low - step / 2 * (1 - 1e-9), high + step / 2 * (1 - 1e-9)
        if seen_low is not None and (high < seen_low or low > seen_high):
            raise InvalidParameterError(
                f"conditions: the range {value!r} for {name!r} lies outside the values seen in "
                f"training ({column.min} to {column.max})"
            )
        return np.full(n, low), np.full(n, high)
    encoded = np.array([_encode_scalar(transform, value, name)])
    _check_values(name, encoded, step, seen_low, seen_high, column, [value])
    pinned = _on_grid(encoded, step, column)[0]
    return np.full(n, pinned), np.full(n, pinned)


def _on_grid(values: np.ndarray, step: float, column: Any) -> np.ndarray:
    """Numbers moved onto the column's grid: 0.1 + 0.2 on a cents column is 0.3 (datetimes
    are encoded from whole ticks already, and a millisecond in ~1.7e12 would not survive)."""
    values = np.asarray(values, dtype="float64")
    if step <= 0 or column.type == "datetime":
        return values
    if step < 1:  # divide by the whole number of steps per unit: 30 / 100 is 0.3 exactly
        return np.rint(values / step) / np.rint(1 / step)
    return np.rint(values / step) * step


def _encode_cells(name: str, cells: pd.Series, present: np.ndarray, transform: Any) -> np.ndarray:
    """A conditions table's column, encoded; a cell that is no value of the column's type
    is named with its row (dates in another format than the column's are read too)."""
    given = cells[present]
    try:
        return transform.encode(given)
    except (ValueError, TypeError):
        pass
    dated = transform.column.type == "datetime"
    parsed = _dates(given, transform.column) if dated else pd.to_numeric(given, "coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        row = int(np.flatnonzero(present)[bad[0]])
        raise InvalidParameterError(
            f"conditions table: column {name!r} holds {given.iloc[bad[0]]!r} in row {row} "
            "(counting from 0), "
            f"not a {'date' if dated else 'number'}; fix that cell or leave it empty"
        )
    try:
        return transform.encode(parsed)
    except (ValueError, TypeError) as exc:
        raise InvalidParameterError(f"conditions table: column {name!r}: {exc}") from None


def _dates(cells: pd.Series, column: Any) -> pd.Series:
    """Cells as datetimes: text in the column's format first (01/02/2021 is the 1st of
    February in ``%d/%m/%Y``), then ISO text and datetimes; NaT where neither reads."""
    from simulacra._datetimes import parse_datetimes

    text = cells.map(lambda v: v if isinstance(v, str) else None)
    with warnings.catch_warnings():  # pandas warns on each format it has to guess
        warnings.simplefilter("ignore")
        own = parse_datetimes(text, column.format, errors="coerce") if column.format else None
        iso = pd.to_datetime(
            cells.map(lambda v: v.isoformat() if isinstance(v, pd.Timestamp) else v),
            errors="coerce",
            format="ISO8601",
            utc=own is not None and own.dt.tz is not None,
        )
        found = iso if own is None else own.where(own.notna(), iso)
        if found.isna().any():  # other text ("01 Mar 2021"), day first where the column is
            day, month = (column.format or "").find("%d"), (column.format or "").find("%m")
            dayfirst = day >= 0 and (month < 0 or day < month)
            loose = pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=dayfirst)
            found = found.where(found.notna(), loose)
    return found


def _grid_slack(units: float) -> float:
    """How far a bound counted in steps may sit off a whole number and still be on the
    grid: float64's own error at that size (a millisecond timestamp is ~1.7e12 steps),
    never half a step."""
    return float(min(0.49, 1e-6 + 8 * np.spacing(abs(units))))


def _check_values(name, encoded, step, seen_low, seen_high, column, given, rows=None) -> None:
    """Values on the column's grid, inside what training held; an error names the first
    value that is not (``given``: the values as asked, ``rows``: their table rows)."""
    outside = np.zeros(len(encoded), dtype=bool)
    if seen_low is not None:
        outside = (encoded < seen_low) | (encoded > seen_high)
    if outside.any():
        raise InvalidParameterError(
            f"conditions{_cell(name, given, rows, outside)}: {name!r} never took values outside "
            f"{column.min} to {column.max} in training; ask for a value inside that range"
        )
    slack = 1e-9 + 16 * np.spacing(np.abs(encoded))  # a timestamp's seconds hold ~1e-7 s
    if step > 0 and (off := np.abs(np.round(encoded / step) * step - encoded) > slack).any():
        raise InvalidParameterError(
            f"conditions{_cell(name, given, rows, off)}: values for {name!r} must be in steps "
            f"of {step:g} (the column's precision)"
        )


def _cell(name: str, given: Any, rows: np.ndarray | None, bad: np.ndarray) -> str:
    """Where the first bad value sits: `` table: 'age' is 200 in row 2 (counting from 0)``
    for a conditions table, `` 'age' == 200`` for one value."""
    first = int(np.flatnonzero(bad)[0])
    value = _literal(list(given)[first])
    if rows is None:
        return f" {name} == {value}"
    return f" table: {name!r} is {value} in row {int(rows[first])} (counting from 0)"


def _encode_scalar(transform: Any, value: Any, name: str = "") -> float | None:
    if value is None:
        return None
    try:
        try:
            return float(transform.encode(pd.Series([value]))[0])
        except (ValueError, TypeError):
            if transform.column.type != "datetime":
                raise
            stamp = pd.Timestamp(value)  # ISO text (as metadata bounds are kept) or a datetime
            return float(transform.encode(pd.Series([stamp]))[0])
    except (ValueError, TypeError) as exc:
        raise InvalidParameterError(
            f"conditions: {value!r} is not a valid value for {name!r} ({exc})"
        ) from None


def value_step(column: Any) -> float:
    """The spacing of a column's decoded values in encoded units (0 when continuous)."""
    if column.type == "datetime":
        return _RESOLUTION_SECONDS.get(column.resolution or "ns", 0.0)
    if column.integer:
        return 1.0
    return 10.0**-column.decimals if column.decimals is not None else 0.0


def _say(value: Any) -> str:
    if value is None:
        return "is missing"
    if isinstance(value, tuple):
        low, high = value
        shown = (
            "-inf" if low is None else _literal(low),
            "inf" if high is None else _literal(high),
        )
        return f"in [{shown[0]}, {shown[1]}]"
    if isinstance(value, list | set | frozenset):
        return f"in [{', '.join(_literal(v) for v in sorted(value, key=repr))}]"
    return f"== {_literal(value)}"


def _literal(value: Any) -> str:
    """A condition's value as a user writes it: 0.5, 'North', '2024-05-01' (not np.float64)."""
    if isinstance(value, pd.Timestamp | np.datetime64 | datetime.date):
        stamp = pd.Timestamp(value)
        midnight = stamp.tz is None and stamp == stamp.normalize()
        return repr(stamp.strftime("%Y-%m-%d") if midnight else stamp.isoformat())
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _label(key: Any, known: dict[Any, float]) -> Any:
    """A key as the known category it names; text from a command line matches by its text."""
    if key in known:
        return key
    same = [k for k in known if str(k).lower() == str(key).lower()]
    return same[0] if len(same) == 1 else key


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# ------------------------------------------------------------------ checking
def _codes(decoded: pd.DataFrame, name: str, processor: Processor) -> np.ndarray:
    if name.endswith(NULL_SUFFIX):
        return decoded[name[: -len(NULL_SUFFIX)]].isna().to_numpy().astype(np.int64)
    values = decoded[name]
    present = values.notna().to_numpy()
    codes = np.zeros(len(values), dtype=np.int64)
    if present.any():
        codes[present] = processor.transforms_[name].encode(values[present])
    return codes


def _numbers(decoded: pd.DataFrame, name: str, processor: Processor) -> np.ndarray:
    values = decoded[name]
    present = values.notna().to_numpy()
    out = np.full(len(values), np.nan)
    if present.any():
        out[present] = processor.transforms_[name].encode(values[present])
    return out
