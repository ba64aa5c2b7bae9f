"""Column generators: one per way a spec column is made, each a whole batch at a time.

A generator makes ``ctx.n`` values as an Arrow array from its own random
stream (``ctx.rng``), the columns made before it (``ctx.values``) and, for
keys, the global row numbers (``ctx.rows``): a sequence or a unique pattern is
a function of the row number alone, so a foreign key can spell its parent's
key from a parent row number without the parent table in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulacra import _strings
from simulacra._expressions import Expression
from simulacra.spec.distributions import Dist, Table
from simulacra.spec.patterns import Pattern
from simulacra.spec.providers import Pools, fake

__all__ = [
    "Choice",
    "Conditional",
    "Constant",
    "Ctx",
    "Dates",
    "Fake",
    "ForeignKey",
    "Formula",
    "Gen",
    "Numbers",
    "PatternGen",
    "Sequence",
    "as_numpy",
]

KeyLookup = Callable[[str, str, np.ndarray], pa.Array]  # (table, column, parent rows) -> keys


@dataclass
class Ctx:
    """What a generator sees while making one batch of one column."""

    n: int
    rows: np.ndarray  # global row numbers of the batch
    rng: np.random.Generator
    values: dict[str, pa.Array]
    pools: Pools
    seed: int
    table: str
    column: str = ""
    uniforms: np.ndarray | None = None  # from a Gaussian copula
    parents: np.ndarray | None = None  # parent row numbers, for the children-per-parent key
    parent_rows: Mapping[str, int] = field(default_factory=dict)
    keys: KeyLookup | None = None

    def subset(self, mask: np.ndarray, rng: np.random.Generator) -> Ctx:
        """The same context for the rows in ``mask`` only (for conditional cases)."""
        index = pa.array(np.flatnonzero(mask))
        return Ctx(
            n=int(mask.sum()),
            rows=self.rows[mask],
            rng=rng,
            values={k: v.take(index) for k, v in self.values.items()},
            pools=self.pools,
            seed=self.seed,
            table=self.table,
            column=self.column,
            uniforms=None if self.uniforms is None else self.uniforms[mask],
            parents=None if self.parents is None else self.parents[mask],
            parent_rows=self.parent_rows,
            keys=self.keys,
        )


class Gen:
    """Makes one column; ``needs`` lists the columns it reads."""

    needs: tuple[str, ...] = ()
    copula = False  # whether it can take uniforms from a Gaussian copula
    key = False  # whether its values are a function of the row number alone (a key)

    def make(self, ctx: Ctx) -> pa.Array:
        raise NotImplementedError


def as_numpy(values: pa.Array) -> np.ndarray:
    """A column as the expression language reads it: float64 with NaN, datetime64[ns], or text."""
    kind = values.type
    if pa.types.is_temporal(kind):
        return values.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        return values.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return values.to_numpy(zero_copy_only=False)


def _shape(x: np.ndarray, integer: bool, decimals: int | None) -> pa.Array:
    if integer:
        return pa.array(
            np.rint(x).astype(np.int64), mask=np.isnan(x) if x.dtype.kind == "f" else None
        )
    if decimals is not None:
        x = np.round(x, decimals)
    return pa.array(x, from_pandas=True)


# ------------------------------------------------------------------ generators
class Numbers(Gen):
    """Numbers from a distribution (already truncated to its bounds)."""

    copula = True

    def __init__(self, dist: Dist, *, integer: bool, decimals: int | None) -> None:
        self.dist, self.integer, self.decimals = dist, integer, decimals

    def make(self, ctx: Ctx) -> pa.Array:
        x = self.dist.draw(ctx.rng, ctx.n) if ctx.uniforms is None else self.dist.ppf(ctx.uniforms)
        if self.dist.discrete and not self.decimals:
            return pa.array(np.asarray(x, dtype=np.int64))
        return _shape(np.asarray(x, dtype=float), self.integer, self.decimals)


class Choice(Gen):
    """Categories (text, numbers or booleans) drawn with given weights."""

    copula = True

    def __init__(self, values: list[Any], weights: list[float]) -> None:
        self.values = pa.array(values)
        self.table = Table(np.arange(len(values)), np.asarray(weights, dtype=float))

    def make(self, ctx: Ctx) -> pa.Array:
        u = ctx.rng.random(ctx.n) if ctx.uniforms is None else ctx.uniforms
        return self.values.take(pa.array(self.table.codes(u)))


class Constant(Gen):
    def __init__(self, value: Any) -> None:
        self.value = pa.array([value])

    def make(self, ctx: Ctx) -> pa.Array:
        return self.value.take(pa.array(np.zeros(ctx.n, dtype=np.int64)))


class Fake(Gen):
    """Values of a fake-value provider, drawn from per-run Faker pools."""

    def __init__(self, provider: str, locale: str) -> None:
        self.provider, self.locale = provider, locale

    def make(self, ctx: Ctx) -> pa.Array:
        return fake(self.provider, ctx.n, ctx.rng, ctx.pools, self.locale)


class PatternGen(Gen):
    """Text in a regex-like pattern; ``unique`` values are keyed by the row number."""

    def __init__(self, pattern: Pattern, *, unique: bool) -> None:
        self.pattern, self.unique = pattern, unique
        self.key = unique

    def at(self, rows: np.ndarray, seed: int, table: str, column: str) -> pa.Array:
        from simulacra.spec.seeds import key

        return self.pattern.unique(rows, key(seed, table, column))

    def make(self, ctx: Ctx) -> pa.Array:
        if self.unique:
            return self.at(ctx.rows, ctx.seed, ctx.table, ctx.column)
        return self.pattern.generate(ctx.n, ctx.rng)


class Sequence(Gen):
    """``start + step * row``, as numbers or as text with a prefix and zero padding."""

    key = True

    def __init__(self, start: int, step: int, prefix: str | None, width: int | None) -> None:
        self.start, self.step, self.prefix, self.width = start, step, prefix, width

    def at(self, rows: np.ndarray, seed: int, table: str, column: str) -> pa.Array:
        values = self.start + self.step * np.asarray(rows, dtype=np.int64)
        if self.prefix is None and self.width is None:
            return pa.array(values)
        n = len(values)
        digits = _strings.digits(values, self.width) if self.width else _strings.number(values)
        return _strings.join([_strings.literal(self.prefix or "", n), digits])

    def make(self, ctx: Ctx) -> pa.Array:
        return self.at(ctx.rows, ctx.seed, ctx.table, ctx.column)


class Dates(Gen):
    """Dates (or times to the second) spread evenly between ``start`` and ``end``, inclusive."""

    def __init__(self, start: np.datetime64, end: np.datetime64, unit: str) -> None:
        self.start, self.end, self.unit = start, end, unit

    def make(self, ctx: Ctx) -> pa.Array:
        span = int((self.end - self.start) / np.timedelta64(1, self.unit))
        offsets = ctx.rng.integers(0, span + 1, ctx.n).astype(f"timedelta64[{self.unit}]")
        return pa.array(self.start + offsets)


class Formula(Gen):
    """An expression over other columns of the row (``price * qty``)."""

    def __init__(
        self,
        expression: Expression,
        *,
        integer: bool,
        decimals: int | None,
        low: float | None,
        high: float | None,
    ) -> None:
        self.expression, self.integer, self.decimals = expression, integer, decimals
        self.low, self.high = low, high
        self.needs = expression.names

    def make(self, ctx: Ctx) -> pa.Array:
        env = {name: as_numpy(ctx.values[name]) for name in self.needs}
        out = self.expression.evaluate(env, ctx.n)
        if out.dtype.kind == "M" or out.dtype == object:
            return pa.array(out, from_pandas=True)
        if self.low is not None or self.high is not None:
            out = np.clip(out, self.low, self.high)
        return _shape(out, self.integer, self.decimals)


class Conditional(Gen):
    """A column made one way per value of another column (``salary`` by ``role``)."""

    def __init__(self, parent: str, cases: list[tuple[Any, Gen]], default: Gen | None) -> None:
        self.parent, self.cases, self.default = parent, cases, default
        inner = [g for _, g in cases] + ([default] if default else [])
        self.needs = tuple(dict.fromkeys([parent, *(n for g in inner for n in g.needs)]))

    def make(self, ctx: Ctx) -> pa.Array:
        parent = ctx.values[self.parent]
        taken = np.zeros(ctx.n, dtype=bool)
        pieces: list[tuple[np.ndarray, pa.Array]] = []
        streams = ctx.rng.spawn(len(self.cases) + 1)
        for (value, gen), rng in zip(self.cases, streams, strict=False):
            scalar = _scalar(value, parent.type)
            mask = pc.fill_null(pc.equal(parent, scalar), False).to_numpy(zero_copy_only=False)
            mask &= ~taken
            taken |= mask
            if mask.any():
                pieces.append((mask, gen.make(ctx.subset(mask, rng))))
        rest = ~taken
        if rest.any():
            if self.default is not None:
                pieces.append((rest, self.default.make(ctx.subset(rest, streams[-1]))))
            else:
                pieces.append((rest, pa.nulls(int(rest.sum()))))
        return _scatter(pieces, ctx.n)


def _scalar(value: Any, kind: pa.DataType) -> pa.Scalar:
    """A case value in the parent column's type (YAML reads ``1`` as a number, ``x`` as text)."""
    if kind == pa.null():
        return pa.scalar(None)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pa.scalar(str(value).lower() if isinstance(value, bool) else str(value), kind)
    try:
        return pa.scalar(value).cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.scalar(None, kind)  # can never match: the default applies


