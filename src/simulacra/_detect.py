"""Guessing column types from data, and checking data against declared types."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from simulacra._datetimes import OFFSET_AT_END, parse_datetimes
from simulacra._dependencies import detect_fixed_combinations
from simulacra._dtypes import widened
from simulacra._expressions import Expression
from simulacra._formulas import detect_sums
from simulacra._orderings import detect_orders
from simulacra.errors import InvalidDataError
from simulacra.metadata import Column, Metadata
from simulacra.privacy.checksums import luhn_valid
from simulacra.privacy.detect import NAME_HINTS, classify
from simulacra.transforms._tail import common_word_share

__all__ = ["detect_column", "detect_metadata", "id_pattern", "luhn_valid", "value_problems"]

SAMPLE = 2000  # values looked at when guessing from patterns
DATETIME_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d-%b-%Y",
    "%b %d, %Y",
)
KNOWN_SCALES = (
    ("low", "medium", "high"),
    ("very low", "low", "medium", "high", "very high"),
    ("small", "medium", "large"),
    ("xs", "s", "m", "l", "xl"),
    ("never", "rarely", "sometimes", "often", "always"),
    ("poor", "fair", "good", "very good", "excellent"),
    ("strongly disagree", "disagree", "neutral", "agree", "strongly agree"),
)
BOOLEAN_PAIRS = (("true", "false"), ("yes", "no"), ("y", "n"), ("t", "f"))
# An open tail (new labels for rare values, made of common words) for a text column when
# its rare values hold at least this share of rows, are this many, and this share of their
# rows uses only words that at least min_category_count rows hold (job titles, not codes).
TAIL_SHARE, TAIL_DISTINCT, TAIL_COMMON_WORDS = 0.05, 50, 0.25

_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_DOB_NAME = dict(NAME_HINTS)["date_of_birth"]
_ID_NAME = re.compile(r"(^|_)(id|key|uuid|guid)$|^id_|[a-z]Id$|ID$")


def detect_metadata(
    data: pd.DataFrame, *, min_category_count: int = 5, formulas: bool = True
) -> Metadata:
    """Guess a :class:`Metadata` for ``data``; raise one error listing every problem.

    With ``formulas``, a number equal to the sum or difference of two or three
    others on every row becomes a ``formula`` constraint, a category with
    the categories it determines (a city and its country) a ``fixed_combinations`` one,
    and a date that never comes before another (or a number never above an overlapping
    one) an ``inequality`` one.
    """
    if not isinstance(data, pd.DataFrame):
        raise InvalidDataError(f"expected a pandas DataFrame, got {type(data).__name__}")
    if data.shape[1] == 0:
        raise InvalidDataError("the table has no columns")
    data = widened(data)  # float32 columns at the decimals they print as
    if len(data) == 0:
        raise InvalidDataError("the table has a header but no rows; a model needs data")
    problems: list[str] = repeated_names(data)
    if problems:
        raise InvalidDataError(problems)
    columns: dict[str, Column] = {}
    for name in data.columns:
        if not isinstance(name, str):
            problems.append(f"column name {name!r} is not text; give every column a name")
            continue
        try:
            columns[name] = detect_column(name, data[name], min_category_count)
        except InvalidDataError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InvalidDataError(problems)
    ids = [n for n, c in columns.items() if c.type == "id"]
    constraints = []
    if formulas:
        sums = detect_sums(data, columns)
        tied = [{s["column"], *Expression(s["expression"]).names} for s in sums]
        constraints = (
            sums + detect_fixed_combinations(data, columns) + detect_orders(data, columns, tied)
        )
    return Metadata(columns=columns, primary_key=ids[0] if ids else None, constraints=constraints)


def repeated_names(data: pd.DataFrame) -> list[str]:
    """A problem per column name the table holds more than once."""
    repeated = data.columns[data.columns.duplicated()].unique()
    return [
        f"column name {name!r} appears {int((data.columns == name).sum())} times; "
        "give every column its own name"
        for name in repeated
    ]


_NUMBER_KINDS = ("integer", "floating", "mixed-integer-float", "decimal")


def detect_column(name: str, values: pd.Series, min_category_count: int = 5) -> Column:
    """Guess one column's type and facts."""
    present = values.dropna()
    if present.empty:
        raise InvalidDataError(
            f"column {name!r} is entirely empty; drop it, or declare its type in a metadata "
            "JSON and pass that with --metadata"
        )
    dtype = values.dtype
    # Python objects beside gaps (JSON lines): True/False, ints or floats
    held = pd.api.types.infer_dtype(present) if pd.api.types.is_object_dtype(dtype) else None
    if pd.api.types.is_bool_dtype(dtype) or held == "boolean":
        return Column("boolean")
    if isinstance(dtype, pd.CategoricalDtype):
        cats = [_plain(c) for c in dtype.categories]
        if dtype.ordered:
            return Column("categorical", categories=cats, ordered=True)
        present = present.astype(object)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if _DOB_NAME.search(name.lower()):
            return Column("pii", pii="date_of_birth", locale="en_US")
        return _datetime_column(pd.to_datetime(present), None)
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return _numeric_column(name, values, present)
    if held in _NUMBER_KINDS:
        numbers = pd.to_numeric(values)
        return _numeric_column(name, numbers, numbers.dropna())
    text = present.astype(str)
    return _text_column(name, text, min_category_count)


