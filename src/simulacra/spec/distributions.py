"""The distributions a spec column draws numbers from.

Every distribution is an inverse CDF (``ppf``) over uniform numbers, so that
bounds (``min``/``max``: exact truncation, not clipping) and correlated
columns (a Gaussian copula hands each column its own uniforms) work the same
way for all of them. Untruncated, uncorrelated columns take a direct numpy
draw where one exists.

>>> dist = make("normal", {"mean": 10.0, "sd": 2.0})
>>> x = dist.draw(np.random.default_rng(0), 100_000)
>>> round(float(x.mean()), 1), round(float(x.std()), 1)
(10.0, 2.0)
>>> bounded = truncate(dist, low=10.0, high=None)
>>> bool((bounded.draw(np.random.default_rng(0), 1000) >= 10).all())
True
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

__all__ = ["DISTRIBUTIONS", "Dist", "Family", "make", "problems", "truncate"]

_TAIL = 1e-12  # discrete supports are cut where less than this probability is left


def _stats():
    """scipy.stats, imported on first use (it adds most of a second to ``import simulacra``)."""
    from scipy import stats

    return stats


class Dist:
    """A distribution over numbers: ``cdf``, ``ppf`` and a vectorized ``draw``."""

    discrete = False

    def cdf(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def ppf(self, u: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.ppf(rng.random(n))


class _Scipy(Dist):
    """A frozen scipy distribution, with numpy's direct sampler when there is one."""

    def __init__(self, frozen: Any, sampler: Callable[..., np.ndarray] | None = None) -> None:
        self.frozen, self.sampler = frozen, sampler

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return self.frozen.cdf(x)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.frozen.ppf(u)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.sampler is None:
            return self.ppf(rng.random(n))
        return self.sampler(rng, n)


class _Normal(Dist):
    def __init__(self, mean: float, sd: float) -> None:
        self.mean, self.sd = mean, sd

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return special.ndtr((np.asarray(x, dtype=float) - self.mean) / self.sd)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.mean + self.sd * special.ndtri(u)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.normal(self.mean, self.sd, n)


class _LogNormal(Dist):
    """Parametrized by the mean and sd of the values themselves, not of their log."""

    def __init__(self, mean: float, sd: float) -> None:
        self.sigma = float(np.sqrt(np.log1p((sd / mean) ** 2)))
        self.mu = float(np.log(mean) - self.sigma**2 / 2)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (np.log(np.maximum(x, 0)) - self.mu) / self.sigma
        return np.where(x > 0, special.ndtr(z), 0.0)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.exp(self.mu + self.sigma * special.ndtri(u))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.lognormal(self.mu, self.sigma, n)


class _Uniform(Dist):
    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return np.clip((np.asarray(x, dtype=float) - self.low) / (self.high - self.low), 0, 1)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + (self.high - self.low) * u


class _Histogram(Dist):
    """An empirical histogram: a bin by its weight, then uniform inside the bin."""

    def __init__(self, edges: list[float], weights: list[float]) -> None:
        self.edges = np.asarray(edges, dtype=float)
        cum = np.concatenate([[0.0], np.cumsum(np.asarray(weights, dtype=float))])
        self.cum = cum / cum[-1]

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return np.interp(x, self.edges, self.cum)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self.cum, self.edges)


class Table(Dist):
    """A discrete distribution over ``support`` with probabilities ``p``: ppf by binary search."""

    discrete = True

    def __init__(self, support: np.ndarray, p: np.ndarray) -> None:
        self.support = np.asarray(support)
        cum = np.cumsum(np.asarray(p, dtype=float))
        self.cum = cum / cum[-1]

    def cdf(self, x: np.ndarray) -> np.ndarray:
        at = np.searchsorted(self.support, x, side="right") - 1
        return np.where(at >= 0, self.cum[np.maximum(at, 0)], 0.0)

    def codes(self, u: np.ndarray) -> np.ndarray:
        """Index into ``support`` of each uniform."""
        return np.minimum(np.searchsorted(self.cum, u, side="right"), len(self.cum) - 1)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.support[self.codes(u)]


class _Counts(Table):
    """A distribution over whole numbers, tabulated from scipy, drawn by numpy if it can."""

    def __init__(self, frozen: Any, sampler: Callable[..., np.ndarray] | None) -> None:
        low = max(int(frozen.support()[0]), 0)
        high = int(frozen.ppf(1 - _TAIL))
        support = np.arange(low, high + 1)
        super().__init__(support, frozen.pmf(support))
        self.sampler = sampler

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.sampler is None:
            return self.ppf(rng.random(n))
        return self.sampler(rng, n)


class _Truncated(Dist):
    """``base`` restricted to ``[low, high]`` by inverse-CDF sampling: exact, not clipped."""

    def __init__(self, base: Dist, lo: float, hi: float) -> None:
        self.base, self.lo, self.hi = base, lo, hi
        self.discrete = base.discrete

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return np.clip((self.base.cdf(x) - self.lo) / (self.hi - self.lo), 0, 1)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.base.ppf(self.lo + (self.hi - self.lo) * np.asarray(u))


def truncate(dist: Dist, low: float | None, high: float | None) -> Dist:
    """``dist`` restricted to ``[low, high]``; ValueError when no probability is left."""
    if low is None and high is None:
        return dist
    step = 1.0 if dist.discrete else 0.0  # P(X >= low) of a count is 1 - F(low - 1)
    lo = float(dist.cdf(np.array([low - step]))[0]) if low is not None else 0.0
    hi = float(dist.cdf(np.array([high]))[0]) if high is not None else 1.0
    if not hi - lo > 1e-12:
        raise ValueError(f"min {low} and max {high} leave no probability in this distribution")
    return _Truncated(dist, lo, hi)


