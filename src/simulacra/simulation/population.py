"""Synthetic populations: households and persons whose joint attributes fit marginal tables.

:func:`build_population` fits households to household marginals and persons
to person marginals (:func:`~simulacra.simulation.ipf.ipf`), makes the fits
whole (:func:`~simulacra.simulation.ipf.integerise`), then puts every person
in a household with a role (head, partner, child, other) so that each child
is younger than the head, and returns the two tables, ready to seed an
agent-based model (:class:`Population`) and for simulacra's multi-table tools
(:meth:`Population.metadata`).

Household types say who lives together (:data:`COMPOSITIONS`): sizes a type
cannot have are structural zeros of the household fit, and the roles of each
household follow from its type and size. Person tables act as shares: they
are scaled to the persons the households hold.

>>> from simulacra.simulation import build_population
>>> pop = build_population(
...     {"size": {1: 30, 2: 40, 3: 20, 4: 10}},
...     {"age_band": {"0-17": 40, "18-64": 130, "65+": 40}, "sex": {"F": 110, "M": 100}},
...     seed=7,
... )
>>> len(pop.households), len(pop.persons), pop.persons.groupby("age_band").size().to_dict()
(100, 210, {'0-17': 40, '18-64': 130, '65+': 40})
>>> family = pop.households.loc[pop.households["size"] == 4, "household_id"].iloc[0]
>>> pop.persons.loc[pop.persons["household_id"] == family, ["role", "age", "sex"]]
       role  age sex
16     head   56   F
17  partner   56   M
18    child   13   M
19    child   11   F
>>> [fk.name for fk in pop.metadata().foreign_keys]
['persons.household_id']
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InvalidDataError, InvalidParameterError
from simulacra.simulation.ipf import (
    IPFResult,
    _check_fit_params,
    _expand,
    _finest,
    _fit,
    _groups,
    _parse,
    _share,
    _space,
)
from simulacra.spec.seeds import stream

__all__ = ["COMPOSITIONS", "Population", "build_population"]

ROLES = ("head", "partner", "child", "other")
ADULT_AGE = 18  # heads, partners and others are adults; every younger person is a child
COMPOSITIONS = MappingProxyType(
    {
        "single": "head",
        "couple": "head partner",
        "couple_with_children": "head partner child+",
        "lone_parent": "head child+",
        "other": "head other+",
    }
)
_NO_TYPE = "head partner? child*"  # households when the marginals have no 'type'
_SIBLING_SPREAD = 3.0  # years of noise when children are ordered into families
_BAND = re.compile(r"^\s*(\d+)\s*(?:(?:-|–|to)\s*(\d+)|(\+))?\s*$")
_EXAMPLES = 3


# ---------------------------------------------------------------- households
@dataclass(frozen=True)
class _Composition:
    """Who lives in a household of a type: fixed roles, optional ones, one repeatable role."""

    fixed: tuple[int, ...]  # role codes, each once
    optional: tuple[int, ...]  # filled in order while the size allows
    filler: int | None  # takes the rest of the size
    filler_min: int  # 1 for 'role+', 0 for 'role*'

    @property
    def smallest(self) -> int:
        return len(self.fixed) + self.filler_min

    def fits(self, size: int) -> bool:
        return size >= self.smallest and (
            self.filler is not None or size <= self.smallest + len(self.optional)
        )

    def counts(self, size: np.ndarray) -> np.ndarray:
        """Persons per role (columns in :data:`ROLES` order) for households of ``size``."""
        out = np.zeros((len(size), len(ROLES)), np.int64)
        for role in self.fixed:
            out[:, role] += 1
        extra = size - self.smallest
        for k, role in enumerate(self.optional):
            out[:, role] += extra > k
        if self.filler is not None:
            out[:, self.filler] += self.filler_min + np.maximum(extra - len(self.optional), 0)
        return out


def _composition(kind: Any, text: Any) -> _Composition:
    tokens = text.split() if isinstance(text, str) else list(text)
    fixed, optional, filler, low = [], [], None, 0
    problem = None
    for token in tokens:
        m = re.fullmatch(r"(head|partner|child|other)([?*+]?)", str(token))
        if m is None:
            problem = f"{token!r} is not a role ({', '.join(ROLES)}) with an optional ?, * or +"
            break
        role, mark = ROLES.index(m.group(1)), m.group(2)
        if mark in ("*", "+"):
            if filler is not None:
                problem = "at most one role may repeat (* or +)"
            filler, low = role, int(mark == "+")
        else:
            (optional if mark == "?" else fixed).append(role)
    roles = [*fixed, *optional] + ([filler] if filler is not None else [])
    if problem is None and (fixed.count(0) != 1 or roles.count(0) != 1):
        problem = "it needs exactly one plain 'head'"
    if problem is None and (roles.count(1) > 1 or filler == 1):
        problem = "a household has at most one partner"
    if problem:
        raise InvalidParameterError(
            f"composition {text!r} of household type {kind!r}: {problem}; write it like "
            "'head partner child+' (roles head, partner, child, other; ? optional, "
            "* any number, + one or more)"
        )
    return _Composition(tuple(fixed), tuple(optional), filler, low)


def _sizes(cats: tuple) -> np.ndarray:
    out, bad = [], []
    for c in cats:
        try:
            value = int(c)
        except (TypeError, ValueError):
            value = 0
        if value < 1 or not (str(value) == str(c).strip() or value == c):
            bad.append(c)
        out.append(value)
    if bad:
        raise InvalidDataError(
            f"household size categories {bad} are not whole numbers of 1 or more; "
            "give each size on its own (split an open band such as '5+' into 5, 6, ...)",
            where="household marginals",
        )
    return np.array(out, np.int64)


def _sample_counts(sample: Any, dims: tuple, cats: tuple, prior: float, where: str) -> np.ndarray:
    """The cross-tab of a microdata sample over ``dims``, plus ``prior`` in every cell."""
    if not isinstance(sample, pd.DataFrame):
        raise InvalidParameterError(f"{where} must be a DataFrame of microdata")
    missing = [d for d in dims if d not in sample.columns]
    if missing:
        raise InvalidDataError(
            f"the sample has no column(s) {missing}, which the marginals use; add them or "
            "drop the sample",
            where=where,
        )
    codes, problems = [], []
    for d, c in zip(dims, cats, strict=True):
        code = pd.Index(c).get_indexer(sample[d])
        if (code < 0).any():
            odd = pd.unique(sample[d][code < 0])[:_EXAMPLES].tolist()
            problems.append(
                f"column {d!r} has {(code < 0).sum()} value(s) the marginals do not know "
                f"(e.g. {odd}); drop those rows or add the categories to the marginals"
            )
        codes.append(code)
    if problems:
        raise InvalidDataError(problems, where=where)
    shape = [len(c) for c in cats]
    flat = np.ravel_multi_index(tuple(codes), shape) if len(sample) else np.zeros(0, np.int64)
    return np.bincount(flat, minlength=math.prod(shape)).reshape(shape) + prior


def _bands(cats: tuple, max_age: int) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest whole age of each age band ('0-17', '85+', '42', an Interval)."""
    low, high, bad = [], [], []
    for c in cats:
        if isinstance(c, pd.Interval):
            lo = math.floor(c.left) + (c.open_left and float(c.left).is_integer())
            hi = math.ceil(c.right) - (c.open_right and float(c.right).is_integer())
        elif isinstance(c, int | np.integer):
            lo = hi = int(c)
        elif isinstance(c, str) and (m := _BAND.match(c)):
            lo = int(m.group(1))
            hi = max_age if m.group(3) else int(m.group(2) or lo)
        else:
            lo, hi = 1, 0
        if not 0 <= lo <= hi <= max_age:
            bad.append(c)
        low.append(lo)
        high.append(hi)
    if bad:
        raise InvalidDataError(
            f"age bands {bad} do not read as whole ages from 0 to max_age={max_age}; "
            "label them like '0-17', '85+' or '42'",
            where="person marginals",
        )
    return np.array(low, np.int64), np.array(high, np.int64)


