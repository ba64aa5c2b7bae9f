"""Multi-table metadata: tables, primary keys and foreign keys, as editable JSON.

Each table's columns are a single-table :class:`simulacra.Metadata`; the keys
live here, so that a primary key may be composite and a table may have any
number of foreign keys (several to one parent, to itself, or from its own
primary key). Guessing keys from data lives in ``_detect.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simulacra.errors import InvalidDataError
from simulacra.metadata import Metadata, read_json, write_json

__all__ = ["MULTI_METADATA_VERSION", "ForeignKey", "MultiTableMetadata"]

MULTI_METADATA_VERSION = 1
_EXAMPLES = 3  # missing key values named in an error


@dataclass(frozen=True)
class ForeignKey:
    """``table.columns`` refer to ``parent.parent_columns`` (the parent's primary key).

    ``nullable`` says the link may be empty; only a nullable link can break a cycle.
    """

    table: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    nullable: bool = False

    @property
    def name(self) -> str:
        return f"{self.table}.{'+'.join(self.columns)}"

    @property
    def self_reference(self) -> bool:
        return self.table == self.parent

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "columns": list(self.columns),
            "parent": self.parent,
            "parent_columns": list(self.parent_columns),
            "nullable": self.nullable,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ForeignKey:
        need = {"table", "columns", "parent", "parent_columns"}
        if not isinstance(data, dict) or not need <= set(data):
            raise InvalidDataError(
                f"a foreign key must be an object with {sorted(need)} (and 'nullable'); "
                f"got {data!r}"
            )
        return cls(
            table=data["table"],
            columns=_names(data["columns"]),
            parent=data["parent"],
            parent_columns=_names(data["parent_columns"]),
            nullable=bool(data.get("nullable", False)),
        )


def _names(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass
class MultiTableMetadata:
    """Tables (each a :class:`simulacra.Metadata`), their primary keys and foreign keys.

    >>> import pandas as pd
    >>> tables = {
    ...     "customers": pd.DataFrame({"id": [1, 2, 3], "age": [30, 40, 50]}),
    ...     "orders": pd.DataFrame({"id": [1, 2, 3, 4], "customer_id": [1, 1, 3, 2]}),
    ... }
    >>> meta = MultiTableMetadata.detect(tables)
    >>> meta.primary_keys["orders"], [fk.name for fk in meta.foreign_keys]
    (['id'], ['orders.customer_id'])
    >>> MultiTableMetadata.from_json(meta.to_json()) == meta
    True
    """

    tables: dict[str, Metadata] = field(default_factory=dict)
    primary_keys: dict[str, list[str]] = field(default_factory=dict)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    version: int = MULTI_METADATA_VERSION

    # ----------------------------------------------------------------- build
    @classmethod
    def detect(cls, tables: dict[str, pd.DataFrame]) -> MultiTableMetadata:
        """Guess columns, primary keys and foreign keys from names and uniqueness evidence."""
        from simulacra.relational._detect import detect_multi

        return detect_multi(tables)

    @classmethod
    def from_database(
        cls, url: str, *, tables: dict[str, pd.DataFrame] | None = None
    ) -> MultiTableMetadata:
        """Keys by SQLAlchemy reflection; column types detected from the rows.

        ``tables`` are the database's rows when already read (else they are read).
        A table that declares no primary key gets a guessed one, and a database
        that declares no foreign key at all gets guessed ones, as in :meth:`detect`.
        """
        from simulacra.relational._detect import detect_multi, guess_keys
        from simulacra.relational.io import read_tables, reflect_keys

        frames = read_tables(url) if tables is None else tables
        primary, foreign = reflect_keys(url)
        guessed_pks, guessed_fks = guess_keys(frames, primary)
        return detect_multi(frames, primary_keys=guessed_pks, foreign_keys=foreign or guessed_fks)

    def keys_of(self, table: str) -> set[str]:
        """Every key column of ``table`` (primary and foreign): regenerated, never learned."""
        out = set(self.primary_keys.get(table, []))
        for fk in self.foreign_keys:
            if fk.table == table:
                out.update(fk.columns)
        return out

    def children(self, table: str) -> list[ForeignKey]:
        return [fk for fk in self.foreign_keys if fk.parent == table]

    def parents(self, table: str) -> list[ForeignKey]:
        return [fk for fk in self.foreign_keys if fk.table == table]

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "tables": {
                name: {**meta.to_dict(), "primary_key": self.primary_keys.get(name, [])}
                for name, meta in self.tables.items()
            },
            "foreign_keys": [fk.to_dict() for fk in self.foreign_keys],
        }

    @classmethod
    def from_dict(cls, data: Any, *, where: str | None = None) -> MultiTableMetadata:
        if not isinstance(data, dict) or not isinstance(data.get("tables"), dict):
            raise InvalidDataError(
                "multi-table metadata must be a JSON object with a 'tables' object", where=where
            )
        version = data.get("version", MULTI_METADATA_VERSION)
        if not isinstance(version, int) or version > MULTI_METADATA_VERSION:
            raise InvalidDataError(
                f"multi-table metadata version {version!r} is newer than this simulacra "
                f"understands ({MULTI_METADATA_VERSION}); upgrade simulacra",
                where=where,
            )
        problems: list[str] = []
        tables, keys = {}, {}
        for name, spec in data["tables"].items():
            if not isinstance(spec, dict):
                problems.append(f"table {name!r} must be a JSON object")
                continue
            spec = dict(spec)
            keys[name] = list(_names(spec.pop("primary_key", None) or []))
            try:
                tables[name] = Metadata.from_dict(spec)
            except InvalidDataError as exc:
                problems += [f"table {name!r}: {p}" for p in exc.problems]
        fks = []
        for item in data.get("foreign_keys", []):
            try:
                fks.append(ForeignKey.from_dict(item))
            except InvalidDataError as exc:
                problems += exc.problems
        meta = cls(tables=tables, primary_keys=keys, foreign_keys=fks, version=version)
        problems += meta.problems()
        if problems:
            raise InvalidDataError(problems, where=where)
        return meta

    def to_json(self, path: str | Path | None = None) -> str:
        return write_json(self.to_dict(), path)

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> MultiTableMetadata:
        """Read multi-table metadata from a JSON string or a ``.json`` file."""
        data, where = read_json(text_or_path)
        return cls.from_dict(data, where=where)

    # ------------------------------------------------------------ validation
    def problems(self) -> list[str]:
        """Every inconsistency in the declarations themselves (no data needed)."""
        out = []
        for name, meta in self.tables.items():
            out += [f"table {name!r}: {p}" for p in meta.problems()]
            for col in self.primary_keys.get(name, []):
                if col not in meta.columns:
                    out.append(
                        f"table {name!r}: primary key column {col!r} is not one of its columns"
                    )
        for fk in self.foreign_keys:
            if fk.table not in self.tables:
                out.append(f"foreign key {fk.name}: no table {fk.table!r}; add it or drop the key")
                continue
            missing = [c for c in fk.columns if c not in self.tables[fk.table].columns]
            if missing:
                out.append(f"foreign key {fk.name}: table {fk.table!r} has no column(s) {missing}")
            if fk.parent not in self.tables:
                out.append(
                    f"foreign key {fk.name} refers to table {fk.parent!r}, which is not given; "
                    "add that table or remove the foreign key"
                )
            elif list(fk.parent_columns) != self.primary_keys.get(fk.parent, []):
                out.append(
                    f"foreign key {fk.name} refers to {fk.parent}{list(fk.parent_columns)}, "
                    f"but the primary key of {fk.parent!r} is "
                    f"{self.primary_keys.get(fk.parent, [])}; a foreign key must refer to "
                    "its parent's whole primary key"
                )
            elif len(fk.columns) != len(fk.parent_columns):
                out.append(
                    f"foreign key {fk.name}: has {len(fk.columns)} column(s) for a key of "
                    f"{len(fk.parent_columns)}"
                )
        try:
            self.dependency_order()
        except InvalidDataError as exc:
            out += exc.problems
        return out

    def validate(self, tables: dict[str, pd.DataFrame], *, where: str | None = None) -> None:
        """Check ``tables`` against this metadata; raise one error listing every problem."""
        problems = self.problems()
        for name in self.tables:
            if name not in tables:
                problems.append(f"table {name!r} is in the metadata but not among the tables given")
        for name in tables:
            if name not in self.tables:
                problems.append(
                    f"table {name!r} is given but not in the metadata; add it or leave it out"
                )
        for name, meta in self.tables.items():
            if name not in tables:
                continue
            df = tables[name]
            try:
                meta.validate(df)
            except InvalidDataError as exc:
                problems += [f"table {name!r}: {p}" for p in exc.problems]
            problems += _key_problems(name, df, self.primary_keys.get(name, []))
        for fk in self.foreign_keys:
            if fk.table in tables and fk.parent in tables:
                problems += _orphan_problems(fk, tables[fk.table], tables[fk.parent])
        if problems:
            raise InvalidDataError(problems, where=where)

    # ----------------------------------------------------------------- order
    def dependency_order(self) -> tuple[list[str], list[ForeignKey]]:
        """Tables parents first, and the links deferred to break cycles.

        Self-references are always deferred; a cycle between tables is broken
        at its nullable links, and a cycle with none is an error.
        """
        deferred = [fk for fk in self.foreign_keys if fk.self_reference]
        edges = [
            fk
            for fk in self.foreign_keys
            if not fk.self_reference and fk.table in self.tables and fk.parent in self.tables
        ]
        order = _topological(list(self.tables), edges)
        if len(order) < len(self.tables):
            stuck = set(self.tables) - set(order)
            breakable = [fk for fk in edges if fk.nullable and {fk.table, fk.parent} <= stuck]
            deferred += breakable
            edges = [fk for fk in edges if fk not in breakable]
            order = _topological(list(self.tables), edges)
            if len(order) < len(self.tables):
                stuck = sorted(set(self.tables) - set(order))
                links = [fk.name for fk in edges if {fk.table, fk.parent} <= set(stuck)]
                raise InvalidDataError(
                    f"tables {stuck} refer to each other in a cycle ({', '.join(links)}) with no "
                    "nullable link to break it; make one of these foreign keys nullable"
                )
        return order, deferred

    def __repr__(self) -> str:
        links = ", ".join(fk.name for fk in self.foreign_keys)
        return f"MultiTableMetadata({len(self.tables)} tables; foreign keys: {links or 'none'})"


def _topological(names: list[str], edges: list[ForeignKey]) -> list[str]:
    """Kahn's algorithm, keeping the given order among ready tables."""
    waiting = {n: {fk.parent for fk in edges if fk.table == n} for n in names}
    order: list[str] = []
    while True:
        ready = [n for n in names if n not in order and not waiting[n] - set(order)]
        if not ready:
            return order
        order += ready


def _key_problems(table: str, df: pd.DataFrame, key: list[str]) -> list[str]:
    present = [c for c in key if c in df.columns]
    if not present or len(present) < len(key):
        return []
    out = []
    nulls = df[present].isna().any(axis=1)
    if nulls.any():
        out.append(
            f"table {table!r}: primary key {present} has {int(nulls.sum())} row(s) with an empty "
            "value; every row needs a key (fill them or choose another key)"
        )
    dup = df[present].duplicated(keep=False) & ~nulls
    if dup.any():
        examples = df.loc[dup, present].drop_duplicates().head(_EXAMPLES)
        shown = ", ".join(
            str(tuple(r) if len(present) > 1 else r[0]) for r in examples.values.tolist()
        )
        out.append(
            f"table {table!r}: primary key {present} repeats values in {int(dup.sum())} rows "
            f"(e.g. {shown}); a key must be unique (deduplicate or choose another key)"
        )
    return out


def _orphan_problems(fk: ForeignKey, child: pd.DataFrame, parent: pd.DataFrame) -> list[str]:
    cols, pcols = list(fk.columns), list(fk.parent_columns)
    if not set(cols) <= set(child.columns) or not set(pcols) <= set(parent.columns):
        return []
    values = child[cols].dropna()
    out = []
    if not fk.nullable and len(values) < len(child):
        out.append(
            f"foreign key {fk.name} has {len(child) - len(values)} empty value(s) but is not "
            "nullable; fill them or declare the key nullable"
        )
    known = pd.MultiIndex.from_frame(parent[pcols].dropna().astype(object))
    have = pd.MultiIndex.from_frame(values.astype(object))
    missing = ~have.isin(known)
    if missing.any():
        examples = values[missing].drop_duplicates().head(_EXAMPLES)
        shown = ", ".join(
            str(tuple(r) if len(cols) > 1 else r[0]) for r in examples.values.tolist()
        )
        out.append(
            f"foreign key {fk.name}: {int(missing.sum())} row(s) refer to {fk.parent} rows that "
            f"do not exist (e.g. {shown}); add those parents or remove the rows"
        )
    return out
