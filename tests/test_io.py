"""Reading and writing tables: round trips, atomic writes, and clear errors for bad input."""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import simulacra
from simulacra.errors import InputError

FILE_SUFFIXES = [".csv", ".tsv", ".parquet", ".jsonl", ".xlsx"]


def _frame() -> pd.DataFrame:
    """A small table with one column of each plain kind, with gaps."""
    return pd.DataFrame(
        {
            "count": [3, 1, 4, 1, 5],
            "price": [2.5, None, 9.25, 0.75, 100.0],
            "city": ["Lyon", "Oslo", None, "Lima", "Oslo"],
            "active": [True, False, True, True, False],
            "joined": ["2024-01-31", "2023-12-01", "2024-02-29", "2022-07-04", "2024-01-01"],
        }
    )


def _cells(df: pd.DataFrame) -> dict[str, list]:
    """Column values as plain Python objects, every kind of missing value as None."""
    out = {}
    for name, col in df.items():
        values = []
        for v in col.astype(object):
            if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
                values.append(None)
            elif hasattr(v, "item"):
                values.append(v.item())
            else:
                values.append(v)
        out[name] = values
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/x.db"


def _tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("suffix", FILE_SUFFIXES)
def test_file_round_trip_keeps_values(tmp_path: Path, suffix: str) -> None:
    df = _frame()
    path = tmp_path / f"data{suffix}"
    simulacra.write_table(df, path)
    back = simulacra.read_table(path)
    assert list(back.columns) == list(df.columns)
    assert _cells(back) == _cells(df)
    # Every format keeps these dtypes (strings may come back as any string dtype,
    # JSON Lines uses pandas' nullable string dtype).
    assert back["count"].dtype == "int64"
    assert back["price"].dtype == "float64"
    assert back["active"].dtype == bool
    assert pd.api.types.is_string_dtype(back["city"].dtype)
    assert pd.api.types.is_string_dtype(back["joined"].dtype)


def test_sqlite_round_trip_keeps_values(tmp_path: Path) -> None:
    df = _frame()
    url = _sqlite(tmp_path)
    simulacra.write_table(df, url, table="people")
    back = simulacra.read_table(url, table="people")
    assert _cells(back) == _cells(df)
    assert back["count"].dtype == "int64"
    assert back["price"].dtype == "float64"


