"""``dp-copula``: a Gaussian copula from noisy marginals and a noisy correlation matrix."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from scipy import special

from simulacra.processor import EncodedTable
from simulacra.synthesizers._dp import DELTA, EPSILON, DifferentiallyPrivate, bin_codes
from simulacra.synthesizers._marginals import cdf, to_uniform
from simulacra.synthesizers.base import Param
from simulacra.synthesizers.copula import (
    GaussianCopulaSynthesizer,
    _jitter_attenuation,
    positive_definite,
)

SCORE_LIMIT = 3.0  # normal scores are clipped to +-this before they are multiplied
GRID_POINTS = 201  # quantile points kept per numeric marginal
MIN_ATTENUATION = 0.05  # below this a discrete column's correlations are set to 0


class DPCopulaSynthesizer(DifferentiallyPrivate, GaussianCopulaSynthesizer):
    """A Gaussian copula whose marginals and correlations are released with differential privacy.

    Half of the budget (after the row count and the public domains) releases
    every column's histogram with discrete Laplace noise (one row counts once
    per column): codes for categories, ``bins`` equal widths between the
    public bounds for numbers and dates, and one more cell for gaps, which
    gives the column's gap indicator its marginal. A numeric marginal is the noisy
    histogram's piecewise-linear CDF. Each row is then mapped to normal
    scores through those released marginals (never through ranks, which
    would mix rows), clipped to ``+-3`` and scaled so that its squared length
    stays under a public bound ``B``; the sums of products of the scores
    are released with Gaussian noise (L2 sensitivity ``B``) when delta is above
    0, with Laplace noise otherwise, and give the correlation matrix, made
    positive definite. Conditional sampling is the copula's (exact) and
    spends nothing.

    >>> import pandas as pd, simulacra
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=5000)
    >>> df = pd.DataFrame({"x": x, "y": x + rng.normal(scale=0.5, size=5000)})
    >>> out = simulacra.create("dp-copula", epsilon=1.0, seed=0).fit(df).sample(5000)
    >>> round(float(df["x"].corr(df["y"])), 2)
    0.89
    >>> bool(out["x"].corr(out["y"]) > 0.6)  # the noise is OpenDP's, never seeded
    True
    """

    name = "dp-copula"
    description = (
        "Gaussian copula from noisy marginals and a noisy correlation (differential privacy)."
    )
    params = (
        EPSILON,
        DELTA,
        Param(
            "bins",
            int,
            32,
            "Equal-width bins of each numeric or date histogram between its public bounds.",
            low=2,
            high=1000,
        ),
        Param(
            "marginal_share",
            float,
            0.5,
            "Share of the budget spent on the marginals; the rest buys the correlations.",
            low=0.05,
            high=0.95,
        ),
    )
    quick_params: ClassVar[dict[str, Any]] = {"epsilon": 50.0}
    marginals = "empirical"

    def _fit(self, encoded: EncodedTable, rng: np.random.Generator) -> None:
        from simulacra.privacy import mechanisms

        columns, m = encoded.columns, len(encoded.columns)
        names = {c.name for c in columns}
        mains = [c for c in columns if c.name == c.source or c.source not in names]
        epsilon = self.fit_budget.remaining_epsilon
        # one histogram per source column; a column with gaps gets one more cell, "missing",
        # whose share is its gap indicator's marginal: each row counts once per source column
        counts, parts = {}, {}
        for col in mains:
            code, edges = bin_codes(
                encoded.data[col.name].to_numpy(), col, self.bounds_.get(col.name), self.bins
            )
            size = int(col.cardinality or 1) if edges is None else len(edges) - 1
            keep = code < size
            filled = encoded.filled(col.name)
            if filled is not None:
                keep &= ~filled
            cells = np.bincount(code[keep], minlength=size)
            if filled is not None:
                cells = np.append(cells, int((~keep).sum()))
            counts[col.name], parts[col.name] = cells, (code, edges, keep)
        share = self.marginal_share * epsilon if m > 1 else epsilon
        noisy = mechanisms.laplace_counts(
            np.concatenate(list(counts.values())), len(mains), share, self.fit_budget,
            "the columns' histograms (with their gaps)",
        )  # fmt: skip
        sizes = np.cumsum([len(c) for c in counts.values()])[:-1]
        hists = dict(zip(counts, np.split(np.maximum(noisy, 0).astype(float), sizes), strict=True))
        self.marginals_ = []
        for col in columns:
            if col.name in parts:
                code, edges, _ = parts[col.name]
                hist = hists[col.name]
                size = int(col.cardinality or 1) if edges is None else len(edges) - 1
                self.marginals_.append(_marginal(hist[:size], edges))
            else:  # a gap indicator: present (0) or missing (1), from its column's histogram
                hist = hists[col.source]
                self.marginals_.append(_marginal(np.array([hist[:-1].sum(), hist[-1]]), None))
                values = encoded.data[col.name].to_numpy()
                parts[col.name] = (values, None, np.ones(len(values), dtype=bool))
        if m == 1:
            self.correlation_ = np.eye(1)
            return
        scores = np.zeros((len(encoded.data), m))
        attenuation = np.ones(m)
        for j, (col, marginal) in enumerate(zip(columns, self.marginals_, strict=True)):
            code, edges, keep = parts[col.name]
            if marginal["kind"] == "discrete":
                u = to_uniform(marginal, np.where(keep, code, 0), rng)
                attenuation[j] = _jitter_attenuation(marginal["probs"][marginal["order"]])
            else:
                u = _edge_spread(marginal, encoded.data[col.name].to_numpy(np.float64), edges, rng)
            z = special.ndtri(np.clip(u, 1e-6, 1 - 1e-6))
            scores[:, j] = np.where(keep, np.clip(z, -SCORE_LIMIT, SCORE_LIMIT), 0.0)
        # a column that is nearly one code (a gap indicator of a full column) has scores
        # that carry no signal: it is left out of the release, which would only spend the
        # rows' bounded length on it, and undoing its attenuation would blow up the noise
        live = np.flatnonzero(attenuation >= MIN_ATTENUATION)
        corr = np.eye(m)
        if len(live) > 1:
            corr[np.ix_(live, live)] = self._noisy_correlation(scores[:, live], epsilon - share)
        attenuation[attenuation < MIN_ATTENUATION] = 1.0
        self.correlation_ = positive_definite(corr, attenuation)

    def _noisy_correlation(self, scores: np.ndarray, epsilon: float) -> np.ndarray:
        """Correlations from the noisy sums of products of each row's (bounded) scores."""
        from simulacra.privacy import mechanisms

        m = scores.shape[1]
        bound = m + 4.0 * math.sqrt(2.0 * m)  # a row's squared length, after scaling
        length = np.einsum("ij,ij->i", scores, scores)
        scores = scores * np.sqrt(np.minimum(1.0, bound / np.maximum(length, 1e-300)))[:, None]
        upper = np.triu_indices(m)
        sums = (scores.T @ scores)[upper]
        what = "the correlation of the normal scores"
        delta = self.fit_budget.remaining_delta
        if delta > 0:
            noisy = mechanisms.gaussian_sums(sums, bound, epsilon, delta, self.fit_budget, what)
        else:  # L1 over the upper triangle: at most (m + 1) / 2 times the squared length
            noisy = mechanisms.laplace_sums(
                sums, (m + 1) * bound / 2, epsilon, self.fit_budget, what
            )
        matrix = np.zeros((m, m))
        matrix[upper] = noisy
        matrix = matrix + np.triu(matrix, 1).T
        scale = np.sqrt(np.maximum(np.diag(matrix), 1.0))
        return matrix / np.outer(scale, scale)