# ------------------------------------------------------------------ persons
def _nearest_above(sorted_ages: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Distinct positions in ``sorted_ages``, one per target, each the first free at or above it.

    Near the top, positions shift down so that every target gets one (those
    may then lie below their target: the caller checks).
    """
    n, k = len(sorted_ages), len(targets)
    order = np.argsort(targets, kind="stable")
    i = np.arange(k)
    pos = np.searchsorted(sorted_ages, targets[order], side="left")
    out = np.empty(k, np.int64)
    out[order] = np.minimum(i + np.maximum.accumulate(pos - i), n - k + i)
    return out


def _pair(head_ages: np.ndarray, pool: np.ndarray, ages: np.ndarray, rng) -> np.ndarray:
    """Partners from ``pool`` for heads of ``head_ages``: drawn so that their ages follow the
    heads' (weights: smoothed head-age density over pool-age density), then matched by rank."""
    k = len(head_ages)
    if k == 0:
        return np.zeros(0, np.int64)
    top = int(max(ages[pool].max(), head_ages.max())) + 8
    kernel = np.array([1.0, 2.0, 3.0, 2.0, 1.0])  # a few years either side
    want = np.convolve(np.bincount(head_ages, minlength=top), kernel, "same")
    have = np.convolve(np.bincount(ages[pool], minlength=top), kernel, "same")
    weight = want[ages[pool]] / have[ages[pool]] + 1e-9
    keys = np.log(1.0 - rng.random(len(pool))) / weight
    chosen = pool[np.argsort(-keys, kind="stable")[:k]]
    out = np.empty(k, np.int64)
    out[np.lexsort((rng.random(k), head_ages))] = chosen[np.lexsort((rng.random(k), ages[chosen]))]
    return out


def _allocate(roles: np.ndarray, ages: np.ndarray, sex: np.ndarray | None, rng, gap) -> tuple:
    """The household and role of every person, from each household's persons per role.

    Every person under :data:`ADULT_AGE` is a child, with the youngest adults
    filling the child places left; children are ordered by a noisy age and
    dealt to families in turn (so siblings are close in age); each family's
    head is the first free adult at or above the age of an adult drawn from
    those ``gap[0]`` years older than the oldest child to ``gap[1]`` years
    older than the youngest (at least ``gap[0]`` years older in any case); the other
    heads are any adults, those of couples drawn first; then partners are
    drawn from all adults left to match their heads' ages (of the other sex
    where two sexes are given and the pool allows); the adults left head the
    other households, then are their 'other' members.
    """
    n_households, n_child = len(roles), roles[:, 2]
    household = np.full(len(ages), -1, np.int64)
    role = np.full(len(ages), -1, np.int64)
    minors = np.flatnonzero(ages < ADULT_AGE)
    places = int(n_child.sum())
    if len(minors) > places:
        raise InvalidDataError(
            f"the person marginals put {len(minors)} of {len(ages)} persons under {ADULT_AGE}, "
            f"but the households have places for only {places} children; give more households "
            "with children (types such as 'couple_with_children' or 'lone_parent', or larger "
            "sizes) or fewer young persons",
            where="build_population",
        )
    adults = np.flatnonzero(ages >= ADULT_AGE)
    adults = adults[np.lexsort((rng.random(len(adults)), ages[adults]))]  # youngest first
    children = np.concatenate([minors, adults[: places - len(minors)]])
    pool = adults[places - len(minors) :]
    noisy = ages[children] + rng.normal(0.0, _SIBLING_SPREAD, len(children))
    children = children[np.argsort(noisy, kind="stable")]
    families = rng.permutation(np.flatnonzero(n_child > 0))
    household[children], role[children] = np.repeat(families, n_child[families]), 2
    oldest, youngest = np.full(n_households, -1), np.full(n_households, 1 << 30)
    np.maximum.at(oldest, household[children], ages[children])
    np.minimum.at(youngest, household[children], ages[children])
    need = oldest[families] + gap[0]
    # a wished-for head age: a random pool member's within the family's window
    low = np.searchsorted(ages[pool], need, side="left")
    high = np.searchsorted(ages[pool], youngest[families] + gap[1], side="right")
    wish = low + (rng.random(len(need)) * np.maximum(high - low, 0)).astype(np.int64)
    wish = np.where(high > low, ages[pool][np.minimum(wish, len(pool) - 1)], need)
    at = _nearest_above(ages[pool], wish)
    if (ages[pool[at]] < need).any():
        at = _nearest_above(ages[pool], need)
    short = int((ages[pool[at]] < need).sum())
    if short:
        raise InvalidDataError(
            f"{short} households with children find no free adult at least {gap[0]} years older "
            "than their oldest child: the person marginals have too few older adults for the "
            f"children; lower parent_gap={tuple(gap)} or give more persons in older age bands",
            where="build_population",
        )
    head = np.full(n_households, -1, np.int64)
    head[families] = pool[at]
    rest = rng.permutation(np.delete(pool, at))
    childless = np.flatnonzero(n_child == 0)
    duos = childless[roles[childless, 1] > 0]  # heads of couples first, then all partners,
    head[duos], rest = rest[: len(duos)], rest[len(duos) :]  # drawn from every adult left
    household[head[head >= 0]], role[head[head >= 0]] = np.flatnonzero(head >= 0), 0
    couples = np.flatnonzero(roles[:, 1] > 0)
    if sex is not None:
        later = []
        for s in (0, 1):
            group = rng.permutation(couples[sex[head[couples]] == s])
            other = rest[sex[rest] != s]
            k = min(len(group), len(other))
            chosen = _pair(ages[head[group[:k]]], other, ages, rng)
            household[chosen], role[chosen] = group[:k], 1
            rest = rest[household[rest] < 0]
            later.append(group[k:])
        couples = np.concatenate(later)
    chosen = _pair(ages[head[couples]], rest, ages, rng)
    household[chosen], role[chosen] = couples, 1
    rest = rng.permutation(rest[household[rest] < 0])
    alone = childless[roles[childless, 1] == 0]
    household[rest[: len(alone)]], role[rest[: len(alone)]] = alone, 0
    rest = rest[len(alone) :]
    others = np.flatnonzero(roles[:, 3] > 0)
    household[rest], role[rest] = np.repeat(others, roles[others, 3]), 3
    return household, role


# --------------------------------------------------------------- population
@dataclass(eq=False)
class Population:
    """Households and their persons, and the two IPF fits they were drawn from.

    ``households`` has ``household_id``, ``size`` and the other household
    dimensions; ``persons`` has ``person_id``, ``household_id`` (a foreign key
    to ``households``), ``role`` (head, partner, child, other), ``age`` (whole
    years, drawn within the band) and the person dimensions (``age_band``...).
    """

    households: pd.DataFrame
    persons: pd.DataFrame
    household_fit: IPFResult
    person_fit: IPFResult

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """``{"households": ..., "persons": ...}``, for multi-table tools and simulations."""
        return {"households": self.households, "persons": self.persons}

    @property
    def primary_keys(self) -> dict[str, str]:
        """Each table's key column, as ``Simulation(..., primary_keys=...)`` takes them."""
        return {"households": "household_id", "persons": "person_id"}

    def metadata(self) -> Any:
        """:class:`~simulacra.relational.MultiTableMetadata` of the two tables: keys, the foreign
        key of persons to households, and every category of the marginals declared."""
        from simulacra.metadata import Column
        from simulacra.relational._detect import detect_multi
        from simulacra.relational.metadata import ForeignKey

        keys = {t: [k] for t, k in self.primary_keys.items()}
        link = ForeignKey("persons", ("household_id",), "households", ("household_id",))
        meta = detect_multi(self.tables, primary_keys=keys, foreign_keys=[link])
        for table, fit in (("households", self.household_fit), ("persons", self.person_fit)):
            for dim, cats in zip(fit.dims, fit.categories, strict=True):
                if dim != "size":
                    plain = [c.item() if hasattr(c, "item") else c for c in cats]
                    meta.tables[table].columns[dim] = Column(type="categorical", categories=plain)
        meta.tables["persons"].columns["role"] = Column(type="categorical", categories=list(ROLES))
        return meta


def _whole_number(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise InvalidParameterError(f"{name}={value!r}: give a whole number, {low} or more")
    return int(value)


def _converged(fit: IPFResult, where: str) -> None:
    if not fit.converged:
        raise InvalidDataError(
            f"IPF did not converge in {fit.iterations} sweeps (a marginal is still off by "
            f"{fit.max_deviation:.3g}); the tables contradict each other through their zeros, "
            "or need more sweeps: check them, or raise max_iter or tol",
            where=where,
        )


def _labels(cats: tuple, codes: np.ndarray) -> pd.Index:
    return pd.Index(list(cats)).take(codes)


def _along(dims: tuple, dim: Any) -> list[int]:
    """A shape that lays a vector along ``dim`` for broadcasting over a table of ``dims``."""
    return [-1 if d == dim else 1 for d in dims]


def build_population(
    household_marginals: Mapping[Any, Any] | Sequence[pd.Series | pd.DataFrame],
    person_marginals: Mapping[Any, Any] | Sequence[pd.Series | pd.DataFrame],
    *,
    n_households: int | None = None,
    n_persons: int | None = None,
    household_sample: pd.DataFrame | None = None,
    person_sample: pd.DataFrame | None = None,
    sample_prior: float = 0.0,
    compositions: Mapping[Any, str] | None = None,
    parent_gap: tuple[int, int] = (18, 45),
    max_age: int = 100,
    rescale: bool = False,
    max_iter: int = 1000,
    tol: float = 1e-6,
    seed: int | None = None,
) -> Population:
    """Households and persons whose attributes fit marginal tables, each person in a household.

    Households are fitted by :func:`~simulacra.simulation.ipf.ipf` to
    ``household_marginals`` and made whole by
    :func:`~simulacra.simulation.ipf.integerise` (the household table with the
    most cells, usually type x size, comes back exactly); the persons they hold
    (the sum of their sizes) are fitted to ``person_marginals`` the same way,
    scaled to that number, so person tables act as shares (and come back
    exactly, for the one with the most cells, when they sum to that number);
    then every person gets a household and a role, each child younger than the
    head. No loop runs over households or persons.

    Parameters
    ----------
    household_marginals : marginal tables (as :func:`~simulacra.simulation.ipf.ipf`
        takes them) over household dimensions; ``size`` (whole numbers) is
        required, ``type`` (keys of ``compositions``) optional, any others
        (``region``...) become columns.
    person_marginals : marginal tables over person dimensions; ``age_band``
        ('0-17', '85+', '42') is required; ``sex`` with two categories makes
        partners of the other sex where the pool allows.
    n_households, n_persons : the number of households, or of persons (met to
        within the rounding of whole households). Default: the household
        tables' total.
    household_sample, person_sample : microdata whose cross-tab seeds the fit
        (columns named by dimension; a person sample may give ``age`` instead
        of ``age_band``). Default: a seed of ones. Zeros of the cross-tab stay
        zero (structural zeros) unless ``sample_prior`` is given.
    sample_prior : added to every cell of a sample's cross-tab, so that
        combinations absent from a small sample stay possible.
    compositions : roles per household type, merged over :data:`COMPOSITIONS`
        (e.g. ``{"three_generations": "head partner child+ other+"}``): roles
        head, partner, child, other; ``?`` optional (taken in order once the
        required roles are in), ``*`` any number, ``+`` one or more. Sizes a
        type cannot have are structural zeros of the household fit. Without a
        ``type`` dimension every household is ``head partner? child*``.
    parent_gap : a family's head is at least ``parent_gap[0]`` years older than
        its oldest child and, where the ages allow, at most ``parent_gap[1]``
        years older than its youngest.
    max_age : the top of open age bands such as '85+'.
    rescale, max_iter, tol : as in :func:`~simulacra.simulation.ipf.ipf`.
    seed : same inputs and seed give the same population.

    Returns
    -------
    Population

    Raises
    ------
    InvalidDataError
        Marginal tables that are malformed or disagree, and populations that
        cannot be put together: more persons under 18 than households have
        child places, or children with no adult old enough to head them.
    """
    if n_households is not None and n_persons is not None:
        raise InvalidParameterError("give n_households or n_persons, not both")
    if n_households is not None:
        n_households = _whole_number("n_households", n_households, 1)
    if n_persons is not None:
        n_persons = _whole_number("n_persons", n_persons, 1)
    root = _whole_number("seed", seed, 0) if seed is not None else np.random.SeedSequence().entropy
    max_age = _whole_number("max_age", max_age, ADULT_AGE)
    gap = tuple(parent_gap) if isinstance(parent_gap, Sequence) else ()
    if len(gap) != 2 or _whole_number("parent_gap[0]", gap[0], 1) > gap[1]:
        raise InvalidParameterError(
            f"parent_gap={parent_gap!r}: give (low, high), 1 <= low <= high"
        )
    if not isinstance(sample_prior, int | float) or not sample_prior >= 0:
        raise InvalidParameterError(f"sample_prior={sample_prior!r}: give a number, 0 or more")
    _check_fit_params(max_iter, tol, 1e-6)
    fit_args = (max_iter, tol, 1e-6, rescale)
    kinds = {**COMPOSITIONS, **(compositions or {})}
    households, roles, hfit = _households(
        household_marginals,
        household_sample,
        sample_prior,
        kinds,
        fit_args,
        n_households,
        n_persons,
        stream(root, "population", "households"),
    )
    ages, codes, pfit = _persons(
        person_marginals,
        person_sample,
        sample_prior,
        max_age,
        fit_args,
        int(households["size"].sum()),
        stream(root, "population", "persons"),
    )
    two_sexes = "sex" in codes and len(pfit.categories[pfit.dims.index("sex")]) == 2
    sex = codes["sex"] if two_sexes else None
    home, role = _allocate(roles, ages, sex, stream(root, "population", "allocate"), gap)
    order = np.lexsort((-ages, role, home))
    persons = pd.DataFrame(
        {
            "person_id": np.arange(len(ages)),
            "household_id": home[order],
            "role": _labels(ROLES, role[order]),
            "age": ages[order],
        }
    )
    for d, c in zip(pfit.dims, pfit.categories, strict=True):
        persons[d] = _labels(c, codes[d][order])
    return Population(households, persons, hfit, pfit)


def _households(marginals, sample, prior, kinds, fit_args, n_households, n_persons, rng):
    """The households table, each household's persons per role, and the fit."""
    parsed, problems = _parse(marginals)
    if problems:
        raise InvalidDataError(problems, where="household marginals")
    dims, cats = _space(parsed)
    if "size" not in dims or "household_id" in dims:
        raise InvalidDataError(
            f"household marginals need a 'size' dimension, and none named 'household_id' "
            f"(dimensions: {list(dims)}); give the sizes, e.g. {{'size': {{1: 300, 2: 350}}}}",
            where="household marginals",
        )
    sizes = _sizes(cats[dims.index("size")])
    types = cats[dims.index("type")] if "type" in dims else (None,)
    unknown = [t for t in types if t is not None and t not in kinds]
    if unknown:
        raise InvalidDataError(
            f"household types {unknown} have no composition; pass compositions="
            f"{{{unknown[0]!r}: 'head partner child*', ...}} (known: {sorted(map(str, kinds))})",
            where="household marginals",
        )
    comps = [_composition(t, kinds[t] if t is not None else _NO_TYPE) for t in types]
    x = np.ones([len(c) for c in cats])
    if sample is not None:
        x = _sample_counts(sample, dims, cats, prior, "household sample")
    allowed = np.array([[c.fits(int(s)) for s in sizes] for c in comps], dtype=float)
    t = np.arange(len(comps)).reshape(_along(dims, "type")) if "type" in dims else 0
    x = x * allowed[t, np.arange(len(sizes)).reshape(_along(dims, "size"))]
    fit = _fit(x, dims, cats, parsed, [], True, *fit_args, where="household marginals")
    _converged(fit, "household marginals")
    h = fit.array
    if n_persons is not None:
        persons = (h * sizes.reshape(_along(dims, "size"))).sum()
        n_households = max(1, round(n_persons * h.sum() / persons))
    total = n_households if n_households is not None else max(1, round(float(h.sum())))
    counts = _share(h.ravel(), _groups(h.shape, _finest(fit)), total, rng).reshape(h.shape)
    codes = np.stack(_expand(counts))[:, rng.permutation(total)]
    size = sizes[codes[dims.index("size")]]
    kind = codes[dims.index("type")] if "type" in dims else np.zeros(total, np.int64)
    roles = np.zeros((total, len(ROLES)), np.int64)
    for k, comp in enumerate(comps):
        roles[kind == k] = comp.counts(size[kind == k])
    table = pd.DataFrame({"household_id": np.arange(total), "size": size})
    for a, d in enumerate(dims):
        if d != "size":
            table[d] = _labels(cats[a], codes[a])
    return table, roles, fit


def _persons(marginals, sample, prior, max_age, fit_args, n, rng):
    """The ages of ``n`` persons, their category codes per dimension, and the fit."""
    parsed, problems = _parse(marginals)
    if problems:
        raise InvalidDataError(problems, where="person marginals")
    dims, cats = _space(parsed)
    taken = {"person_id", "household_id", "role", "age"} & set(dims)
    if "age_band" not in dims or taken:
        raise InvalidDataError(
            f"person marginals need an 'age_band' dimension and none named {sorted(taken)} "
            f"(dimensions: {list(dims)}); 'age' is drawn within each band",
            where="person marginals",
        )
    band_axis = dims.index("age_band")
    low, high = _bands(cats[band_axis], max_age)
    x = np.ones([len(c) for c in cats])
    if sample is not None:
        if "age_band" not in sample.columns and "age" in sample.columns:
            age = pd.to_numeric(sample["age"], errors="coerce").to_numpy()[:, None]
            inside = (age >= low) & (age <= high)
            if not inside.any(axis=1).all():
                raise InvalidDataError(
                    f"ages such as {age[~inside.any(axis=1), 0][:_EXAMPLES].tolist()} fall in no "
                    "age band of the person marginals; drop those rows or add bands",
                    where="person sample",
                )
            bands = np.asarray(cats[band_axis], dtype=object)[inside.argmax(axis=1)]
            sample = sample.assign(age_band=bands)
        x = _sample_counts(sample, dims, cats, prior, "person sample")
    fit = _fit(x, dims, cats, parsed, [], True, *fit_args, where="person marginals")
    _converged(fit, "person marginals")
    p = fit.array
    counts = _share(p.ravel(), _groups(p.shape, _finest(fit)), n, rng).reshape(p.shape)
    codes = np.stack(_expand(counts))[:, rng.permutation(n)]
    band = codes[band_axis]
    ages = low[band] + (rng.random(n) * (high - low + 1)[band]).astype(np.int64)
    return ages, dict(zip(dims, codes, strict=True)), fit