@pytest.mark.parametrize(
    ("suffix", "kept"),
    [(".csv", False), (".tsv", False), (".xlsx", False), (".parquet", True), (".jsonl", True)],
)
def test_null_markers_follow_each_formats_convention(
    tmp_path: Path, suffix: str, kept: bool
) -> None:
    """Text formats read 'NA', 'null' and 'N/A' as missing (as pandas and R do, documented in
    the README); typed formats keep them as text."""
    df = pd.DataFrame({"country": ["NA", "US", "NA", "null", "N/A"], "n": range(5)})
    path = tmp_path / f"countries{suffix}"
    simulacra.write_table(df, path)
    back = simulacra.read_table(path)["country"]
    if kept:
        assert back.tolist() == df["country"].tolist()
    else:
        assert back.isna().tolist() == [True, False, True, True, True]
        assert back[1] == "US"


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx", "sqlite"])
def test_native_datetimes_survive_formats_with_a_datetime_type(tmp_path: Path, suffix: str) -> None:
    stamps = pd.to_datetime(["2024-01-31 10:00:00", "2023-12-01 00:00:00", "2024-02-29 23:59:59"])
    df = pd.DataFrame({"at": stamps})
    if suffix == "sqlite":
        dest, table = _sqlite(tmp_path), "t"
    else:
        dest, table = tmp_path / f"d{suffix}", None
    simulacra.write_table(df, dest, table=table)
    back = simulacra.read_table(dest, table=table)
    assert pd.api.types.is_datetime64_any_dtype(back["at"].dtype)
    assert list(back["at"]) == list(stamps)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_native_datetimes_become_parseable_text_in_text_formats(
    tmp_path: Path, suffix: str
) -> None:
    """CSV and JSON have no datetime type: the reader keeps the written text."""
    stamps = pd.to_datetime(["2024-01-31 10:00:00", "2023-12-01 00:00:00", "2024-02-29 23:59:59"])
    path = tmp_path / f"d{suffix}"
    simulacra.write_table(pd.DataFrame({"at": stamps}), path)
    back = simulacra.read_table(path)
    assert pd.api.types.is_string_dtype(back["at"].dtype)
    assert list(pd.to_datetime(back["at"], format="ISO8601")) == list(stamps)


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("2024-01-31", "%Y-%m-%d"),
        ("31/01/2024", "%d/%m/%Y"),
        ("2024-01-31 10:15:00", "%Y-%m-%d %H:%M:%S"),
        ("2024-01-31T10:15:00", "%Y-%m-%dT%H:%M:%S"),
    ],
)
def test_csv_date_strings_stay_strings(tmp_path: Path, text: str, fmt: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(f"when,n\n{text},1\n{text},2\n", encoding="utf-8")
    back = simulacra.read_table(path)
    assert pd.api.types.is_string_dtype(back["when"].dtype)
    assert list(back["when"]) == [text, text]
    # ... so that detection learns the source's own format
    meta = simulacra.Metadata.detect(back)
    assert meta.columns["when"].type == "datetime"
    assert meta.columns["when"].format == fmt


def test_write_batches_streams_every_batch(tmp_path: Path) -> None:
    parts = [_frame(), _frame(), _frame().iloc[:2]]
    path = tmp_path / "out.parquet"
    written = simulacra.write_batches(iter(parts), path)
    assert written == 12
    back = simulacra.read_table(path)
    assert _cells(back) == _cells(pd.concat(parts, ignore_index=True))


# --------------------------------------------------------------- atomic writes
def _failing_batches():
    yield _frame()
    yield _frame()
    raise RuntimeError("generator broke midway")


@pytest.mark.parametrize("suffix", FILE_SUFFIXES)
def test_failed_write_leaves_no_file_and_no_temp_files(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RuntimeError, match="midway"):
        simulacra.write_batches(_failing_batches(), out / f"synthetic{suffix}")
    assert os.listdir(out) == []


@pytest.mark.parametrize("suffix", FILE_SUFFIXES)
def test_failed_write_leaves_existing_target_untouched(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"synthetic{suffix}"
    simulacra.write_table(_frame().iloc[:1], target)
    before = _sha256(target)
    with pytest.raises(RuntimeError, match="midway"):
        simulacra.write_batches(_failing_batches(), target)
    assert _sha256(target) == before
    assert sorted(os.listdir(tmp_path)) == [target.name]


def test_failed_sql_write_leaves_no_table(tmp_path: Path) -> None:
    """One transaction: a failure midway leaves neither rows nor an empty table behind."""
    url = _sqlite(tmp_path)
    with pytest.raises(RuntimeError, match="midway"):
        simulacra.write_batches(_failing_batches(), url, table="synthetic")
    assert "synthetic" not in _tables(url)
    # ... so that the same write can simply be run again.
    simulacra.write_table(_frame(), url, table="synthetic")
    assert len(simulacra.read_table(url, table="synthetic")) == 5


def test_sql_write_to_existing_table_errors_and_writes_nothing(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    simulacra.write_table(_frame(), url, table="people")
    with pytest.raises(InputError, match="already exists") as info:
        simulacra.write_table(_frame().iloc[:2], url, table="people")
    assert "'people'" in str(info.value)
    assert len(simulacra.read_table(url, table="people")) == 5


def test_sql_needs_a_table_name(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    with pytest.raises(InputError, match="table name"):
        simulacra.write_table(_frame(), url)
    simulacra.write_table(_frame(), url, table="people")
    with pytest.raises(InputError, match="table name"):
        simulacra.read_table(url)
    with pytest.raises(InputError, match="people"):  # names the tables it does have
        simulacra.read_table(url, table="persons")


@pytest.mark.parametrize("suffix", [*FILE_SUFFIXES, "sqlite"])
def test_reading_never_modifies_the_input(tmp_path: Path, suffix: str) -> None:
    source: str | Path
    if suffix == "sqlite":
        path, source, table = tmp_path / "x.db", _sqlite(tmp_path), "t"
    else:
        path = source = tmp_path / f"in{suffix}"
        table = None
    simulacra.write_table(_frame(), source, table=table)
    before, mtime = _sha256(path), path.stat().st_mtime_ns
    df = simulacra.read_table(source, table=table)
    df.iloc[0, 0] = 999  # changing the frame must not reach the file
    assert _sha256(path) == before
    assert path.stat().st_mtime_ns == mtime


def test_reading_a_dataframe_gives_a_copy() -> None:
    df = _frame()
    out = simulacra.read_table(df)
    out.iloc[0, 0] = 999
    assert df.iloc[0, 0] == 3


# ----------------------------------------------------------------- read errors
def _assert_input_error(path: Path, *needles: str) -> str:
    with pytest.raises(InputError) as info:
        simulacra.read_table(path)
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message, f"{needle!r} missing from {message!r}"
    return message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    _assert_input_error(path, "empty", "header row")


@pytest.mark.parametrize("text", ["a,b\n", "a,b"], ids=["newline", "no-final-newline"])
def test_header_only_csv(tmp_path: Path, text: str) -> None:
    """A header and no rows, whether or not the header line ends with a newline."""
    path = tmp_path / "header.csv"
    path.write_text(text, encoding="utf-8")
    _assert_input_error(path, "header", "no data rows")


def test_parquet_suffix_holding_csv_text(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    path.write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    _assert_input_error(path, "not a valid Parquet file", "suffix matches the content")


@pytest.mark.parametrize(
    ("text", "line", "fields"),
    [
        ("a,b\n1,2\n3,4\n5,6,7\n8,9\n", 4, 3),
        ("a,b\n1,2\n3\n8,9\n", 3, 1),
    ],
    ids=["extra-field", "missing-field"],
)
def test_ragged_csv_row_names_its_line(tmp_path: Path, text: str, line: int, fields: int) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(text, encoding="utf-8")
    _assert_input_error(path, f"line {line}", f"has {fields} fields", "header has 2", "fix")


def test_ragged_tsv_row_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "ragged.tsv"
    path.write_text("a\tb\n1\t2\n3\t4\t5\n", encoding="utf-8")
    _assert_input_error(path, "line 3", "fix")


def test_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    message = _assert_input_error(path, "unknown file type", "'.txt'")
    assert ".csv" in message and ".parquet" in message  # says what would work


def test_missing_file(tmp_path: Path) -> None:
    _assert_input_error(tmp_path / "nowhere.csv", "not found", "check the path")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    _assert_input_error(folder, "folder")


@pytest.mark.parametrize("suffix", [".jsonl", ".xlsx"])
def test_wrong_content_for_suffix(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"data{suffix}"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    _assert_input_error(path, "not")


def test_not_utf8_csv(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("name,n\nJos\u00e9,1\nRen\u00e9e,2\n".encode("latin-1"))
    _assert_input_error(path, "UTF-8")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_output_in_missing_folder(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / "no" / "such" / f"out{suffix}"
    with pytest.raises(InputError) as info:
        simulacra.write_table(_frame(), path)
    message = str(info.value)
    assert str(path) in message
    assert "does not exist" in message and "create it" in message
    assert not (tmp_path / "no").exists()


def test_output_path_that_is_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "out.csv"
    folder.mkdir()
    with pytest.raises(InputError, match="folder"):
        simulacra.write_table(_frame(), folder)
    assert os.listdir(folder) == []


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    simulacra.write_table(pd.DataFrame({"a": [1]}), tmp_path / "out.csv")
    assert (tmp_path / "out.csv").stat().st_mode == plain.stat().st_mode
