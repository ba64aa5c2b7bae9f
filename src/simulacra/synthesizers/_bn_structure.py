"""Counts, scores and the greedy structure search behind ``bayesnet``.

Only :func:`family_counts` reads the data. Scoring (:func:`bic_score`) and
estimation (:func:`cpt_from_counts`) take count arrays alone, so a
differentially private family can add noise to the counts and reuse both.
Codes come as a ``(columns, rows)`` integer array; ``cards`` holds each
column's number of codes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import xlogy

__all__ = [
    "bic_score",
    "cpt_from_counts",
    "family_counts",
    "hill_climb",
    "joint_mask",
    "parent_index",
    "topological_order",
]

MIN_GAIN = 1e-6  # a move must raise the score by more than this


def parent_index(codes: np.ndarray, parents: Sequence[int], cards: Sequence[int]) -> np.ndarray:
    """Each row's parent configuration as one integer (the first parent most significant)."""
    index = np.zeros(codes.shape[1], dtype=np.int64)
    for p in parents:
        index *= cards[p]
        index += codes[p]
    return index


def joint_mask(masks: Sequence[np.ndarray | None]) -> np.ndarray | None:
    """Rows real in every mask given (``None`` stands for all rows)."""
    present = [m for m in masks if m is not None]
    return np.logical_and.reduce(present) if present else None


def family_counts(child: np.ndarray, r: int, index: np.ndarray | None, q: int) -> np.ndarray:
    """Counts ``(q, r)``: rows per parent configuration (``index``) and child code."""
    if index is None:
        flat = np.bincount(child, minlength=r)
    else:
        flat = np.bincount(index * r + child, minlength=q * r)
    return flat.reshape(q, r).astype(np.float64)


def bic_score(counts: np.ndarray, rows: int, penalty: float = 1.0) -> float:
    """BIC of one node given its parents: log-likelihood minus ``log(rows) / 2`` per free value.

    ``penalty`` scales that charge (1: BIC; below 1 the search keeps weaker links).
    """
    counts = np.maximum(counts, 0.0)
    totals = counts.sum(axis=1)
    loglik = xlogy(counts, counts).sum() - xlogy(totals, totals).sum()
    q, r = counts.shape
    return float(loglik - penalty * 0.5 * math.log(max(rows, 2)) * q * (r - 1))


def cpt_from_counts(counts: np.ndarray, alpha: float) -> np.ndarray:
    """Conditional table ``(q, r)`` with rows summing to one.

    Each parent configuration gets ``alpha`` pseudo-rows spread by the child's
    overall shares, so a rare or unseen configuration leans on the marginal
    instead of on a uniform guess, and a value never seen keeps probability 0.
    """
    counts = np.maximum(counts, 0.0)
    marginal = counts.sum(axis=0)
    total = marginal.sum()
    prior = marginal / total if total > 0 else np.full(counts.shape[1], 1.0 / counts.shape[1])
    table = counts + alpha * prior
    sums = table.sum(axis=1, keepdims=True)
    return np.where(sums > 0, table / np.where(sums > 0, sums, 1.0), prior)


