"""``dp-marginals``: MST, noisy one- and two-way marginals joined on a private spanning tree."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from simulacra.privacy.budget import PrivacyBudget
from simulacra.processor import EncodedTable
from simulacra.synthesizers._dp import DELTA, EPSILON
from simulacra.synthesizers._dp_network import BINS, DPNetworkSynthesizer, joint_counts

MAX_CELLS = 1 << 16  # largest two-way table a pair may have to be a candidate edge
IPF_ROUNDS = 20  # rounds fitting each edge's table to its two columns' estimates


class DPMarginalsSynthesizer(DPNetworkSynthesizer):
    """MST (McKenna, Miklau and Sheldon, 2021): measure marginals, fit a tree model to them.

    A third of the budget (after the row count and the public domains)
    measures every column's one-way marginal with discrete Laplace noise. A
    third chooses a maximum spanning tree of column pairs: Kruskal's
    algorithm where each edge is picked by the exponential mechanism among
    the pairs that join two parts, scored by how far the pair's real two-way
    table is from what the noisy one-way marginals predict (an L1 distance:
    one row moves it by at most 1). The last third measures the chosen
    pairs' two-way tables. The measurements are then made consistent: each
    column's marginal is the inverse-variance blend of its own measurement
    and its tree neighbours' table sums, and each pair's table (clipped at
    zero) is fitted to its two columns' marginals by iterative proportional
    fitting. The tree, rooted in each part, is a Bayesian network, so
    sampling and exact conditioning are ``bayesnet``'s and spend nothing.

    >>> import pandas as pd, simulacra
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=5000)
    >>> df = pd.DataFrame({"x": x, "y": np.where(x + rng.normal(size=5000) > 0, "hi", "lo")})
    >>> out = simulacra.create("dp-marginals", epsilon=1.0, seed=0).fit(df).sample(5000)
    >>> bool(out.groupby("y")["x"].mean().diff().abs().iloc[-1] > 0.8)
    True
    """

    name = "dp-marginals"
    description = (
        "MST: noisy one- and two-way marginals on a private spanning tree (differential privacy)."
    )
    params = (EPSILON, DELTA, BINS)
    quick_params: ClassVar[dict[str, Any]] = {"epsilon": 50.0}

    def _fit(self, encoded: EncodedTable, rng: np.random.Generator) -> None:
        from simulacra.privacy import mechanisms

        codes = self._prepare(encoded)
        cards, d = self.cards_, len(self.nodes_)
        third = self.fit_budget.remaining_epsilon / (3 if d > 1 else 1)
        exact = np.concatenate(
            [np.bincount(c, minlength=k) for c, k in zip(codes, cards, strict=True)]
        )
        noisy = mechanisms.laplace_counts(exact, d, third, self.fit_budget, "one-way marginals")
        splits = np.cumsum(cards)[:-1]
        ones = [np.maximum(m, 0).astype(float) for m in np.split(noisy, splits)]
        if d == 1:
            self._set_network([[]], [ones[0][None, :]])
            return
        edges = self._spanning_tree(codes, ones, third, rng)
        last = self.fit_budget.remaining_epsilon
        tables = self._noisy_tables(codes, [list(e) for e in edges], last, "two-way marginals")
        # a one-way cell's noise variance over a two-way cell's (Laplace, 2 b^2 each), as a
        # ratio of scales so that a huge epsilon underflows neither
        ratio = (d * last / (third * len(edges))) ** 2
        marginals = _blend(ones, edges, tables, ratio)
        tables = [
            _ipf(t, marginals[i], marginals[j]) for (i, j), t in zip(edges, tables, strict=True)
        ]
        parents, cpts = _rooted(d, edges, tables, marginals)
        self._set_network(parents, cpts)

    def _spanning_tree(
        self, codes: np.ndarray, ones: list[np.ndarray], epsilon: float, rng: np.random.Generator
    ) -> list[tuple[int, int]]:
        """Pairs of a spanning tree (forest where tables would be too large), chosen privately."""
        from simulacra.privacy import mechanisms

        d, cards = len(self.nodes_), self.cards_
        shares = [m / m.sum() if m.sum() > 0 else np.full(len(m), 1 / len(m)) for m in ones]
        rows = max(float(self.noisy_rows_), 1.0)
        pairs = [
            (i, j) for i in range(d) for j in range(i + 1, d) if cards[i] * cards[j] <= MAX_CELLS
        ]
        error = {}
        for i, j in pairs:
            real = joint_counts(codes, cards, [i, j]).reshape(cards[i], cards[j])
            error[i, j] = float(np.abs(real - rows * np.outer(shares[i], shares[j])).sum())
        part = list(range(d))

        def root(v: int) -> int:
            while part[v] != v:
                part[v] = part[part[v]]
                v = part[v]
            return v

        what = "the spanning tree's edges"
        self.fit_budget.check(what, epsilon)
        steps = PrivacyBudget(epsilon)
        chosen: list[tuple[int, int]] = []
        for _ in range(d - 1):
            open_pairs = [p for p in pairs if root(p[0]) != root(p[1])]
            if not open_pairs:
                break
            scores = np.array([error[p] for p in open_pairs])
            pick = open_pairs[mechanisms.choose(scores, 1.0, epsilon / (d - 1), steps, what)]
            chosen.append(pick)
            part[root(pick[0])] = root(pick[1])
        self.fit_budget.spend(
            what, steps.spent_epsilon, mechanism=f"exponential mechanism, {len(chosen)} edges"
        )
        return chosen


def _blend(
    ones: list[np.ndarray],
    edges: list[tuple[int, int]],
    tables: list[np.ndarray],
    ratio: float,
) -> list[np.ndarray]:
    """Each column's marginal: its measurement and its edges' sums, weighted by precision.

    ``ratio`` is a one-way cell's noise variance over a two-way cell's; a sum of
    ``other`` two-way cells has ``other`` times the latter.
    """
    total = [m.astype(float) for m in ones]
    weight = [1.0] * len(ones)
    for (i, j), t in zip(edges, tables, strict=True):
        for v, sums, other in ((i, t.sum(axis=1), t.shape[1]), (j, t.sum(axis=0), t.shape[0])):
            total[v] = total[v] + sums * (ratio / other)
            weight[v] += ratio / other
    return [np.maximum(t / w, 0.0) for t, w in zip(total, weight, strict=True)]


def _ipf(table: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``table`` scaled until its sums match ``rows`` and ``cols`` (both made to one total)."""
    total = (rows.sum() + cols.sum()) / 2
    if total <= 0:
        return np.zeros_like(table)
    rows = rows / max(rows.sum(), 1e-12) * total
    cols = cols / max(cols.sum(), 1e-12) * total
    fitted = table + 1e-9 * total / table.size  # no cell exactly zero: every target reachable
    for _ in range(IPF_ROUNDS):
        fitted *= (rows / np.maximum(fitted.sum(axis=1), 1e-300))[:, None]
        fitted *= (cols / np.maximum(fitted.sum(axis=0), 1e-300))[None, :]
    return fitted


def _rooted(
    d: int, edges: list[tuple[int, int]], tables: list[np.ndarray], marginals: list[np.ndarray]
) -> tuple[list[list[int]], list[np.ndarray]]:
    """Parents and ``(parent codes, codes)`` count tables of the forest, rooted in each part."""
    links: dict[int, list[tuple[int, np.ndarray]]] = {v: [] for v in range(d)}
    for (i, j), t in zip(edges, tables, strict=True):
        links[i].append((j, t))  # t: rows are i's codes
        links[j].append((i, t.T))
    parents: list[list[int]] = [[] for _ in range(d)]
    cpts: list[np.ndarray] = [marginals[v][None, :] for v in range(d)]
    seen = [False] * d
    for start in range(d):
        if seen[start]:
            continue
        seen[start], stack = True, [start]
        while stack:
            v = stack.pop()
            for w, t in links[v]:
                if not seen[w]:
                    seen[w] = True
                    parents[w], cpts[w] = [v], t
                    stack.append(w)
    return parents, cpts