def _scatter(pieces: list[tuple[np.ndarray, pa.Array]], n: int) -> pa.Array:
    """Arrays for disjoint row masks put back in row order."""
    if not pieces:  # no rows at all
        return pa.nulls(n)
    kinds = {p.type for _, p in pieces if p.type != pa.null()}
    if len(kinds) > 1:
        kind = pa.float64() if all(_numeric(k) for k in kinds) else pa.string()
    else:
        kind = kinds.pop() if kinds else pa.null()
    chunks = [p.cast(kind) for _, p in pieces]
    where = np.concatenate([np.flatnonzero(m) for m, _ in pieces])
    order = np.empty(n, dtype=np.int64)
    order[where] = np.arange(n)
    return pa.concat_arrays(chunks).take(pa.array(order))


def _numeric(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind)


class ForeignKey(Gen):
    """A parent's key: per parent row for the children-per-parent key, else a random parent."""

    def __init__(self, table: str, column: str, per_parent: Dist | None) -> None:
        self.table, self.column, self.per_parent = table, column, per_parent

    def make(self, ctx: Ctx) -> pa.Array:
        assert ctx.keys is not None
        if self.per_parent is not None and ctx.parents is not None:
            rows = ctx.parents
        else:
            rows = ctx.rng.integers(0, max(1, ctx.parent_rows[self.table]), ctx.n)
        return ctx.keys(self.table, self.column, rows)
