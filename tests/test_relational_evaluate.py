"""Evaluating a synthetic database: cardinality, inter-table trends, integrity, per table."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

import simulacra
from simulacra.errors import InvalidDataError
from simulacra.relational import MultiReport, MultiTableMetadata, evaluate_multi, write_tables
from test_relational import shop_tables

EXE = shutil.which("simulacra") or str(Path(sys.executable).parent / "simulacra")


def uniform_links(
    tables: dict[str, pd.DataFrame], meta: MultiTableMetadata, seed: int = 0
) -> dict[str, pd.DataFrame]:
    """The baseline: every link redrawn uniformly among the parent rows, keys kept valid.

    Tables are redone parents first; a 1:1 link draws parents without
    replacement, a key's own part counts up again within its linked part, and
    repeated keys (a bridge table) are dropped. Empty links stay empty.
    """
    rng = np.random.default_rng(seed)
    out = dict(tables)
    for table in meta.dependency_order()[0]:
        df = out[table].copy()
        key = meta.primary_keys.get(table, [])
        for fk in meta.parents(table):
            parent = out[fk.parent]
            one_to_one = list(fk.columns) == key and len(df) <= len(parent)
            if one_to_one:
                pick = rng.permutation(len(parent))[: len(df)]
            else:
                pick = rng.integers(0, len(parent), len(df))
            linked = df[list(fk.columns)].notna().all(axis=1).to_numpy()
            for c, p in zip(fk.columns, fk.parent_columns, strict=True):
                df[c] = df[c].where(~linked, parent[p].to_numpy()[pick])
        links = {c for fk in meta.parents(table) for c in fk.columns}
        own = [c for c in key if c not in links]
        if own and len(own) < len(key):
            df[own[0]] = df.groupby([c for c in key if c in links]).cumcount() + 1
        out[table] = df.drop_duplicates(subset=key) if key else df
    return out


@pytest.fixture(scope="module")
def shop() -> tuple[dict[str, pd.DataFrame], MultiTableMetadata, dict[str, pd.DataFrame]]:
    real = shop_tables(seed=5, customers=500)
    meta = MultiTableMetadata.detect(real)
    synth = simulacra.create_multi(seed=0, family="cart").fit(real, metadata=meta).sample()
    return real, meta, synth


def by_name(report: MultiReport) -> dict[str, dict]:
    return {r["name"]: r for r in report.relationships}


# ---------------------------------------------------------------- the numbers
def test_counts_and_trends_on_a_small_hand_made_database():
    customers = pd.DataFrame({"id": [1, 2, 3, 4], "income": [10.0, 20.0, 30.0, 40.0]})
    orders = pd.DataFrame({"id": range(1, 8), "customer_id": [4, 4, 4, 3, 3, 2, 4]})
    real = {"customers": customers, "orders": orders}
    meta = MultiTableMetadata.detect(real)
    same = evaluate_multi(real, real, meta, per_table=False)
    (rel,) = same.relationships
    assert rel["children_per_parent"]["real"] == {
        "parents": 4,
        "children": 7,
        "mean": 1.75,
        "max": 4,
        "zero_share": 0.25,  # customer 1 has no orders and still counts
    }
    assert rel["cardinality"] == 1.0 and same.scores["inter_table_trends"] == 1.0
    (pair,) = rel["trends"]
    assert pair["child_aggregate"] == "count of orders rows" and pair["real"] > 0.9
    # reversed: the poorest customer orders most; counts keep their shape, the trend flips
    flipped = {**real, "orders": orders.assign(customer_id=5 - orders["customer_id"])}
    other = evaluate_multi(real, flipped, meta, per_table=False)
    assert other.relationships[0]["cardinality"] == 1.0
    assert other.relationships[0]["trends"][0]["synthetic"] == pytest.approx(-pair["real"])
    assert other.scores["inter_table_trends"] == pytest.approx(1 - pair["real"], abs=1e-9)


def test_a_hierarchical_copy_beats_links_drawn_uniformly(shop):
    real, meta, synth = shop
    baseline = uniform_links(synth, meta)
    good = evaluate_multi(real, synth, meta, per_table=False)
    bad = evaluate_multi(real, baseline, meta, per_table=False)
    assert good.passed and bad.passed  # the baseline breaks no key: only the links' shape
    assert good.scores["cardinality"] > 0.94 and good.scores["inter_table_trends"] > 0.95
    assert good.scores["cardinality"] > bad.scores["cardinality"] + 0.025
    assert good.scores["inter_table_trends"] > bad.scores["inter_table_trends"] + 0.03
    g, b = by_name(good), by_name(bad)
    # richer customers order more: the copy keeps the count's spread and its trend with income
    # (its score moves 0.936-0.981 between the model seeds 0-3; links drawn uniformly: 0.85)
    orders = "orders.customer_id"
    assert (
        g[orders]["cardinality"] > 0.93
        and g[orders]["cardinality"] > b[orders]["cardinality"] + 0.07
    )
    assert g[orders]["inter_table_trends"] > b[orders]["inter_table_trends"] + 0.3
    worst = b[orders]["worst_trends"][0]
    assert worst["parent_column"] == "segment" and worst["measure"] == "correlation_ratio"
    income = {
        p["child_aggregate"]: p for p in b[orders]["trends"] if p["parent_column"] == "income"
    }
    count = income["count of orders rows"]
    assert count["real"] > 0.5 and abs(count["synthetic"]) < 0.15
    # every order has 1-3 lines: uniform links leave orders with none
    lines = "order_items.order_id"
    assert g[lines]["children_per_parent"]["synthetic"]["zero_share"] == 0
    assert b[lines]["children_per_parent"]["synthetic"]["zero_share"] > 0.1
    assert g[lines]["cardinality"] > b[lines]["cardinality"] + 0.1
    assert len(good.relationships) == len(meta.foreign_keys) == 15


def test_integrity_counts_orphans_empty_links_and_repeated_keys(shop):
    real, meta, synth = shop
    broken = dict(synth)
    orders = synth["orders"].copy()
    orders.loc[orders.index[:7], "customer_id"] = orders["customer_id"].max() + 10_000
    orders["customer_id"] = orders["customer_id"].astype("float64")
    orders.loc[orders.index[7:9], "customer_id"] = np.nan  # not nullable: flagged
    broken["orders"] = orders
    broken["products"] = pd.concat([synth["products"], synth["products"].iloc[:3]])
    returns = synth["returns"].copy()
    returns.loc[returns.index[:2], "line_no"] = 99  # an order that exists, a line that does not
    broken["returns"] = returns
    report = evaluate_multi(real, broken, meta, per_table=False)
    assert not report.passed and report.scores["integrity"] < 1
    failed = {(c["check"], c["table"]): c for c in report.integrity if not c["passed"]}
    assert set(failed) == {
        ("orphan_rows", "orders"),
        ("empty_links", "orders"),
        ("primary_key_duplicates", "products"),
        ("orphan_rows", "returns"),
    }
    assert failed["orphan_rows", "orders"]["synthetic"] == 7
    assert failed["empty_links", "orders"]["synthetic"] == 2
    assert failed["primary_key_duplicates", "products"]["synthetic"] == 3
    assert failed["orphan_rows", "returns"]["columns"] == ["order_id", "line_no"]
    assert failed["orphan_rows", "returns"]["synthetic"] == 2
    assert all(c["real"] == 0 for c in report.integrity)
    # orphans and empty links are no one's children
    shape = by_name(report)["orders.customer_id"]["children_per_parent"]["synthetic"]
    assert shape["children"] == len(orders) - 9
    # the self-reference's empty links are roots, allowed: nullable
    assert not [c for c in report.integrity if c["table"] == "employees" and not c["passed"]]
    metric = [m for m in report.metrics if m.name == "orphan_rows" and m.value > 0]
    assert {m.columns for m in metric} == {
        ("orders.customer_id",),
        ("returns.order_id", "returns.line_no"),
    }
    assert not metric[0].higher_is_better
    text = report.to_text()
    assert "Integrity: FAIL" in text and "7 rows whose link to customers" in text


def test_tables_missing_from_a_side_are_listed(shop):
    real, meta, synth = shop
    partial = {k: v for k, v in synth.items() if k not in ("orders", "returns")}
    partial["audit"] = pd.DataFrame({"x": [1, 2]})
    partial["customers"] = synth["customers"].drop(columns="income")
    with pytest.raises(InvalidDataError) as info:
        evaluate_multi(real, partial, meta, per_table=False)
    text = str(info.value)
    assert "table 'orders' is in the metadata but not in the synthetic tables" in text
    assert "table 'returns' is in the metadata" in text
    assert "['audit'] of the synthetic tables are not in the metadata" in text
    assert "table 'customers' of the synthetic tables has no column(s) ['income']" in text
    assert len(info.value.problems) == 4
    fewer = {**synth, "customers": partial["customers"]}
    report = evaluate_multi(real, fewer, meta, per_table=False, allow_mismatch=True)
    assert "synthetic column(s) ['income'] missing" in report.notes[0]
    trends = by_name(report)["orders.customer_id"]["trends"]
    assert {p["parent_column"] for p in trends} == {"segment"}


# --------------------------------------------------------- report and rendering
def test_report_per_table_json_and_html():
    real = shop_tables(seed=0, customers=150)
    meta = MultiTableMetadata.detect(real)
    synth = simulacra.create_multi(seed=0, family="cart").fit(real, metadata=meta).sample()
    steps = []
    chosen = ["customers", "product_suppliers"]  # each table's report is the slow part
    # one OpenMP thread: on a busy machine the detection classifier's threads wait on each
    # other (40 s instead of 2 s for this table); the numbers are the same
    with threadpool_limits(limits=1):
        report = evaluate_multi(
            real, synth, meta, per_table=chosen, progress=lambda *a: steps.append(a)
        )
    assert steps[0] == ("relationships", 1, 3) and steps[-1] == ("product_suppliers", 3, 3)
    # a table of keys alone has no report of its own; the others have, keys left out
    assert set(report.tables) == {"customers"}
    assert any("product_suppliers" in note for note in report.notes)
    customers = report.tables["customers"]
    assert {c for m in customers.metrics for c in m.columns} == {"segment", "income"}
    assert {"fidelity", "detection", "privacy", "validity"} <= set(customers.scores)
    assert report.scores["privacy"] == customers.scores["privacy"]
    summary = report.summary()
    assert list(summary["section"])[:3] == ["cardinality", "inter_table_trends", "integrity"]
    data = json.loads(report.to_json())
    assert data["passed"] is True and len(data["relationships"]) == 15
    assert data["tables"]["customers"]["scores"]["fidelity"] > 0.8
    assert {m["section"] for m in data["metrics"]} == {
        "cardinality",
        "inter_table_trends",
        "integrity",
    }
    page = report.to_html()
    for section in ("relationships", "integrity", "tables"):
        assert f'<section id="section-{section}">' in page
    assert page.count('data-chart="children-per-parent"') == 15
    assert 'id="trends-worst"' in page and "orders.customer_id → customers" in page
    assert '<section id="table-customers-section-fidelity">' in page

    ids: list[str] = []

    class Ids(HTMLParser):
        def handle_starttag(self, tag, attrs):
            ids.extend(v for k, v in attrs if k == "id")

    Ids().feed(page)
    assert len(ids) == len(set(ids)) > 10  # the table's own sections do not clash
    assert report.to_text().startswith("Multi-table evaluation: 13 tables, 15 relationships")


def test_command_line_scores_a_database_and_gates_on_integrity(tmp_path):
    shop = shop_tables(seed=0, customers=150)
    customers = shop["customers"].drop(columns="region_id")
    real = {"customers": customers, "orders": shop["orders"].drop(columns="store_id")}
    write_tables(real, tmp_path / "real")
    model = simulacra.create_multi(seed=0, family="cart").fit(real)
    copy = model.sample()
    write_tables(copy, tmp_path / "synth")
    env = {**os.environ, "COLUMNS": "120"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [EXE, "db", "evaluate", "real", *args]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env)

    # per-table reports are the API's (tested above); here only the command's own work
    args = ["--no-tables", "--report", "r.html", "--json", "r.json", "--fail-under", "integrity=1"]
    done = run("synth", *args)
    assert done.returncode == 0, done.stderr
    assert "orders.customer_id -> customers" in done.stdout and "Integrity: pass" in done.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["tables"] == {} and data["scores"]["cardinality"] > 0.9
    assert 'id="section-relationships"' in (tmp_path / "r.html").read_text()
    copy["orders"].loc[copy["orders"].index[:5], "customer_id"] = 10**6
    write_tables(copy, tmp_path / "broken")
    gated = run("broken", "--no-tables", "-q", "--fail-under", "integrity=1")
    assert gated.returncode == 1 and gated.stdout == ""
    assert "below the bar: integrity" in gated.stderr and "Traceback" not in gated.stderr