def _numeric_column(name: str, values: pd.Series, present: pd.Series) -> Column:
    arr = present.to_numpy(dtype="float64")
    if not np.isfinite(arr).all():
        raise InvalidDataError(
            f"column {name!r} holds infinite values; replace them with empty cells or numbers"
        )
    whole = bool(np.all(arr == np.round(arr)))
    unique = present.nunique()
    found = classify(name, present) if whole else None  # card numbers, national ids
    if found is not None:
        return Column("pii", pii=found.kind, locale="en_US")
    if whole and unique == len(values) and _ID_NAME.search(name):
        return Column("id", pattern="{int}")
    if whole and unique <= 2:
        return Column("categorical", categories=sorted(_plain(v) for v in present.unique()))
    col = Column("numerical", integer=whole, min=_plain(arr.min()), max=_plain(arr.max()))
    if whole:
        col.min, col.max = int(arr.min()), int(arr.max())
    else:
        col.decimals = _decimals(arr)
        if col.decimals is not None:  # 0.15, not the 0.15000000000000002 arithmetic left
            col.min, col.max = (
                _at_precision(v, col.decimals, s) for v, s in ((col.min, 1), (col.max, -1))
            )
    return col


def _at_precision(bound: float, decimals: int, side: int) -> float:
    """A lower (``side`` 1) or upper (-1) bound rounded to the column's decimals, unless that
    moves it past the value (the decimals are read on the first rows only)."""
    rounded = round(float(bound), decimals)
    slack = 1e-9 * max(1.0, abs(bound))
    return rounded if side * (rounded - bound) <= slack else float(bound)


def _decimals(arr: np.ndarray) -> int | None:
    """The fewest decimals (up to 6) that represent every value, or None."""
    sample = arr[:SAMPLE]
    # within a few units in the last place of each value: a tolerance scaled by the
    # largest value (1e-9 x 2e7 = 0.02) would read 4 decimals of large amounts as 2
    slack = 16 * np.spacing(np.abs(sample))
    for d in range(1, 7):
        if (np.abs(np.round(sample, d) - sample) <= slack).all():
            return d
    return None


def _text_column(name: str, text: pd.Series, min_category_count: int) -> Column:
    sample = text.iloc[:SAMPLE]
    lowered = name.lower()
    numbers = pd.to_numeric(sample, errors="coerce")
    share_numeric = numbers.notna().mean()
    if 0.8 <= share_numeric < 1:
        bad = sample[numbers.isna()]
        raise InvalidDataError(
            f"column {name!r} mixes numbers and text (e.g. {bad.iloc[0]!r} at row "
            f"{bad.index[0]}); fix or blank those cells, or declare the column 'categorical' "
            "in a metadata JSON"
        )
    lower_set = {v.strip().lower() for v in text.unique()[:10]}
    for pair in BOOLEAN_PAIRS:
        if len(lower_set) == 2 and lower_set == set(pair):
            uniq = list(text.unique())
            true = next(v for v in uniq if v.strip().lower() == pair[0])
            false = next(v for v in uniq if v.strip().lower() == pair[1])
            return Column("boolean", true_label=true, false_label=false)
    fmt = _datetime_format(sample)
    if fmt is not None and _DOB_NAME.search(lowered):
        return Column("pii", pii="date_of_birth", locale="en_US")
    if fmt is not None:
        return _datetime_column(parse_datetimes(text, fmt), fmt)
    unique_share = text.nunique() / len(text)
    if _UUID.match(sample.iloc[0]) and sample.str.match(_UUID).all():
        return Column("id", pattern="{uuid}")
    found = classify(name, sample)
    if found is not None:
        return Column("pii", pii=found.kind, locale="en_US")
    if unique_share == 1.0 and len(text) >= 2:
        pattern = id_pattern(sample)
        if pattern is not None and (_ID_NAME.search(name) or "{digits" in pattern):
            return Column("id", pattern=pattern)
    words = sample.str.split().str.len().mean()
    if words >= 5:
        return Column("text", locale="en_US")
    counts = text.value_counts()
    scale = _known_scale(set(counts.index))
    if scale is not None:
        return Column("categorical", categories=scale, ordered=True)
    frequent = counts[counts >= min_category_count]
    col = Column("categorical", categories=sorted(frequent.index.tolist()))
    if _open_tail(text, counts, min_category_count):
        col.tail_words = max(min_category_count, 2)
    return col


def _open_tail(text: pd.Series, counts: pd.Series, min_count: int) -> bool:
    """Whether a text column's rare values are an open tail that common words can redraw."""
    rare = counts[counts < min_count]
    if len(rare) < TAIL_DISTINCT or rare.sum() < TAIL_SHARE * len(text):
        return False
    tail = text[text.isin(rare.index)]
    return common_word_share(text, tail, max(min_count, 2)) >= TAIL_COMMON_WORDS


