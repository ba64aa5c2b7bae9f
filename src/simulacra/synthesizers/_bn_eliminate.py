"""Exact conditioning for ``bayesnet``: bucket elimination, batched over evidence patterns.

The conditioned columns and their ancestors are eliminated one variable at
a time; each bucket's product is kept, and the variables are then drawn in
reverse elimination order, each from its bucket indexed by the variables
drawn before it. That is an exact draw from the network's posterior: no
rejection, no weights. Columns outside the ancestors of the evidence are
independent of it given their parents and are drawn ancestrally afterwards.

Evidence enters as one likelihood vector per conditioned variable and
pattern; rows sharing a pattern share one elimination. Buckets that no
evidence varying between patterns reaches are the same for every pattern
and are computed once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce

import numpy as np

from simulacra.errors import InvalidDataError
from simulacra.synthesizers._bn_infer import Network, cumulative_keys, draw_node, pick

__all__ = ["BUDGET", "sample_given"]

BUDGET = 1 << 25  # bucket cells held at once (256 MiB of float64)

Near = dict[int, set[int]]


@dataclass
class _Bucket:
    rest: tuple[int, ...]  # the later variables the bucket's table spans, then its own
    table: np.ndarray  # (patterns or 1, *cards of rest, card)
    tainted: bool  # evidence reached it: one table per pattern
    keys: np.ndarray | None = None  # cumulative keys, made when first drawn from


def sample_given(
    net: Network,
    n: int,
    rng: np.random.Generator,
    likelihood: Mapping[int, np.ndarray],
    pattern: np.ndarray,
    names: Sequence[str],
) -> dict[int, np.ndarray] | None:
    """Codes of every variable for ``n`` rows drawn from the posterior given soft evidence.

    ``likelihood[v]`` is ``(patterns, cards[v])``: the weight of each code of
    variable ``v`` under each evidence pattern; ``pattern[i]`` is row ``i``'s.
    ``None`` when the pattern-free buckets plus one pattern's would exceed
    ``BUDGET`` cells; an error when the evidence has probability 0.
    """
    likelihood, pattern = _merge_patterns(likelihood, pattern)
    patterns = len(next(iter(likelihood.values())))
    varying = [v for v, lik in likelihood.items() if not (lik == lik[:1]).all()]
    relevant, stack = set(likelihood), list(likelihood)
    while stack:
        for p in net.parents[stack.pop()]:
            if p not in relevant:
                relevant.add(p)
                stack.append(p)
    nodes = sorted(relevant)
    scopes = [(*net.parents[v], v) for v in nodes]
    best = None
    tries = [(_weight, False), (_fill, False), (_weight, True), (_fill, True), (_work, False)]
    for cost, evidence_last in tries:
        last = set(varying) if evidence_last else set()
        order = _greedy_order(nodes, net, cost, last, set(varying), patterns)
        fixed, per = _plan(order, scopes, varying, net.cards)
        work = fixed + per * patterns
        if fixed + per <= BUDGET and (best is None or work < best[0]):
            best = (work, order, fixed, per)
    if best is None:
        return None
    _, order, fixed, per = best
    step = patterns if per == 0 else max(1, min(patterns, (BUDGET - fixed) // per))
    factors = [((*net.parents[v], v), net.family(v), False) for v in nodes]
    factors += [((v,), lik[:1], False) for v, lik in likelihood.items() if v not in varying]
    codes: dict[int, np.ndarray] = {v: np.empty(n, dtype=np.int64) for v in relevant}
    by_pattern = np.argsort(pattern, kind="stable")
    bounds = np.searchsorted(pattern[by_pattern], np.arange(0, patterns + step, step))
    cache: dict[int, tuple[_Bucket, np.ndarray]] = {}
    for chunk, start in enumerate(range(0, patterns, step)):
        stop = min(start + step, patterns)
        evidence = [((v,), likelihood[v][start:stop], True) for v in varying]
        buckets, possible = _eliminate(order, factors + evidence, net.cards, cache)
        possible = np.broadcast_to(possible, (stop - start,))
        if not possible.all():
            bad = int(np.isin(pattern, start + np.flatnonzero(~possible)).sum())
            raise InvalidDataError(
                f"the conditions on {', '.join(names)} cannot be met by this model: they have "
                f"probability 0 under it ({bad} of {n} rows); loosen them, or fit the model on "
                "data where such rows occur"
            )
        rows = by_pattern[bounds[chunk] : bounds[chunk + 1]]
        local = pattern[rows] - start
        for bucket, x in zip(reversed(buckets), reversed(order), strict=True):
            if bucket.keys is None:
                bucket.keys = cumulative_keys(bucket.table.reshape(-1, net.cards[x]))
            index = local if bucket.table.shape[0] > 1 else np.zeros(len(rows), dtype=np.int64)
            for v in bucket.rest:
                index = index * net.cards[v] + codes[v][rows]
            codes[x][rows] = pick(bucket.keys, net.cards[x], index, rng.random(len(rows)))
    for v in net.order:
        if v not in relevant:
            codes[v] = draw_node(net, v, codes, n, rng)
    return codes


def _merge_patterns(
    likelihood: Mapping[int, np.ndarray], pattern: np.ndarray
) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """Patterns with equal likelihood vectors (say two pinned values in one bin) made one."""
    nodes = list(likelihood)
    stacked = np.concatenate([likelihood[v] for v in nodes], axis=1)
    unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
    splits = np.cumsum([likelihood[v].shape[1] for v in nodes])[:-1]
    merged = dict(zip(nodes, np.split(unique, splits, axis=1), strict=True))
    return merged, inverse.ravel()[pattern]


# ------------------------------------------------------------------ ordering
def _weight(v: int, near: Near, cards: Sequence[int], scale: int) -> int:
    """Cells of the bucket eliminating ``v`` would make."""
    return math.prod(cards[y] for y in near[v]) * cards[v]


def _fill(v: int, near: Near, cards: Sequence[int], scale: int) -> int:
    """Edges eliminating ``v`` would add."""
    around = list(near[v])
    return sum(b not in near[a] for i, a in enumerate(around) for b in around[i + 1 :])


def _work(v: int, near: Near, cards: Sequence[int], scale: int) -> int:
    """Cells times the patterns the bucket is made for (1 when no evidence reaches it)."""
    return _weight(v, near, cards, 1) * scale


def _greedy_order(
    nodes: Sequence[int],
    net: Network,
    cost: Callable[[int, Near, Sequence[int], int], int],
    last: set[int],
    evidence: set[int],
    patterns: int,
) -> list[int]:
    """Greedy elimination order on the moral graph; the ``last`` variables go last.

    Evidence reaches the buckets of the evidence variables and, as far as the
    graph can tell, of every neighbour of a variable it reached.
    """
    near: Near = {v: set() for v in nodes}
    for v in nodes:
        family = {*net.parents[v], v}
        for a in family:
            near[a] |= family - {a}
    order, left, reached = [], set(nodes), set(evidence)
    while left:
        pool = (left - last) or left
        v = min(
            pool,
            key=lambda x: (
                cost(x, near, net.cards, patterns if x in reached else 1),
                _weight(x, near, net.cards, 1),
                x,
            ),
        )
        if v in reached:
            reached |= near[v]
        for a in near[v]:
            near[a] |= near[v] - {a}
            near[a].discard(v)
        left.remove(v)
        order.append(v)
    return order


def _plan(
    order: Sequence[int],
    scopes: Sequence[Sequence[int]],
    evidence: Sequence[int],
    cards: Sequence[int],
) -> tuple[int, int]:
    """Cells of the buckets no varying evidence reaches, and of the others per pattern."""
    pos = {v: i for i, v in enumerate(order)}
    buckets: list[list[tuple[frozenset[int], bool]]] = [[] for _ in order]
    for scope in scopes:
        buckets[min(pos[v] for v in scope)].append((frozenset(scope), False))
    for v in evidence:
        buckets[pos[v]].append((frozenset([v]), True))
    fixed = per = 0
    for i, x in enumerate(order):
        scope = frozenset().union(*(s for s, _ in buckets[i]))
        tainted = any(t for _, t in buckets[i])
        size = math.prod(cards[v] for v in scope)
        fixed, per = (fixed, per + size) if tainted else (fixed + size, per)
        if rest := scope - {x}:
            buckets[min(pos[v] for v in rest)].append((rest, tainted))
    return fixed, per


# --------------------------------------------------------------- elimination
def _align(scope: Sequence[int], table: np.ndarray, target: Sequence[int], cards) -> np.ndarray:
    perm = [0, *(1 + scope.index(v) for v in target if v in scope)]
    shape = [table.shape[0], *(cards[v] if v in scope else 1 for v in target)]
    return table.transpose(perm).reshape(shape)


def _eliminate(
    order: Sequence[int],
    factors: list[tuple[tuple[int, ...], np.ndarray, bool]],
    cards: Sequence[int],
    cache: dict[int, tuple[_Bucket, np.ndarray]],
) -> tuple[list[_Bucket], np.ndarray]:
    """Each variable's bucket and, per pattern, whether the evidence has probability > 0.

    Messages are rescaled per pattern so that nothing underflows; the scale
    does not change the draws. Pattern-free buckets are kept in ``cache``.
    """
    pos = {v: i for i, v in enumerate(order)}
    waiting: list[list[tuple[tuple[int, ...], np.ndarray, bool]]] = [[] for _ in order]
    for factor in factors:
        waiting[min(pos[v] for v in factor[0])].append(factor)
    buckets: list[_Bucket] = []
    possible = np.ones(1, dtype=bool)
    for i, x in enumerate(order):
        if i in cache:
            bucket, message = cache[i]
        else:
            items = waiting[i]
            rest = tuple(sorted({v for s, _, _ in items for v in s} - {x}, key=pos.__getitem__))
            scope = (*rest, x)
            table = reduce(np.multiply, [_align(s, t, scope, cards) for s, t, _ in items])
            bucket = _Bucket(rest, table, any(t for _, _, t in items))
            message = table.sum(axis=-1)
            peak = message.reshape(len(message), -1).max(axis=1)
            message = message / np.where(peak > 0, peak, 1.0).reshape((-1,) + (1,) * len(rest))
            if not bucket.tainted:
                cache[i] = (bucket, message)
        buckets.append(bucket)
        if bucket.rest:
            waiting[pos[bucket.rest[0]]].append((bucket.rest, message, bucket.tainted))
        else:
            possible = possible & (message > 0)
    return buckets, possible
