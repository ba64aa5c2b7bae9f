"""Reading and writing tables: CSV, Parquet, JSON Lines, Excel and SQL.

The format comes from the file suffix (or a ``dialect://`` URL for a
database). Every write goes to a temporary file beside the target and is
renamed into place only when complete, so a failure never leaves a
half-written file; input files are only ever opened for reading.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from simulacra.errors import InputError

__all__ = [
    "FORMATS",
    "atomic_write_text",
    "is_database_url",
    "read_table",
    "write_arrow_batches",
    "write_batches",
    "write_table",
]

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "excel",
}
EXCEL_MAX_ROWS = 1_048_575


def is_database_url(source: object) -> bool:
    return isinstance(source, str) and "://" in source


def _format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path}: unknown file type {path.suffix or '(no suffix)'!r}; use one of "
            f"{', '.join(sorted(FORMATS))}, or a database URL such as sqlite:///file.db"
        )
    return fmt


# ---------------------------------------------------------------------- read
def read_table(source: str | Path | pd.DataFrame, *, table: str | None = None) -> pd.DataFrame:
    """Read a table from a DataFrame, a file (by suffix) or a database URL.

    >>> read_table(pd.DataFrame({"a": [1]})).shape
    (1, 1)
    """
    if isinstance(source, pd.DataFrame):
        return source.copy()
    if is_database_url(source):
        return _read_sql(str(source), table)
    path = Path(source)
    fmt = _format_of(path)
    if not path.exists():
        raise InputError(f"{path}: file not found; check the path")
    if not path.is_file():
        raise InputError(f"{path}: is a folder, not a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty; it needs a header row and data rows")
    reader = {"csv": _read_csv, "parquet": _read_parquet, "jsonl": _read_jsonl}.get(
        fmt, _read_excel
    )
    df = reader(path)
    if df.shape[1] == 0:
        raise InputError(f"{path}: no columns found; is this really a {fmt} file?")
    if len(df) == 0:
        raise InputError(f"{path}: has a header but no data rows; a model needs rows to learn")
    return df


def _read_csv(path: Path) -> pd.DataFrame:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    parse = pa_csv.ParseOptions(delimiter=delimiter)
    convert = pa_csv.ConvertOptions(strings_can_be_null=True)
    try:
        tbl = pa_csv.read_csv(path, parse_options=parse, convert_options=convert)
    except pa.ArrowInvalid as exc:
        raise InputError(_csv_error(path, delimiter, str(exc))) from None
    binary = [f.name for f in tbl.schema if pa.types.is_binary(f.type)]
    if binary:  # pyarrow keeps text that is not valid UTF-8 as raw bytes
        raise InputError(
            f"{path}: column {binary[0]!r} is not UTF-8 text; save the file as UTF-8 "
            "(in Excel: 'CSV UTF-8'; or iconv -f latin1 -t utf-8)"
        )
    # Keep timestamps as their source text, so that their format is learned and kept.
    stamps = [
        f.name for f in tbl.schema if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)
    ]
    df = tbl.to_pandas()
    if stamps:
        raw = pa_csv.read_csv(
            path,
            parse_options=parse,
            convert_options=pa_csv.ConvertOptions(
                include_columns=stamps,
                column_types={c: pa.string() for c in stamps},
                strings_can_be_null=True,
            ),
        ).to_pandas()
        for c in stamps:
            df[c] = raw[c]
    return df


def _csv_error(path: Path, delimiter: str, detail: str) -> str:
    """Find the first ragged row (only on the error path) and say where it is."""
    if "Empty CSV file" in detail:
        return f"{path}: has a header but no data rows; a model needs rows to learn"
    if "Expected" in detail and "columns" in detail:
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            rows = csv.reader(fh, delimiter=delimiter)
            width = len(next(rows, []))
            for row in rows:
                if len(row) != width:
                    return (
                        f"{path}: line {rows.line_num} has {len(row)} fields but the header has "
                        f"{width}; fix that row (a stray delimiter or a missing quote?)"
                    )
    if "UTF8" in detail or "utf8" in detail.lower():
        return f"{path}: not UTF-8 text; save the CSV as UTF-8 ({detail.splitlines()[0]})"
    return f"{path}: cannot be read as CSV: {detail.splitlines()[0]}"


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(
            f"{path}: not a valid Parquet file ({str(exc).splitlines()[0]}); "
            "check that the suffix matches the content"
        ) from None


def _read_jsonl(path: Path) -> pd.DataFrame:
    try:
        return (
            pd.read_json(path, lines=True, dtype_backend="numpy_nullable")
            .convert_dtypes(dtype_backend="numpy_nullable")
            .pipe(_numpy_dtypes)
        )
    except ValueError as exc:
        raise InputError(
            f"{path}: not valid JSON Lines (one JSON object per line): {exc}"
        ) from None


def _read_excel(path: Path) -> pd.DataFrame:
    try:
        return pd.read_excel(path, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many unrelated types for a bad file
        raise InputError(f"{path}: not a valid Excel .xlsx file ({exc})") from None


def _numpy_dtypes(df: pd.DataFrame) -> pd.DataFrame:
    """Nullable extension dtypes back to plain numpy ones (floats for ints with gaps)."""
    out = {}
    for name, col in df.items():
        if pd.api.types.is_bool_dtype(col.dtype) and col.isna().any():
            out[name] = col.astype(object)
        elif pd.api.types.is_integer_dtype(col.dtype):
            out[name] = col.astype("float64") if col.isna().any() else col.astype("int64")
        elif pd.api.types.is_float_dtype(col.dtype):
            out[name] = col.astype("float64")
        elif pd.api.types.is_bool_dtype(col.dtype):
            out[name] = col.astype(bool)
        else:
            out[name] = col
    return pd.DataFrame(out, index=df.index)


def _read_sql(url: str, table: str | None) -> pd.DataFrame:
    import sqlalchemy as sa

    if not table:
        raise InputError(f"{url}: a database source needs a table name (--table NAME)")
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(table):
                names = sa.inspect(conn).get_table_names()
                raise InputError(f"{url}: no table {table!r}; the database has {names}")
            df = pd.read_sql_table(table, conn)
    except sa.exc.SQLAlchemyError as exc:
        raise InputError(
            f"{url}: cannot read table {table!r}: {exc.__class__.__name__}: {exc}"
        ) from None
    if len(df) == 0:
        raise InputError(f"{url}: table {table!r} has no rows; a model needs rows to learn")
    return df


# --------------------------------------------------------------------- write
def _check_target(path: Path) -> None:
    if not path.parent.exists():
        raise InputError(f"{path}: the folder {path.parent} does not exist; create it first")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name")


@contextlib.contextmanager
def _atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that is renamed onto it on success."""
    _check_target(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); give it the mode it had, or the one
        # a plain open() would give
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_UMASK
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once, at import: os.umask is process-wide


