"""Differentially private releases, each paid from a budget, with noise from OpenDP.

Every function here computes an exact statistic (counts, sums, scores) in
numpy, hands it to one of OpenDP's measurements calibrated to the statistic's
sensitivity and the epsilon asked for, and records the spend, with the
epsilon (and delta) that OpenDP's privacy map certifies, in the budget's
ledger. No noise is drawn here: OpenDP's samplers are exact and draw from
the operating system's secure generator, which is why a DP fit cannot be
repeated from a seed (a seeded noise could be subtracted again).

Neighbouring tables differ by one added or removed row.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

try:
    import opendp.prelude as dp
    from opendp.mod import OpenDPException
except ImportError as exc:  # pragma: no cover - exercised where the extra is missing
    from simulacra.errors import MissingExtraError

    raise MissingExtraError(
        "differential privacy needs OpenDP; install it with: pip install 'simulacra[dp]'"
    ) from exc

from simulacra.errors import InvalidParameterError
from simulacra.privacy.budget import PrivacyBudget

__all__ = [
    "bounds",
    "choose",
    "gaussian_sums",
    "laplace_counts",
    "laplace_sums",
    "released_categories",
]

dp.enable_features("contrib")

_INT = "i64"


def _float_vectors() -> Any:
    return dp.vector_domain(dp.atom_domain(T=float, nan=False))


def _calibrate(
    make: Callable[[float], Any], d_in: Any, d_out: Any, guess: float, tighten: bool = False
) -> tuple[Any, float]:
    """The measurement at the closed-form ``guess`` scale, widened until OpenDP certifies it.

    OpenDP's privacy map has the last word: its certified loss must be
    within ``d_out`` (float rounding may ask for a hair more noise).
    """
    target = d_out if isinstance(d_out, tuple) else (d_out, 0.0)

    def fits(scale: float) -> bool:
        try:
            eps, dlt = _loss(make(scale), d_in)
        except OpenDPException:  # an epsilon so large that its noise overflows
            raise InvalidParameterError(
                f"OpenDP cannot calibrate noise for a release at epsilon {target[0]:.3g} (a "
                "share of the fit's epsilon; its noise overflows); give the fit a smaller "
                "epsilon (above about 1,000 the noise is negligible anyway)"
            ) from None
        return eps <= target[0] and dlt <= target[1]

    scale = guess * (1 + 1e-9)
    while not fits(scale):
        scale *= 1 + 1e-6
    if tighten:  # the guess is a loose bound: bisect down to the least noise that fits
        low = scale / 4
        for _ in range(24):  # to a few parts in ten million
            mid = (low + scale) / 2
            low, scale = (low, mid) if fits(mid) else (mid, scale)
    return make(scale), scale


def _loss(measurement: Any, d_in: Any) -> tuple[float, float]:
    loss = measurement.map(d_in)
    return (float(loss[0]), float(loss[1])) if isinstance(loss, tuple) else (float(loss), 0.0)


def laplace_counts(
    counts: np.ndarray, sensitivity: int, epsilon: float, budget: PrivacyBudget, what: str
) -> np.ndarray:
    """Counts plus discrete Laplace noise; ``sensitivity`` bounds one row's L1 effect."""
    budget.check(what, epsilon)
    d_in = max(int(sensitivity), 1)

    def make(scale: float) -> Any:
        return dp.m.make_laplace(
            dp.vector_domain(dp.atom_domain(T=_INT)), dp.l1_distance(T=_INT), scale
        )

    measurement, scale = _calibrate(make, d_in, epsilon, d_in / epsilon)
    flat = np.asarray(counts, dtype=np.int64).ravel()
    noisy = np.asarray(measurement(flat.tolist()), dtype=np.int64).reshape(np.shape(counts))
    eps, _ = _loss(measurement, d_in)
    budget.spend(what, eps, mechanism=f"discrete Laplace, scale {scale:.3g}")
    return noisy


