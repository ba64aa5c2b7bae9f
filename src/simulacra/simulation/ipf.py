"""Iterative proportional fitting and integerisation of contingency tables.

:func:`ipf` fits a seed table (the cross-tab of a sample, or ones) to marginal
tables over one or more of its dimensions, keeping the seed's interactions
(its odds ratios) where the marginals say nothing; :func:`integerise` turns
the fit into whole counts (truncate, replicate, sample) that keep the total
and the most detailed marginal exact.

>>> from simulacra.simulation import integerise, ipf
>>> fit = ipf(None, {"sex": {"F": 60, "M": 40}, "smoker": {"yes": 25, "no": 75}})
>>> fit.table.round(1).tolist(), fit.converged
([15.0, 45.0, 10.0, 30.0], True)
>>> integerise(fit, total=7, seed=0).tolist()
[1, 3, 1, 2]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InvalidDataError, InvalidParameterError

__all__ = ["IPFResult", "integerise", "ipf"]

_SNAP = 1e-5  # fitted counts this close to a whole number are that number
_EXAMPLES = 3


class _Bad(Exception):
    """One problem with one marginal table (collected, then raised together)."""


# ------------------------------------------------------------------ marginals
def _dims_of(key: Any) -> tuple:
    return tuple(key) if isinstance(key, tuple) else (key,)


def _name(dims: tuple) -> str:
    return repr(" × ".join(map(str, dims)))


def _cell(dims: Sequence, labels: Sequence) -> str:
    plain = [v.item() if isinstance(v, np.generic) else v for v in labels]
    return ", ".join(f"{d}={v!r}" for d, v in zip(dims, plain, strict=True))


def _read(key: Any, table: Any, number: int) -> tuple[tuple, dict | np.ndarray]:
    """A marginal as (dims, {labels: count}) or (dims, positional array)."""
    dims = None if key is None else _dims_of(key)
    if isinstance(table, pd.DataFrame):
        dims = dims or (table.index.name, table.columns.name)
        if len(dims) != 2:
            raise _Bad(f"marginal {number} is a DataFrame (two-way) but is keyed by {dims}")
        rows = table.to_numpy(dtype=object)
        entries = {
            (r, c): v
            for r, row in zip(table.index, rows, strict=True)
            for c, v in zip(table.columns, row, strict=True)
        }
        if len(entries) != table.size:
            raise _Bad(f"marginal {_name(dims)} repeats a row or column label")
    elif isinstance(table, pd.Series):
        dims = dims or tuple(table.index.names)
        labels = table.index if table.index.nlevels > 1 else [(k,) for k in table.index]
        entries = dict(zip(map(tuple, labels), table.tolist(), strict=True))
        if len(entries) != len(table):
            raise _Bad(f"marginal {_name(dims)} repeats an index label")
    elif isinstance(table, Mapping):
        if dims is None:
            raise _Bad(f"marginal {number} is a dict; key it by its dimension(s)")
        if table and all(isinstance(v, Mapping) for v in table.values()):
            entries = {(r, c): v for r, inner in table.items() for c, v in inner.items()}
            if len(dims) != 2:
                raise _Bad(f"marginal {_name(dims)} is a dict of dicts, so it needs two dimensions")
        elif len(dims) == 1:
            entries = {(k,): v for k, v in table.items()}
        else:
            entries = {
                k: v for k, v in table.items() if isinstance(k, tuple) and len(k) == len(dims)
            }
            if len(entries) != len(table):
                raise _Bad(
                    f"marginal {_name(dims)} over {len(dims)} dimensions needs keys that are "
                    f"tuples of {len(dims)} labels (or a DataFrame / dict of dicts)"
                )
    elif isinstance(table, np.ndarray | list | tuple) and dims is not None:
        try:
            return dims, np.asarray(table, dtype=float)
        except (TypeError, ValueError):
            raise _Bad(f"marginal {_name(dims)} holds values that are not numbers") from None
    else:
        raise _Bad(
            f"marginal {number} is a {type(table).__name__}; give a dict, pandas Series or "
            "DataFrame (or an array keyed by axes when the seed is an array)"
        )
    if any(d is None for d in dims):
        raise _Bad(
            f"marginal {number} has an unnamed index or columns; name them after the dimensions "
            "(table.rename_axis(...)) or pass the marginals as a dict keyed by dimension"
        )
    return dims, entries


def _parse(marginals: Any) -> tuple[list[tuple[tuple, Any]], list[str]]:
    if isinstance(marginals, Mapping):
        items = list(marginals.items())
    elif isinstance(marginals, Sequence) and not isinstance(marginals, str):
        items = [(None, t) for t in marginals]
    else:
        raise InvalidParameterError(
            f"marginals must be a dict {{dimension(s): table}} or a list of pandas tables, "
            f"got {type(marginals).__name__}"
        )
    if not items:
        raise InvalidParameterError("marginals is empty; give at least one marginal table")
    parsed, problems = [], []
    for number, (key, table) in enumerate(items, 1):
        try:
            parsed.append(_read(key, table, number))
        except _Bad as exc:
            problems.append(str(exc))
    return parsed, problems


def _space(parsed: list) -> tuple[tuple, tuple[tuple, ...]]:
    """Dimensions and categories in order of first appearance among the marginals."""
    cats: dict[Any, dict] = {}
    for dims, entries in parsed:
        for d in dims:
            cats.setdefault(d, {})
        if isinstance(entries, dict):
            for labels in entries:
                for d, v in zip(dims, labels, strict=True):
                    cats[d].setdefault(v, None)
    empty = [d for d, c in cats.items() if not c]
    if empty:
        raise InvalidDataError(f"dimension(s) {empty} have no labelled categories; give dicts")
    return tuple(cats), tuple(tuple(c) for c in cats.values())


@dataclass
class _Margin:
    name: str
    axes: tuple[int, ...]  # seed axes, ascending
    values: np.ndarray  # over ``axes``, in that order


def _align(parsed: list, dims: tuple, cats: tuple) -> tuple[list[_Margin], list[str]]:
    out, problems = [], []
    for mdims, entries in parsed:
        name = _name(mdims)
        unknown = [d for d in mdims if d not in dims]
        if unknown or len(set(mdims)) < len(mdims):
            problems.append(
                f"marginal {name} is over dimension(s) {unknown or list(mdims)}, which the seed "
                f"does not have once each (its dimensions: {list(dims)})"
            )
            continue
        axes = [dims.index(d) for d in mdims]
        shape = tuple(len(cats[a]) for a in axes)
        if isinstance(entries, np.ndarray):
            if entries.shape != shape:
                problems.append(f"marginal {name} has shape {entries.shape}; the seed's is {shape}")
                continue
            values = entries
        else:
            index = [{c: i for i, c in enumerate(cats[a])} for a in axes]
            values, given, strange = np.zeros(shape), np.zeros(shape, bool), []
            for labels, count in entries.items():
                try:
                    at = tuple(ix[v] for ix, v in zip(index, labels, strict=True))
                except KeyError:
                    strange.append(labels)
                    continue
                try:
                    values[at], given[at] = float(count), True
                except (TypeError, ValueError):
                    problems.append(f"marginal {name}: count {count!r} at {labels} is no number")
                    strange.append(None)
            known = {mdims[k]: list(cats[a]) for k, a in enumerate(axes)}
            problems += [
                f"marginal {name} has category {_cell(mdims, labels)}, which is not among the "
                f"seed's categories {known}; fix the label or add it to the seed"
                for labels in [x for x in strange if x is not None][:_EXAMPLES]
            ]
            gaps = np.argwhere(~given)
            if len(gaps) and not strange:
                where = "; ".join(
                    _cell(mdims, [cats[a][i] for a, i in zip(axes, g, strict=True)])
                    for g in gaps[:_EXAMPLES]
                )
                problems.append(
                    f"marginal {name} gives no count for {len(gaps)} cell(s) ({where}); "
                    "give every category a count (0 where there are none)"
                )
            if strange or len(gaps):
                continue
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            first = np.argwhere(bad)[0]
            problems.append(
                f"marginal {name} has count {values[tuple(first)]:g} at "
                f"{_cell(mdims, [cats[a][i] for a, i in zip(axes, first, strict=True)])}; "
                "counts must be finite and 0 or more"
            )
            continue
        order = np.argsort(axes)
        out.append(_Margin(name, tuple(np.sort(axes)), np.transpose(values, order)))
    return out, problems


def _project(m: _Margin, onto: tuple[int, ...]) -> np.ndarray:
    return m.values.sum(axis=tuple(k for k, a in enumerate(m.axes) if a not in onto))


def _consistent(margins: list[_Margin], dims, cats, rtol: float, rescale: bool) -> None:
    """Raise when tables disagree on their total or on a dimension they share."""
    totals = [float(m.values.sum()) for m in margins]
    ref = totals[0]
    if any(abs(t - ref) > rtol * max(abs(ref), 1.0) for t in totals):
        if not rescale or min(totals) <= 0:
            listed = ", ".join(
                f"{m.name} sums to {t:g}" for m, t in zip(margins, totals, strict=True)
            )
            raise InvalidDataError(
                f"marginal totals disagree: {listed}; fix the tables, or pass rescale=True to "
                f"scale every table to the first one's total ({ref:g})"
            )
        for m, t in zip(margins, totals, strict=True):
            m.values = m.values * (ref / t)
    problems = []
    for i, a in enumerate(margins):
        for b in margins[i + 1 :]:
            shared = tuple(x for x in a.axes if x in b.axes)
            if not shared:
                continue
            pa, pb = _project(a, shared), _project(b, shared)
            off = np.argwhere(np.abs(pa - pb) > rtol * max(abs(ref), 1.0))
            if len(off):
                at = tuple(off[0])
                cell = _cell(
                    [dims[x] for x in shared], [cats[x][k] for x, k in zip(shared, at, strict=True)]
                )
                problems.append(
                    f"marginals {a.name} and {b.name} disagree at {cell}: {pa[at]:g} vs "
                    f"{pb[at]:g} ({len(off)} cell(s) differ); tables that share a dimension "
                    "must give it the same counts"
                )
    if problems:
        raise InvalidDataError(problems)


def _reachable(x: np.ndarray, margins: list[_Margin], dims, cats) -> None:
    """Raise when a marginal asks for a count where every seed cell is zero."""
    problems = []
    for m in margins:
        other = tuple(a for a in range(x.ndim) if a not in m.axes)
        seed = x.sum(axis=other)
        stuck = np.argwhere((m.values > 0) & (seed <= 0))
        for at in stuck[:_EXAMPLES]:
            cell = _cell(
                [dims[a] for a in m.axes], [cats[a][i] for a, i in zip(m.axes, at, strict=True)]
            )
            problems.append(
                f"marginal {m.name} asks for {m.values[tuple(at)]:g} at {cell}, but every seed "
                "cell there is zero (a structural zero), so no fit can reach it; give the seed "
                "weight there or set that count to 0"
            )
    if problems:
        raise InvalidDataError(problems)


# ------------------------------------------------------------------------ IPF
@dataclass(frozen=True, eq=False)
class IPFResult:
    """A fitted table and how the fit went.

    ``table`` has the seed's form: an array for an array seed, else a Series
    with one index level per dimension (every combination, zeros included).
    ``max_deviation`` is the largest absolute difference, in counts, between
    a marginal of the fit and its target; ``marginal_dims`` lists each
    marginal's dimensions in the seed's order.
    """

    table: np.ndarray | pd.Series
    iterations: int
    max_deviation: float
    converged: bool
    dims: tuple
    categories: tuple[tuple, ...]
    marginal_dims: tuple[tuple, ...]

    @property
    def array(self) -> np.ndarray:
        """The fitted counts as an array with one axis per dimension."""
        if isinstance(self.table, np.ndarray):
            return self.table
        return self.table.to_numpy().reshape([len(c) for c in self.categories])


def _seed_array(seed: Any) -> tuple[tuple, tuple, np.ndarray, bool]:
    """(dims, categories, counts, labelled) of a seed that is not None."""
    if isinstance(seed, pd.DataFrame):
        dims = (seed.index.name, seed.columns.name)
        if None in dims:
            raise InvalidDataError(
                "a DataFrame seed is a two-way cross-tab whose index and columns are named by "
                "dimension (df.rename_axis(index=..., columns=...)); for microdata pass "
                "sample.value_counts([...dimensions...]) instead"
            )
        if seed.index.has_duplicates or seed.columns.has_duplicates:
            raise InvalidDataError("the seed repeats a row or column label; aggregate it first")
        counts = seed.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        return dims, (tuple(seed.index), tuple(seed.columns)), counts, True
    if isinstance(seed, pd.Series):
        dims = tuple(seed.index.names)
        if None in dims or len(set(dims)) < len(dims):
            raise InvalidDataError(f"seed index levels {list(dims)} need unique names")
        if seed.index.has_duplicates:
            raise InvalidDataError(
                "the seed repeats an index label; aggregate it (groupby().sum())"
            )
        levels = [seed.index.get_level_values(k).unique() for k in range(len(dims))]
        codes = [lv.get_indexer(seed.index.get_level_values(k)) for k, lv in enumerate(levels)]
        counts = np.zeros([len(lv) for lv in levels])
        counts[tuple(codes)] = pd.to_numeric(seed, errors="coerce").to_numpy(dtype=float)
        return dims, tuple(tuple(lv) for lv in levels), counts, True
    try:
        counts = np.array(seed, dtype=float)
    except (TypeError, ValueError):
        raise InvalidDataError("the seed must be an array, Series or DataFrame of counts") from None
    return tuple(range(counts.ndim)), tuple(tuple(range(n)) for n in counts.shape), counts, False


def ipf(
    seed: Any,
    marginals: Mapping[Any, Any] | Sequence[pd.Series | pd.DataFrame],
    *,
    max_iter: int = 1000,
    tol: float = 1e-6,
    rtol: float = 1e-6,
    rescale: bool = False,
) -> IPFResult:
    """Fit ``seed`` to ``marginals`` by iterative proportional fitting.

    Parameters
    ----------
    seed : array, Series with one named index level per dimension, two-way
        DataFrame (index and columns named), or None for ones over the
        marginals' categories. Combinations missing from a Series are zeros;
        zeros stay zero (structural zeros).
    marginals : ``{dimension(s): table}`` or a list of named pandas tables. A
        table is a dict ``{category: count}``, a dict of dicts or DataFrame (two
        dimensions), a dict keyed by label tuples, a Series (index levels named
        by dimension), or an array keyed by axes when the seed is an array.
    max_iter : most sweeps through the marginals.
    tol : stop when every marginal of the fit is within ``tol`` counts of its target.
    rtol : relative tolerance for tables to agree on totals and shared dimensions.
    rescale : scale every table to the first one's total instead of raising.

    Returns
    -------
    IPFResult
        The fit; ``converged`` says whether it came within ``tol``.

    Raises
    ------
    InvalidDataError
        Unknown dimension or category, missing or negative count, tables that
        disagree, or a count asked for where the seed has only zeros.

    Examples
    --------
    >>> import numpy as np
    >>> fit = ipf(np.array([[1.0, 2.0], [3.0, 4.0]]), {0: [30, 70], 1: [40, 60]})
    >>> fit.table.sum(axis=1).round(6).tolist(), fit.converged
    ([30.0, 70.0], True)
    """
    _check_fit_params(max_iter, tol, rtol)
    parsed, problems = _parse(marginals)
    if seed is None:
        dims, cats = _space(parsed)
        x, labelled = np.ones([len(c) for c in cats]), True
    else:
        dims, cats, x, labelled = _seed_array(seed)
    return _fit(x, dims, cats, parsed, problems, labelled, max_iter, tol, rtol, rescale)


def _check_fit_params(max_iter: Any, tol: Any, rtol: Any) -> None:
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise InvalidParameterError(f"max_iter={max_iter!r}: give a whole number, 1 or more")
    for name, value in (("tol", tol), ("rtol", rtol)):
        if not isinstance(value, int | float) or not value >= 0:
            raise InvalidParameterError(f"{name}={value!r}: give a number, 0 or more")


def _fit(x, dims, cats, parsed, problems, labelled, max_iter, tol, rtol, rescale, where=None):
    if not np.isfinite(x).all() or (x < 0).any() or x.sum() <= 0:
        problems = ["the seed must hold finite counts, 0 or more, not all zero", *problems]
    margins, more = _align(parsed, dims, cats)
    if problems + more:
        raise InvalidDataError(problems + more, where=where)
    try:
        _consistent(margins, dims, cats, rtol, rescale)
        _reachable(x, margins, dims, cats)
    except InvalidDataError as exc:
        raise InvalidDataError(exc.problems, where=where) from None
    x = x.astype(float)  # a copy: the caller's seed is left alone
    steps = []
    for m in margins:
        shape = [x.shape[a] if a in m.axes else 1 for a in range(x.ndim)]
        steps.append((m.values.reshape(shape), tuple(a for a in range(x.ndim) if a not in m.axes)))

    def deviation() -> float:
        return max(float(np.abs(x.sum(axis=o, keepdims=True) - t).max()) for t, o in steps)

    iterations, dev = 0, deviation()
    while dev > tol and iterations < max_iter:
        for target, other in steps:
            now = x.sum(axis=other, keepdims=True)
            x *= np.divide(target, now, out=np.zeros_like(now), where=now > 0)
        iterations += 1
        dev = deviation()
    table: np.ndarray | pd.Series = x
    if labelled:
        index = (
            pd.MultiIndex.from_product(cats, names=dims)
            if len(dims) > 1
            else pd.Index(cats[0], name=dims[0])
        )
        table = pd.Series(x.ravel(), index=index, name="count")
    marginal_dims = tuple(tuple(dims[a] for a in m.axes) for m in margins)
    return IPFResult(table, iterations, dev, dev <= tol, dims, cats, marginal_dims)


# -------------------------------------------------------------- integerising
def _snap(x: np.ndarray) -> np.ndarray:
    whole = np.round(x)
    return np.where(np.abs(x - whole) <= _SNAP, whole, x)


def _round_within(x: np.ndarray, groups: np.ndarray, totals: np.ndarray, rng) -> np.ndarray:
    """Floor every cell, then add one to cells drawn by fractional part until each group's total.

    The draw is weighted sampling without replacement (Efraimidis-Spirakis keys).
    """
    floor = np.floor(x)
    frac = x - floor
    short = totals - np.rint(np.bincount(groups, floor, minlength=len(totals))).astype(np.int64)
    keys = np.full(len(x), -np.inf)
    some = frac > 0
    keys[some] = np.log(1.0 - rng.random(int(some.sum()))) / frac[some]
    order = np.lexsort((-keys, groups))
    start = np.searchsorted(groups[order], np.arange(len(totals)))
    rank = np.arange(len(x)) - start[groups[order]]
    out = floor.astype(np.int64)
    out[order[rank < short[groups[order]]]] += 1
    return out


def _share(x: np.ndarray, groups: np.ndarray, total: int, rng) -> np.ndarray:
    """Whole counts for the flat cells ``x`` summing to ``total``; each group's sum whole too."""
    s = x.sum()
    x = _snap(x * (total / s) if s > 0 else x)
    n = int(groups.max()) + 1 if len(groups) else 1
    margin = _snap(np.bincount(groups, x, minlength=n))
    totals = _round_within(margin, np.zeros(n, np.int64), np.array([total]), rng)
    return _round_within(x, groups, totals, rng)