def atomic_write_text(path: Path, text: str) -> None:
    with _atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with _atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_table(df: pd.DataFrame, dest: str | Path, *, table: str | None = None) -> None:
    """Write one DataFrame to a file (format by suffix) or a database table."""
    write_batches([df], dest, table=table)


def write_batches(
    batches: Iterable[pd.DataFrame], dest: str | Path, *, table: str | None = None
) -> int:
    """Stream batches into one file or table; return the number of rows written.

    Memory stays bounded by one batch (Excel, which cannot stream, excepted).
    Nothing appears at ``dest`` unless every batch was written.
    """
    if is_database_url(dest):
        return _write_sql(batches, str(dest), table)
    path = Path(dest)
    fmt = _format_of(path)
    with _atomic_path(path) as tmp:
        return _WRITERS[fmt](batches, tmp, path)


def write_arrow_batches(batches: Iterable[pa.Table], dest: str | Path) -> int:
    """Stream Arrow tables into one CSV, Parquet or JSON Lines file; return the rows written.

    Memory stays bounded by one batch; nothing appears at ``dest`` unless every
    batch was written. Columns are written as typed (dates as dates).
    """
    path = Path(dest)
    fmt = _format_of(path)
    if fmt == "excel":
        raise InputError(f"{path}: write .parquet, .csv or .jsonl when streaming batches")
    rows = 0
    with _atomic_path(path) as tmp:
        if fmt == "jsonl":
            return _write_jsonl((b.to_pandas(date_as_object=False) for b in batches), tmp, path)
        writer: Any = None
        schema: pa.Schema | None = None
        try:
            for batch in batches:
                if writer is None:
                    schema = batch.schema
                    if fmt == "parquet":
                        writer = pq.ParquetWriter(tmp, batch.schema)
                    else:
                        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
                        options = pa_csv.WriteOptions(delimiter=delimiter)
                        writer = pa_csv.CSVWriter(tmp, batch.schema, write_options=options)
                writer.write_table(batch.cast(schema))
                rows += batch.num_rows
        finally:
            if writer is not None:
                writer.close()
    return rows