# -------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Family:
    """A distribution name, its parameters (all required) and how to build it."""

    name: str
    params: tuple[str, ...]
    help: str
    build: Callable[..., Dist]
    check: Callable[..., str | None] = lambda **_: None
    discrete: bool = False


def _positive(*names: str) -> Callable[..., str | None]:
    def check(**p: Any) -> str | None:
        bad = [n for n in names if not p[n] > 0]
        return f"{' and '.join(bad)} must be greater than 0" if bad else None

    return check


def _order(low: str, high: str) -> Callable[..., str | None]:
    return lambda **p: None if p[low] < p[high] else f"{low} must be less than {high}"


def _probability(**p: Any) -> str | None:
    return None if 0 < p["p"] <= 1 else "p must be in (0, 1]"


def _binomial(**p: Any) -> str | None:
    if int(p["n"]) != p["n"] or p["n"] < 0:
        return "n must be a whole number >= 0"
    return None if 0 <= p["p"] <= 1 else "p must be in [0, 1]"


def _triangle(**p: Any) -> str | None:
    return (
        None
        if p["low"] <= p["mode"] <= p["high"] and p["low"] < p["high"]
        else ("need low <= mode <= high and low < high")
    )


def _histogram(**p: Any) -> str | None:
    edges, weights = p["edges"], p["weights"]
    if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
        return "edges must be at least two increasing numbers"
    if len(weights) != len(edges) - 1:
        return f"weights needs one number per bin: {len(edges) - 1}, got {len(weights)}"
    if any(w < 0 for w in weights) or not sum(weights) > 0:
        return "weights must be >= 0 and not all 0"
    return None


def _gamma(mean: float, sd: float) -> Dist:
    shape, scale = (mean / sd) ** 2, sd**2 / mean
    return _Scipy(_stats().gamma(shape, scale=scale), lambda r, n: r.gamma(shape, scale, n))


_FAMILIES = [
    Family("normal", ("mean", "sd"), "bell curve", _Normal, _positive("sd")),
    Family(
        "lognormal",
        ("mean", "sd"),
        "skewed positive values (mean and sd of the values)",
        _LogNormal,
        _positive("mean", "sd"),
    ),
    Family(
        "uniform",
        ("low", "high"),
        "every value in [low, high) alike",
        _Uniform,
        _order("low", "high"),
    ),
    Family(
        "exponential",
        ("mean",),
        "waiting times",
        lambda mean: _Scipy(_stats().expon(scale=mean), lambda r, n: r.exponential(mean, n)),
        _positive("mean"),
    ),
    Family("gamma", ("mean", "sd"), "skewed positive values", _gamma, _positive("mean", "sd")),
    Family(
        "beta",
        ("a", "b"),
        "shares in [0, 1]",
        lambda a, b: _Scipy(_stats().beta(a, b), lambda r, n: r.beta(a, b, n)),
        _positive("a", "b"),
    ),
    Family(
        "triangular",
        ("low", "mode", "high"),
        "low, most likely, high",
        lambda low, mode, high: _Scipy(
            _stats().triang((mode - low) / (high - low), loc=low, scale=high - low),
            lambda r, n: r.triangular(low, mode, high, n),
        ),
        _triangle,
    ),
    Family(
        "histogram",
        ("edges", "weights"),
        "an empirical histogram: bin edges and a weight per bin",
        _Histogram,
        _histogram,
    ),
    Family(
        "poisson",
        ("mean",),
        "counts of events",
        lambda mean: _Counts(_stats().poisson(mean), lambda r, n: r.poisson(mean, n)),
        _positive("mean"),
        discrete=True,
    ),
    Family(
        "binomial",
        ("n", "p"),
        "successes in n trials",
        lambda n, p: _Counts(_stats().binom(int(n), p), lambda r, k: r.binomial(int(n), p, k)),
        _binomial,
        discrete=True,
    ),
    Family(
        "geometric",
        ("p",),
        "trials up to the first success (1, 2, ...)",
        lambda p: _Counts(_stats().geom(p), lambda r, n: r.geometric(p, n)),
        _probability,
        discrete=True,
    ),
    Family(
        "integers",
        ("low", "high"),
        "whole numbers from low to high, inclusive, alike",
        lambda low, high: Table(np.arange(int(low), int(high) + 1), np.ones(int(high - low) + 1)),
        lambda **p: None if p["low"] <= p["high"] else "low must be at most high",
        discrete=True,
    ),
]
DISTRIBUTIONS: dict[str, Family] = {f.name: f for f in _FAMILIES}
# every parameter any distribution takes, and whether it is a list of numbers
PARAMETERS: dict[str, bool] = {p: p in ("edges", "weights") for f in _FAMILIES for p in f.params}


def problems(name: str, params: Mapping[str, Any]) -> list[str]:
    """What is wrong with these parameters for distribution ``name`` (no problems: ``[]``)."""
    family = DISTRIBUTIONS[name]
    missing = [p for p in family.params if p not in params]
    stray = [p for p in params if p not in family.params]
    out = []
    if missing:
        out.append(f"distribution {name!r} needs {', '.join(missing)}")
    if stray:
        out.append(
            f"distribution {name!r} takes {', '.join(family.params)}, not {', '.join(stray)}"
        )
    if not out:
        message = family.check(**params)
        if message:
            out.append(f"distribution {name!r}: {message}")
    return out


def make(name: str, params: Mapping[str, Any]) -> Dist:
    """The distribution ``name`` with (already checked) parameters."""
    return DISTRIBUTIONS[name].build(**params)