def _groups(shape: tuple[int, ...], by: tuple[int, ...]) -> np.ndarray:
    """The cell of the margin over axes ``by`` that each cell of an array falls in."""
    if not by:
        return np.zeros(math.prod(shape), np.int64)
    grid = np.indices(shape)[list(by)].reshape(len(by), -1)
    return np.ravel_multi_index(tuple(grid), [shape[a] for a in by])


def _finest(fit: IPFResult) -> tuple[int, ...]:
    """Axes of the marginal with the most cells (the first one, on a tie)."""
    axes = [tuple(fit.dims.index(d) for d in md) for md in fit.marginal_dims]
    return max(axes, key=lambda a: math.prod(len(fit.categories[k]) for k in a), default=())


def integerise(
    fitted: IPFResult | np.ndarray | pd.Series,
    *,
    total: int | None = None,
    by: Sequence[Any] | None = None,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray | pd.Series:
    """Whole counts from a fitted table by truncate, replicate, sample (TRS).

    Each cell keeps its whole part; the missing units go to cells drawn with
    probability by their fractional parts, without replacement. So every cell
    is its fitted value rounded down or up, the total is exactly ``total``,
    and the margin over ``by`` is exact too (each of its cells is rounded
    first, then shared out within it); other margins are right on average,
    within a few units.

    Parameters
    ----------
    fitted : an :class:`IPFResult`, an array, or a Series of counts.
    total : the whole total (default: the fitted total, rounded); the table is
        scaled to it first.
    by : dimensions (names, or axes for an array) whose margin is kept exact.
        Default: the dimensions of the IPF marginal with the most cells, or
        none for a bare table.
    seed : seed or generator for the draws.

    Examples
    --------
    >>> counts = integerise(np.array([[1.5, 2.5], [0.25, 0.75]]), seed=0)
    >>> int(counts.sum()), bool((np.abs(counts - [[1.5, 2.5], [0.25, 0.75]]) < 1).all())
    (5, True)
    """
    rng = np.random.default_rng(seed)
    if isinstance(fitted, IPFResult):
        x, dims, like = fitted.array, fitted.dims, fitted.table
        axes = _finest(fitted) if by is None else None
    elif isinstance(fitted, pd.Series):
        x, dims, like, axes = fitted.to_numpy(dtype=float), tuple(fitted.index.names), fitted, None
    else:
        x = np.asarray(fitted, dtype=float)
        dims, like, axes = tuple(range(x.ndim)), None, None
    if not np.isfinite(x).all() or (x < 0).any():
        raise InvalidDataError("integerise needs finite counts, 0 or more")
    if total is None:
        total = round(float(x.sum()))
    if isinstance(total, bool) or not isinstance(total, int | np.integer) or total < 0:
        raise InvalidParameterError(f"total={total!r}: give a whole number, 0 or more")
    if total > 0 and x.sum() <= 0:
        raise InvalidDataError(f"cannot share out total={total} over a table of zeros")
    if axes is None:
        unknown = [d for d in (by or ()) if d not in dims]
        if unknown:
            raise InvalidParameterError(f"by={list(by)}: {unknown} not among dimensions {dims}")
        axes = tuple(sorted(dims.index(d) for d in by or ()))
    if isinstance(like, pd.Series) and not isinstance(fitted, IPFResult):
        levels = [like.index.get_level_values(a) for a in axes]  # any Series: group by level
        groups = pd.MultiIndex.from_arrays(levels).factorize()[0] if levels else np.zeros(len(x))
    else:
        groups = _groups(x.shape, axes)
    counts = _share(x.ravel(), np.asarray(groups, np.int64), int(total), rng).reshape(x.shape)
    if like is None:
        return counts
    return pd.Series(counts.ravel(), index=like.index, name=like.name)


def _expand(counts: np.ndarray) -> tuple[np.ndarray, ...]:
    """One row per unit of ``counts``: the category code along each axis."""
    cells = np.repeat(np.arange(counts.size), counts.ravel())
    return np.unravel_index(cells, counts.shape)