def _edge_spread(
    marginal: dict[str, Any], values: np.ndarray, edges: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Values through the released CDF; those clipped to a bound spread over the edge bin.

    A value beyond the public bounds was counted in the edge bin, so it takes
    a random point of that bin's share rather than the very end of the scale:
    a pile of rows at a score of +-3 would drag the correlations down.
    """
    u = cdf(marginal, values)
    first, last = cdf(marginal, np.array([edges[1], edges[-2]]))
    spread = rng.random(len(values))
    u = np.where(values <= edges[0], spread * first, u)
    return np.where(values >= edges[-1], last + spread * (1.0 - last), u)


def _marginal(hist: np.ndarray, edges: np.ndarray | None) -> dict[str, Any]:
    """A discrete marginal from noisy code counts, or a quantile grid from a noisy histogram."""
    total = hist.sum()
    probs = hist / total if total > 0 else np.full(len(hist), 1.0 / len(hist))
    if edges is None:
        return {"kind": "discrete", "probs": probs, "order": np.argsort(-probs, kind="stable")}
    cumulative = np.concatenate([[0.0], np.cumsum(probs)])
    levels = np.linspace(0.0, 1.0, GRID_POINTS)
    grid = np.interp(levels, cumulative + np.arange(len(cumulative)) * 1e-12, edges)
    return {"kind": "grid", "grid": grid}