def laplace_sums(
    sums: np.ndarray, l1_sensitivity: float, epsilon: float, budget: PrivacyBudget, what: str
) -> np.ndarray:
    """Real-valued sums plus Laplace noise; ``l1_sensitivity`` bounds one row's L1 effect."""
    budget.check(what, epsilon)

    def make(scale: float) -> Any:
        return dp.m.make_laplace(_float_vectors(), dp.l1_distance(T=float), scale)

    d_in = float(l1_sensitivity)
    measurement, scale = _calibrate(make, d_in, epsilon, d_in / epsilon)
    flat = np.asarray(sums, dtype=np.float64).ravel()
    noisy = np.asarray(measurement(flat.tolist()), dtype=np.float64).reshape(np.shape(sums))
    budget.spend(what, _loss(measurement, d_in)[0], mechanism=f"Laplace, scale {scale:.3g}")
    return noisy


def gaussian_sums(
    sums: np.ndarray,
    l2_sensitivity: float,
    epsilon: float,
    delta: float,
    budget: PrivacyBudget,
    what: str,
) -> np.ndarray:
    """Sums plus Gaussian noise, certified (epsilon, delta) through zero-concentrated DP."""
    budget.check(what, epsilon, delta)
    d_in = float(l2_sensitivity)
    scale = _gaussian_scale(d_in, epsilon, delta)
    measurement = _gaussian(scale, delta)
    flat = np.asarray(sums, dtype=np.float64).ravel()
    noisy = np.asarray(measurement(flat.tolist()), dtype=np.float64).reshape(np.shape(sums))
    eps, dlt = _loss(measurement, d_in)
    budget.spend(what, eps, dlt, mechanism=f"Gaussian, scale {scale:.3g}")
    return noisy


def _gaussian(scale: float, delta: float) -> Any:
    gauss = dp.m.make_gaussian(_float_vectors(), dp.l2_distance(T=float), scale)
    return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(gauss), delta)


@functools.lru_cache(maxsize=256)
def _gaussian_scale(d_in: float, epsilon: float, delta: float) -> float:
    """The least Gaussian noise OpenDP certifies as (epsilon, delta) for L2 sensitivity ``d_in``.

    Zero-concentrated DP gives a first guess (``rho = d_in^2 / (2 scale^2)`` and
    ``rho + 2 sqrt(rho log(1/delta)) <= epsilon``); OpenDP's own conversion is
    tighter, so the scale is then bisected down. A pure function: cached.
    """
    log_inv = math.log(1 / delta)
    rho = (math.sqrt(log_inv + epsilon) - math.sqrt(log_inv)) ** 2
    guess = d_in / math.sqrt(2 * rho)
    return _calibrate(lambda s: _gaussian(s, delta), d_in, (epsilon, delta), guess, tighten=True)[1]


def choose(
    scores: np.ndarray, sensitivity: float, epsilon: float, budget: PrivacyBudget, what: str
) -> int:
    """The index of a high score, by the exponential mechanism (report-noisy-max, Gumbel)."""
    budget.check(what, epsilon)

    def make(scale: float) -> Any:
        return dp.m.make_noisy_max(
            _float_vectors(), dp.linf_distance(T=float), dp.max_divergence(), scale
        )

    d_in = float(sensitivity)
    measurement, _ = _calibrate(make, d_in, epsilon, 2 * d_in / epsilon)
    index = int(measurement([float(s) for s in np.asarray(scores, dtype=np.float64)]))
    eps, _ = _loss(measurement, d_in)
    budget.spend(what, eps, mechanism="exponential mechanism")
    return index