def _write_csv(batches: Iterable[pd.DataFrame], tmp: Path, path: Path) -> int:
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    rows = 0
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        for i, batch in enumerate(batches):
            batch.to_csv(fh, index=False, header=i == 0, sep=sep)
            rows += len(batch)
    return rows


def _write_jsonl(batches: Iterable[pd.DataFrame], tmp: Path, path: Path) -> int:
    rows = 0
    with open(tmp, "w", encoding="utf-8") as fh:
        for batch in batches:
            if len(batch):
                text = batch.to_json(orient="records", lines=True, date_format="iso")
                fh.write(text if text.endswith("\n") else text + "\n")
            rows += len(batch)
    return rows


def _write_parquet(batches: Iterable[pd.DataFrame], tmp: Path, path: Path) -> int:
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for batch in batches:
            tbl = pa.Table.from_pandas(batch, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, tbl.schema)
            writer.write_table(tbl.cast(writer.schema))
            rows += len(batch)
    finally:
        if writer is not None:
            writer.close()
    return rows


def _write_excel(batches: Iterable[pd.DataFrame], tmp: Path, path: Path) -> int:
    df = pd.concat(list(batches), ignore_index=True)
    if len(df) > EXCEL_MAX_ROWS:
        raise InputError(
            f"{path}: Excel holds at most {EXCEL_MAX_ROWS:,} rows, asked for {len(df):,}; "
            "write .parquet or .csv instead"
        )
    with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
        _excel_safe(df).to_excel(xl, index=False)
    return len(df)


def _excel_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Excel has no time zones: write aware datetimes as UTC wall time."""
    out = df.copy()
    for name, col in out.items():
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            out[name] = col.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


_WRITERS: dict[str, Any] = {
    "csv": _write_csv,
    "jsonl": _write_jsonl,
    "parquet": _write_parquet,
    "excel": _write_excel,
}


def _write_sql(batches: Iterable[pd.DataFrame], url: str, table: str | None) -> int:
    import sqlalchemy as sa

    if not table:
        raise InputError(f"{url}: writing to a database needs a table name (--table NAME)")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        if sa.inspect(conn).has_table(table):
            raise InputError(
                f"{url}: table {table!r} already exists; choose another name or drop it"
            )
    rows = 0
    try:
        with engine.begin() as conn:  # one transaction: all rows or none
            for batch in batches:
                batch.to_sql(table, conn, if_exists="append", index=False)
                rows += len(batch)
    except BaseException as exc:
        # Some drivers (SQLite's) commit CREATE TABLE outside the transaction: undo it.
        with engine.begin() as conn:
            sa.Table(table, sa.MetaData()).drop(conn, checkfirst=True)
        if isinstance(exc, sa.exc.SQLAlchemyError):
            raise InputError(f"{url}: cannot write table {table!r}: {exc}") from None
        raise
    return rows
