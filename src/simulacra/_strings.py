"""Vectorized string building: millions of formatted values without a Python loop per row.

Strings are handled as byte grids: a ``(rows, width)`` uint8 array plus the
length of each row. Parts are joined by stacking grids side by side and
keeping only the bytes inside each part's length, which in row-major order
is exactly the concatenated text; the result becomes an Arrow string array
from its buffers, and a pandas Series without a per-value copy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

Part = tuple[np.ndarray, np.ndarray]  # (uint8 grid of shape (n, width), lengths of shape (n,))

_ZERO = ord("0")
_TEXT_DTYPE = pd.Series(["a"]).dtype  # "str" on pandas 3, object before
_ARROW_TEXT = _TEXT_DTYPE.kind != "O"


def pool(strings: Sequence[str]) -> Part:
    """A small pool of strings as a byte grid, to be indexed per row."""
    encoded = [s.encode("utf-8") for s in strings]
    lengths = np.array([len(b) for b in encoded], dtype=np.int64)
    width = max(1, int(lengths.max(initial=0)))
    grid = np.frombuffer(b"".join(b.ljust(width, b"\0") for b in encoded), dtype=np.uint8)
    return grid.reshape(len(encoded), width).copy(), lengths


def take(part: Part, index: np.ndarray) -> Part:
    """Rows of a part by index (rows are copied as single fixed-size items: fast)."""
    grid, lengths = part
    grid = np.ascontiguousarray(grid)
    rows = grid.view(f"V{grid.shape[1]}").ravel() if grid.shape[1] else grid
    return rows[index].view(np.uint8).reshape(len(index), grid.shape[1]), lengths[index]


def side_by_side(parts: Sequence[Part]) -> Part:
    """Fixed-width parts of the same rows joined into one wider fixed-width part."""
    n = len(parts[0][1])
    grid = np.concatenate([np.broadcast_to(g, (n, g.shape[1])) for g, _ in parts], axis=1)
    return grid, np.full(n, grid.shape[1], dtype=np.int64)


def literal(text: str, n: int) -> Part:
    raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return np.broadcast_to(raw, (n, len(raw))), np.full(n, len(raw), dtype=np.int64)


def digits(values: np.ndarray, width: int) -> Part:
    """Non-negative integers as zero-padded decimal text of ``width`` digits."""
    values = np.asarray(values, dtype=np.int64)
    grid = np.empty((len(values), width), dtype=np.uint8)
    rest = values.copy()
    for j in range(width - 1, -1, -1):
        grid[:, j] = rest % 10 + _ZERO
        rest //= 10
    return grid, np.full(len(values), width, dtype=np.int64)


def number(values: np.ndarray) -> Part:
    """Non-negative integers as decimal text without padding."""
    values = np.asarray(values, dtype=np.int64)
    width = max(1, len(str(int(values.max(initial=0)))))
    grid, _ = digits(values, width)
    lengths = np.maximum(1, np.floor(np.log10(np.maximum(values, 1))).astype(np.int64) + 1)
    shift = width - lengths  # left-align: drop the leading zeros
    cols = np.arange(width) + shift[:, None]
    grid = np.take_along_axis(grid, np.minimum(cols, width - 1), axis=1)
    return grid, lengths


def join(parts: Sequence[Part]) -> pa.Array:
    """Concatenate the parts row by row into one Arrow string array."""
    n = len(parts[0][1])
    grid = np.concatenate([np.broadcast_to(g, (n, g.shape[1])) for g, _ in parts], axis=1)
    if all((lens == g.shape[1]).all() for g, lens in parts):  # fixed width: no gaps to drop
        data = grid.ravel()
    else:
        keep = np.concatenate(
            [np.arange(g.shape[1])[None, :] < lens[:, None] for g, lens in parts], axis=1
        )
        data = grid[keep]
    total = sum(lens for _, lens in parts)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(total, out=offsets[1:])
    if offsets[-1] < 2**31:  # the common case: 32-bit offsets, no copy of the text
        return pa.StringArray.from_buffers(
            n, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)
        )
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def to_series(values: pa.Array, null: np.ndarray | None = None) -> pd.Series:
    """An Arrow string array as a pandas Series of the default text dtype."""
    if null is not None and null.any():
        values = pc.if_else(pa.array(null), pa.scalar(None, pa.string()), values)
    if _ARROW_TEXT:
        return pd.Series(pd.array(values, dtype=_TEXT_DTYPE))
    return pd.Series(values.to_pandas())
