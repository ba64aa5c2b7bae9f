"""Reading and writing several tables: a folder of files, a dict, or a database URL.

Writing to a database creates every table with its primary and foreign keys
and inserts the rows parents first, all inside one transaction: a failure
leaves nothing behind. Files are written one by one, each atomically.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from simulacra.errors import InputError
from simulacra.io import FORMATS, is_database_url, read_table, write_table

if TYPE_CHECKING:
    import sqlalchemy as sa

    from simulacra.relational.metadata import ForeignKey, MultiTableMetadata

__all__ = ["read_tables", "reflect_keys", "safe_url", "write_tables"]

WRITE_FORMATS = ("csv", "parquet")
INSERT_BATCH = 50_000  # rows per INSERT batch: bounds the Python objects held at once


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even a URL: show nothing secret-looking
        return url.split("@")[-1]


@contextmanager
def _connect(url: str) -> Iterator[sa.Connection]:
    """A connection, with one readable error for a URL that cannot be reached."""
    import sqlalchemy as sa

    shown = safe_url(url)
    try:
        engine = _engine(url)
        conn = engine.connect()
    except (sa.exc.SQLAlchemyError, ImportError, ValueError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise InputError(
            f"{shown}: cannot connect to the database ({detail.replace(url, shown)}); check "
            "the host, port, database name and credentials, and that the server is running"
        ) from None
    try:
        yield conn
    finally:
        conn.close()
        engine.dispose()


def _engine(url: str) -> sa.Engine:
    """An engine; for SQLite, one whose transactions cover CREATE TABLE and check keys."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, record: Any) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below rule
            dbapi_conn.execute("PRAGMA foreign_keys=ON")

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

    return engine


# ---------------------------------------------------------------------- read
def read_tables(
    source: str | Path | dict[str, pd.DataFrame], *, where: str | None = None
) -> dict[str, pd.DataFrame]:
    """Every table of a dict (copied), a folder of CSV/Parquet files, or a database URL."""
    if isinstance(source, dict):
        return {str(k): read_table(v) for k, v in source.items()}
    if is_database_url(source):
        return _read_database(str(source))
    folder = Path(source)
    if not folder.exists():
        raise InputError(f"{folder}: folder not found; check the path")
    if not folder.is_dir():
        raise InputError(
            f"{folder}: is a file; give a folder with one CSV or Parquet file per table, "
            "or a database URL such as sqlite:///shop.db"
        )
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in FORMATS and p.is_file())
    if not files:
        raise InputError(f"{folder}: no table files found (one .csv or .parquet file per table)")
    stems = [p.stem for p in files]
    twice = sorted({s for s in stems if stems.count(s) > 1})
    if twice:
        raise InputError(f"{folder}: table(s) {twice} have more than one file; keep one each")
    return {p.stem: read_table(p) for p in files}


def _read_database(url: str) -> dict[str, pd.DataFrame]:
    import sqlalchemy as sa

    with _connect(url) as conn:
        names = sa.inspect(conn).get_table_names()
        if not names:
            raise InputError(f"{safe_url(url)}: the database has no tables")
        return {name: pd.read_sql_table(name, conn) for name in names}


def reflect_keys(url: str) -> tuple[dict[str, list[str]], list[ForeignKey]]:
    """Primary and foreign keys (composite ones too) as the database declares them."""
    import sqlalchemy as sa

    from simulacra.relational.metadata import ForeignKey

    pks: dict[str, list[str]] = {}
    fks: list[ForeignKey] = []
    with _connect(url) as conn:
        inspector = sa.inspect(conn)
        for name in inspector.get_table_names():
            pks[name] = list(inspector.get_pk_constraint(name).get("constrained_columns") or [])
            nullable = {c["name"]: c.get("nullable", True) for c in inspector.get_columns(name)}
            for fk in inspector.get_foreign_keys(name):
                cols = tuple(fk["constrained_columns"])
                fks.append(
                    ForeignKey(
                        table=name,
                        columns=cols,
                        parent=fk["referred_table"],
                        parent_columns=tuple(fk["referred_columns"]),
                        nullable=all(nullable.get(c, True) for c in cols),
                    )
                )
    return pks, fks


