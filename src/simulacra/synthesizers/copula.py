"""``copula``: a Gaussian copula over the encoded columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from simulacra.conditions import Evidence, value_step
from simulacra.processor import EncodedTable
from simulacra.synthesizers._marginals import (
    MARGINALS,
    cdf,
    code_intervals,
    columns_from_uniform,
    fit_marginal,
    normal_scores,
    to_uniform,
)
from simulacra.synthesizers.base import Synthesizer

CORRELATION_ROWS = 200_000  # rows used to estimate the correlation matrix
GIBBS_SWEEPS = 30  # sweeps when two or more conditioned columns are ranges or category sets


class GaussianCopulaSynthesizer(Synthesizer):
    """Marginals per column, joined by the correlation of their normal scores.

    Each column is mapped to a standard normal through its marginal CDF
    (categories and null indicators through their share intervals, with a
    random point inside the interval), the correlation matrix of those
    scores is learned, and sampling runs the map backwards from correlated
    normal draws.

    >>> import simulacra
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=2000)
    >>> df = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(scale=0.5, size=2000)})
    >>> out = simulacra.create("copula", seed=0).fit(df).sample(5000)
    >>> bool(abs(out["x"].corr(out["y"]) - df["x"].corr(df["y"])) < 0.02)
    True
    """

    name = "copula"
    description = "Gaussian copula: learned marginals joined by a learned correlation matrix."
    params = (MARGINALS,)

    def _fit(self, encoded: EncodedTable, rng: np.random.Generator) -> None:
        data = encoded.data
        self.marginals_ = []
        rows = min(len(data), CORRELATION_ROWS)
        pick = rng.choice(len(data), rows, replace=False) if rows < len(data) else slice(None)
        scores = np.empty((rows, len(encoded.columns)))
        attenuation = np.ones(len(encoded.columns))
        for j, col in enumerate(encoded.columns):
            values = data[col.name].to_numpy()
            marginal = fit_marginal(col, values, self.marginals, rng)
            if col.kind == "discrete":
                attenuation[j] = _jitter_attenuation(marginal["probs"][marginal["order"]])
            self.marginals_.append(marginal)
            scores[:, j] = normal_scores(to_uniform(marginal, values[pick], rng))
            filled = encoded.filled(col.name)
            if filled is not None:  # stand-ins for missing cells must not dilute correlations
                scores[filled[pick], j] = np.nan
        self.correlation_ = _nearest_correlation(scores, attenuation)

    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        # float32 draws: half the memory traffic, and ample for mapping through marginals
        chol = np.linalg.cholesky(self.correlation_).astype(np.float32)
        z = rng.standard_normal((n, len(self.columns_)), dtype=np.float32) @ chol.T
        u = special.ndtr(z)
        return columns_from_uniform(self.marginals_, u, [c.name for c in self.columns_])

    def _sample_conditional(
        self, n: int, rng: np.random.Generator, evidence: Evidence
    ) -> pd.DataFrame:
        """Rows given the evidence, from the conditional Gaussian of the latent scores.

        Each condition is an interval of its column's latent score (a point for
        a pinned number, a union of category intervals for codes). Conditioned
        scores are drawn from their truncated joint normal (one exact step when
        at most one of them is an interval, Gibbs sweeps otherwise), and the
        free scores from the normal conditional on them: no rejection.
        """
        names = [c.name for c in self.columns_]
        index = {name: j for j, name in enumerate(names)}
        boxes = {index[k]: self._box(index[k], v) for k, v in evidence.allowed.items()}
        for name, (low, high) in evidence.bounds.items():
            j = index[name]
            # a pinned value of a column kept in steps is the latent interval its training
            # ties were spread over, not the CDF at the value (1 at the largest: an extreme);
            # latent bounds stay finite, as the training scores
            half = np.where(low == high, value_step(self.metadata_.columns[name]) / 2, 0.0)
            lo, hi = (
                normal_scores(cdf(self.marginals_[j], b))[:, None]
                for b in (low - half, high + half)
            )
            boxes[j] = (lo, hi, np.ones((n, 1), dtype=bool))
        cond = sorted(boxes, key=lambda j: not _is_point(boxes[j]))
        free = [j for j in range(len(names)) if j not in boxes]
        corr = self.correlation_
        z = np.zeros((n, len(names)))
        for j in cond:
            z[:, j] = _truncated_normal(np.zeros(n), 1.0, *boxes[j], rng)
        intervals = [j for j in cond if not _is_point(boxes[j])]
        sweeps = 1 if len(intervals) <= 1 else GIBBS_SWEEPS
        for _ in range(sweeps):
            for j in cond:
                others = [i for i in cond if i != j]
                if not others:
                    continue
                w = np.linalg.solve(corr[np.ix_(others, others)], corr[others, j])
                sd = float(np.sqrt(max(1.0 - corr[j, others] @ w, 1e-12)))
                z[:, j] = _truncated_normal(z[:, others] @ w, sd, *boxes[j], rng)
        if free:
            gain = np.linalg.solve(corr[np.ix_(cond, cond)], corr[np.ix_(cond, free)])
            cov = corr[np.ix_(free, free)] - corr[np.ix_(free, cond)] @ gain
            chol = np.linalg.cholesky(cov + 1e-9 * np.eye(len(free)))
            z[:, free] = z[:, cond] @ gain + rng.standard_normal((n, len(free))) @ chol.T
        out = columns_from_uniform(self.marginals_, special.ndtr(z), names)
        for name, (low, high) in evidence.bounds.items():
            out[name] = np.where(low == high, low, np.clip(out[name].to_numpy(), low, high))
        return out

    def _box(self, j: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each code's latent interval, and which codes each row allows."""
        lower, upper = code_intervals(self.marginals_[j])
        k = len(lower)
        return normal_scores(lower)[None, :], normal_scores(upper)[None, :], allowed[:, :k]


