"""Spec-driven generation: the shop example, declared statistics, determinism, streaming."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulacra
import simulacra.spec
from simulacra.errors import InputError
from simulacra.spec.generate import to_frame
from simulacra.spec.patterns import Pattern
from simulacra.spec.schema import SCHEMA_PATH, schema_text

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "examples" / "shop.yaml"
EXE = shutil.which("simulacra") or str(Path(sys.executable).parent / "simulacra")
KEYS = {  # child table, column -> parent table, column
    ("orders", "customer_id"): ("customers", "customer_id"),
    ("order_items", "order_id"): ("orders", "order_id"),
    ("order_items", "product_id"): ("products", "product_id"),
    ("payments", "order_id"): ("orders", "order_id"),
    ("reviews", "product_id"): ("products", "product_id"),
    ("reviews", "customer_id"): ("customers", "customer_id"),
}


@pytest.fixture(scope="module")
def shop() -> dict[str, pd.DataFrame]:
    return simulacra.generate(SHOP, seed=7)


def _within(observed: float, expected: float, se: float, z: float = 4.5) -> None:
    assert abs(observed - expected) <= z * se, (observed, expected, se)


# ------------------------------------------------------------------ the shop
def test_shop_has_its_tables_and_keys_join(shop):
    assert list(shop) == ["customers", "products", "orders", "order_items", "payments", "reviews"]
    assert len(shop["customers"]) == 2000 and len(shop["products"]) == 300
    for table, key in [("customers", "customer_id"), ("products", "product_id")]:
        assert shop[table][key].is_unique
    assert shop["orders"]["order_id"].is_unique and shop["reviews"]["review_id"].is_unique
    for (child, col), (parent, key) in KEYS.items():
        assert shop[child][col].isin(shop[parent][key]).all(), (child, col)
    assert len(shop["payments"]) == len(shop["orders"])  # exactly one payment per order
    assert shop["customers"]["customer_id"].str.fullmatch(r"CUST-\d{6}").all()
    assert shop["products"]["product_id"].iloc[:2].tolist() == ["SKU-00001", "SKU-00002"]


def test_shop_declared_statistics_come_back(shop):
    customers, orders = shop["customers"], shop["orders"]
    n = len(customers)
    # children per parent: Poisson(3) orders per customer
    per = orders.groupby("customer_id").size().reindex(customers["customer_id"], fill_value=0)
    _within(per.mean(), 3.0, np.sqrt(3.0 / n))
    # null share
    _within(customers["phone"].isna().mean(), 0.15, np.sqrt(0.15 * 0.85 / n))
    # categorical weights
    shares = customers["segment"].value_counts(normalize=True)
    for label, p in {"basic": 0.6, "plus": 0.3, "premium": 0.1}.items():
        _within(shares[label], p, np.sqrt(p * (1 - p) / n))
    # bounds are exact truncation, and integers stay integers
    assert customers["age"].between(18, 95).all() and customers["age"].dtype == "int64"
    # conditional: credit limits by segment
    means = customers.groupby("segment")["credit_limit"].mean()
    assert means["basic"] < means["plus"] < means["premium"]
    # constraints hold and expressions are computed
    items = shop["order_items"]
    assert (items["total"] > 0).all()
    expected = (items["unit_price"] * items["qty"] * (1 - items["discount"])).round(2)
    assert np.allclose(items["total"], expected)
    reviews = shop["reviews"]
    assert ((reviews["stars"] >= 3) | (reviews["helpful"] <= 6)).all()
    # conditional cases with no default leave other rows empty
    payments = shop["payments"]
    assert payments.loc[payments["method"] != "transfer", "iban"].isna().all()
    assert payments.loc[payments["method"] == "transfer", "iban"].notna().all()


def test_fake_values_are_valid(shop):
    payments = shop["payments"]
    for iban in payments["iban"].dropna():
        assert iban.startswith("DE") and len(iban) == 22
        digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
        assert int(digits) % 97 == 1
    for card in payments["card_number"].dropna().head(200):
        total = sum(
            int(d) if i % 2 == 0 else sum(divmod(int(d) * 2, 10))
            for i, d in enumerate(reversed(card))
        )
        assert total % 10 == 0
    assert (
        payments["payment_id"]
        .str.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
        .all()
    )
    customers = shop["customers"]
    assert customers["email"].str.fullmatch(r"[a-z]+\.[a-z]+\d+@[a-z.]+").all()
    assert customers["name"].str.contains(" ").all() and customers["name"].nunique() > 1500


# ---------------------------------------------------------------- statistics
STATS = {
    "tables": {
        "t": {
            "rows": 20_000,
            "columns": {
                "x": {"distribution": "normal", "mean": 10, "sd": 2},
                "y": {"distribution": "normal", "mean": -5, "sd": 4},
                "z": {"distribution": "lognormal", "mean": 100, "sd": 50},
                "k": {"distribution": "poisson", "mean": 2.5},
                "h": {"distribution": "histogram", "edges": [0, 10, 20, 50], "weights": [1, 2, 1]},
                "g": {"values": {"a": 0.5, "b": 0.3, "c": 0.2}, "nulls": 0.1},
            },
            "correlations": [
                {
                    "columns": ["x", "y", "k"],
                    "matrix": [[1, 0.6, 0.3], [0.6, 1, 0.0], [0.3, 0.0, 1]],
                }
            ],
        }
    }
}


def test_declared_statistics_come_back_within_sampling_error():
    t = simulacra.generate(STATS, seed=3)["t"]
    n = len(t)
    _within(t["x"].mean(), 10, 2 / np.sqrt(n))
    _within(t["x"].std(), 2, 2 / np.sqrt(2 * n))
    _within(t["y"].mean(), -5, 4 / np.sqrt(n))
    _within(t["z"].mean(), 100, 50 / np.sqrt(n))
    _within(t["k"].mean(), 2.5, np.sqrt(2.5 / n))
    _within((t["h"] < 10).mean(), 0.25, np.sqrt(0.25 * 0.75 / n))
    _within(t["g"].isna().mean(), 0.1, np.sqrt(0.09 / n))
    shares = t["g"].value_counts(normalize=True)
    for label, p in {"a": 0.5, "b": 0.3, "c": 0.2}.items():
        _within(shares[label], p, np.sqrt(p * (1 - p) / (0.9 * n)))
    # normal marginals: the copula's correlation is the data's Pearson correlation
    _within(t["x"].corr(t["y"]), 0.6, (1 - 0.36) / np.sqrt(n))
    _within(t["y"].corr(t["k"]), 0.0, 1 / np.sqrt(n))
    assert t["x"].corr(t["k"]) > 0.2


def test_tables_of_no_rows_keep_their_columns():
    empty = simulacra.generate(SHOP, rows={"customers": 0, "products": 0}, seed=0)
    assert len(empty["customers"]) == 0 and len(empty["orders"]) == 0
    assert list(empty["customers"].columns) == list(simulacra.generate(SHOP)["customers"].columns)


def test_same_seed_same_tables_and_other_seed_other_tables():
    a, b = simulacra.generate(STATS, seed=1), simulacra.generate(STATS, seed=1)
    pd.testing.assert_frame_equal(a["t"], b["t"])
    assert not a["t"]["x"].equals(simulacra.generate(STATS, seed=2)["t"]["x"])


def test_adding_a_column_keeps_the_other_columns():
    spec = json.loads(json.dumps(STATS))
    del spec["tables"]["t"]["correlations"]
    before = simulacra.generate(spec, rows={"t": 500}, seed=4)["t"]
    spec["tables"]["t"]["columns"]["new"] = {"distribution": "uniform", "low": 0, "high": 1}
    after = simulacra.generate(spec, rows={"t": 500}, seed=4)["t"]
    pd.testing.assert_frame_equal(before, after.drop(columns="new"))


def test_streamed_files_match_generate_whatever_the_batch_size(tmp_path):
    rows = {"customers": 150}
    tables = simulacra.generate(SHOP, rows=rows, seed=5)
    simulacra.spec.write(SHOP, tmp_path / "p", rows=rows, seed=5, batch_size=7)
    for name, frame in tables.items():
        back = to_frame(pq.read_table(tmp_path / "p" / f"{name}.parquet"))
        pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    simulacra.spec.write(SHOP, tmp_path / "c", format="csv", rows=rows, seed=5)
    back = pd.read_csv(tmp_path / "c" / "order_items.csv")
    assert back["order_id"].tolist() == tables["order_items"]["order_id"].tolist()
    simulacra.spec.write(SHOP, tmp_path / "j", format="jsonl", rows=rows, seed=5)
    back = pd.read_json(tmp_path / "j" / "customers.jsonl", lines=True)
    assert back["customer_id"].tolist() == tables["customers"]["customer_id"].tolist()


def test_tables_larger_than_a_block_keep_keys_unique():
    spec = {
        "tables": {
            "a": {"rows": 70_000, "columns": {"id": {"pattern": "A[0-9]{5}", "unique": True}}},
            "b": {
                "columns": {
                    "a_id": {
                        "foreign_key": "a.id",
                        "per_parent": {"distribution": "integers", "low": 0, "high": 2},
                    }
                }
            },
        }
    }
    tables = simulacra.generate(spec, seed=0)
    assert tables["a"]["id"].is_unique
    _within(len(tables["b"]) / 70_000, 1.0, np.sqrt(2 / 3 / 70_000))
    assert tables["b"]["a_id"].isin(tables["a"]["id"]).all()


# ------------------------------------------------------------------- patterns
_PIECES = st.sampled_from(
    ["[A-Z]", "[0-9]{3}", "\\d{1,4}", "-", "(EU|US)", "[a-f0-9]{2,5}", "x?", "\\.", "(ab|c){2}"]
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=5), st.integers(0, 2**31))
def test_patterns_make_text_the_regex_matches(pieces, seed):
    text = "".join(pieces)
    values = Pattern(text).generate(200, np.random.default_rng(seed)).to_pylist()
    regex = re.compile(text.replace("\\d", "[0-9]"))
    assert all(regex.fullmatch(v) for v in values), text


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.integers(0, 2**40))
def test_unique_patterns_never_repeat(width, key):
    pattern = Pattern(f"K[A-C]{{{width}}}[0-9]{{2}}")
    rows = np.arange(min(pattern.capacity, 5000))
    values = pattern.unique(rows, key).to_pylist()
    assert len(set(values)) == len(values)
    assert pattern.unique(rows[3:9], key).to_pylist() == values[3:9]


# ----------------------------------------------------------- schema and CLI
def test_published_schema_file_is_current():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text()


def test_json_spec_reads_like_yaml(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(STATS))
    spec = simulacra.spec.load_spec(path)
    assert list(spec.tables) == ["t"]


def test_cli_generates_a_joined_database(tmp_path):
    env = {**os.environ, "COLUMNS": "120"}
    args = [EXE, "generate", str(SHOP), "--rows", "customers=2e2", "-o", "shop"]
    result = subprocess.run(
        [*args, "--format", "csv", "--seed", "3"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "wrote orders to shop/orders.csv" in result.stderr
    customers = pd.read_csv(tmp_path / "shop" / "customers.csv")
    orders = pd.read_csv(tmp_path / "shop" / "orders.csv")
    assert len(customers) == 200 and orders["customer_id"].isin(customers["customer_id"]).all()
    bad = subprocess.run(
        [*args, "--rows", "orders=5"], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert bad.returncode == 1 and "set the rows of 'customers'" in bad.stderr
    assert "Traceback" not in bad.stderr
    before = (tmp_path / "shop" / "customers.csv").read_bytes()
    again = [*args, "--format", "csv", "--seed", "4"]
    taken = subprocess.run(again, cwd=tmp_path, capture_output=True, text=True, env=env)
    assert taken.returncode == 1 and "already has shop/customers.csv" in taken.stderr
    assert "--replace" in taken.stderr and "Traceback" not in taken.stderr
    assert (tmp_path / "shop" / "customers.csv").read_bytes() == before
    done = subprocess.run([*again, "--replace"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "shop" / "customers.csv").read_bytes() != before


def test_writing_a_spec_refuses_files_that_exist_before_writing_any(tmp_path):
    rows = {"customers": 30}
    simulacra.spec.write(SHOP, tmp_path, format="csv", rows=rows, seed=1)
    (tmp_path / "customers.csv").unlink()
    kept = (tmp_path / "orders.csv").read_bytes()
    with pytest.raises(InputError, match=r"already has .*orders\.csv"):
        simulacra.spec.write(SHOP, tmp_path, format="csv", rows=rows, seed=2)
    assert not (tmp_path / "customers.csv").exists()  # nothing written before the refusal
    simulacra.spec.write(SHOP, tmp_path, format="csv", rows=rows, seed=2, replace=True)
    assert (tmp_path / "orders.csv").read_bytes() != kept
