"""``bayesnet``: a Bayesian network over binned columns, with exact conditional sampling."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulacra.conditions import Evidence
from simulacra.errors import InvalidDataError
from simulacra.processor import NULL_SUFFIX, EncodedColumn, EncodedTable
from simulacra.synthesizers._bn_eliminate import sample_given
from simulacra.synthesizers._bn_infer import (
    Network,
    bin_likelihood,
    bin_values,
    bounded_values,
    draw_node,
)
from simulacra.synthesizers._bn_structure import (
    cpt_from_counts,
    family_counts,
    hill_climb,
    parent_index,
    topological_order,
)
from simulacra.synthesizers._followers import (
    fit_follower,
    pin,
    plan_followers,
    rebuild,
    residuals,
    through_anchors,
)
from simulacra.synthesizers._lattice import draw_lattice, lattice_mass, lattice_shares
from simulacra.synthesizers._marginals import MIN_ROWS_PER_POINT
from simulacra.synthesizers.base import Param, Synthesizer

STRUCTURE_ROWS = 200_000  # rows the structure search reads (the tables use every row)
MAX_CELLS = 1 << 20  # largest family table (parent configurations x codes) the search allows
MAX_POINTS = 33  # most quantile points kept per bin for the numbers inside it


class BayesianNetworkSynthesizer(Synthesizer):
    """A Bayesian network learned over the columns, numbers cut into quantile bins.

    Numeric columns are cut into quantile bins (a value shared by many rows
    gets a bin of its own; a column with few distinct values keeps one bin
    per value); categories, and the ``#null`` indicators of columns with
    gaps, are nodes as they are. The graph comes from greedy hill climbing on
    the BIC score (add, delete or reverse an edge, at most ``max_parents``
    per node), its charge per free value scaled by ``penalty`` (a quarter:
    full BIC drops the many weak links a wide table is made of); a numeric
    parent may enter a table through its bins merged into ``parent_bins``,
    twice as many, and so on, as the score sees fit. Tables
    are counts plus a small Dirichlet prior. A column with gaps has one more
    code, "missing", so a gap is an outcome of its own that may depend on,
    and explain, the other columns (its ``#null`` indicator is not a node).
    A number that closely follows another (rank correlation above ``follow``:
    a diamond's length and width, a loan and its instalment) is learned as
    its residual from a monotone curve of that other, its anchor, so the pair
    keeps its relation inside their bins; an exact function of its anchor
    (``wage`` of ``logwage``) comes back exact. A range on a follower becomes
    the range its anchor must keep, and the rows that still miss are drawn
    again.

    Sampling is ancestral; a number is drawn inside its bin from that bin's
    quantile grid, or, for a column whose rows mostly repeat common values
    (carats in steps of 0.01, whole-unit scores), from the bin's shares of
    those values, so that no draw falls between them. Conditional sampling
    is exact: bucket elimination over the conditions, then a draw from the
    posterior.

    Learned state: ``nodes_`` (the columns that are nodes), ``cards_``
    (codes per node, "missing" last where a column has gaps), ``parents_``
    (node indices), ``merged_`` (per parent, the merge level used or -1),
    ``cpts_`` (one ``(parent configurations, codes)`` table per node),
    ``grids_`` (per numeric column, a quantile grid per bin),
    ``lattices_`` (per lattice column, its common values and their shares
    per bin), ``merges_`` (per numeric column, its bins' merged codes per
    level) and ``followers_`` (per follower, its anchor and curve).

    >>> import simulacra
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=3000)
    >>> df = pd.DataFrame({"x": x, "y": x + rng.normal(scale=0.5, size=3000)})
    >>> df["size"] = np.where(df["y"] > 1, "big", "small")
    >>> out = simulacra.create("bayesnet", seed=0).fit(df).sample(5000)
    >>> round(float(df["x"].corr(df["y"], method="spearman")), 2)
    0.89
    >>> bool(out["x"].corr(out["y"], method="spearman") > 0.8)
    True
    >>> bool((out.loc[out["size"] == "big", "y"] > 0.8).mean() > 0.95)
    True
    """

    name = "bayesnet"
    description = "Bayesian network on binned columns: BIC hill-climbing, exact conditioning."
    params = (
        Param(
            "bins",
            int,
            20,
            "Quantile bins per numeric column (fewer when it has fewer distinct values).",
            low=2,
            high=1000,
        ),
        Param(
            "max_parents",
            int,
            3,
            "Most parents a column may have in the learned network (0: independent columns).",
            low=0,
            high=8,
        ),
        Param(
            "penalty",
            float,
            0.25,
            "BIC's charge per free value of a column's table, as a multiple of log(rows) / 2: "
            "lower keeps weaker links (more parents), higher a sparser network.",
            low=0.0,
        ),
        Param(
            "parent_bins",
            int,
            5,
            "Groups a numeric column's bins are merged into when it is a parent at coarse "
            "resolution; the search picks coarse or full resolution per edge.",
            low=2,
            high=1000,
        ),
        Param(
            "follow",
            float,
            0.95,
            "Rank correlation above which a number is learned as its residual from a curve of "
            "another it follows (x and y of a diamond, a loan and its instalment); 1: never.",
            low=0.0,
            high=1.0,
        ),
        Param(
            "alpha",
            float,
            1.0,
            "Dirichlet pseudo-rows added to each parent configuration of a column's table, "
            "spread by the column's overall shares.",
            low=0.0,
        ),
    )

    def _fit(self, encoded: EncodedTable, rng: np.random.Generator) -> None:
        self.nodes_ = _nodes(encoded.columns)
        encoded = self._learn_followers(encoded, rng)
        codes = self._bin(encoded)
        rows, d = codes.shape[1], len(codes)
        # parent views: each node as it is (view j), then each merged level of a number
        views: list[list[int]] = [[j] for j in range(d)]
        extra: list[tuple[int, int, np.ndarray]] = []  # (node, level, merge)
        for j, name in enumerate(self.nodes_):
            for level, merge in enumerate(self.merges_.get(name, ())):
                views[j].append(d + len(extra))
                extra.append((j, level, merge))
        view_codes = np.concatenate([codes, *(m[codes[j]][None] for j, _, m in extra)])
        view_cards = [*self.cards_, *(int(m.max()) + 1 for _, _, m in extra)]
        learn = view_codes
        if rows > STRUCTURE_ROWS:
            learn = view_codes[:, np.sort(rng.choice(rows, STRUCTURE_ROWS, replace=False))]
        cells = max(min(learn.shape[1], MAX_CELLS), 4)
        chosen = hill_climb(learn, view_cards, views, self.max_parents, cells, penalty=self.penalty)
        self.parents_ = [[w if w < d else extra[w - d][0] for w in pa] for pa in chosen]
        self.merged_ = [[-1 if w < d else extra[w - d][1] for w in pa] for pa in chosen]
        self.cpts_ = []
        for c, pa in enumerate(chosen):
            index = parent_index(view_codes, pa, view_cards) if pa else None
            q = math.prod(view_cards[w] for w in pa)
            counts = family_counts(codes[c], self.cards_[c], index, q)
            self.cpts_.append(cpt_from_counts(counts, self.alpha))

    def _learn_followers(self, encoded: EncodedTable, rng: np.random.Generator) -> EncodedTable:
        """Sets ``followers_``; the table with each follower replaced by its residuals.

        Candidates are numbers without gaps and with more distinct values than bins.
        """
        data = encoded.data
        numbers = [
            c.name
            for c in encoded.columns
            if c.kind != "discrete"
            and encoded.filled(c.name) is None
            and data[c.name].nunique() > self.bins
        ]
        plan = plan_followers(data[numbers], self.follow, rng)
        self.followers_: dict[str, dict] = {}
        if not plan:
            return encoded
        data = data.copy()
        for name, anchor in plan.items():
            x, y = data[anchor].to_numpy(np.float64), data[name].to_numpy(np.float64)
            self.followers_[name] = state = fit_follower(x, y, anchor)
            data[name] = residuals(state, x, y)
        return EncodedTable(data, encoded.columns, encoded.drawn_elsewhere)

    def _bin(self, encoded: EncodedTable) -> np.ndarray:
        """Codes ``(nodes, rows)``; sets ``cards_``, the bins' ``grids_`` and ``merges_``.

        A column with gaps gets one code more, the last, for its missing cells;
        the stand-ins the processor filled in are not learned from.
        """
        codes = np.empty((len(self.nodes_), len(encoded.data)), dtype=np.int64)
        self.cards_: list[int] = []
        self.grids_: dict[str, np.ndarray] = {}
        self.merges_: dict[str, np.ndarray] = {}
        self.lattices_: dict[str, dict] = {}
        kinds = {c.name: c for c in encoded.columns}
        for j, name in enumerate(self.nodes_):
            col, values = kinds[name], encoded.data[name].to_numpy()
            filled = encoded.filled(name)
            gaps = filled is not None
            present = ~filled if gaps and not filled.all() else slice(None)
            if col.kind == "discrete":
                card = max(int(col.cardinality or 1), int(values.max(initial=0)) + 1)
                codes[j] = values
            else:
                code, grid = discretize(values[present].astype(np.float64), self.bins)
                codes[j][present] = code
                card = len(grid)
                on_lattice = lattice_shares(values[present].astype(np.float64), code, card)
                if on_lattice is not None:
                    self.lattices_[name] = on_lattice
                levels = merge_levels(np.bincount(code, minlength=card), self.parent_bins)
                if gaps:  # the missing code: a stand-in grid row, its own merged group
                    grid = np.vstack([grid, grid[:1]])
                    levels = [np.append(m, m.max() + 1) for m in levels]
                self.grids_[name] = grid
                if levels:
                    self.merges_[name] = np.stack(levels)
            if gaps:
                codes[j][filled] = card
                card += 1
            self.cards_.append(card)
        return codes

    def _network(self) -> Network:
        """The learned network, merged views of numeric parents as variables of their own."""
        names = self.nodes_
        cards, cpts = list(self.cards_), list(self.cpts_)
        parents: list[list[int]] = []
        views: dict[tuple[int, int], int] = {}  # (column, merge level) -> variable
        merges: dict[int, np.ndarray] = {}
        for pa, levels in zip(self.parents_, self.merged_, strict=True):
            row = []
            for p, level in zip(pa, levels, strict=True):
                p, level = int(p), int(level)
                if level >= 0 and (p, level) not in views:
                    views[p, level] = len(cards)
                    merges[len(cards)] = merge = self.merges_[names[p]][level]
                    cards.append(int(merge.max()) + 1)
                    cpts.append(np.eye(cards[-1])[merge])
                row.append(p if level < 0 else views[p, level])
            parents.append(row)
        parents += [[p] for p, _ in views]
        return Network(cards, parents, cpts, merges, topological_order(parents))

    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        net = self._network()
        codes: dict[int, np.ndarray] = {}
        for v in net.order:
            codes[v] = draw_node(net, v, codes, n, rng)
        return self._frame(codes, n, rng, {})

    def _sample_conditional(
        self, n: int, rng: np.random.Generator, evidence: Evidence
    ) -> pd.DataFrame | None:
        """``n`` encoded rows drawn from the network's posterior given ``evidence``."""
        kinds = {c.name: c.kind for c in self.columns_}
        wrong = [k for k in evidence.allowed if kinds.get(k) != "discrete"]
        wrong += [k for k in evidence.bounds if kinds.get(k) != "continuous"]
        if wrong:
            raise InvalidDataError(
                f"conditions name {wrong}, which are not encoded columns of this model of that "
                f"kind; its columns are {list(kinds)}"
            )
        evidence, pinned = through_anchors(self.followers_, evidence)
        masks = {k: np.asarray(m, dtype=bool) for k, m in evidence.allowed.items()}
        masks = {k: m for k, m in masks.items() if not m.all()}
        bounds = {}
        for k, (low, high) in evidence.bounds.items():
            low = np.nan_to_num(np.asarray(low, dtype=np.float64), nan=-np.inf)
            high = np.nan_to_num(np.asarray(high, dtype=np.float64), nan=np.inf)
            if np.isfinite(low).any() or np.isfinite(high).any() or (low > high).any():
                bounds[k] = (low, high)
        if not masks and not bounds:
            return pin(self._sample(n, rng), pinned)
        parts = [np.packbits(m, axis=1) for m in masks.values()]
        parts += [np.column_stack(b).view(np.uint8) for b in bounds.values()]
        key = np.ascontiguousarray(np.concatenate(parts, axis=1))
        _, first, pattern = np.unique(
            key.view(np.dtype((np.void, key.shape[1]))).ravel(),
            return_index=True,
            return_inverse=True,
        )
        likelihood = {}
        for v, name in enumerate(self.nodes_):
            value = masks[name][first].astype(np.float64) if name in masks else None
            if name in bounds:
                low, high = bounds[name]
                value = self._bin_likelihood(name, low[first], high[first])
            gap = masks.get(name + NULL_SUFFIX)
            if gap is not None and self._has_gaps(v):
                value = np.ones((len(first), self.cards_[v] - 1)) if value is None else value
                likelihood[v] = np.column_stack([value * gap[first, :1], gap[first, 1:]])
            elif value is not None:
                if self._has_gaps(v):
                    value = np.column_stack([value, np.zeros(len(first))])
                likelihood[v] = value
        names = [*masks, *bounds]
        codes = sample_given(self._network(), n, rng, likelihood, pattern.ravel(), names)
        if codes is None:
            return None
        return pin(self._frame(codes, n, rng, bounds), pinned)

    def _has_gaps(self, v: int) -> bool:
        """Whether node ``v`` is a column with gaps, its last code standing for "missing"."""
        return self.nodes_[v] + NULL_SUFFIX in {c.name for c in self.columns_}

    def _bin_likelihood(self, name: str, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """``(patterns, bins)``: each observed bin's share of mass inside ``[low, high]``."""
        grids = self._observed_grid(name)
        mass = bin_likelihood(grids, low, high)
        if name in self.lattices_:  # only the values it can draw count; a pinned one as above
            ranged = low != high
            mass[ranged] = lattice_mass(self.lattices_[name], len(grids), low[ranged], high[ranged])
        return mass

    def _observed_grid(self, name: str) -> np.ndarray:
        """Numeric column ``name``'s bin grids, without the stand-in row of its missing code."""
        grids = self.grids_[name]
        return grids[:-1] if self._has_gaps(self.nodes_.index(name)) else grids

    def _frame(
        self,
        codes: dict[int, np.ndarray],
        n: int,
        rng: np.random.Generator,
        bounds: dict[str, tuple[np.ndarray, np.ndarray]],
    ) -> pd.DataFrame:
        """Encoded rows: codes for discrete columns, numbers drawn inside their bins."""
        out: dict[str, np.ndarray] = {}
        for v, name in enumerate(self.nodes_):
            code = codes[v].astype(np.int64, copy=False)
            if self._has_gaps(v):
                missing = code == self.cards_[v] - 1
                out[name + NULL_SUFFIX] = missing.astype(np.int64)
                code = np.where(missing, 0, code)
            if name not in self.grids_:
                out[name] = code
                continue
            if name in self.lattices_:
                shares = self.lattices_[name]
                out[name] = draw_lattice(shares, code, rng, bounds.get(name), self.name, name)
                continue
            grids, u = self.grids_[name], rng.random(n)
            if name in bounds:
                out[name] = bounded_values(grids, code, u, *bounds[name])
            else:
                out[name] = bin_values(grids, code, u)
        for name, state in self.followers_.items():
            out[name] = rebuild(state, out[state["anchor"]], out[name])
        return pd.DataFrame(out, columns=[c.name for c in self.columns_])


def _nodes(columns: list[EncodedColumn]) -> list[str]:
    """The columns that are network nodes: all but the ``#null`` indicators of other columns."""
    names = {c.name for c in columns}
    return [
        c.name
        for c in columns
        if not (c.name.endswith(NULL_SUFFIX) and c.name[: -len(NULL_SUFFIX)] in names)
    ]


def merge_levels(sizes: np.ndarray, coarsest: int) -> list[np.ndarray]:
    """Merged views of a column's bins: ``coarsest`` groups, then twice as many, and so on."""
    levels: list[np.ndarray] = []
    groups = coarsest
    while groups < len(sizes):
        merge = merge_bins(sizes, groups)
        if merge is not None and not any(np.array_equal(merge, m) for m in levels):
            levels.append(merge)
        groups *= 2
    return levels


def merge_bins(sizes: np.ndarray, groups: int) -> np.ndarray | None:
    """Each bin's merged bin: adjacent bins joined into ``groups`` of about equal rows.

    ``None`` when merging would not make fewer bins.
    """
    share = (np.cumsum(sizes) - sizes / 2) / max(sizes.sum(), 1)
    merged = np.minimum((share * groups).astype(np.int64), groups - 1)
    merged = np.unique(merged, return_inverse=True)[1].ravel()
    return merged if merged.max() + 1 < len(sizes) else None


def discretize(values: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin codes per value and a quantile grid ``(bins, points)`` of the numbers in each bin.

    Bins are quantile intervals ``[lower_k, lower_k+1)`` whose lower edges are
    data values; a value held by at least one row in ``bins`` gets a bin of
    its own, and a column with at most ``bins`` distinct values one bin per
    value. Each bin keeps at most one grid point per ``MIN_ROWS_PER_POINT``
    rows (at least 2), never every value. A bin with spread is stretched up
    to the next bin's edge, so the bins cover the range without gaps.
    """
    rows = len(values)
    distinct, counts = np.unique(values, return_counts=True)
    target = max(1, min(bins, rows // (2 * MIN_ROWS_PER_POINT)))
    if len(distinct) <= target:
        lower = distinct
    else:
        cuts = np.quantile(values, np.linspace(0, 1, target + 1)[1:-1], method="inverted_cdf")
        atoms = np.flatnonzero(counts * target >= rows)
        after = atoms[atoms + 1 < len(distinct)] + 1
        lower = np.unique(np.concatenate([distinct[:1], cuts, distinct[atoms], distinct[after]]))
    codes = np.searchsorted(lower, values, side="right") - 1
    sizes = np.bincount(codes, minlength=len(lower))
    ends = np.cumsum(sizes)
    points = int(np.clip(np.median(sizes) // MIN_ROWS_PER_POINT, 2, MAX_POINTS))
    pos = (ends - sizes)[:, None] + np.linspace(0.0, 1.0, points) * (sizes - 1)[:, None]
    left = np.floor(pos).astype(np.int64)
    right = np.minimum(left + 1, (ends - 1)[:, None])
    ordered = np.sort(values)
    grid = ordered[left] + (pos - left) * (ordered[right] - ordered[left])
    spread = np.flatnonzero(grid[:-1, -1] > grid[:-1, 0])
    grid[spread, -1] = lower[spread + 1]
    return codes, grid
