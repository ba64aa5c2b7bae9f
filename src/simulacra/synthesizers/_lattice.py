"""Numbers that live on a lattice: drawn as the data's own common values, group by group.

A column whose rows mostly repeat a few values (sizes in steps of 0.01 carat,
scores, amounts in whole units) is drawn from each group's shares of those
values (a tree leaf in ``cart``, a bin in ``bayesnet``), so that no draw
shows an in-between value the data never has. The shares are stored
sparsely: one cumulative array offset by group number, with each entry's
code.
"""

from __future__ import annotations

import numpy as np

from simulacra.errors import InvalidParameterError
from simulacra.synthesizers._marginals import MIN_ROWS_PER_POINT

LATTICE_SHARE = 0.9  # a column is a lattice when this share of rows holds common values

__all__ = [
    "LATTICE_SHARE",
    "draw_lattice",
    "entry_groups",
    "group_shares",
    "impossible",
    "lattice",
    "lattice_mass",
    "lattice_shares",
    "snap_codes",
]


def lattice(values: np.ndarray) -> np.ndarray:
    """The common values of a column whose rows mostly repeat a few values, else empty.

    Values seen fewer than ``MIN_ROWS_PER_POINT`` times are left out (rows
    holding them count for the nearest common value), so that a rare real
    value is never reproduced; the column's two ends are kept, as its
    metadata shows them anyway.
    """
    uniques, counts = np.unique(values, return_counts=True)
    common = counts >= MIN_ROWS_PER_POINT
    if counts[common].sum() < LATTICE_SHARE * len(values):
        return np.zeros(0)
    common[[0, -1]] = True
    return uniques[common]


def snap_codes(values: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The index of the nearest of the sorted ``points`` for each value."""
    right = np.clip(np.searchsorted(points, values), 0, len(points) - 1)
    left = np.maximum(right - 1, 0)
    nearer_left = np.abs(values - points[left]) <= np.abs(points[right] - values)
    return np.where(nearer_left, left, right).astype(np.int64)


def group_shares(groups: np.ndarray, codes: np.ndarray, n_groups: int, k: int | None) -> dict:
    """Code shares per group, stored sparsely as one cumulative array offset by group number.

    Group ``g``'s entries hold cumulative shares in ``(g, g + 1]``, with the
    code of each in ``codes``; ``k`` is the number of codes.
    """
    k = int(k or (codes.max() + 1))
    keys, counts = np.unique(groups * k + codes, return_counts=True)
    group = keys // k
    totals = np.bincount(group, weights=counts, minlength=n_groups)
    before = np.cumsum(totals) - totals
    within = (np.cumsum(counts) - before[group]) / totals[group]
    return {"codes": (keys % k).astype(np.int64), "cum": group + within, "k": k}


def lattice_shares(values: np.ndarray, groups: np.ndarray, n_groups: int) -> dict | None:
    """A lattice column's values and their shares per group, or None when it is no lattice."""
    points = lattice(values)
    if not len(points):
        return None
    shares = group_shares(groups, snap_codes(values, points), n_groups, len(points))
    return {"lattice": points, **shares}


def entry_groups(cum: np.ndarray) -> np.ndarray:
    """Each entry's group in a group-offset cumulative array (group g's entries: (g, g + 1])."""
    return np.ceil(cum).astype(np.int64) - 1


def _span(
    shares: dict, groups: np.ndarray, low: np.ndarray, high: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Where each row's group's values inside ``[low, high]`` start and end in ``cum``."""
    points, cum, k = shares["lattice"], shares["cum"], shares["k"]
    keys = entry_groups(cum) * k + shares["codes"]
    first = groups * k + np.searchsorted(points, low, side="left")
    last = groups * k + np.searchsorted(points, high, side="right") - 1
    i0 = np.searchsorted(keys, first, side="left")
    i1 = np.searchsorted(keys, last, side="right")
    inside = i1 > i0
    start = np.where((i0 > 0) & inside, cum[np.maximum(i0 - 1, 0)], 0.0)
    start = np.maximum(start, groups)
    end = np.where(inside, cum[np.maximum(i1 - 1, 0)], start)
    return start, end


def lattice_mass(shares: dict, n_groups: int, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``(patterns, groups)``: each group's share of values inside ``[low_p, high_p]``."""
    groups = np.broadcast_to(np.arange(n_groups), (len(low), n_groups)).ravel()
    start, end = _span(shares, groups, np.repeat(low, n_groups), np.repeat(high, n_groups))
    return (end - start).reshape(len(low), n_groups)


def draw_lattice(
    shares: dict,
    groups: np.ndarray,
    rng: np.random.Generator,
    bounds: tuple[np.ndarray, np.ndarray] | None,
    family: str,
    name: str,
) -> np.ndarray:
    """A lattice column's values drawn from each group's shares, within ``bounds`` if given.

    A pinned bound (``low == high``) comes back as itself.
    """
    cum = shares["cum"]
    u = rng.random(len(groups))
    if bounds is None:
        start, end = groups.astype(np.float64), groups + 1.0
    else:
        low, high = bounds
        start, end = _span(shares, groups, low, high)
        if ((end <= start) & (low != high)).any():
            raise impossible(family, name)
    pick = np.searchsorted(cum, start + u * (end - start), side="right")
    out = shares["lattice"][shares["codes"][np.minimum(pick, len(cum) - 1)]]
    return out if bounds is None else np.where(low == high, low, out)


def impossible(family: str, name: str) -> InvalidParameterError:
    """The error for a condition that some rows cannot meet under a fitted model."""
    return InvalidParameterError(
        f"{family}: the condition on {name!r} has no chance under this model for some rows; "
        "loosen the condition"
    )
