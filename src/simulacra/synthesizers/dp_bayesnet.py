"""``dp-bayesnet``: PrivBayes, a Bayesian network learned and measured with differential privacy."""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar

import numpy as np

from simulacra.privacy.budget import PrivacyBudget
from simulacra.processor import EncodedTable
from simulacra.synthesizers._bn_structure import parent_index
from simulacra.synthesizers._dp import DELTA, EPSILON, MAX_ROWS
from simulacra.synthesizers._dp_network import (
    BINS,
    THETA,
    DPNetworkSynthesizer,
    mutual_information_score,
    score_sensitivity,
)
from simulacra.synthesizers.base import Param

SCORE_ROWS = 100_000  # rows the structure scores read (a fixed random subset: same sensitivity)
CANDIDATES = 200  # most (column, parents) pairs scored per step, drawn without looking at data


class DPBayesNetSynthesizer(DPNetworkSynthesizer):
    """PrivBayes (Zhang et al., 2017): a private network, then private conditional tables.

    Columns are binned between public bounds (declared, or released
    privately), with "missing" as one more code. The graph grows one column
    at a time: among (column, parent set) pairs, the exponential mechanism
    picks one with high mutual information, ``rows * I`` in nats, whose
    sensitivity ``log(2^31 + 1) + 2`` holds for any tables. A parent set is
    only as large as the tables' noise allows: PrivBayes' theta-usefulness,
    at least ``4`` expected rows of signal per unit of noise in each cell.
    Then every family's joint counts are released at once with discrete
    Laplace noise; the conditional tables are those counts, clipped at zero
    and normalised. ``structure_share`` of the budget (after the row count
    and the public domains) pays for the graph, the rest for the tables.

    Sampling and exact conditioning are ``bayesnet``'s and spend nothing.

    >>> import pandas as pd, simulacra
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=5000)
    >>> df = pd.DataFrame({"x": x, "y": np.where(x + rng.normal(size=5000) > 0, "hi", "lo")})
    >>> model = simulacra.create("dp-bayesnet", epsilon=1.0, seed=0).fit(df)
    >>> out = model.sample(5000)
    >>> bool(out.groupby("y")["x"].mean().diff().abs().iloc[-1] > 0.8)
    True
    >>> round(sum(s["epsilon"] for s in model.privacy_ledger()), 6)
    1.0
    """

    name = "dp-bayesnet"
    description = "PrivBayes: a Bayesian network learned and measured with differential privacy."
    params = (
        EPSILON,
        DELTA,
        BINS,
        Param(
            "max_parents",
            int,
            3,
            "Most parents per column; fewer are used where the noise would swamp the tables.",
            low=0,
            high=6,
        ),
        Param(
            "structure_share",
            float,
            0.3,
            "Share of the budget spent choosing the graph; the rest measures its tables.",
            low=0.05,
            high=0.9,
        ),
    )
    quick_params: ClassVar[dict[str, Any]] = {"epsilon": 50.0}

    def _fit(self, encoded: EncodedTable, rng: np.random.Generator) -> None:
        codes = self._prepare(encoded)
        d = len(self.nodes_)
        epsilon = self.fit_budget.remaining_epsilon
        graph = self.structure_share * epsilon if d > 1 and self.max_parents > 0 else 0.0
        parents = self._structure(codes, graph, epsilon - graph, rng)
        families = [[*pa, child] for child, pa in enumerate(parents)]
        remaining = self.fit_budget.remaining_epsilon
        tables = self._noisy_tables(codes, families, remaining, "the network's tables (counts)")
        self._set_network(parents, tables)

    def _structure(
        self, codes: np.ndarray, epsilon: float, table_epsilon: float, rng: np.random.Generator
    ) -> list[list[int]]:
        """Parents per node, grown greedily by the exponential mechanism."""
        from simulacra.privacy import mechanisms

        d = len(self.nodes_)
        parents: list[list[int]] = [[] for _ in range(d)]
        if epsilon <= 0:
            return parents
        what = "the network's graph"
        self.fit_budget.check(what, epsilon)
        steps = PrivacyBudget(epsilon)
        rows = codes.shape[1]
        if rows > SCORE_ROWS:
            codes = codes[:, np.sort(rng.choice(rows, SCORE_ROWS, replace=False))]
        cells = max(self.noisy_rows_ * table_epsilon / (d * THETA), 1.0)
        sensitivity = score_sensitivity(MAX_ROWS)
        done = [int(rng.integers(d))]
        for _ in range(d - 1):
            pairs = self._candidates(done, cells, rng)
            scores = []
            for child, pa in pairs:
                index = parent_index(codes, pa, self.cards_)
                q = math.prod(self.cards_[p] for p in pa)
                scores.append(mutual_information_score(codes[child], index, self.cards_[child], q))
            pick = mechanisms.choose(np.array(scores), sensitivity, epsilon / (d - 1), steps, what)
            child, pa = pairs[pick]
            parents[child] = list(pa)
            done.append(child)
        self.fit_budget.spend(
            what,
            steps.spent_epsilon,
            mechanism=f"exponential mechanism, {d - 1} choices of (column, parents)",
        )
        return parents

    def _candidates(
        self, done: list[int], cells: float, rng: np.random.Generator
    ) -> list[tuple[int, tuple[int, ...]]]:
        """(column, parent set) pairs for the next step: the largest sets the noise allows."""
        out: list[tuple[int, tuple[int, ...]]] = []
        for child in sorted(set(range(len(self.nodes_))) - set(done)):
            budget = cells / self.cards_[child]
            for k in range(min(self.max_parents, len(done)), -1, -1):
                sets = [
                    s
                    for s in itertools.islice(itertools.combinations(done, k), 5000)
                    if k == 0 or math.prod(self.cards_[p] for p in s) <= budget
                ]
                if sets:
                    out += [(child, s) for s in sets]
                    break
        if len(out) > CANDIDATES:
            keep = np.sort(rng.choice(len(out), CANDIDATES, replace=False))
            out = [out[i] for i in keep]
        return out
