"""Check digits of card numbers, IBANs and national ids, vectorized over a Series.

Each ``*_valid`` function takes text and returns one boolean per value; the
``*_fix`` helpers rewrite the check characters of valid-looking text so that it
passes (used to make pseudonyms in the source's format). Strings are handled
as grids of code points (``(rows, width)`` uint32, right-padded with 0), so a
column is checked without a Python call per value.

>>> luhn_valid(pd.Series(["4111 1111 1111 1111", "4111 1111 1111 1112"])).tolist()
[True, False]
>>> iban_valid(pd.Series(["GB82 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 33"])).tolist()
[True, False]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "DNI_LETTERS",
    "IBAN_LENGTHS",
    "bsn_fix",
    "bsn_valid",
    "char_grid",
    "dni_fix",
    "dni_valid",
    "from_grid",
    "iban_fix",
    "iban_valid",
    "luhn_fix",
    "luhn_valid",
    "nino_valid",
    "ssn_fix",
    "ssn_valid",
]

DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
# Lengths of the IBAN of common countries (ISO 13616 registry); others are checked by mod 97 only.
IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "ES": 24, "FI": 18,
    "FR": 27, "GB": 22, "GR": 27, "IE": 22, "IT": 27, "LU": 20, "NL": 18, "NO": 15,
    "PL": 28, "PT": 25, "SE": 24,
}  # fmt: skip
_SSN = r"(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}"
_NINO = r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]"
_BSN_WEIGHTS = np.array([9, 8, 7, 6, 5, 4, 3, 2, -1])


def char_grid(values: pd.Series, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Code points of each text value as a ``(rows, width)`` grid, and the lengths."""
    text = values.astype(str)
    lengths = text.str.len().to_numpy(dtype=np.int64)
    width = max(1, int(lengths.max(initial=0)) if width is None else width)
    grid = text.to_numpy(dtype=f"U{width}").view(np.uint32).reshape(len(text), width)
    return grid.copy(), lengths


def from_grid(
    grid: np.ndarray, index: pd.Index | None = None, lengths: np.ndarray | None = None
) -> pd.Series:
    """Text values back from a code-point grid.

    Trailing zeros end each value unless ``lengths`` is given: then a value that
    really ends in NUL characters keeps them.
    """
    grid = np.ascontiguousarray(grid, dtype=np.uint32)
    text = grid.view(f"U{grid.shape[1]}").ravel() if grid.shape[1] else np.full(len(grid), "")
    text = text.astype(object)
    if lengths is not None:
        short = np.flatnonzero(pd.Series(text).str.len().to_numpy() < lengths)
        for i in short:  # only values that end in NUL characters, rare
            text[i] = "".join(map(chr, grid[i, : lengths[i]]))
    return pd.Series(text, index=index)


def _digits_only(values: pd.Series) -> pd.Series:
    return values.astype(str).str.replace(r"\D", "", regex=True)


def _luhn_sum(digits: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Luhn sums of right-aligned digit grids (``digits`` holds 0-9, padding anything)."""
    width = digits.shape[1]
    from_right = lengths[:, None] - 1 - np.arange(width)
    inside = from_right >= 0
    doubled = np.where(from_right % 2 == 1, digits * 2, digits)
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    return np.where(inside, doubled, 0).sum(axis=1)


def luhn_valid(values: pd.Series) -> np.ndarray:
    """Whether each number passes the Luhn checksum (non-digits such as spaces are ignored)."""
    grid, lengths = char_grid(_digits_only(values))
    digits = grid.astype(np.int64) - ord("0")
    return (lengths >= 2) & (_luhn_sum(digits, lengths) % 10 == 0)


def luhn_fix(values: pd.Series) -> pd.Series:
    """The values with their last digit replaced so that each passes Luhn."""
    grid, _ = char_grid(values)
    is_digit = (grid >= ord("0")) & (grid <= ord("9"))
    # position of the last digit in each row, and the number of digits
    last = grid.shape[1] - 1 - np.argmax(is_digit[:, ::-1], axis=1)
    count = is_digit.sum(axis=1)
    packed = _pack_digits(grid, is_digit)
    packed[np.arange(len(grid)), count - 1] = 0
    check = (10 - _luhn_sum(packed, count) % 10) % 10
    grid[np.arange(len(grid)), last] = check + ord("0")
    return from_grid(grid, values.index)


def _pack_digits(grid: np.ndarray, is_digit: np.ndarray) -> np.ndarray:
    """The digits of each row moved to the left, as numbers 0-9 (zeros after them)."""
    order = np.argsort(~is_digit, axis=1, kind="stable")
    packed = np.take_along_axis(grid.astype(np.int64) - ord("0"), order, axis=1)
    return np.where(np.take_along_axis(is_digit, order, axis=1), packed, 0)


def _mod97(grid: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each row's digits and letters (A=10 .. Z=35) read as one number, modulo 97."""
    values = np.where(grid <= ord("9"), grid.astype(np.int64) - ord("0"), grid - ord("A") + 10)
    rest = np.zeros(len(grid), dtype=np.int64)
    for j in range(grid.shape[1]):  # a loop over character positions, not rows
        step = np.where(values[:, j] >= 10, 100, 10)
        rest = np.where(j < lengths, (rest * step + values[:, j]) % 97, rest)
    return rest


def _compact_iban(values: pd.Series) -> pd.Series:
    return values.astype(str).str.replace(r"\s", "", regex=True).str.upper()


def iban_valid(values: pd.Series) -> np.ndarray:
    """Whether each value is an IBAN with the right length (known countries) and mod-97 check."""
    text = _compact_iban(values)
    shape = text.str.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}").to_numpy(dtype=bool)
    expected = text.str[:2].map(IBAN_LENGTHS)
    length_ok = (expected.isna() | (text.str.len() == expected)).to_numpy(dtype=bool)
    rotated = text.where(shape, "00").str[4:] + text.where(shape, "00").str[:4]
    grid, lengths = char_grid(rotated)
    return shape & length_ok & (_mod97(grid, lengths) == 1)