def _datetime_format(sample: pd.Series) -> str | None:
    first = sample.iloc[0]
    if not any(ch.isdigit() for ch in first) or len(first) < 6:
        return None
    fmt = _format_of_all(sample)
    if fmt is not None:
        return fmt
    # one UTC offset on every value (+02:00, +0200, Z): wall-clock times at that offset,
    # the offset kept as literal text so that it is written back as it was read
    offsets = sample.str.extract(OFFSET_AT_END, expand=False)
    if not offsets.notna().all():
        return None
    if offsets.nunique() == 1:
        offset = offsets.iloc[0]
        fmt = _format_of_all(sample.str.slice(stop=-len(offset)))
        return None if fmt is None else fmt + offset
    # offsets that differ (a daylight-saving change): UTC instants, each written back at
    # the offset in force at its time, in the data's style (+02:00 or +0200)
    fmt = _format_of_all(sample.str.replace(OFFSET_AT_END, "", regex=True))
    colon = offsets.str.contains(":").any()
    return None if fmt is None else fmt + ("%:z" if colon else "%z")


def _format_of_all(sample: pd.Series) -> str | None:
    """The first of ``DATETIME_FORMATS`` that parses every value, or None."""
    for fmt in DATETIME_FORMATS:
        if pd.to_datetime(sample, format=fmt, errors="coerce").notna().all():
            return fmt
    return None


def _datetime_column(stamps: pd.Series, fmt: str | None) -> Column:
    naive = stamps.dt.tz_localize(None) if stamps.dt.tz is not None else stamps
    ns = naive.astype("datetime64[ns]").astype("int64")
    resolution = "ns"
    for res, step in (("D", 86_400 * 10**9), ("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if (ns % step == 0).all():
            resolution = res
            break
    return Column(
        "datetime",
        format=fmt,
        resolution=resolution,
        min=stamps.min().isoformat(),  # with its UTC offset when the data has a time zone
        max=stamps.max().isoformat(),
    )


def _known_scale(values: set[str]) -> list[str] | None:
    lowered = {v.lower(): v for v in values}
    for scale in KNOWN_SCALES:
        if set(lowered) <= set(scale) and len(lowered) >= 3:
            return [lowered[s] for s in scale if s in lowered]
    return None


def id_pattern(sample: pd.Series) -> str | None:
    """A template such as ``CUST-{digits:6}`` shared by every value, or None.

    Tokens: ``{digits:N}``, ``{upper:N}``, ``{lower:N}``, ``{alnum:N}``; the rest is literal.
    """
    lengths = sample.str.len()
    if lengths.nunique() != 1:
        return None
    width = int(lengths.iloc[0])
    if width == 0 or width > 64:
        return None
    grid = sample.to_numpy(dtype=f"U{width}").view("U1").reshape(len(sample), width)
    classes = []
    for j in range(width):
        chars = grid[:, j]
        first = chars[0]
        if (chars == first).all() and not first.isdigit():
            classes.append(("lit", first))
        elif np.char.isdigit(chars).all():
            classes.append(("digits", None))
        elif np.char.isupper(chars).all():
            classes.append(("upper", None))
        elif np.char.islower(chars).all():
            classes.append(("lower", None))
        elif np.char.isalnum(chars).all():
            classes.append(("alnum", None))
        else:
            return None
    out, j = [], 0
    while j < width:
        kind, lit = classes[j]
        k = j
        while k < width and classes[k][0] == kind and kind != "lit":
            k += 1
        if kind == "lit":
            out.append(lit.replace("{", "{{").replace("}", "}}"))
            j += 1
        else:
            out.append(f"{{{kind}:{k - j}}}")
            j = k
    return "".join(out)


def value_problems(name: str, col: Column, values: pd.Series) -> list[str]:
    """Problems with a column's values under its declared type (empty when fine)."""
    present = values.dropna()
    if present.empty:
        return []
    if col.type == "numerical":
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        ):
            return []
        numbers = pd.to_numeric(present, errors="coerce")
        bad = present[numbers.isna()]
        if len(bad):
            return [
                f"column {name!r} is declared numerical but holds text such as "
                f"{bad.iloc[0]!r} (row {bad.index[0]}); fix those cells or declare it categorical"
            ]
    if col.type == "datetime" and not pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = parse_datetimes(present.astype(str), col.format, errors="coerce")
        bad = present[parsed.isna()]
        if len(bad):
            return [
                f"column {name!r} is declared datetime (format {col.format!r}) but "
                f"{bad.iloc[0]!r} (row {bad.index[0]}) does not parse; fix the cell or the format"
            ]
    if col.type == "boolean" and col.true_label is not None:
        bad = present[~present.isin([col.true_label, col.false_label])]
        if len(bad):
            return [
                f"column {name!r} is declared boolean ({col.true_label!r}/{col.false_label!r}) "
                f"but holds {bad.iloc[0]!r} (row {bad.index[0]})"
            ]
    return []


def _plain(value: Any) -> Any:
    """A numpy scalar as a plain Python value (JSON-friendly)."""
    return value.item() if hasattr(value, "item") else value