def _is_point(box: tuple[np.ndarray, np.ndarray, np.ndarray]) -> bool:
    low, high, _ = box
    return low.shape[1] == 1 and bool(np.all(low == high))


def _truncated_normal(
    mean: np.ndarray,
    sd: float,
    low: np.ndarray,
    high: np.ndarray,
    allowed: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draws of N(mean, sd) restricted to the union of the allowed intervals [low, high].

    Rows pick an interval by its probability mass, then a point inside it by
    the inverse CDF, computed on the tail nearer the mean so that far
    intervals keep their precision. Point intervals (low == high) return the point.
    """
    n = len(mean)
    a = (low - mean[:, None]) / sd
    b = (high - mean[:, None]) / sd
    a, b = np.broadcast_to(a, allowed.shape), np.broadcast_to(b, allowed.shape)
    flip = a > 0  # upper tail: work with -x, where the normal CDF is precise
    pa = np.where(flip, special.ndtr(-b), special.ndtr(a))
    pb = np.where(flip, special.ndtr(-a), special.ndtr(b))
    mass = (pb - pa) * allowed
    total = mass.sum(axis=1)
    share = np.cumsum(mass, axis=1) / np.where(total > 0, total, 1.0)[:, None]
    pick = np.minimum((share < rng.random(n)[:, None]).sum(axis=1), allowed.shape[1] - 1)
    # rows whose allowed intervals lie too far out to have mass: their nearest allowed point
    lost = total <= 0
    if lost.any():
        gap = np.where(allowed, np.minimum(np.abs(a), np.abs(b)), np.inf)
        pick[lost] = np.argmin(gap[lost], axis=1)
    rows = np.arange(n)
    lo, hi = pa[rows, pick], pb[rows, pick]
    p = lo + rng.random(n) * (hi - lo)
    x = special.ndtri(np.clip(p, 1e-300, 1.0))
    x = np.where(flip[rows, pick], -x, x)
    x = np.clip(x, a[rows, pick], b[rows, pick])
    return mean + sd * x


def _jitter_attenuation(probs: np.ndarray) -> float:
    """How much a random point inside each category's interval shrinks correlations.

    With a latent normal Z cut into intervals, a score drawn at random inside
    Z's interval correlates with any other normal variable by the latent
    correlation times Var(E[Z | interval]) = sum_k p_k m_k**2, where m_k is the
    interval's conditional mean. Dividing by this factor undoes the shrinkage.
    """
    upper = np.clip(np.cumsum(probs), 0.0, 1.0)
    lower = np.concatenate([[0.0], upper[:-1]])
    phi_lower = _normal_pdf(special.ndtri(lower))
    phi_upper = _normal_pdf(special.ndtri(upper))
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.where(probs > 0, (phi_lower - phi_upper) / probs, 0.0)
    return float(max(np.sum(probs * means**2), 1e-3))


def _normal_pdf(z: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(np.isfinite(z), np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi), 0.0)


def _nearest_correlation(
    scores: np.ndarray, attenuation: np.ndarray, floor: float = 1e-6
) -> np.ndarray:
    """Pairwise correlations of the scores (NaN = missing), made positive definite."""
    d = scores.shape[1]
    if d == 1 or len(scores) < 3:
        return np.eye(d)
    if np.isnan(scores).any():
        corr = pd.DataFrame(scores).corr(min_periods=3).to_numpy()
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(scores, rowvar=False)
    return positive_definite(np.nan_to_num(corr, nan=0.0), attenuation, floor)


def positive_definite(corr: np.ndarray, attenuation: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    """Correlations divided by the attenuation, clipped, with eigenvalues raised to ``floor``."""
    corr = np.clip(corr / np.outer(attenuation, attenuation), -1, 1)
    np.fill_diagonal(corr, 1.0)
    values, vectors = np.linalg.eigh(corr)
    fixed = (vectors * np.maximum(values, floor)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return fixed / np.outer(scale, scale)