def iban_fix(values: pd.Series) -> pd.Series:
    """IBAN-shaped values (spaces allowed) with check digits that make them pass mod 97."""
    grid, _ = char_grid(values)
    text = _compact_iban(values)
    rotated = text.str[4:] + text.str[:2] + "00"
    rgrid, rlengths = char_grid(rotated)
    check = 98 - _mod97(rgrid, rlengths)
    # the check digits are the 3rd and 4th non-space characters
    solid = grid != ord(" ")
    position = np.cumsum(solid, axis=1)
    rows = np.arange(len(grid))
    third = np.argmax(position == 3, axis=1)
    fourth = np.argmax(position == 4, axis=1)
    grid[rows, third] = check // 10 + ord("0")
    grid[rows, fourth] = check % 10 + ord("0")
    return from_grid(grid, values.index)


def ssn_valid(values: pd.Series) -> np.ndarray:
    """Whether each value is a US social security number (area, group, serial rules)."""
    return values.astype(str).str.fullmatch(_SSN).to_numpy(dtype=bool)


def ssn_fix(values: pd.Series) -> pd.Series:
    """``ddd-dd-dddd`` values moved into the issued ranges (area 001-899 less 666, no zeros)."""
    text = values.astype(str)
    area = pd.to_numeric(text.str[:3]).to_numpy() % 899 + 1
    area[area == 666] = 667
    group = np.maximum(pd.to_numeric(text.str[4:6]).to_numpy(), 1)
    serial = np.maximum(pd.to_numeric(text.str[7:11]).to_numpy(), 1)
    out = pd.Series(area, index=values.index).map("{:03d}".format)
    out = out + "-" + pd.Series(group, index=values.index).map("{:02d}".format)
    return out + "-" + pd.Series(serial, index=values.index).map("{:04d}".format)


def nino_valid(values: pd.Series) -> np.ndarray:
    """Whether each value has the UK National Insurance number format (it has no check digit)."""
    text = values.astype(str).str.upper()
    return text.str.fullmatch(_NINO).to_numpy(dtype=bool)


def bsn_valid(values: pd.Series) -> np.ndarray:
    """Whether each value is a Dutch citizen service number (9 digits, the 11-test)."""
    text = values.astype(str)
    shape = text.str.fullmatch(r"\d{9}").to_numpy(dtype=bool)
    grid, _ = char_grid(text.where(shape, "000000000"), 9)
    total = (grid.astype(np.int64) - ord("0")) @ _BSN_WEIGHTS
    return shape & (total % 11 == 0) & (grid != ord("0")).any(axis=1)


def bsn_fix(values: pd.Series) -> pd.Series:
    """9-digit values with the last digit set to pass the 11-test (the 8th moved if needed)."""
    grid, _ = char_grid(values.astype(str), 9)
    digits = grid.astype(np.int64) - ord("0")
    for _ in range(11):  # the 8th digit has weight 2: a few steps always reach a valid check
        check = digits[:, :8] @ _BSN_WEIGHTS[:8] % 11
        bad = check == 10
        if not bad.any():
            break
        digits[bad, 7] = (digits[bad, 7] + 1) % 10
    digits[:, 8] = check
    return from_grid(digits + ord("0"), values.index)


def dni_valid(values: pd.Series) -> np.ndarray:
    """Whether each value is a Spanish DNI/NIE whose control letter matches its number."""
    text = values.astype(str).str.upper().str.replace("-", "", regex=False)
    shape = text.str.fullmatch(r"[XYZ\d]\d{7}[A-Z]").to_numpy(dtype=bool)
    expected = _dni_letters(text.where(shape, "00000000T"))
    return shape & (text.str[-1].to_numpy(dtype=object) == expected)


def _dni_letters(text: pd.Series) -> np.ndarray:
    number = text.str[:8].str.translate(str.maketrans("XYZ", "012"))
    return np.array(list(DNI_LETTERS), dtype=object)[pd.to_numeric(number).to_numpy() % 23]


def dni_fix(values: pd.Series) -> pd.Series:
    """DNI/NIE-shaped values (``12345678Z``) with the control letter recomputed."""
    text = values.astype(str)
    return text.str[:-1] + pd.Series(
        _dni_letters(text.str.replace("-", "", regex=False)), index=values.index
    )