# --------------------------------------------------------------------- write
def write_tables(
    tables: dict[str, pd.DataFrame],
    dest: str | Path,
    *,
    metadata: MultiTableMetadata | None = None,
    format: str = "csv",
    replace: bool = False,
) -> list[str]:
    """Write every table to a database URL or a folder (one ``<table>.<format>`` file each).

    Returns where each table went. A database gets the schema with its keys
    (from ``metadata``), rows inserted parents first in one transaction; it
    refuses tables that already exist unless ``replace`` is true.
    """
    if is_database_url(dest):
        return _write_database(tables, str(dest), metadata, replace)
    if format not in WRITE_FORMATS:
        raise InputError(f"--format {format!r} is not supported; use one of {WRITE_FORMATS}")
    folder = Path(dest)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: is a file; give a folder for the tables")
    if not folder.parent.exists():
        raise InputError(f"{folder}: the folder {folder.parent} does not exist; create it first")
    targets = {name: folder / f"{name}.{format}" for name in tables}
    taken = sorted(str(p) for p in targets.values() if p.exists())
    if taken and not replace:
        raise InputError(
            f"{folder}: already has {', '.join(taken)}; choose another folder or pass "
            "replace=True (--replace)"
        )
    folder.mkdir(exist_ok=True)
    for name, df in tables.items():
        write_table(df, targets[name])
    return [str(p) for p in targets.values()]


def _sql_type(series: pd.Series) -> Any:
    import sqlalchemy as sa

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return sa.Boolean()
    if pd.api.types.is_integer_dtype(dtype):
        return sa.BigInteger()
    if pd.api.types.is_float_dtype(dtype):
        return sa.Float()
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return sa.DateTime(timezone=isinstance(dtype, pd.DatetimeTZDtype))
    if pd.api.types.is_object_dtype(dtype):  # e.g. booleans or whole numbers with gaps
        kind = pd.api.types.infer_dtype(series, skipna=True)
        known = {
            "boolean": sa.Boolean,
            "integer": sa.BigInteger,
            "floating": sa.Float,
            "mixed-integer-float": sa.Float,
            "datetime": sa.DateTime,
            "date": sa.Date,
        }
        if kind in known:
            return known[kind]()
    return sa.Text()


def _schema(
    tables: dict[str, pd.DataFrame], meta: MultiTableMetadata | None
) -> tuple[sa.MetaData, list[str]]:
    """SQLAlchemy tables with their keys, and the order to fill them (parents first)."""
    import sqlalchemy as sa

    schema = sa.MetaData()
    order = list(tables)
    if meta is not None:
        order = [t for t in meta.dependency_order()[0] if t in tables]
        order += [t for t in tables if t not in order]
    for name in order:
        df = tables[name]
        key = meta.primary_keys.get(name, []) if meta else []
        columns = [
            sa.Column(str(c), _sql_type(df[c]), primary_key=c in key, nullable=c not in key)
            for c in df.columns
        ]
        links = [
            sa.ForeignKeyConstraint(
                list(fk.columns),
                [f"{fk.parent}.{c}" for c in fk.parent_columns],
                deferrable=True,
                initially="DEFERRED",  # checked at commit: cycles insert in any order
            )
            for fk in (meta.parents(name) if meta else [])
            if fk.parent in tables
        ]
        sa.Table(name, schema, *columns, *links)
    return schema, order


def _write_database(
    tables: dict[str, pd.DataFrame], url: str, meta: MultiTableMetadata | None, replace: bool
) -> list[str]:
    import sqlalchemy as sa

    shown = safe_url(url)
    schema, order = _schema(tables, meta)
    with _connect(url) as conn:
        existing = sorted(set(sa.inspect(conn).get_table_names()) & set(tables))
        if existing and not replace:
            raise InputError(
                f"{shown}: already has table(s) {existing}; write to another database or pass "
                "replace=True (--replace) to drop and rewrite them"
            )
        conn.rollback()  # end the inspection's implicit transaction
        try:
            with conn.begin():  # one transaction: every table or none
                if existing:
                    schema.drop_all(conn, checkfirst=True)
                schema.create_all(conn)
                for name in order:
                    insert = schema.tables[name].insert()
                    for batch in _batches(tables[name], INSERT_BATCH):
                        conn.execute(insert, batch)
        except sa.exc.SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", exc)).splitlines()[0]
            raise InputError(
                f"{shown}: writing the tables failed, nothing was written ({detail})"
            ) from None
    return [f"{shown} table {name}" for name in order]


def _batches(df: pd.DataFrame, rows: int) -> Iterator[list[dict[str, Any]]]:
    """Rows as plain Python values (None for missing cells), ``rows`` at a time.

    Only one batch is ever converted to Python objects, so a million-row
    table is inserted in bounded memory.
    """
    for start in range(0, len(df), rows):
        part = df.iloc[start : start + rows]
        yield part.astype(object).where(part.notna(), None).to_dict("records")
