"""Numbers that closely follow another, learned as their residual from a curve of it.

Binning loses a tight relation between two numbers (a diamond's ``x`` and
``y``, a loan's amount and instalment): each is drawn inside its own bin,
apart from the other's place in its bin. A *follower* is instead learned as
its residual from a monotone curve of its *anchor* (fitted on the log scale
when both are positive), so the model learns how far a row sits from the
curve, and the number comes back as curve plus residual. A follower that is
an exact function of its anchor (``wage`` of ``logwage``) comes back as that
function, its residual not learned at all.

A follower's state is a dict of plain values and arrays: ``anchor``,
``log``, ``derived``, the curve's ``knots_x``/``knots_y``, the residuals'
range ``r_range``, the column's ``range`` and its ``lattice`` (empty when
none). An exact function keeps its knots as the data's values and reads
between them on the scales (``log_x``/``log_y``) that predict each knot
best from its neighbours, so that ``wage = e^logwage`` comes back exact
between the logarithms the data holds too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

import numpy as np
import pandas as pd

from simulacra._detect import _decimals as detected_decimals
from simulacra.conditions import Evidence
from simulacra.processor import EncodedTable
from simulacra.synthesizers._lattice import lattice, snap_codes
from simulacra.synthesizers._marginals import MIN_ROWS_PER_POINT

PLAN_ROWS = 20_000  # rows the rank correlations are measured on
SPIKE_SHARE = 0.01  # a value this share of rows holds, five times any other's, is a spike
TAIL = 0.001  # residuals beyond these quantiles are pulled in: outliers are not learned
DERIVED_RANK = 0.99  # rank correlation a number needs to be checked as a function of another

__all__ = [
    "anchor_bounds",
    "derived_columns",
    "fit_follower",
    "pin",
    "plan_followers",
    "rebuild",
    "residuals",
    "through_anchors",
    "without",
]


def plan_followers(
    data: pd.DataFrame, threshold: float, rng: np.random.Generator
) -> dict[str, str]:
    """Follower -> anchor, for columns whose Spearman correlation exceeds ``threshold``.

    Greedy: the column with the most tight partners anchors them all, and the
    rest is planned again; an anchor never follows, a follower never anchors.
    Columns with a spike (a value held by ``SPIKE_SHARE`` of the rows and five
    times as many as any other value, such as a zero balance) anchor but never
    follow: a residual would smear the spike.
    """
    if threshold >= 1.0 or data.shape[1] < 2:
        return {}
    rows = data
    if len(data) > PLAN_ROWS:
        rows = data.iloc[np.sort(rng.choice(len(data), PLAN_ROWS, replace=False))]
    tight = rows.corr(method="spearman").abs().fillna(0.0).to_numpy() > threshold
    np.fill_diagonal(tight, False)
    spiky = np.array([_has_spike(data[c].to_numpy()) for c in data.columns])
    names, plan = list(data.columns), {}
    left = np.ones(len(names), dtype=bool)
    while True:
        partners = tight & left[None, :] & left[:, None] & ~spiky[None, :]
        counts = partners.sum(axis=1)
        if counts.max(initial=0) == 0:
            return plan
        anchor = int(np.argmax(counts))
        for j in np.flatnonzero(partners[anchor]):
            plan[names[j]] = names[anchor]
        left[anchor] = False
        left[partners[anchor]] = False


def _has_spike(values: np.ndarray) -> bool:
    _, counts = np.unique(values, return_counts=True)
    top = np.sort(counts)[-2:]
    return bool(top[-1] >= SPIKE_SHARE * len(values) and (len(top) < 2 or top[-1] >= 5 * top[0]))


def fit_follower(x: np.ndarray, y: np.ndarray, anchor: str, every_value: bool = False) -> dict:
    """The curve of ``y`` on anchor values ``x``, and whether ``y`` is a function of ``x``.

    The curve's knots are the means of runs of at least ``MIN_ROWS_PER_POINT``
    rows in anchor order (a value many rows share is a knot of its own),
    made monotone in the direction of the relation. For an exact function
    the knots are the anchor's common values and the follower's value at
    each; a follower counts as one when it has a single value for every
    anchor value and half the rows hold an anchor value at least
    ``MIN_ROWS_PER_POINT`` rows share (with all values distinct, any two
    columns would look like functions of each other), or when it is a line
    in the anchor on some scales, within its rounding. With ``every_value``,
    every anchor value the rows hold is a knot of a function, so that such a
    value gets its exact image back.
    """
    values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    low, high = np.full(len(values), np.inf), np.full(len(values), -np.inf)
    np.minimum.at(low, inverse, y)
    np.maximum.at(high, inverse, y)
    common = counts >= MIN_ROWS_PER_POINT  # a function shows on values many rows share
    derived = bool(np.all(low == high) and counts[common].sum() >= 0.5 * len(x))
    if not derived and (line := _line_state(x, y, anchor)) is not None:
        return line  # all values different, but a line on some scales: a function too
    log = not derived and bool((x > 0).all() and (y > 0).all())  # a function comes back exact
    u, v = (np.log(x), np.log(y)) if log else (x, y)
    if derived:
        common[[0, -1]] = True  # the anchor's range, which its metadata shows anyway
        if every_value:
            common[:] = True
        knots_x, knots_y = values[common], low[common]
    else:
        values, inverse, counts = np.unique(u, return_inverse=True, return_counts=True)
        run = ((np.cumsum(counts) - counts) // MIN_ROWS_PER_POINT)[inverse]
        size = np.bincount(run)
        kept = size > 0
        knots_x = (np.bincount(run, weights=u) / np.maximum(size, 1))[kept]
        knots_y = (np.bincount(run, weights=v) / np.maximum(size, 1))[kept]
        rising = np.corrcoef(knots_x, knots_y)[0, 1] >= 0 if len(knots_x) > 1 else True
        monotone = np.maximum.accumulate if rising else np.minimum.accumulate
        knots_y = monotone(knots_y)
    state = {
        "anchor": anchor,
        "log": log,
        "derived": derived,
        "knots_x": knots_x,
        "knots_y": knots_y,
        "range": np.array([y.min(), y.max()]),
        "lattice": lattice(y),
    }
    if derived:
        state["r_range"] = np.zeros(2)
        state["log_x"], state["log_y"] = _function_scales(knots_x, knots_y)
        state["x_decimals"] = _decimals(x)
    else:
        state["r_range"] = np.quantile(v - np.interp(u, knots_x, knots_y), [TAIL, 1 - TAIL])
    return state


def _function_scales(x: np.ndarray, y: np.ndarray) -> tuple[bool, bool]:
    """Whether to read an exact function between its knots on the log scale of x, of y.

    Each scale (of the positive sides) predicts every inner knot from its two
    neighbours; a log scale is taken when it halves the linear scale's error
    (``e^x`` is a line in x and log y; a power law in log x and log y).
    """
    best, best_error = (False, False), np.inf
    if len(x) < 3:
        return best
    for log_x, log_y, u, v in _scales(x, y):
        share = (u[1:-1] - u[:-2]) / (u[2:] - u[:-2])
        guess = v[:-2] + share * (v[2:] - v[:-2])
        error = np.abs((np.exp(guess) if log_y else guess) - y[1:-1]).sum()
        if error < 0.5 * best_error or best_error == np.inf:
            best, best_error = (log_x, log_y), error
    return best


def _scales(x: np.ndarray, y: np.ndarray) -> Iterator[tuple[bool, bool, np.ndarray, np.ndarray]]:
    """``(log_x, log_y, u, v)`` for x and y on each pair of scales (log only where positive),
    linear first."""
    for log_x in (False, True) if (x > 0).all() else (False,):
        for log_y in (False, True) if (y > 0).all() else (False,):
            yield log_x, log_y, (np.log(x) if log_x else x), (np.log(y) if log_y else y)


def _function_at(state: dict, x: np.ndarray) -> np.ndarray:
    """An exact function at ``x``: a knot's own value where ``x`` is a knot (not one
    unit in the last place away), else read between knots on the state's scales."""
    kx, ky = state["knots_x"], state["knots_y"]
    log_x, log_y = state.get("log_x", False), state.get("log_y", False)  # saved before: linear
    if state.get("x_decimals", -1) >= 0:  # the anchor comes back rounded so: read it so
        x = np.round(x, state["x_decimals"])
    if log_x:
        x, kx = np.log(np.maximum(x, np.finfo(float).tiny)), np.log(kx)
    y = np.interp(x, kx, np.log(ky) if log_y else ky)
    y = np.exp(y) if log_y else y
    at = np.clip(np.searchsorted(kx, x), 0, len(kx) - 1)
    hit = kx[at] == x
    y[hit] = state["knots_y"][at[hit]]
    return y


