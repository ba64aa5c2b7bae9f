"""The fitted network for ``bayesnet``: ancestral draws and numbers inside their bins."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Network",
    "bin_likelihood",
    "bin_values",
    "bounded_values",
    "cumulative_keys",
    "draw_node",
    "draw_rows",
    "pick",
]


@dataclass(frozen=True)
class Network:
    """Variables with their parents, conditional tables and a topological order.

    The columns come first. A table may condition on a numeric column's bins
    merged into a few groups: such a merged view is a variable of its own,
    a deterministic child of its column (``merges[u]`` maps the column's bin
    codes to ``u``'s codes; its table is the matching one-hot rows).
    """

    cards: Sequence[int]
    parents: Sequence[Sequence[int]]
    cpts: Sequence[np.ndarray]
    merges: Mapping[int, np.ndarray]
    order: Sequence[int]

    def rows(self, v: int, codes: Mapping[int, np.ndarray], start: np.ndarray) -> np.ndarray:
        """Each draw's row of ``v``'s table, from its parents' codes."""
        index = start
        for p in self.parents[v]:
            index = index * self.cards[p] + codes[p]
        return index

    def family(self, v: int) -> np.ndarray:
        """``v``'s table as ``(1, *parent cards, card)``."""
        return self.cpts[v].reshape(1, *(self.cards[p] for p in self.parents[v]), self.cards[v])


def cumulative_keys(table: np.ndarray) -> np.ndarray:
    """Row ``k``'s cumulative shares plus ``k``, flattened: one sorted array for every row."""
    m = table.shape[0]
    sums = table.sum(axis=1, keepdims=True)
    cum = np.cumsum(table, axis=1) / np.where(sums > 0, sums, 1.0)
    cum[:, -1] = 1.0
    return (cum + np.arange(m)[:, None]).ravel()


def pick(keys: np.ndarray, r: int, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of row ``rows[i]`` at ``u[i]``, by one ``searchsorted`` over ``keys``."""
    found = np.searchsorted(keys, rows + u, side="right")
    return np.clip(found - rows * r, 0, r - 1)


def draw_rows(table: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each draw ``i``, a column of ``table`` weighted by row ``rows[i]`` (not normalised)."""
    return pick(cumulative_keys(table), table.shape[1], rows, u)


def draw_node(
    net: Network, v: int, codes: Mapping[int, np.ndarray], n: int, rng: np.random.Generator
) -> np.ndarray:
    """Codes of variable ``v`` for ``n`` draws, given its parents' drawn codes."""
    if v in net.merges:
        return net.merges[v][codes[net.parents[v][0]]]
    return draw_rows(net.cpts[v], net.rows(v, codes, np.zeros(n, dtype=np.int64)), rng.random(n))


# ------------------------------------------------------------ numbers in bins
def bin_cdf(grid: np.ndarray, x: np.ndarray, *, right: bool) -> np.ndarray:
    """``P(X <= x)`` (``right``) or ``P(X < x)`` for one bin's interpolated quantile grid."""
    g, last = grid, len(grid) - 1
    k = np.clip(np.searchsorted(g, x, side="right" if right else "left") - 1, 0, last - 1)
    width = g[k + 1] - g[k]
    with np.errstate(over="ignore", invalid="ignore"):  # open ends: x is infinite
        frac = np.clip((x - g[k]) / np.where(width > 0, width, 1.0), 0.0, 1.0)
    u = (k + frac) / last
    if right:
        return np.where(x >= g[-1], 1.0, np.where(x < g[0], 0.0, u))
    return np.where(x > g[-1], 1.0, np.where(x <= g[0], 0.0, u))


def bin_values(grids: np.ndarray, bins: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Numbers drawn inside their bins: each bin's quantile grid interpolated at ``u``."""
    pos = u * (grids.shape[1] - 1)
    left = np.minimum(pos.astype(np.int64), grids.shape[1] - 2)
    low, high = grids[bins, left], grids[bins, left + 1]
    return low + (pos - left) * (high - low)


def bounded_values(
    grids: np.ndarray, bins: np.ndarray, u: np.ndarray, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """Like :func:`bin_values`, truncated to ``[low, high]``; a pinned value comes back as is."""
    a, b = np.zeros(len(u)), np.ones(len(u))
    for k in np.unique(bins):
        rows = np.flatnonzero(bins == k)
        a[rows] = bin_cdf(grids[k], low[rows], right=False)
        b[rows] = bin_cdf(grids[k], high[rows], right=True)
    values = np.clip(bin_values(grids, bins, a + u * (b - a)), low, high)
    return np.where(low == high, low, values)


def bin_likelihood(grids: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``(patterns, bins)``: each bin's share of mass inside ``[low, high]``.

    A pinned value (``low == high``) selects the bin whose range holds it.
    """
    out = np.empty((len(low), len(grids)))
    for k, grid in enumerate(grids):
        out[:, k] = bin_cdf(grid, high, right=True) - bin_cdf(grid, low, right=False)
    pinned = np.flatnonzero(low == high)
    if len(pinned):
        x = low[pinned]
        k = np.searchsorted(grids[:, 0], x, side="right") - 1
        inside = (k >= 0) & (x <= grids[np.maximum(k, 0), -1])
        out[pinned] = 0.0
        out[pinned[inside], k[inside]] = 1.0
    return np.maximum(out, 0.0)
