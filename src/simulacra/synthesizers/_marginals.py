"""One-dimensional marginals shared by the families: fit, normal scores, inverse CDF.

A marginal is plain data (a dict of arrays and names) so it saves as it is:
``{"kind": "grid", "grid": quantiles}`` for an empirical continuous column,
``{"kind": "parametric", "dist": name, "params": [...]}``, or
``{"kind": "discrete", "probs": p, "order": codes}`` for codes.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from simulacra.processor import EncodedColumn
from simulacra.synthesizers.base import Param

MAX_GRID = 1001
MIN_ROWS_PER_POINT = 5  # a grid point summarises at least this many rows
PARAMETRIC = ("norm", "uniform", "lognorm", "gamma", "expon", "beta")
FIT_SAMPLE = 2000

MARGINALS = Param(
    "marginals",
    str,
    "empirical",
    "How numeric columns are modelled: 'empirical' quantiles or the best 'parametric' "
    "distribution (normal, uniform, lognormal, gamma, exponential, beta).",
    choices=("empirical", "parametric"),
)


def fit_marginal(
    column: EncodedColumn, values: np.ndarray, mode: str, rng: np.random.Generator
) -> dict[str, Any]:
    """The marginal of one encoded column: shares for codes, ``mode`` for numbers."""
    if column.kind == "discrete":
        return fit_discrete(values, column.cardinality or 1)
    return fit_continuous(values, mode, rng)


def columns_from_uniform(
    marginals: list[dict[str, Any]], u: np.ndarray, names: list[str]
) -> pd.DataFrame:
    """One encoded column per marginal from the matching column of uniform draws ``u``."""
    out = np.empty((len(u), len(marginals)))
    for j, marginal in enumerate(marginals):
        out[:, j] = from_uniform(marginal, u[:, j])
    return pd.DataFrame(out, columns=names, copy=False)


def fit_continuous(values: np.ndarray, mode: str, rng: np.random.Generator) -> dict[str, Any]:
    """Quantile grid (``empirical``) or the best of a few scipy families (``parametric``).

    The grid has at most one point per ``MIN_ROWS_PER_POINT`` rows, so it
    interpolates between real values rather than storing each of them.
    """
    if mode == "parametric":
        fitted = _best_parametric(values, rng)
        if fitted is not None:
            return fitted
    points = int(np.clip(len(values) // MIN_ROWS_PER_POINT, 2, MAX_GRID))
    grid = np.quantile(values, np.linspace(0.0, 1.0, points))
    return {"kind": "grid", "grid": grid}


def _best_parametric(values: np.ndarray, rng: np.random.Generator) -> dict[str, Any] | None:
    from scipy import stats  # slow to import; only the parametric mode needs it

    sample = values if len(values) <= FIT_SAMPLE else rng.choice(values, FIT_SAMPLE, replace=False)
    if np.ptp(sample) == 0:
        return None
    best, best_ks = None, np.inf
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for name in PARAMETRIC:
            dist = getattr(stats, name)
            try:
                params = dist.fit(sample)
                ks = stats.kstest(sample, name, args=params).statistic
            except (ValueError, RuntimeError, FloatingPointError):
                continue
            if np.isfinite(ks) and ks < best_ks:
                best, best_ks = {"kind": "parametric", "dist": name, "params": list(params)}, ks
    return best


def fit_discrete(codes: np.ndarray, cardinality: int) -> dict[str, Any]:
    """Category shares, with codes ordered by share (most common first) for the copula."""
    counts = np.bincount(codes, minlength=cardinality).astype("float64")
    order = np.argsort(-counts, kind="stable")
    return {"kind": "discrete", "probs": counts / counts.sum(), "order": order}


def to_uniform(
    marginal: dict[str, Any], values: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Training values to (0, 1), ties broken at random so that scores stay continuous."""
    n = len(values)
    if marginal["kind"] == "discrete":
        probs = marginal["probs"][marginal["order"]]
        rank_of = np.empty_like(marginal["order"])
        rank_of[marginal["order"]] = np.arange(len(rank_of))
        ranks = rank_of[values]
        upper = np.cumsum(probs)
        lower = upper - probs
        return lower[ranks] + rng.random(n) * probs[ranks]
    jitter = rng.permutation(n)
    order = np.lexsort((jitter, values))
    u = np.empty(n)
    u[order] = (np.arange(n) + 1.0) / (n + 1.0)
    return u


def from_uniform(marginal: dict[str, Any], u: np.ndarray) -> np.ndarray:
    """Uniform draws to values of the marginal (inverse CDF)."""
    kind = marginal["kind"]
    if kind == "grid":  # linear interpolation on an evenly spaced grid: no search needed
        grid = marginal["grid"]
        pos = np.clip(u.astype(np.float64), 0.0, 1.0) * (len(grid) - 1)
        left = np.minimum(pos.astype(np.int64), len(grid) - 2)
        return grid[left] + (pos - left) * (grid[left + 1] - grid[left])
    if kind == "parametric":
        from scipy import stats

        with np.errstate(all="ignore"):
            return getattr(stats, marginal["dist"]).ppf(u, *marginal["params"])
    cumulative = np.cumsum(marginal["probs"][marginal["order"]])
    ranks = np.minimum(np.searchsorted(cumulative, u, side="right"), len(cumulative) - 1)
    return marginal["order"][ranks]


def cdf(marginal: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """A continuous marginal's CDF at ``x`` (the inverse of :func:`from_uniform`)."""
    if marginal["kind"] == "grid":
        grid = marginal["grid"]
        return np.interp(x, grid, np.linspace(0.0, 1.0, len(grid)))
    from scipy import stats

    with np.errstate(all="ignore"):
        return getattr(stats, marginal["dist"]).cdf(x, *marginal["params"])


def code_intervals(marginal: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Each code's (lower, upper) share interval on the uniform scale, indexed by code."""
    probs = marginal["probs"][marginal["order"]]
    upper = np.clip(np.cumsum(probs), 0.0, 1.0)
    lower = np.concatenate([[0.0], upper[:-1]])
    by_code_lower = np.empty_like(lower)
    by_code_upper = np.empty_like(upper)
    by_code_lower[marginal["order"]] = lower
    by_code_upper[marginal["order"]] = upper
    return by_code_lower, by_code_upper


def normal_scores(u: np.ndarray) -> np.ndarray:
    return special.ndtri(np.clip(u, 1e-12, 1 - 1e-12))
