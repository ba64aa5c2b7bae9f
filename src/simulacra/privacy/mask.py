"""Masking for data that stays real: each function takes a column and returns a new one.

Missing cells stay missing; the caller's Series is never changed. Keyed
operations (:func:`keyed_hash`, :func:`tokenize`) hash each distinct value
once; the rest are whole-column string or number operations.

>>> partial(pd.Series(["4111111111111111"])).tolist()
['************1111']
>>> generalize_numbers(pd.Series([37, 42, None]), 10).tolist()
['30-39', '40-49', None]
>>> generalize_postcodes(pd.Series(["90210", "SW1A 1AA"]), keep=3).tolist()
['902**', 'SW1* ***']
>>> generalize_dates(pd.Series(["2024-03-17"]), "month").tolist()
['2024-03']
"""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd

from simulacra._expressions import to_instants
from simulacra.errors import InvalidDataError, InvalidParameterError
from simulacra.privacy.checksums import char_grid, from_grid
from simulacra.privacy.pseudonymize import (
    digests,
    distinct_text,
    format_preserving,
    secret_bytes,
)

__all__ = [
    "DATE_LEVELS",
    "generalize_dates",
    "generalize_numbers",
    "generalize_postcodes",
    "keyed_hash",
    "partial",
    "suppress",
    "tokenize",
]

DATE_LEVELS = ("year", "quarter", "month")


def _text(values: pd.Series) -> pd.Series:
    """Present values as ``object`` text; missing cells as None."""
    out = values.astype(object).where(values.notna(), None)
    present = out.notna()
    out[present] = out[present].astype(str)
    return out


def partial(values: pd.Series, keep: int = 4, char: str = "*") -> pd.Series:
    """Every character masked but the last ``keep`` (at most half of each value shows)."""
    if keep < 0 or len(char) != 1:
        raise InvalidParameterError(
            f"partial masking needs keep >= 0 and one mask character, got {keep}, {char!r}"
        )
    text = _text(values)
    present = text.notna().to_numpy()
    if present.any():
        grid, lengths = char_grid(text[present])
        shown = np.minimum(keep, lengths // 2)
        hidden = np.arange(grid.shape[1])[None, :] < (lengths - shown)[:, None]
        grid[hidden] = ord(char)
        text[present] = from_grid(grid, text.index[present], lengths)
    return text


def keyed_hash(values: pd.Series, secret: str | bytes | None, length: int = 16) -> pd.Series:
    """HMAC-SHA256 of each value as ``length`` hex characters (consistent, not reversible)."""
    if not 8 <= length <= 64:
        raise InvalidParameterError(f"hash length {length} must be between 8 and 64")
    key = secret_bytes(secret)
    codes, text = distinct_text(values)
    d = digests(text, key, "hash")
    whole = d.tobytes().hex()  # 64 hex characters per distinct value
    hexed = np.array([whole[64 * i : 64 * i + length] for i in range(len(d))], dtype=object)
    return _by_code(hexed, codes, values.index)


def tokenize(
    values: pd.Series,
    secret: str | bytes | None,
    *,
    length: int = 12,
    prefix: str = "tok_",
    preserve_format: bool = False,
) -> pd.Series:
    """Consistent keyed tokens: ``tok_`` and ``length`` base-32 characters per distinct value.

    With ``preserve_format`` each digit becomes a digit and each letter a
    letter (same length and punctuation), for systems that validate formats;
    short values then collide more often.
    """
    if not 4 <= length <= 52:
        raise InvalidParameterError(f"token length {length} must be between 4 and 52")
    key = secret_bytes(secret)
    codes, text = distinct_text(values)
    d = digests(text, key, "token")
    if preserve_format:
        tokens = format_preserving(text, d).to_numpy(dtype=object)
    else:
        encoded = base64.b32encode(d.tobytes()).decode("ascii").lower()  # 52 chars per digest
        tokens = np.array(
            [prefix + encoded[52 * i : 52 * i + length] for i in range(len(d))], dtype=object
        )
    return _by_code(tokens, codes, values.index)


def _by_code(per_value: np.ndarray, codes: np.ndarray, index: pd.Index) -> pd.Series:
    out = pd.Series(per_value[codes] if len(per_value) else None, index=index, dtype=object)
    out[codes < 0] = None
    return out


def generalize_numbers(values: pd.Series, width: float) -> pd.Series:
    """Numbers replaced by their band of ``width``: 37 -> ``"30-39"`` (ints), ``"[30, 40)"``."""
    if not width > 0:
        raise InvalidParameterError(f"generalisation width must be positive, got {width}")
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        raise InvalidDataError(
            f"column {values.name!r} holds {values[bad].iloc[0]!r}, not a number; generalise "
            "it as dates or postcodes, or mask it another way"
        )
    low = np.floor(numbers / width) * width
    whole = bool((numbers.dropna() % 1 == 0).all()) and float(width) == int(width)
    codes, lows = pd.factorize(low)
    if whole:
        labels = [f"{int(lo)}-{int(lo + width - 1)}" for lo in lows]
    else:
        labels = [f"[{lo:.15g}, {lo + width:.15g})" for lo in lows]
    return _by_code(np.array(labels, dtype=object), codes, values.index)


def generalize_dates(values: pd.Series, level: str = "month") -> pd.Series:
    """Dates replaced by their ``year`` (``2024``), ``quarter`` (``2024-Q1``) or ``month``."""
    if level not in DATE_LEVELS:
        raise InvalidParameterError(f"date level {level!r} is not one of {list(DATE_LEVELS)}")
    stamps = _dates(values)
    codes, uniques = pd.factorize(
        stamps.dt.to_period({"year": "Y", "quarter": "Q", "month": "M"}[level])
    )
    labels = pd.PeriodIndex(uniques).strftime(
        {"year": "%Y", "quarter": "%Y-Q%q", "month": "%Y-%m"}[level]
    )
    return _by_code(np.asarray(labels, dtype=object), codes, values.index)


def _dates(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    if values.notna().sum() == 0:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    from simulacra._detect import _datetime_format

    text = values.astype("string")
    fmt = _datetime_format(text.dropna().iloc[:2000].astype(str))
    if fmt is None:
        raise InvalidDataError(
            f"column {values.name!r} does not hold dates in a known format (e.g. 2024-03-17); "
            "fix the cells or generalise the column as numbers"
        )
    return pd.Series(to_instants(text, fmt), index=values.index)  # naive, in UTC


def generalize_postcodes(values: pd.Series, keep: int = 3, char: str = "*") -> pd.Series:
    """Each letter and digit after the first ``keep`` replaced: ``90210`` -> ``902**``."""
    if keep < 0:
        raise InvalidParameterError(f"postcode generalisation keeps >= 0 characters, got {keep}")
    text = _text(values)
    present = text.notna()
    head = text[present].str[:keep]
    tail = text[present].str[keep:].str.replace(r"[^\W_]", char, regex=True)
    text[present] = head + tail
    return text


def suppress(values: pd.Series) -> pd.Series:
    """Every cell blanked (missing), keeping the column and its length."""
    return pd.Series(None, index=values.index, dtype=object, name=values.name)
