"""Keys are generated, never learned: positions, new key values, links and forests.

Everything here is vectorized over rows; a link is held as the position of
the parent row (``-1`` for an empty link) until it is written as key values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


def _comparable(a: pd.Series, b: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Both sides in one dtype: floats when both are numbers, text otherwise."""
    if pd.api.types.is_numeric_dtype(a.dtype) and pd.api.types.is_numeric_dtype(b.dtype):
        return a.astype("float64"), b.astype("float64")
    return a.astype("string"), b.astype("string")


def parent_positions(
    child: pd.DataFrame, parent: pd.DataFrame, cols: list[str], pcols: list[str]
) -> np.ndarray:
    """For each child row, the position of its parent row; -1 if empty or not found."""
    pairs = [_comparable(child[c], parent[p]) for c, p in zip(cols, pcols, strict=True)]
    if len(cols) == 1:
        keys = pd.Index(pairs[0][1])
        found = keys.get_indexer(pd.Index(pairs[0][0]))
    else:
        keys = pd.MultiIndex.from_arrays([p for _, p in pairs])
        found = keys.get_indexer(pd.MultiIndex.from_arrays([c for c, _ in pairs]))
    empty = child[cols].isna().any(axis=1).to_numpy()
    found[empty] = -1
    return found


def children_per_parent(positions: np.ndarray, n_parents: int) -> np.ndarray:
    return np.bincount(positions[positions >= 0], minlength=n_parents)


@dataclass(frozen=True)
class KeyKind:
    """How to write new values of one key column: whole numbers, or text with a prefix."""

    text: bool = False
    prefix: str = ""
    width: int = 0

    @classmethod
    def learn(cls, values: pd.Series) -> KeyKind:
        present = values.dropna()
        if pd.api.types.is_numeric_dtype(values.dtype) or len(present) == 0:
            return cls()
        text = present.astype(str)
        prefix = text.str.extract(r"^(\D*)", expand=False).mode()
        pre = str(prefix.iloc[0]) if len(prefix) else ""
        digits = text.str.len().max() - len(pre)
        return cls(text=True, prefix=pre, width=int(max(digits, 1)))

    def values(self, numbers: np.ndarray) -> pd.Series:
        if not self.text:
            return pd.Series(numbers.astype("int64"))
        text = pd.Series(numbers.astype("int64")).astype(str).str.zfill(self.width)
        return (self.prefix + text).astype(object)


def counter_within(groups: pd.DataFrame) -> np.ndarray:
    """1, 2, 3, ... within each group of equal rows (a composite key's own part)."""
    if groups.shape[1] == 0:
        return np.arange(1, len(groups) + 1)
    return groups.groupby(list(groups.columns), sort=False, dropna=False).cumcount().to_numpy() + 1


def link_values(parent_keys: pd.DataFrame, positions: np.ndarray, cols: list[str]) -> pd.DataFrame:
    """The parent's key values at ``positions`` (empty where the position is -1)."""
    out = {}
    empty = positions < 0
    safe = np.where(empty, 0, positions)
    for col, pcol in zip(cols, parent_keys.columns, strict=True):
        src = parent_keys[pcol]
        if len(src) == 0:
            values = pd.Series([None] * len(positions), dtype=object)
        else:
            values = src.iloc[safe].reset_index(drop=True)
        if empty.any():
            if pd.api.types.is_integer_dtype(values.dtype):
                values = values.astype("Int64")
            values = values.mask(pd.Series(empty))
        out[col] = values
    return pd.DataFrame(out)


def weighted_links(
    weights: np.ndarray, n: int, empty_share: float, rng: np.random.Generator
) -> np.ndarray:
    """``n`` parent positions drawn in proportion to each parent's learned popularity."""
    positions = np.full(n, -1, dtype=np.int64)
    if len(weights) == 0 or n == 0:
        return positions
    w = np.clip(np.nan_to_num(weights.astype("float64")), 0, None)
    w = w + 1e-6 * (w.mean() + 1.0)  # a never-chosen parent keeps a small chance
    linked = rng.random(n) >= empty_share
    positions[linked] = rng.choice(len(w), size=int(linked.sum()), p=w / w.sum())
    return positions


def forest(weights: np.ndarray, root_share: float, rng: np.random.Generator) -> np.ndarray:
    """A parent position per row (-1 for roots) forming a forest: no row is its own ancestor.

    Rows are ranked by learned popularity (most children first); each non-root
    row picks its parent among the rows ranked before it, in proportion to
    their popularity, so that no cycle can form.
    """
    n = len(weights)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return out
    w = np.clip(np.nan_to_num(weights.astype("float64")), 0, None)
    rank = np.lexsort((rng.random(n), -w))
    roots = int(min(n, max(1, round(root_share * n))))
    ranked = w[rank] + 1e-6 * (w.mean() + 1.0)
    cum = np.cumsum(ranked)
    rest = np.arange(roots, n)
    draws = rng.random(len(rest)) * cum[rest - 1]
    chosen = np.minimum(np.searchsorted(cum, draws, side="right"), rest - 1)
    out[rank[rest]] = rank[chosen]
    return out


@dataclass(frozen=True)
class ContextAxis:
    """One direction through a parent's context columns (their first principal component).

    Children drawn with a context and parents are paired by their rank along
    it, so that children whose context resembles a parent's go to that parent.
    """

    columns: tuple[str, ...]
    centers: tuple[float, ...]
    scales: tuple[float, ...]
    categories: tuple[tuple[Any, ...], ...]
    direction: tuple[float, ...]

    @classmethod
    def learn(cls, frame: pd.DataFrame, numeric: list[bool]) -> ContextAxis:
        centers, scales, cats = [], [], []
        for col, is_num in zip(frame.columns, numeric, strict=True):
            if is_num:
                x = pd.to_numeric(frame[col], errors="coerce").astype("float64")
                centers.append(float(x.mean()) if x.notna().any() else 0.0)
                sd = float(x.std()) if x.notna().sum() > 1 else 0.0
                scales.append(sd if sd > 0 else 1.0)
                cats.append(())
            else:
                top = frame[col].dropna().value_counts().index[:20]
                centers.append(0.0)
                scales.append(1.0)
                cats.append(tuple(v.item() if hasattr(v, "item") else v for v in top))
        axis = cls(tuple(frame.columns), tuple(centers), tuple(scales), tuple(cats), ())
        x = axis._encode(frame)
        x = x - x.mean(axis=0) if len(x) else x
        if x.size == 0 or not np.any(x):
            direction = np.ones(x.shape[1]) if x.ndim == 2 else np.ones(1)
        else:
            direction = np.linalg.svd(x, full_matrices=False)[2][0]
        return cls(axis.columns, axis.centers, axis.scales, axis.categories, tuple(direction))

    def _encode(self, frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for col, center, scale, cats in zip(
            self.columns, self.centers, self.scales, self.categories, strict=True
        ):
            if cats:
                values = frame[col].astype(object).to_numpy()
                parts += [(values == c).astype("float64") for c in cats]
            else:
                x = pd.to_numeric(frame[col], errors="coerce").astype("float64").to_numpy()
                parts.append(np.nan_to_num((x - center) / scale))
        return np.column_stack(parts) if parts else np.zeros((len(frame), 0))

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        return self._encode(frame) @ np.asarray(self.direction)
