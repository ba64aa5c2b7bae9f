"""Making the tables of a spec: parents first, in blocks, with keys that join.

Rows are made in blocks of :data:`BLOCK` rows; each block of each column has
its own random stream (:mod:`simulacra.spec.seeds`), so the output does not
depend on the batch size, any block can be made on its own, and a table of
any length streams to disk in bounded memory. A child table whose foreign key
sets the rows per parent is made parent block by parent block: the number of
children of each parent is drawn from its own stream, so the child's row
count is known before any of its rows are made.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from simulacra.errors import InputError, InvalidParameterError, SpecError
from simulacra.spec import correlation
from simulacra.spec.build import Spec, TableSpec, parse_rows
from simulacra.spec.columns import Ctx, PatternGen
from simulacra.spec.providers import Pools
from simulacra.spec.seeds import stream

__all__ = ["BLOCK", "FORMATS", "Run", "to_frame"]

BLOCK = 65_536
FORMATS = {"csv": ".csv", "parquet": ".parquet", "jsonl": ".jsonl"}
MAX_REDRAWS = 50
Progress = Callable[[str, int, int], None]  # (table, rows done, rows in all)


@dataclass
class _Chunk:
    index: int
    rows: np.ndarray
    parents: np.ndarray | None


class Run:
    """One generation run: a spec, row counts per table and a seed."""

    def __init__(self, spec: Spec, rows: Mapping[str, Any] | None = None, seed: int = 0) -> None:
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InvalidParameterError(f"seed must be a whole number >= 0, got {seed!r}")
        self.spec, self.seed = spec, int(seed)
        self.pools = Pools(self.seed)
        asked = self._asked(rows or {})
        self.rows: dict[str, int] = {}
        for name, table in spec.tables.items():
            self.rows[name] = self._count(table, asked.get(name))
            self._check_capacity(table)
            self._check_parents(table)

    def _asked(self, rows: Mapping[str, Any]) -> dict[str, int]:
        out = {}
        for name, value in rows.items():
            table = self.spec.tables.get(name)
            if table is None:
                close = difflib.get_close_matches(name, list(self.spec.tables), n=1)
                hint = (
                    f"did you mean {close[0]!r}?"
                    if close
                    else f"it has {', '.join(self.spec.tables)}"
                )
                raise InvalidParameterError(
                    f"rows for {name!r}: the spec has no such table; {hint}"
                )
            try:
                out[name] = parse_rows(value)
            except ValueError:
                raise InvalidParameterError(
                    f"rows for {name!r} must be a whole number, e.g. 1000 or 1e6; got {value!r}"
                ) from None
            if table.child_of is not None:
                raise InvalidParameterError(
                    f"rows of {name!r} follow from {table.child_of[1]!r} (children per parent); "
                    f"set the rows of {table.child_of[1]!r} instead"
                )
        return out

    def _count(self, table: TableSpec, asked: int | None) -> int:
        if table.child_of is None:
            return asked if asked is not None else int(table.rows or 0)
        return sum(len(chunk.rows) for chunk in self._chunks(table, counts_only=True))

    def _check_capacity(self, table: TableSpec) -> None:
        for col, gen in table.columns.items():
            if (
                isinstance(gen, PatternGen)
                and gen.unique
                and self.rows[table.name] > gen.pattern.capacity
            ):
                raise SpecError(
                    f"table {table.name!r}, column {col!r}: pattern {gen.pattern.text!r} holds "
                    f"{gen.pattern.capacity:,} unique values but {self.rows[table.name]:,} rows "
                    "are asked for; make the pattern longer",
                    where=self.spec.name,
                )

    def _check_parents(self, table: TableSpec) -> None:
        empty = sorted(p for p in table.parents if self.rows.get(p) == 0)
        if empty and self.rows[table.name] > 0:
            raise SpecError(
                f"table {table.name!r} has foreign keys to {', '.join(map(repr, empty))}, which "
                "has no rows; give the parent rows, or this table none",
                where=self.spec.name,
            )

    # ------------------------------------------------------------------ blocks
    def _chunks(self, table: TableSpec, *, counts_only: bool = False) -> Iterator[_Chunk]:
        if table.child_of is None:
            total = self.rows[table.name]
            for b in range(math.ceil(total / BLOCK)):
                yield _Chunk(b, np.arange(b * BLOCK, min(total, (b + 1) * BLOCK)), None)
            return
        column, parent, children = table.child_of
        parents = self.rows[parent]
        mean = float(np.mean(children.ppf((np.arange(1024) + 0.5) / 1024)))
        per_chunk = max(1, int(BLOCK // max(1.0, mean)))
        offset = 0
        for b in range(math.ceil(parents / per_chunk)):
            low, high = b * per_chunk, min(parents, (b + 1) * per_chunk)
            rng = stream(self.seed, table.name, column, "per_parent", b)
            counts = np.maximum(np.rint(children.draw(rng, high - low)), 0).astype(np.int64)
            total = int(counts.sum())
            rows = np.arange(offset, offset + total)
            offset += total
            owners = None if counts_only else np.repeat(np.arange(low, high), counts)
            yield _Chunk(b, rows, owners)

    def _key(self, table: str, column: str, rows: np.ndarray) -> pa.Array:
        gen = self.spec.tables[table].columns[column]
        return gen.at(rows, self.seed, table, column)  # type: ignore[attr-defined]

    def _block(self, table: TableSpec, chunk: _Chunk, attempt: int = 0) -> dict[str, pa.Array]:
        n, name, b = len(chunk.rows), table.name, chunk.index
        uniforms: dict[str, np.ndarray] = {}
        for i, (cols, factor) in enumerate(table.groups):
            u = correlation.uniforms(factor, n, stream(self.seed, name, f"~copula{i}", b, attempt))
            uniforms.update({c: u[:, j] for j, c in enumerate(cols)})
        values: dict[str, pa.Array] = {}
        for col in table.order:
            ctx = Ctx(
                n=n,
                rows=chunk.rows,
                rng=stream(self.seed, name, col, b, attempt),
                values=values,
                pools=self.pools,
                seed=self.seed,
                table=name,
                column=col,
                uniforms=uniforms.get(col),
                parents=chunk.parents,
                parent_rows=self.rows,
                keys=self._key,
            )
            made = table.columns[col].make(ctx)
            share = table.nulls.get(col, 0.0)
            if share > 0:
                null = stream(self.seed, name, col, "~nulls", b, attempt).random(n) < share
                made = pc.if_else(pa.array(null), pa.scalar(None, made.type), made)
            values[col] = made
        return {col: values[col] for col in table.columns}

    def batches(self, name: str) -> Iterator[pa.Table]:
        """The blocks of table ``name`` in order, as Arrow tables (at least one, maybe empty)."""
        table = self.spec.tables[name]
        state = table.rules.new_run_state() if table.rules else None
        schema: pa.Schema | None = None
        for chunk in self._chunks(table):
            block = pa.table(self._block(table, chunk))
            if table.rules is not None:
                block = self._enforce(table, chunk, block, state)
            schema = schema or block.schema
            yield block.cast(schema)
        if schema is None:
            empty = self._block(
                table, _Chunk(0, np.arange(0), None if not table.child_of else np.arange(0))
            )
            yield pa.table(empty)

    def _enforce(self, table: TableSpec, chunk: _Chunk, block: pa.Table, state: Any) -> pa.Table:
        """Repair what the rules can repair; draw the rows that still break one again."""
        rules = table.rules
        assert rules is not None
        frame = rules.repair(to_frame(block))
        ok = rules.holds(frame, state)
        for attempt in range(1, MAX_REDRAWS + 1):
            if ok.all():
                break
            bad = np.flatnonzero(~ok)
            redo = _Chunk(
                chunk.index,
                chunk.rows[bad],
                None if chunk.parents is None else chunk.parents[bad],
            )
            fresh = rules.repair(to_frame(pa.table(self._block(table, redo, attempt))))
            for col in frame.columns:
                frame[col] = _spliced(frame[col], fresh[col], bad)
            ok = rules.holds(frame, state)
        if not ok.all():
            broken = {k: v for k, v in rules.failures(frame, state).items() if v}
            raise SpecError(
                f"table {table.name!r}: rows still break {broken} after {MAX_REDRAWS} redraws; "
                "the rule is (nearly) impossible with these columns: loosen it or change them",
                where=self.spec.name,
            )
        rules.remember(frame, state)
        return pa.Table.from_pandas(frame, preserve_index=False).cast(block.schema)

    # ------------------------------------------------------------------ output
    def tables(self, progress: Progress | None = None) -> dict[str, pd.DataFrame]:
        out = {}
        for name in self.spec.tables:
            blocks = list(self._tracked(name, progress))
            out[name] = to_frame(pa.concat_tables(blocks))
        return out

    def _tracked(self, name: str, progress: Progress | None) -> Iterator[pa.Table]:
        done = 0
        for block in self.batches(name):
            done += block.num_rows
            if progress is not None:
                progress(name, done, self.rows[name])
            yield block

    def write(
        self,
        out_dir: str | Path,
        *,
        format: str = "parquet",
        batch_size: int = 1_000_000,
        progress: Progress | None = None,
        replace: bool = False,
    ) -> dict[str, Path]:
        from simulacra.io import write_arrow_batches

        if format not in FORMATS:
            raise InvalidParameterError(f"format {format!r} is not one of {', '.join(FORMATS)}")
        if batch_size < 1:
            raise InvalidParameterError(f"batch_size must be at least 1, got {batch_size}")
        folder = Path(out_dir)
        if folder.exists() and not folder.is_dir():
            raise InputError(f"{folder}: is a file; give a folder for the tables")
        paths = {name: folder / f"{name}{FORMATS[format]}" for name in self.spec.tables}
        taken = [str(p) for p in paths.values() if p.exists()]
        if taken and not replace:  # checked before any table is written
            raise InputError(
                f"{folder}: already has {', '.join(taken)}; choose another folder or pass "
                "replace=True (--replace)"
            )
        folder.mkdir(parents=True, exist_ok=True)
        for name, path in paths.items():
            write_arrow_batches(_grouped(self._tracked(name, progress), batch_size), path)
        return paths


def _grouped(blocks: Iterator[pa.Table], batch_size: int) -> Iterator[pa.Table]:
    """Blocks joined (or cut) into batches of about ``batch_size`` rows."""
    held: list[pa.Table] = []
    count = 0
    for block in blocks:
        held.append(block)
        count += block.num_rows
        if count >= batch_size:
            yield pa.concat_tables(held)
            held, count = [], 0
    if held:
        yield pa.concat_tables(held)


def _spliced(old: pd.Series, new: pd.Series, rows: np.ndarray) -> pd.Series:
    values = old.to_numpy(copy=True, dtype=object if old.dtype == object else None)
    if values.dtype.kind not in "biufM" or new.dtype != old.dtype:
        values = old.astype(object).to_numpy(copy=True)
    values[rows] = new.to_numpy()
    return pd.Series(values, index=old.index, name=old.name).astype(old.dtype)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as a DataFrame: whole numbers with gaps as ``Int64``, dates as datetimes."""
    frame = table.to_pandas(date_as_object=False)
    for field in table.schema:
        if not (pa.types.is_integer(field.type) and table.column(field.name).null_count):
            continue
        column = table.column(field.name).combine_chunks()
        values = pc.fill_null(column, 0).to_numpy().astype(np.int64)
        null = column.is_null().to_numpy(zero_copy_only=False)
        frame[field.name] = pd.arrays.IntegerArray(values, null)
    return frame