def bounds(
    values: np.ndarray,
    edges: np.ndarray,
    epsilon: float,
    budget: PrivacyBudget,
    what: str,
    fine: int = 50,
    failure: float = 1e-4,
) -> tuple[float, float] | None:
    """A range that holds most ``values``, from two noisy histograms (half the epsilon each).

    First ``edges`` (fixed, not read from the data: powers of ten, say) cut
    the line into buckets; their counts get discrete Laplace noise, and the
    range runs from the first to the last bucket whose noisy count clears
    ``scale * log(buckets / failure)``, a level an empty bucket reaches with
    chance below ``failure`` (a spurious far bucket almost never widens the
    range). Then that range is cut into ``fine`` equal buckets, and only tails
    whose noisy running count (from either end) stays under that level are cut
    off (the range is kept if nothing clears it).
    Sparse tails are cut off (the model clips them) rather than stretched to
    a wild guess. ``None`` when no coarse bucket stands out of the noise (too
    few rows for this epsilon): there is no honest range to give.
    """
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    coarse = np.unique(np.asarray(edges, dtype=np.float64))
    low, high, ok = _clear_range(data, coarse, epsilon / 2, budget, f"{what} (coarse)", failure)
    if not ok:
        return None
    inside = data[(data >= low) & (data <= high)]
    narrow = np.linspace(low, high, fine + 1)
    index = np.clip(np.searchsorted(narrow, inside, side="right") - 1, 0, fine - 1)
    noisy = laplace_counts(
        np.bincount(index, minlength=fine), 1, epsilon / 2, budget, f"{what} (fine)"
    ).astype(np.float64)
    # cut only the tails that hold fewer rows than the noise level, counted from each end
    level = math.log(fine / failure) / (epsilon / 2)
    first = np.flatnonzero(np.cumsum(noisy) > level)
    last = np.flatnonzero(np.cumsum(noisy[::-1]) > level)
    if len(first) == 0 or len(last) == 0 or first[0] > fine - 1 - last[0]:
        return low, high
    return float(narrow[first[0]]), float(narrow[fine - last[0]])


def _clear_range(
    data: np.ndarray,
    edges: np.ndarray,
    epsilon: float,
    budget: PrivacyBudget,
    what: str,
    failure: float,
) -> tuple[float, float, bool]:
    """The outer edges of the buckets whose noisy counts are clear, and whether any was."""
    index = np.clip(np.searchsorted(edges, data, side="right") - 1, 0, len(edges) - 2)
    noisy = laplace_counts(np.bincount(index, minlength=len(edges) - 1), 1, epsilon, budget, what)
    clear = np.flatnonzero(noisy > math.log((len(edges) - 1) / failure) / epsilon)
    if len(clear) == 0:
        top = int(np.argmax(noisy))
        return float(edges[top]), float(edges[top + 1]), False
    return float(edges[clear[0]]), float(edges[clear[-1] + 1]), True


def released_categories(
    counts: dict[str, int], epsilon: float, delta: float, budget: PrivacyBudget, what: str
) -> list[str]:
    """The categories whose noisy count clears a threshold (a stability histogram).

    A category held by one row is released with probability at most ``delta``.
    """
    budget.check(what, epsilon, delta)
    domain = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T=_INT))
    metric = dp.l01inf_distance(dp.absolute_distance(T=_INT))
    d_in = (1, 1, 1)  # one row adds or removes one count of one category
    scale = (1.0 + 1e-6) / epsilon  # one row moves one count by one: epsilon = 1 / scale

    def make(threshold: int) -> Any:
        return dp.m.make_laplace_threshold(domain, metric, scale=scale, threshold=threshold)

    # a one-row category clears the threshold with chance exp(-(t - 1) / scale) / 2
    threshold = max(2, math.ceil(1 + scale * math.log(1 / (2 * delta))))
    while _loss(make(threshold), d_in)[1] > delta:
        threshold += max(1, threshold // 100)  # pragma: no cover - OpenDP's bound is tighter
    measurement = make(threshold)
    released = measurement({str(k): int(v) for k, v in counts.items()})
    eps, dlt = _loss(measurement, d_in)
    budget.spend(what, eps, dlt, mechanism=f"Laplace stability histogram, threshold {threshold}")
    return sorted(released)