def residuals(state: dict, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """What the model learns in place of the follower ``y``: its distance from the curve."""
    if state["derived"]:
        return np.zeros(len(y))
    u, v = (np.log(x), np.log(y)) if state["log"] else (x, y)
    return np.clip(v - np.interp(u, state["knots_x"], state["knots_y"]), *state["r_range"])


def rebuild(state: dict, x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The follower from drawn anchor values ``x`` and residuals ``r``, on its lattice if any."""
    if state["derived"]:
        y = np.clip(_function_at(state, np.asarray(x, dtype=np.float64)), *state["range"])
    else:
        u = np.log(np.maximum(x, np.finfo(float).tiny)) if state["log"] else x
        v = np.interp(u, state["knots_x"], state["knots_y"]) + r
        y = np.clip(np.exp(v) if state["log"] else v, *state["range"])
    points = state["lattice"]
    return points[snap_codes(y, points)] if len(points) else y


def anchor_bounds(state: dict, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Anchor values outside which the follower cannot land in ``[low, high]``.

    A necessary range, not a sufficient one: rows drawn inside it may still
    miss, and are checked and drawn again.
    """
    lo_r, hi_r = state["r_range"]
    y_low, y_high = state["range"]
    want_low = np.where(low <= y_low, -np.inf, low)
    want_high = np.where(high >= y_high, np.inf, high)
    if state["log"]:
        with np.errstate(divide="ignore"):
            want_low = np.log(np.maximum(want_low, 0.0))
            want_high = np.log(np.maximum(want_high, 0.0))
    # the curve must reach [want_low - hi_r, want_high - lo_r]
    kx, ky = state["knots_x"], state["knots_y"]
    if ky[-1] < ky[0]:  # falling: read the curve right to left
        kx, ky = kx[::-1], ky[::-1]
        a_high = _last_below(kx, ky, want_low - hi_r, outside=-np.inf, edge=np.inf)
        a_low = _first_above(kx, ky, want_high - lo_r, outside=np.inf, edge=-np.inf)
    else:
        a_low = _last_below(kx, ky, want_low - hi_r, outside=np.inf, edge=-np.inf)
        a_high = _first_above(kx, ky, want_high - lo_r, outside=-np.inf, edge=np.inf)
    if state["log"]:
        a_low, a_high = np.exp(a_low), np.exp(a_high)
    return a_low, a_high


def _last_below(kx, ky, target, *, outside: float, edge: float) -> np.ndarray:
    """The knot before the first one whose value reaches ``target``: the curve is lower
    than ``target`` on the far side of it (``edge`` when even the first knot reaches it,
    ``outside`` when none does)."""
    i = np.searchsorted(ky, target, side="left")
    at = kx[np.clip(i - 1, 0, len(kx) - 1)]
    return np.where(i == 0, edge, np.where(i >= len(kx), outside, at))


def _first_above(kx, ky, target, *, outside: float, edge: float) -> np.ndarray:
    """The knot after the last one whose value stays at or under ``target`` (``edge``
    when even the last knot does, ``outside`` when none does)."""
    i = np.searchsorted(ky, target, side="right")
    at = kx[np.clip(i, 0, len(kx) - 1)]
    return np.where(i >= len(kx), edge, np.where(i == 0, outside, at))


def through_anchors(
    followers: dict[str, dict], evidence: Evidence
) -> tuple[Evidence, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Evidence with each follower's range moved to the range its anchor must keep.

    The caller checks the follower's own range on the rows drawn and draws
    again where it missed; a pinned follower is to be set to its value (the
    second part returned, for :func:`pin`: rows and values per follower).
    """
    moved = [k for k in evidence.bounds if k in followers]
    if not moved:
        return evidence, {}
    bounds = {k: v for k, v in evidence.bounds.items() if k not in moved}
    pinned = {}
    for name in moved:
        state = followers[name]
        low, high = (np.asarray(b, dtype=np.float64) for b in evidence.bounds[name])
        low, high = np.nan_to_num(low, nan=-np.inf), np.nan_to_num(high, nan=np.inf)
        a_low, a_high = anchor_bounds(state, low, high)
        anchor = state["anchor"]
        if anchor in bounds:
            old_low, old_high = (np.asarray(b, dtype=np.float64) for b in bounds[anchor])
            a_low = np.fmax(a_low, old_low)
            a_high = np.fmin(a_high, old_high)
        bounds[anchor] = (a_low, a_high)
        rows = np.flatnonzero(low == high)
        if len(rows):
            pinned[name] = (rows, low[rows])
    return Evidence(evidence.n, evidence.allowed, bounds), pinned


def pin(frame: pd.DataFrame, pinned: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """``frame`` with each pinned follower set to its value in the rows that pin it."""
    for name, (rows, values) in pinned.items():
        column = frame[name].to_numpy(np.float64, copy=True)
        column[rows] = values
        frame[name] = column
    return frame


def derived_columns(encoded: EncodedTable, rng: np.random.Generator) -> dict[str, dict]:
    """Numbers that are exact monotone functions of another (``wage`` of ``logwage``).

    Their follower states (each ``derived``): a family leaves them out of what
    it learns and rebuilds them from their anchors, so no row pairs a wage
    with another wage's logarithm. Candidates are numbers without gaps. A
    function shows on anchor values many rows share, or, where the values are
    all different, as a line on some scales of the two (``price_eur = 0.92 x
    price_usd``, ``fahrenheit = 1.8 x celsius + 32``) within the follower's rounding
    (see :func:`fit_follower`).
    """
    numbers = [
        c.name for c in encoded.columns if c.kind != "discrete" and encoded.filled(c.name) is None
    ]
    data = encoded.data[numbers]
    plan = plan_followers(data.loc[:, data.nunique() > 1], DERIVED_RANK, rng)
    out = {}
    for name, anchor in plan.items():
        x, y = data[anchor].to_numpy(np.float64), data[name].to_numpy(np.float64)
        state = fit_follower(x, y, anchor, every_value=True)
        steps = np.diff(state["knots_y"])
        if state["derived"] and ((steps >= 0).all() or (steps <= 0).all()):
            out[name] = state
    return out


def _line_state(x: np.ndarray, y: np.ndarray, anchor: str) -> dict | None:
    """A derived state when ``y`` is a line in ``x`` on some scales (log where positive),
    on every row within ``y``'s rounding; its two knots are the line at ``x``'s ends."""
    if np.ptp(x) == 0:
        return None
    y_decimals = _decimals(y)
    slack = 1e-9 * np.abs(y).max() + (0.5 * 10.0**-y_decimals if y_decimals >= 0 else 0.0)
    for log_x, log_y, u, v in _scales(x, y):
        slope, intercept = np.polyfit(u, v, 1)
        fitted = slope * u + intercept
        fitted = np.exp(fitted) if log_y else fitted
        if np.abs(fitted - y).max() > slack:
            continue
        ends = np.array([np.argmin(x), np.argmax(x)])
        return {
            "anchor": anchor,
            "log": False,
            "derived": True,
            "knots_x": x[ends],
            "knots_y": fitted[ends],
            "range": np.array([y.min(), y.max()]),
            "lattice": np.zeros(0),
            "r_range": np.zeros(2),
            "log_x": log_x,
            "log_y": log_y,
            "x_decimals": _decimals(x),
        }
    return None


def _decimals(values: np.ndarray) -> int:
    """The decimals values come back rounded to, as metadata detection reads them
    (0 for whole numbers), else -1."""
    if (values == np.round(values)).all():
        return 0
    found = detected_decimals(values)
    return -1 if found is None else found


def without(encoded: EncodedTable, names: Collection[str]) -> EncodedTable:
    """``encoded`` without the columns ``names``."""
    if not names:
        return encoded
    columns = [c for c in encoded.columns if c.name not in names]
    return EncodedTable(encoded.data.drop(columns=list(names)), columns, encoded.drawn_elsewhere)
