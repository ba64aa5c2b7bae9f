"""``cart``: sequential synthesis with decision trees, column by column (as synthpop).

Columns are visited in the table's order. The first is drawn from its
marginal; each later column from the leaf of a tree fitted on the columns
before it: codes from the leaf's class shares, numbers from the leaf's
values, interpolated between neighbours and smoothed with a kernel so that
training values are not copied verbatim (then shrunk back to the leaf's
spread, which the kernel widens). A value that many rows share (an income of
0, a 40-hour week) is an outcome of its own, drawn exactly, never smeared,
and smoothed draws are rounded as the data is (incomes to the thousand, at
the learned share per order of magnitude). A column with missing values is
preceded by its ``#null`` indicator, so missingness is an outcome of its own,
and its tree learns from the rows where it is present. Trees are stored as
arrays (data, not code) and walked vectorized, level by level.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from simulacra._rules import Inequality
from simulacra.conditions import Evidence
from simulacra.errors import InvalidParameterError
from simulacra.processor import NULL_SUFFIX, EncodedColumn, EncodedTable
from simulacra.synthesizers._followers import (
    derived_columns,
    pin,
    rebuild,
    through_anchors,
    without,
)
from simulacra.synthesizers._lattice import (
    draw_lattice,
    entry_groups,
    group_shares,
    impossible,
    lattice_shares,
)
from simulacra.synthesizers._marginals import MAX_GRID, MIN_ROWS_PER_POINT
from simulacra.synthesizers.base import Param, Synthesizer

MAX_LEAF_POINTS = 32  # values kept per leaf; larger leaves keep this many quantiles
SPIKE_SHARE = 0.01  # a value this share of rows holds is drawn as itself, never smoothed
ROUND_STEPS = (5.0, 2.0, 1.0)  # round numbers: multiples of 5, 2 or 1 times a power of ten
ROUND_DIGITS = 9  # powers of ten tried below the largest value's


class CartSynthesizer(Synthesizer):
    """Each column drawn from a decision tree's leaf, given the columns drawn before it.

    >>> import simulacra
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=3000)
    >>> df = pd.DataFrame({"x": x, "y": np.where(x > 0, "up", "down")})
    >>> out = simulacra.create("cart", seed=0).fit(df).sample(2000)
    >>> bool(((out["x"] > 0) == (out["y"] == "up")).mean() > 0.97)
    True
    """

    name = "cart"
    description = "Sequential decision trees, column by column, as synthpop does."
    params = (
        Param(
            "visit_order",
            list,
            None,
            "Columns in the order they are drawn (others follow); default: the table's own "
            "column order, as synthpop. Leading columns condition exactly. Columns the "
            "model does not draw (ids, PII, columns a rule rebuilds) may be named; they "
            "keep no place.",
            nullable=True,
        ),
        Param(
            "min_leaf",
            int,
            10,
            "Fewest training rows in a tree leaf: larger is more private, smaller more faithful.",
            low=1,
        ),
        Param(
            "prune",
            float,
            12.0,
            "Pruning strength: a split stays only when its chi-square statistic reaches "
            "this (rows times the share of squared error removed for numbers; a split of k "
            "classes is held to the same significance with k-1 degrees of freedom; 0 keeps "
            "every split, as synthpop). Splits on noise go, so leaves stop tracking single rows.",
            low=0.0,
        ),
        Param(
            "smoothing",
            float,
            1.0,
            "Kernel smoothing of numeric draws, as a multiple of each leaf's Silverman "
            "bandwidth (0: interpolation between leaf values only).",
            low=0.0,
            high=10.0,
        ),
    )

    # ------------------------------------------------------------------ fit
    def _fit(self, encoded: EncodedTable, rng: np.random.Generator) -> None:
        # an exact function of another number (wage of logwage) is rebuilt, not drawn from a
        # leaf: a tree would pair a wage with another wage's logarithm
        self.derived_ = derived_columns(encoded, rng)
        elsewhere = encoded.drawn_elsewhere | set(self.derived_)
        encoded = without(encoded, self.derived_)
        order = _visit_order(encoded.columns, self.visit_order, elsewhere)
        kinds = {c.name: c for c in encoded.columns}
        values = encoded.data[order].to_numpy(dtype=np.float64)
        self.shift_, self.scale_ = _predictor_scale(values)
        x = ((values - self.shift_) / self.scale_).astype(np.float32)
        seeds = rng.integers(2**31 - 1, size=len(order))

        def fit_column(j: int) -> dict[str, Any]:
            name = order[j]
            filled = encoded.filled(name)
            rows = slice(None) if filled is None else ~filled
            y = encoded.data[name].to_numpy()[rows]
            return _fit_node(x[rows, :j], y, kinds[name], self.min_leaf, self.prune, int(seeds[j]))

        # the trees are independent given the data: fit them side by side (sklearn frees the GIL)
        workers = max(1, min(len(order), os.cpu_count() or 1))
        with ThreadPoolExecutor(workers) as pool:
            self.nodes_ = list(pool.map(fit_column, range(len(order))))
        self.order_ = order
        self.orders_ = _kept_orders(self.constraints_, order, kinds)

    # --------------------------------------------------------------- sample
    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        return self._draw(n, rng, {})

    def _sample_conditional(
        self, n: int, rng: np.random.Generator, evidence: Evidence
    ) -> pd.DataFrame | None:
        """Exact when the conditioned columns lead the visit order, all but the last pinned.

        A range on a derived column becomes the range its anchor must keep; rows that
        still miss it are drawn again by the caller.
        """
        evidence, pinned = through_anchors(getattr(self, "derived_", {}), evidence)
        lead = self.order_[: len(evidence.columns)]
        if set(lead) != set(evidence.columns):
            return None
        if any(not _pinned(evidence, name) for name in lead[:-1]):
            return None
        return pin(self._draw(n, rng, {name: evidence for name in lead}), pinned)

    def _draw(
        self, n: int, rng: np.random.Generator, restricted: dict[str, Evidence]
    ) -> pd.DataFrame:
        kinds = {c.name: c for c in self.columns_}
        x = np.empty((n, len(self.order_)), dtype=np.float32)
        width = len(self.order_)  # models saved before the scaling: unscaled inputs
        shift, scale = (
            getattr(self, "shift_", np.zeros(width)),
            getattr(self, "scale_", np.ones(width)),
        )
        out: dict[str, np.ndarray] = {}
        orders = getattr(self, "orders_", [])  # none in models saved before
        for j, name in enumerate(self.order_):
            node = self.nodes_[j]
            leaves = node["leaf_of"][_apply(node, x[:, :j])]
            evidence = restricted.get(name)
            if kinds[name].kind == "discrete":
                allowed = None if evidence is None else evidence.allowed[name]
                values = _draw_code(node, leaves, rng, allowed, name)
            else:
                bounds = None if evidence is None else evidence.bounds[name]

                def draw(
                    rows: Any,
                    node: dict = node,
                    bounds: Any = bounds,
                    leaves: Any = leaves,
                    name: str = name,
                ) -> np.ndarray:
                    part = None if bounds is None else (bounds[0][rows], bounds[1][rows])
                    return _draw_number(node, leaves[rows], rng, self.smoothing, part, name)

                values = draw(slice(None))
                for earlier, above, strict in (o[1:] for o in orders if o[0] == name):
                    present = _present(out, name) & _present(out, earlier)
                    _keep_order(values, out[earlier], above, strict, present, draw)
            out[name] = values
            x[:, j] = (values - shift[j]) / scale[j]
        for name, state in getattr(self, "derived_", {}).items():  # none in models saved before
            out[name] = rebuild(state, out[state["anchor"]], np.zeros(n))
        return pd.DataFrame({c.name: out[c.name] for c in self.columns_})


# ---------------------------------------------------------------- helpers
ORDER_TRIES = 10  # draws from a row's own leaf before a broken order is left to the rule


def _kept_orders(constraints: Any, order: list[str], kinds: dict[str, EncodedColumn]) -> list:
    """``[later, earlier, above, strict]`` per inequality whose two columns the trees draw.

    Such a column is drawn from its leaf among the values that keep the order with
    the column drawn before it (``above``: the later one is the high side), so the
    earlier columns keep their distribution; rejecting whole rows would not.
    """
    place = {name: j for j, name in enumerate(order) if kinds[name].kind == "continuous"}
    out = []
    for rule in getattr(constraints, "constraints", ()):
        if not isinstance(rule, Inequality):
            continue
        low, high = rule.low, rule.high
        if low in place and high in place:
            above = place[high] > place[low]
            later, earlier = (high, low) if above else (low, high)
            out.append([later, earlier, above, bool(rule.strict)])
    return out


def _present(out: dict[str, np.ndarray], name: str) -> np.ndarray | bool:
    """Rows where column ``name`` holds a value (its ``#null`` indicator, drawn before, is 0)."""
    indicator = out.get(name + NULL_SUFFIX)
    return True if indicator is None else indicator == 0


def _keep_order(
    values: np.ndarray,
    other: np.ndarray,
    above: bool,
    strict: bool,
    present: np.ndarray | bool,
    draw: Any,
) -> None:
    """Draw ``values`` again, in place, where they break their order with ``other``."""
    for _ in range(ORDER_TRIES):
        below = values <= other if strict else values < other
        wrong = below if above else (values >= other if strict else values > other)
        rows = np.flatnonzero(wrong & present)
        if not len(rows):
            return
        values[rows] = draw(rows)


def _predictor_scale(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's shift and scale onto [0, 1] as a tree input.

    sklearn's trees read float32: unscaled, timestamps (~1.7e9 s) lose their seconds
    to 128-second steps, and a column of values under 1e-7 apart is taken for a constant.
    """
    with np.errstate(all="ignore"):
        low, high = (
            np.nanmin(values, axis=0, initial=np.inf),
            np.nanmax(values, axis=0, initial=-np.inf),
        )
    span = high - low
    shift = np.where(np.isfinite(low), low, 0.0)
    return shift, np.where(np.isfinite(span) & (span > 0), span, 1.0)


def _visit_order(
    columns: list[EncodedColumn], requested: list[Any] | None, elsewhere: Collection[str] = ()
) -> list[str]:
    """Encoded columns in visit order; each ``#null`` indicator just before its column.

    Columns named in ``requested`` that the model does not draw (``elsewhere``:
    regenerated ids and PII, columns a rule rebuilds) have no place in it and are passed over.
    """
    sources = list(dict.fromkeys(c.source for c in columns))  # the table's own order
    lead = [c for c in requested or [] if c not in elsewhere]
    unknown = [c for c in lead if c not in sources]
    if unknown or len(set(map(str, lead))) != len(lead):
        raise InvalidParameterError(
            f"cart: visit_order names {unknown or 'a column twice'}; it must list distinct "
            f"columns the model learns: {sources}"
        )
    ordered = lead + [s for s in sources if s not in lead]
    names = {c.name for c in columns}
    out: list[str] = []
    for source in ordered:
        if source + NULL_SUFFIX in names:
            out.append(source + NULL_SUFFIX)
        if source in names:
            out.append(source)
    out += [c.name for c in columns if c.name not in out]  # columns of other sources
    return out


def _fit_node(
    x: np.ndarray, y: np.ndarray, col: EncodedColumn, min_leaf: int, prune: float, seed: int
) -> dict[str, Any]:
    """One column's tree on the columns before it, and what each leaf draws from."""
    tree = None
    if x.shape[1] and len(y) >= 2 * min_leaf:
        kind = DecisionTreeClassifier if col.kind == "discrete" else DecisionTreeRegressor
        tree = kind(min_samples_leaf=min_leaf, random_state=seed).fit(x, y)
    if tree is None:
        node, leaves, n_leaves, cap = _stump(), np.zeros(len(y), np.int64), 1, MAX_GRID
    else:
        node, cap = _tree_arrays(tree, prune), MAX_LEAF_POINTS
        leaves = node["leaf_of"][_apply(node, x)]
        n_leaves = int(node["leaf_of"].max()) + 1
    if col.kind == "discrete":
        node.update(group_shares(leaves, y.astype(np.int64), n_leaves, col.cardinality))
        return node
    y = y.astype(np.float64)
    on_lattice = lattice_shares(y, leaves, n_leaves)
    node["lattice"] = np.zeros(0)
    if on_lattice is not None:  # drawn as the leaf's own values, like categories
        node.update(on_lattice)
        return node
    node["spikes"] = spikes = _spikes(y)
    if len(spikes):  # a code per spike, the last for "any other value"
        code = _spike_codes(y, spikes)
        node.update(group_shares(leaves, code, n_leaves, len(spikes) + 1))
        smooth = code == len(spikes)
        leaves, y = leaves[smooth], y[smooth]
    node.update(_leaf_values(leaves, y, n_leaves, cap))
    node.update(_rounding(y))
    return node


def _stump() -> dict[str, Any]:
    """A tree with one leaf: the column's marginal."""
    one = np.array([-1], dtype=np.int64)
    return {
        "left": one,
        "right": one,
        "feature": np.zeros(1, np.int64),
        "threshold": np.zeros(1),
        "leaf_of": np.zeros(1, np.int64),
    }


def _tree_arrays(tree: Any, penalty: float) -> dict[str, Any]:
    """The fitted tree as plain arrays, with node id -> leaf number (-1 for inner nodes).

    Splits that explain too little are pruned away, bottom up. A regression split
    stays when ``rows x (share of its node's squared error it removes) >= penalty``.
    A classification split stays when its chi-square test of independence (classes
    by side) passes at the significance ``penalty`` has with one degree of freedom,
    with the node's classes less one as degrees of freedom: for two classes the
    same rule, and a split of a many-level category is not held to a bar no split
    of it can reach (a perfect split of 800 equal levels removes 1/799 of its Gini).
    """
    t = tree.tree_
    left, right = t.children_left.copy(), t.children_right.copy()
    rows, impurity = t.weighted_n_node_samples, t.impurity
    inner = np.flatnonzero(left != -1)
    if t.value.shape[2] > 2:  # a classifier of three or more classes
        weak = ~_chi_square_passes(t.value[:, 0, :], rows, inner, left, right, penalty)
    else:
        kept_impurity = rows[left[inner]] * impurity[left[inner]]
        kept_impurity += rows[right[inner]] * impurity[right[inner]]
        parent_impurity = rows[inner] * impurity[inner]
        with np.errstate(divide="ignore", invalid="ignore"):
            gain = np.where(parent_impurity > 0, 1 - kept_impurity / parent_impurity, 0.0)
        weak = rows[inner] * gain < penalty  # for two classes, this is the chi-square
    weak = dict(zip(inner.tolist(), weak.tolist(), strict=True))
    for v in inner[::-1]:  # children come after their parent: prune bottom up
        if weak[v] and left[left[v]] == -1 and left[right[v]] == -1:
            left[v] = right[v] = -1
    reachable = np.zeros(len(left), dtype=bool)
    reachable[0] = True
    for v in range(len(left)):  # parents first
        if reachable[v] and left[v] != -1:
            reachable[left[v]] = reachable[right[v]] = True
    is_leaf = (left == -1) & reachable
    leaf_of = np.full(len(is_leaf), -1, np.int64)
    leaf_of[is_leaf] = np.arange(int(is_leaf.sum()))
    return {
        "left": left.astype(np.int64),
        "right": right.astype(np.int64),
        "feature": np.maximum(t.feature, 0).astype(np.int64),
        "threshold": t.threshold.astype(np.float64),
        "leaf_of": leaf_of,
    }


def _chi_square_passes(
    value: np.ndarray,
    rows: np.ndarray,
    inner: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    penalty: float,
) -> np.ndarray:
    """Per inner node: whether its split's Pearson chi-square reaches the bar."""
    from scipy import stats

    shares = value / np.maximum(value.sum(axis=1, keepdims=True), 1e-300)
    parent, lo, hi = shares[inner], shares[left[inner]], shares[right[inner]]
    w_lo = rows[left[inner]] / rows[inner]
    spread = w_lo[:, None] * (lo - parent) ** 2 + (1 - w_lo)[:, None] * (hi - parent) ** 2
    present = parent > 0
    chi2 = rows[inner] * np.where(present, spread / np.where(present, parent, 1.0), 0.0).sum(1)
    df = np.maximum(present.sum(axis=1) - 1, 1)
    return chi2 >= stats.chi2.isf(stats.chi2.sf(penalty, 1), df)


def _apply(node: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """The leaf node each row of ``x`` falls in, walking all rows one level at a time."""
    left, right = node["left"], node["right"]
    feature, threshold = node["feature"], node["threshold"]
    at = np.zeros(len(x), dtype=np.int64)
    active = np.flatnonzero(left[at] != -1)
    while len(active):
        here = at[active]
        go_left = x[active, feature[here]] <= threshold[here]
        nxt = np.where(go_left, left[here], right[here])
        at[active] = nxt
        active = active[left[nxt] != -1]
    return at


def _leaf_values(leaves: np.ndarray, y: np.ndarray, n_leaves: int, cap: int) -> dict:
    """Sorted values per leaf (at most ``cap`` order statistics) and a kernel bandwidth.

    A leaf with more rows than ``cap`` keeps order statistics spaced densely
    at its two ends and sparsely in its middle (ranks along ``t - a sin(2 pi
    t) / 2 pi``), each with its place on the leaf's CDF (``knots``): evenly
    spaced ranks would spread the top 3 % of a skewed leaf (incomes) evenly
    up to its largest value.
    """
    order = np.lexsort((y, leaves))
    y, leaves = y[order], leaves[order]
    counts = np.bincount(leaves, minlength=n_leaves)
    starts = np.cumsum(counts) - counts
    points = np.minimum(counts, cap)
    if cap == MAX_GRID:  # a whole column: one point per few rows, as the marginals keep
        points = np.minimum(points, np.maximum(counts // MIN_ROWS_PER_POINT, 2))
    leaf = np.repeat(np.arange(n_leaves), points)
    t = _even_places(points)
    bend = np.clip(counts / np.maximum(points, 1) - 1.0, 0.0, 1.0)[leaf]  # 0 when all kept
    last = np.maximum(counts[leaf] - 1, 0)
    rank = np.rint((t - bend * np.sin(2 * np.pi * t) / (2 * np.pi)) * last).astype(np.int64)
    keep = np.ones(len(rank), dtype=bool)
    keep[1:] = (leaf[1:] != leaf[:-1]) | (rank[1:] != rank[:-1])  # ends bunch up: once each
    leaf, rank, last = leaf[keep], rank[keep], last[keep]
    points = np.bincount(leaf, minlength=n_leaves)
    values = y[starts[leaf] + rank] if len(y) else np.zeros(0)
    knots = np.divide(rank, last, out=np.zeros(len(rank)), where=last > 0)
    # Silverman's rule per leaf: 0.9 * min(sd, IQR / 1.34) * n^(-1/5)
    mean = np.bincount(leaves, weights=y, minlength=n_leaves) / np.maximum(counts, 1)
    var = np.bincount(leaves, weights=(y - mean[leaves]) ** 2, minlength=n_leaves)
    sd = np.sqrt(var / np.maximum(counts - 1, 1))
    spots = {"values": values, "points": points, "knots": knots}
    q = [_inverse_cdf(spots, np.arange(n_leaves), np.full(n_leaves, p)) for p in (0.25, 0.75)]
    spread = np.where(q[1] > q[0], np.minimum(sd, (q[1] - q[0]) / 1.34), sd)
    bandwidth = 0.9 * spread * np.maximum(counts, 1) ** -0.2
    return {**spots, "bandwidth": bandwidth, "mean": mean, "sd": sd}


def _knots(node: dict) -> np.ndarray:
    """Each stored value's place on its leaf's CDF (evenly spaced in models saved before)."""
    return node["knots"] if "knots" in node else _even_places(node["points"])


def _even_places(points: np.ndarray) -> np.ndarray:
    """Evenly spaced places in [0, 1] for each leaf's ``points`` values, leaf after leaf."""
    pos = np.arange(points.sum()) - np.repeat(np.cumsum(points) - points, points)
    return pos / np.maximum(np.repeat(points, points) - 1, 1)


def _inverse_cdf(node: dict, leaves: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of each row's leaf at ``u``: linear between the leaf's stored values."""
    values, points = node["values"], node["points"]
    if not len(values):
        return np.zeros(len(u))
    knots = _knots(node)
    offsets = (np.cumsum(points) - points)[leaves]
    pts = points[leaves]
    owner = np.repeat(np.arange(len(points)), points)
    # the segment holding u: search the leaves' knots laid end to end, 2 apart
    at = np.searchsorted(2.0 * owner + knots, 2.0 * leaves + u, side="right") - 1
    low = np.clip(at, offsets, offsets + np.maximum(pts - 2, 0))
    low = np.minimum(low, len(values) - 1)
    high = np.minimum(low + (pts > 1), len(values) - 1)
    a, b = values[low], values[high]
    width = knots[high] - knots[low]
    share = np.divide(u - knots[low], width, out=np.zeros(len(u)), where=width > 0)
    return a + np.clip(share, 0.0, 1.0) * (b - a)


def _cdf_at(node: dict, leaves: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Where ``x`` falls on each row's leaf inverse CDF, as a share in [0, 1].

    Loops over the distinct leaves of the rows (few: conditioned columns lead
    the visit order), never over rows.
    """
    values, points, knots = node["values"], node["points"], _knots(node)
    offsets = np.cumsum(points) - points
    out = np.zeros(len(x))
    for leaf in np.unique(leaves):
        rows = leaves == leaf
        start, m = offsets[leaf], points[leaf]
        own = values[start : start + m]
        if m > 1:
            out[rows] = np.interp(x[rows], own, knots[start : start + m])
        elif m == 1:
            out[rows] = own[0] < x[rows]
    return out


def _draw_code(
    node: dict, leaves: np.ndarray, rng: np.random.Generator, allowed: np.ndarray | None, name: str
) -> np.ndarray:
    u = rng.random(len(leaves))
    cum = node["cum"]
    if allowed is None:
        pick = np.searchsorted(cum, leaves + u, side="right")
        return node["codes"][np.minimum(pick, len(cum) - 1)]
    # shares restricted to the allowed codes: rebuild each leaf's shares for these rows
    k = node["k"]
    leaf_of_entry = entry_groups(cum)
    previous = np.concatenate([[-1.0], cum[:-1]])
    same_leaf = np.concatenate([[False], leaf_of_entry[1:] == leaf_of_entry[:-1]])
    share = cum - np.where(same_leaf, previous, leaf_of_entry)
    table = np.zeros((int(leaf_of_entry.max()) + 1, k))
    table[leaf_of_entry, node["codes"]] = share
    probs = table[leaves] * allowed[:, :k]
    total = probs.sum(axis=1)
    if (total <= 0).any():
        raise _impossible(name)
    cumulative = np.cumsum(probs, axis=1) / total[:, None]
    return np.minimum((cumulative <= u[:, None]).sum(axis=1), k - 1)


def _draw_number(
    node: dict,
    leaves: np.ndarray,
    rng: np.random.Generator,
    smoothing: float,
    bounds: tuple[np.ndarray, np.ndarray] | None,
    name: str,
) -> np.ndarray:
    if len(node["lattice"]):
        return draw_lattice(node, leaves, rng, bounds, "cart", name)
    spikes = node.get("spikes", ())
    if not len(spikes):
        return _draw_smooth(node, leaves, rng, smoothing, bounds, name)
    k = len(spikes)
    weights = None
    if bounds is not None:
        low, high = bounds
        if (low > high).any():
            raise _impossible(name)
        values = node["values"]
        offsets, pts, a, b = _leaf_span(node, leaves, low, high)
        first, last = values[offsets % max(len(values), 1)], _last(values, offsets, pts)
        inside = (pts > 0) & (low >= first) & (low <= last)
        smooth = np.where(low == high, inside, b - a)
        on_spike = (spikes >= low[:, None]) & (spikes <= high[:, None])
        weights = np.column_stack([on_spike, np.where(pts > 0, smooth, 0.0)])
    code = _draw_code(node, leaves, rng, weights, name)
    out = spikes[np.minimum(code, k - 1)]
    rest = np.flatnonzero(code == k)
    if len(rest):
        part = None if bounds is None else (bounds[0][rest], bounds[1][rest])
        out[rest] = _draw_smooth(node, leaves[rest], rng, smoothing, part, name)
    return out


def _draw_smooth(
    node: dict,
    leaves: np.ndarray,
    rng: np.random.Generator,
    smoothing: float,
    bounds: tuple[np.ndarray, np.ndarray] | None,
    name: str,
) -> np.ndarray:
    """Numbers interpolated between each leaf's values, kernel-smoothed or within ``bounds``."""
    values, points = node["values"], node["points"]
    offsets = (np.cumsum(points) - points)[leaves]
    pts = points[leaves]
    u = rng.random(len(leaves))
    if bounds is not None:
        low, high = bounds
        if (low > high).any():
            raise _impossible(name)
        _, _, a, b = _leaf_span(node, leaves, low, high)
        out = np.clip(_inverse_cdf(node, leaves, a + u * (b - a)), low, high)
        return np.where(low == high, low, out)
    out = _inverse_cdf(node, leaves, u)
    if smoothing > 0:
        width = smoothing * node["bandwidth"][leaves]
        out = out + rng.standard_normal(len(out)) * width
        if "sd" in node:  # models saved before kept no leaf spread
            # the kernel adds its variance to the leaf's: shrink back to the leaf's spread
            # (Silverman's variance-corrected smoothed bootstrap)
            sd, mean = node["sd"][leaves], node["mean"][leaves]
            ratio = np.divide(width, sd, out=np.zeros(len(sd)), where=sd > 0)
            out = mean + (out - mean) / np.sqrt(1.0 + ratio**2)
        first, last = values[offsets], _last(values, offsets, pts)
        out = np.where(out < first, 2 * first - out, out)  # reflect at the leaf's range
        out = np.clip(np.where(out > last, 2 * last - out, out), first, last)
        if len(node.get("round_steps", ())):
            out = _round_as_learned(node, out, rng)
    return out


def _leaf_span(
    node: dict, leaves: np.ndarray, low: np.ndarray, high: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row's leaf offset and point count, and where ``low``/``high`` fall on its CDF."""
    points = node["points"]
    offsets, pts = (np.cumsum(points) - points)[leaves], points[leaves]
    a, b = _cdf_at(node, leaves, low), _cdf_at(node, leaves, high)
    return offsets, pts, a, b


def _rounding(values: np.ndarray) -> dict[str, np.ndarray]:
    """How the values are rounded: per order of magnitude, the share at each step.

    A value's step is the largest round step (5, 2 or 1 times a power of ten)
    it is a multiple of, 0 for none; the shares are kept per power of ten of
    the value, so that 52,000 is rounded to the thousand but 3.2 is not.
    Empty when fewer than half the values sit on a step.
    """
    empty = {"round_steps": np.zeros(0)}
    big = float(np.abs(values).max(initial=0.0))
    if not len(values) or not np.isfinite(big) or big == 0.0:
        return empty
    top = int(np.floor(np.log10(big)))
    steps = np.array([m * 10.0**e for e in range(top, top - ROUND_DIGITS, -1) for m in ROUND_STEPS])
    step_of = np.zeros(len(values))
    # within a few units in the last place of the values' own precision (float32 when every
    # value is one widened, as from a float32 column): a tolerance relative to value / step
    # read 1e6 with cents as whole numbers
    narrow = values.astype(np.float32)
    if np.array_equal(narrow.astype(np.float64), values):
        slack = 0.5 * np.spacing(np.abs(narrow)).astype(np.float64)  # float32's rounding
    else:
        slack = np.zeros(len(values))
    slack += 16 * np.spacing(np.abs(values))
    for step in steps:  # largest first: a value keeps the first step it is a multiple of
        on = (step_of == 0) & (np.abs(values - np.rint(values / step) * step) <= slack)
        step_of[on] = step
    if (step_of > 0).mean() < 0.5:
        return empty
    kept, code = np.unique(step_of, return_inverse=True)
    magnitude, low = _magnitudes(values)
    shares = group_shares(magnitude - low, code.ravel(), int(magnitude.max() - low) + 1, len(kept))
    return {
        "round_steps": kept,
        "round_low": np.array([low, top]),
        "round_cum": shares["cum"],
        "round_codes": shares["codes"],
    }


def _magnitudes(values: np.ndarray, low: int | None = None) -> tuple[np.ndarray, int]:
    """Each value's power of ten (zeros count as the smallest), and the smallest."""
    with np.errstate(divide="ignore"):
        power = np.floor(np.log10(np.abs(values)))
    finite = power[np.isfinite(power)]
    if low is None:
        low = int(finite.min()) if len(finite) else 0
    return np.where(np.isfinite(power), np.maximum(power, low), low).astype(np.int64), low


def _round_as_learned(node: dict, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each value rounded to a step drawn from the shares of its order of magnitude.

    A value is rounded to the nearest number whose step is exactly the one
    drawn, as the data's values of that step are: rounding to 500 never gives
    1,000 (a value at step 1,000 in the data's count), and never a spike (a
    value drawn by its own share): both would pile extra rows on round values.
    """
    low, top = (int(v) for v in node["round_low"])
    magnitude, _ = _magnitudes(values, low)
    magnitude = np.minimum(magnitude, top) - low
    cum = node["round_cum"]
    pick = np.searchsorted(cum, magnitude + rng.random(len(values)), side="right")
    step = node["round_steps"][node["round_codes"][np.minimum(pick, len(cum) - 1)]]
    safe = np.where(step > 0, step, 1.0)
    lead = np.rint(safe / 10.0 ** np.floor(np.log10(safe)))  # 1, 2 or 5
    q = values / safe
    nearest = np.rint(q)
    spikes = node.get("spikes", np.zeros(0))
    best, gap = nearest * safe, np.full(len(values), np.inf)
    for offset in (0.0, -1.0, 1.0, -2.0, 2.0, -3.0, 3.0):
        m = nearest + offset
        odd, fifth = np.fmod(m, 2.0) != 0, np.fmod(m, 5.0) != 0
        exact = np.where(lead == 5, odd, np.where(lead == 2, fifth, odd & fifth))
        value, distance = m * safe, np.abs(m - q)
        ok = exact & ~np.isin(value, spikes) & (distance < gap)
        best, gap = np.where(ok, value, best), np.where(ok, distance, gap)
    return np.where(step > 0, best, values)


def _last(values: np.ndarray, offsets: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Each row's leaf's largest value (its first where the leaf holds none)."""
    return values[np.clip(offsets + points - 1, 0, max(len(values) - 1, 0))]


def _spikes(values: np.ndarray) -> np.ndarray:
    """Values held by at least ``SPIKE_SHARE`` of the rows (and ``MIN_ROWS_PER_POINT``), and
    the column's two ends where ``MIN_ROWS_PER_POINT`` rows hold them (zero incomes, a
    top-coded amount): smoothing would spread such an end into the gap beside it."""
    uniques, counts = np.unique(values, return_counts=True)
    keep = counts >= max(SPIKE_SHARE * len(values), MIN_ROWS_PER_POINT)
    if len(uniques) > 2:
        keep[[0, -1]] |= counts[[0, -1]] >= MIN_ROWS_PER_POINT
    return uniques[keep]


def _spike_codes(values: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    """Each value's spike index, or ``len(spikes)`` for a value that is not a spike."""
    at = np.minimum(np.searchsorted(spikes, values), len(spikes) - 1)
    return np.where(spikes[at] == values, at, len(spikes)).astype(np.int64)


def _pinned(evidence: Evidence, name: str) -> bool:
    if name in evidence.allowed:
        return bool((evidence.allowed[name].sum(axis=1) == 1).all())
    low, high = evidence.bounds[name]
    return bool((low == high).all())


def _impossible(name: str) -> InvalidParameterError:
    return impossible("cart", name)
