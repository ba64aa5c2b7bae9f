"""``copula``: a Gaussian copula over the encoded columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from simulacra.processor import EncodedTable
from simulacra.synthesizers._marginals import (
    MARGINALS,
    columns_from_uniform,
    fit_marginal,
    normal_scores,
    to_uniform,
)
from simulacra.synthesizers.base import Synthesizer

CORRELATION_ROWS = 200_000  # rows used to estimate the correlation matrix


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
    corr = np.clip(np.nan_to_num(corr, nan=0.0) / np.outer(attenuation, attenuation), -1, 1)
    np.fill_diagonal(corr, 1.0)
    values, vectors = np.linalg.eigh(corr)
    fixed = (vectors * np.maximum(values, floor)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return fixed / np.outer(scale, scale)
