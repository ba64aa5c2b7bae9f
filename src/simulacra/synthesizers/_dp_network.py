"""The base of the private graphical models: a Bayesian network fitted on noisy counts.

``dp-bayesnet`` and ``dp-marginals`` differ in how they choose the graph and
what they measure; both end as a network of conditional tables over binned
columns, so sampling, exact conditioning and persistence are ``bayesnet``'s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from simulacra.processor import EncodedTable
from simulacra.synthesizers._bn_structure import family_counts, parent_index
from simulacra.synthesizers._dp import BINS, DifferentiallyPrivate, node_codes
from simulacra.synthesizers.bayesnet import BayesianNetworkSynthesizer, _nodes

__all__ = ["BINS", "DPNetworkSynthesizer", "joint_counts", "score_sensitivity"]

THETA = 4.0  # least expected noisy-count-to-noise ratio per table cell (PrivBayes' theta)


def score_sensitivity(rows: int) -> float:
    """How much one added or removed row can move ``rows * I(X; Y)`` (nats), for any tables.

    With ``f(c) = c log c``, ``rows * I = sum f(c_xy) - sum f(c_x) - sum f(c_y) + f(rows)``,
    and one row changes four terms, each by ``log(c + 1)`` plus at most 1;
    the sum moves by at most ``log(rows + 1) + 2``. ``rows`` is an upper
    bound that does not depend on the data.
    """
    return math.log(rows + 1) + 2.0


def mutual_information_score(child: np.ndarray, index: np.ndarray, r: int, q: int) -> float:
    """``rows * I(child; parents)`` in nats, from the joint counts."""
    joint = np.bincount(index * r + child, minlength=q * r).reshape(q, r).astype(np.float64)
    rows = joint.sum()
    if rows == 0:
        return 0.0
    outer = np.outer(joint.sum(axis=1), joint.sum(axis=0))
    nz = joint > 0
    return float(np.sum(joint[nz] * np.log(joint[nz] * rows / outer[nz])))


def joint_counts(codes: np.ndarray, cards: Sequence[int], nodes: Sequence[int]) -> np.ndarray:
    """Counts over the joint codes of ``nodes`` (the first most significant), flattened."""
    *parents, child = nodes
    index = parent_index(codes, parents, cards) if parents else None
    q = math.prod(cards[p] for p in parents)
    return family_counts(codes[child], cards[child], index, q).ravel()


class DPNetworkSynthesizer(DifferentiallyPrivate, BayesianNetworkSynthesizer):
    """A Bayesian network whose every table comes from noisy counts (shared by the DP graphs)."""

    alpha = 0.0  # no pseudo-rows: the noise already fills empty cells
    parent_bins = 2  # unused: no merged parent views

    def _bin(self, encoded: EncodedTable) -> np.ndarray:
        """Codes per node, "missing" last; the bins' edges as two-point grids (uniform draws)."""
        codes, self.cards_, edges = node_codes(
            encoded, self.nodes_, self.bounds_, self.bins, self.metadata_
        )
        self.grids_ = {}
        for name, cut in edges.items():
            grid = np.column_stack([cut[:-1], cut[1:]])
            self.grids_[name] = np.vstack([grid, grid[:1]])  # a stand-in row for "missing"
        self.merges_ = {}
        self.lattices_ = {}  # the data's common values would not be private
        return codes

    def _prepare(self, encoded: EncodedTable) -> np.ndarray:
        self.nodes_ = _nodes(encoded.columns)
        self.followers_ = {}  # nor would curves through the data's means
        return self._bin(encoded)

    def _set_network(self, parents: list[list[int]], tables: list[np.ndarray]) -> None:
        """Store the graph and its conditional tables (counts, clipped and normalised)."""
        self.parents_ = [[int(p) for p in pa] for pa in parents]
        self.merged_ = [[-1] * len(pa) for pa in parents]
        self.cpts_ = [_conditional(t) for t in tables]

    def _noisy_tables(
        self, codes: np.ndarray, families: list[list[int]], epsilon: float, what: str
    ) -> list[np.ndarray]:
        """Each family's ``(parent configurations, codes)`` counts, one noisy release for all."""
        from simulacra.privacy import mechanisms

        shapes = [(math.prod(self.cards_[p] for p in f[:-1]), self.cards_[f[-1]]) for f in families]
        exact = np.concatenate([joint_counts(codes, self.cards_, f) for f in families])
        noisy = mechanisms.laplace_counts(
            exact.astype(np.int64), len(families), epsilon, self.fit_budget, what
        )
        out, start = [], 0
        for q, r in shapes:
            out.append(np.maximum(noisy[start : start + q * r], 0).reshape(q, r).astype(float))
            start += q * r
        return out


def _conditional(counts: np.ndarray) -> np.ndarray:
    """Rows summing to one; an empty parent configuration falls back on the child's shares."""
    marginal = counts.sum(axis=0)
    total = marginal.sum()
    prior = marginal / total if total > 0 else np.full(counts.shape[1], 1.0 / counts.shape[1])
    sums = counts.sum(axis=1, keepdims=True)
    return np.where(sums > 0, counts / np.where(sums > 0, sums, 1.0), prior)