def hill_climb(
    codes: np.ndarray,
    cards: Sequence[int],
    views: Sequence[Sequence[int]],
    max_parents: int,
    max_cells: int,
    observed: Sequence[np.ndarray | None] | None = None,
    all_rows: Sequence[int] = (),
    penalty: float = 1.0,
) -> list[list[int]]:
    """Parent views per column from greedy BIC search over edge additions, deletions, reversals.

    ``codes`` and ``cards`` hold *views* of the columns: ``views[c]`` lists
    column ``c``'s views, first the column itself (its codes as a child),
    then its bins merged into fewer groups. BIC picks, edge by edge, the
    resolution the data pays for. A column enters a child's parents through
    one view at most; a family's table (parent configurations times child codes)
    may not exceed ``max_cells``. ``observed[w]`` marks the rows where view
    ``w`` holds a real value (``None``: all rows); a family is scored on the
    rows where all its members are real, scaled to the full row count (an
    available-case BIC), so stand-ins for missing cells dilute nothing;
    columns in ``all_rows`` (missing-value indicators) are scored on every row;
    ``penalty`` scales BIC's charge per free value.
    Local scores are cached; after a move only the changed columns'
    candidate gains are recomputed.
    """
    n_views, rows = codes.shape
    d = len(views)
    column_of = np.empty(n_views, dtype=np.int64)
    for c, ws in enumerate(views):
        column_of[list(ws)] = c
    parents: list[list[int]] = [[] for _ in range(d)]
    adj = np.zeros((d, d), dtype=bool)  # adj[p, c]: some view of column p is a parent of c
    add = np.full((n_views, d), -np.inf)  # gain of adding view w as a parent of column c
    rem = np.full((n_views, d), -np.inf)  # gain of removing it
    cache: dict[tuple[int, tuple[int, ...]], float] = {}

    seen = list(observed) if observed is not None else [None] * n_views

    def score(c: int, pa: Sequence[int], index: np.ndarray | None = None) -> float:
        key = (c, tuple(sorted(pa)))
        if key not in cache:
            q = math.prod(cards[w] for w in pa)
            if index is None and pa:
                index = parent_index(codes, pa, cards)
            child = views[c][0]
            keep = None if c in all_rows else joint_mask([seen[w] for w in (child, *pa)])
            values = codes[child]
            if keep is not None:
                values, index = values[keep], None if index is None else index[keep]
            counts = family_counts(values, cards[child], index, q)
            if keep is not None:
                counts *= rows / max(len(values), 1)
            cache[key] = bic_score(counts, rows, penalty)
        return cache[key]

    def refresh(c: int) -> None:
        pa, r = parents[c], cards[views[c][0]]
        base = score(c, pa)
        add[:, c] = rem[:, c] = -np.inf
        q = math.prod(cards[w] for w in pa)
        taken = {int(column_of[w]) for w in pa} | {c}
        if len(pa) < max_parents and r > 1:
            index = parent_index(codes, pa, cards)
            for w in range(n_views):
                if column_of[w] in taken or cards[w] < 2 or q * cards[w] * r > max_cells:
                    continue
                add[w, c] = score(c, [*pa, w], index * cards[w] + codes[w]) - base
        for w in pa:
            rem[w, c] = score(c, [x for x in pa if x != w]) - base

    for c in range(d):
        refresh(c)
    for _ in range(10 * d * max(max_parents, 1)):
        reach = _closure(adj)
        gains = np.where(reach.T[column_of], -np.inf, add)  # w -> c closes a cycle: c reaches w
        rev = np.full((n_views, d), -np.inf)
        back = np.zeros((n_views, d), dtype=np.int64)  # the view of c that would point back
        for c, pa in enumerate(parents):
            for w in pa:
                p = int(column_of[w])
                others = np.flatnonzero(adj[p])
                if reach[others[others != c], c].any():  # another path p ~> c: would cycle
                    continue
                back[w, c] = max(views[c], key=lambda v, p=p: add[v, p])
                rev[w, c] = rem[w, c] + add[back[w, c], p]
        moves = (gains, rem, rev)
        best = [float(m.max()) for m in moves]
        kind = int(np.argmax(best))
        if best[kind] <= MIN_GAIN:
            break
        w, c = (int(i) for i in np.unravel_index(int(np.argmax(moves[kind])), add.shape))
        p = int(column_of[w])
        if kind == 0:
            parents[c].append(w)
        else:
            parents[c].remove(w)
        adj[p, c] = kind == 0
        if kind == 2:
            parents[p].append(int(back[w, c]))
            adj[c, p] = True
            refresh(p)
        refresh(c)
    return [sorted(pa, key=lambda w: (column_of[w], w)) for pa in parents]


def _closure(adj: np.ndarray) -> np.ndarray:
    """``reach[i, j]``: a directed path of one or more edges leads from ``i`` to ``j``."""
    reach = adj.copy()
    while True:
        path = reach.astype(np.int32)
        grown = reach | ((path @ path) > 0)
        if (grown == reach).all():
            return reach
        reach = grown


def topological_order(parents: Sequence[Sequence[int]]) -> list[int]:
    """Columns ordered so that every parent comes before its children (lowest index first)."""
    waiting = [len(pa) for pa in parents]
    children: list[list[int]] = [[] for _ in parents]
    for c, pa in enumerate(parents):
        for p in pa:
            children[p].append(c)
    ready = sorted(c for c, k in enumerate(waiting) if k == 0)
    order: list[int] = []
    while ready:
        v = ready.pop(0)
        order.append(v)
        for c in children[v]:
            waiting[c] -= 1
            if waiting[c] == 0:
                ready.append(c)
        ready.sort()
    return order
