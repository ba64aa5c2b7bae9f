"""Whole databases in and out: SQLite files, PostgreSQL, folders, and the command line.

PostgreSQL tests run against ``SIMULACRA_PG_URL`` (``.ci/run`` starts a server on
loopback); without it they skip, except under ``SIMULACRA_CI=1``, where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import simulacra
from simulacra.errors import InputError
from simulacra.relational import MultiTableMetadata, read_tables, write_tables
from test_relational import shop_tables

EXE = shutil.which("simulacra") or str(Path(sys.executable).parent / "simulacra")


@pytest.fixture(scope="module")
def shop() -> dict[str, pd.DataFrame]:
    return shop_tables(customers=80)


@pytest.fixture(scope="module")
def shop_meta(shop: dict[str, pd.DataFrame]) -> MultiTableMetadata:
    return MultiTableMetadata.detect(shop)


@pytest.fixture(scope="module")
def model(shop, shop_meta):
    return simulacra.create_multi(seed=0, family="independent").fit(shop, metadata=shop_meta)


def sql_problems(url: str, meta: MultiTableMetadata) -> list[str]:
    """Orphans and repeated keys, counted by SQL in the database itself."""
    problems = []
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        for fk in meta.foreign_keys:
            on = " AND ".join(
                f"c.{c} = p.{p}" for c, p in zip(fk.columns, fk.parent_columns, strict=True)
            )
            present = " AND ".join(f"c.{c} IS NOT NULL" for c in fk.columns)
            orphans = conn.execute(
                sa.text(
                    f"SELECT COUNT(*) FROM {fk.table} c LEFT JOIN {fk.parent} p ON {on} "
                    f"WHERE {present} AND p.{fk.parent_columns[0]} IS NULL"
                )
            ).scalar_one()
            if orphans:
                problems.append(f"{fk.name}: {orphans} orphans")
        for table, key in meta.primary_keys.items():
            cols = ", ".join(key)
            repeated = conn.execute(
                sa.text(
                    f"SELECT COUNT(*) FROM (SELECT {cols} FROM {table} GROUP BY {cols} "
                    "HAVING COUNT(*) > 1) AS d"
                )
            ).scalar_one()
            if repeated:
                problems.append(f"{table}: {repeated} repeated keys")
    engine.dispose()
    return problems


def row_count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    engine.dispose()
    return n


def assert_joins(tables: dict[str, pd.DataFrame], meta: MultiTableMetadata) -> None:
    for fk in meta.foreign_keys:
        child = pd.MultiIndex.from_frame(tables[fk.table][list(fk.columns)].dropna())
        parent = pd.MultiIndex.from_frame(tables[fk.parent][list(fk.parent_columns)])
        assert child.isin(parent).all(), fk.name


def test_database_without_declared_keys_gets_guessed_ones(tmp_path, shop, shop_meta):
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    write_tables(shop, url)  # no metadata: no keys declared
    meta = MultiTableMetadata.from_database(url)
    assert meta.primary_keys == shop_meta.primary_keys
    assert set(meta.foreign_keys) == set(shop_meta.foreign_keys)


# -------------------------------------------------------------------- SQLite
@pytest.mark.parametrize("scale", [0.5, 1, 3])
def test_sqlite_copy_joins_by_sql(tmp_path, model, shop, shop_meta, scale):
    url = f"sqlite:///{tmp_path / 'synth.db'}"
    synth = model.sample(scale=scale)
    write_tables(synth, url, metadata=shop_meta)
    assert sql_problems(url, shop_meta) == []
    back = read_tables(url)
    assert set(back) == set(shop)
    for name, df in synth.items():
        assert row_count(url, name) == len(df)
        assert list(back[name].columns) == list(df.columns)
    reflected = MultiTableMetadata.from_database(url)
    assert reflected.primary_keys == shop_meta.primary_keys
    assert {(f.table, f.columns, f.parent) for f in reflected.foreign_keys} == {
        (f.table, f.columns, f.parent) for f in shop_meta.foreign_keys
    }


def test_sqlite_source_to_sqlite_target(tmp_path, shop, shop_meta):
    source = f"sqlite:///{tmp_path / 'shop.db'}"
    write_tables(shop, source, metadata=shop_meta)
    meta = MultiTableMetadata.from_database(source)
    assert sql_problems(source, meta) == []
    synth = simulacra.create_multi(seed=0, family="independent").fit(source, meta).sample()
    target = f"sqlite:///{tmp_path / 'out.db'}"
    write_tables(synth, target, metadata=meta)
    assert sql_problems(target, meta) == []


def test_database_writes_are_all_or_nothing(tmp_path, model, shop_meta, monkeypatch):
    """Rows go in batches; a batch that fails takes back the batches and tables before it."""
    monkeypatch.setattr("simulacra.relational.io.INSERT_BATCH", 7)
    url = f"sqlite:///{tmp_path / 'synth.db'}"
    synth = model.sample()
    broken = dict(synth)
    returns = synth["returns"].copy()
    assert len(returns) > 7  # the bad row sits in a later batch than the first
    returns.loc[returns.index[-1], "line_no"] = 999  # refers to no order line
    broken["returns"] = returns
    with pytest.raises(InputError, match="writing the tables failed, nothing was written"):
        write_tables(broken, url, metadata=shop_meta)
    assert sa.inspect(sa.create_engine(url)).get_table_names() == []
    write_tables(synth, url, metadata=shop_meta)
    with pytest.raises(InputError, match=r"already has table\(s\) \['categories'"):
        write_tables(synth, url, metadata=shop_meta)
    again = model.sample(scale=0.5)
    write_tables(again, url, metadata=shop_meta, replace=True)
    assert row_count(url, "orders") == len(again["orders"])
    assert sql_problems(url, shop_meta) == []


def test_unreachable_database_hides_the_password(tmp_path):
    url = "postgresql+psycopg://alice:s3cret@127.0.0.1:9/shop"
    with pytest.raises(InputError) as info:
        read_tables(url)
    message = str(info.value)
    assert "cannot connect to the database" in message and "s3cret" not in message
    assert "alice:***@127.0.0.1:9/shop" in message
    with pytest.raises(InputError, match="cannot connect"):
        read_tables(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")


def test_column_types_survive_a_database(tmp_path):
    tables = {
        "people": pd.DataFrame(
            {
                "id": [1, 2, 3],
                "member": pd.Series([True, None, False], dtype=object),
                "born": pd.to_datetime(["2000-01-02", "1990-05-06", None]),
                "score": [1.5, None, 2.0],
                "name": ["a", None, "c"],
            }
        )
    }
    url = f"sqlite:///{tmp_path / 'types.db'}"
    write_tables(tables, url, metadata=MultiTableMetadata.detect(tables))
    columns = {
        c["name"]: c["type"] for c in sa.inspect(sa.create_engine(url)).get_columns("people")
    }
    kinds = {name: type(kind).__name__ for name, kind in columns.items()}
    assert kinds == {
        "id": "BIGINT",
        "member": "BOOLEAN",
        "born": "DATETIME",
        "score": "FLOAT",
        "name": "TEXT",
    }
    back = read_tables(url)["people"]
    assert back["born"].isna().sum() == 1 and back["name"].isna().sum() == 1


# ------------------------------------------------------------------- folders
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_folder_round_trip_leaves_inputs_alone(tmp_path, model, shop_meta, fmt):
    source = tmp_path / "in"
    write_tables(model.sample(), source, format=fmt)
    before = {p.name: p.read_bytes() for p in source.iterdir()}
    tables = read_tables(source)
    assert len(tables) == 13
    synth = simulacra.create_multi(seed=0, family="independent").fit(source).sample()
    out = tmp_path / "out"
    write_tables(synth, out, format=fmt)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.{fmt}" for t in synth)
    assert {p.name: p.read_bytes() for p in source.iterdir()} == before
    with pytest.raises(InputError, match="already has"):
        write_tables(synth, out, format=fmt)
    write_tables(synth, out, format=fmt, replace=True)
    with pytest.raises(InputError, match="--format 'xlsx' is not supported"):
        write_tables(synth, tmp_path / "x", format="xlsx")
    with pytest.raises(InputError, match="folder not found"):
        read_tables(tmp_path / "missing")


# ---------------------------------------------------------------- PostgreSQL
@pytest.fixture
def pg_url() -> str:
    url = os.environ.get("SIMULACRA_PG_URL")
    if not url:
        if os.environ.get("SIMULACRA_CI") == "1":
            pytest.fail("SIMULACRA_CI=1 but SIMULACRA_PG_URL is not set; see .ci/run")
        pytest.skip("no PostgreSQL server (set SIMULACRA_PG_URL)")
    schema = f"t_{uuid.uuid4().hex[:10]}"  # a private schema per test
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}options=-csearch_path%3D{schema}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.mark.parametrize("scale", [0.5, 1, 3])
def test_postgresql_copy_joins_by_sql(pg_url, model, shop_meta, scale):
    synth = model.sample(scale=scale)
    write_tables(synth, pg_url, metadata=shop_meta)
    assert sql_problems(pg_url, shop_meta) == []
    for name, df in synth.items():
        assert row_count(pg_url, name) == len(df)
    reflected = MultiTableMetadata.from_database(pg_url)
    assert reflected.primary_keys == shop_meta.primary_keys
    assert len(reflected.foreign_keys) == len(shop_meta.foreign_keys)


def test_postgresql_all_or_nothing_and_refusal(pg_url, model, shop_meta):
    synth = model.sample()
    broken = dict(synth)
    broken["returns"] = synth["returns"].assign(line_no=999)
    with pytest.raises(InputError, match="nothing was written"):
        write_tables(broken, pg_url, metadata=shop_meta)
    assert read_tables_or_none(pg_url) is None
    write_tables(synth, pg_url, metadata=shop_meta)
    with pytest.raises(InputError, match="already has"):
        write_tables(synth, pg_url, metadata=shop_meta)
    write_tables(synth, pg_url, metadata=shop_meta, replace=True)
    assert sql_problems(pg_url, shop_meta) == []


def read_tables_or_none(url: str) -> dict[str, pd.DataFrame] | None:
    try:
        return read_tables(url)
    except InputError as exc:
        assert "has no tables" in str(exc)
        return None


# ----------------------------------------------------------------------- CLI
def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, env=env)


def test_cli_db_synthesize(tmp_path, shop, shop_meta):
    write_tables(shop, f"sqlite:///{tmp_path / 'shop.db'}", metadata=shop_meta)
    args = ["db", "synthesize", "sqlite:///shop.db", "--to", "sqlite:///synth.db"]
    args += ["--scale", "2.0", "--family", "independent", "--seed", "0"]
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote 13 tables" in done.stderr and "every key joins" in done.stderr
    assert sql_problems(f"sqlite:///{tmp_path / 'synth.db'}", shop_meta) == []
    orders = row_count(f"sqlite:///{tmp_path / 'synth.db'}", "orders")
    assert orders == pytest.approx(2 * len(shop["orders"]), rel=0.3)
    refused = run(*args, cwd=tmp_path)
    assert refused.returncode == 1
    assert "already has table(s)" in refused.stderr and "--replace" in refused.stderr
    assert "Traceback" not in refused.stderr
    itself = run(
        "db",
        "synthesize",
        "sqlite:///shop.db",
        "--to",
        "sqlite:///shop.db",
        "--replace",
        cwd=tmp_path,
    )
    assert itself.returncode == 1 and "is the source" in itself.stderr


def test_cli_db_metadata_and_bad_input(tmp_path, shop, shop_meta):
    write_tables(shop, f"sqlite:///{tmp_path / 'shop.db'}", metadata=shop_meta)
    saved = run("db", "metadata", "sqlite:///shop.db", "-o", "meta.json", cwd=tmp_path)
    assert saved.returncode == 0, saved.stderr
    meta = MultiTableMetadata.from_json(tmp_path / "meta.json")
    assert meta.primary_keys["order_items"] == ["order_id", "line_no"]
    assert len(meta.foreign_keys) == len(shop_meta.foreign_keys)
    parquet = run(
        "db", "synthesize", "sqlite:///shop.db", "--to", "out", "--format", "parquet",
        "--metadata", "meta.json", "--family", "independent", "-q", cwd=tmp_path,
    )  # fmt: skip
    assert parquet.returncode == 0, parquet.stderr
    assert parquet.stderr == "" and (tmp_path / "out" / "order_items.parquet").is_file()
    assert_joins(read_tables(tmp_path / "out"), meta)
    folder = tmp_path / "bad"
    folder.mkdir()
    pd.DataFrame({"id": [1, 2], "x": [1, 2]}).to_csv(folder / "customers.csv", index=False)
    pd.DataFrame({"id": [1, 2], "customer_id": [1, 5]}).to_csv(folder / "orders.csv", index=False)
    bad = run("db", "synthesize", "bad", "--to", "out", cwd=tmp_path)
    assert bad.returncode == 1
    assert "orders.customer_id: 1 row(s) refer to customers rows that do not exist" in bad.stderr
    assert "Traceback" not in bad.stderr
    gone = run(
        "db", "synthesize", "postgresql+psycopg://u:pw@127.0.0.1:9/x", "--to", "o", cwd=tmp_path
    )
    assert gone.returncode == 1 and "cannot connect" in gone.stderr and ":pw@" not in gone.stderr
