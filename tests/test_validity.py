"""Validity: the share of well-formed synthetic values, measured on known defects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulacra
from simulacra.evaluate.validity import validity_metrics


@pytest.fixture
def real():
    return pd.DataFrame(
        {
            "id": [f"K{i:03d}" for i in range(20)],
            "n": list(range(20)),
            "c": ["a", "b"] * 10,
            "d": pd.date_range("2024-01-01", periods=20, freq="D").strftime("%Y-%m-%d"),
        }
    )


def test_a_faithful_copy_is_fully_valid(mixed):
    synth = simulacra.create("copula", seed=0).fit(mixed).sample(400)
    report = simulacra.evaluate(mixed, synth)
    assert report.scores["validity"] == 1.0
    names = {m.name for m in report.metrics if m.section == "validity"}
    assert names == {
        "type_valid_share",
        "within_bounds_share",
        "known_category_share",
        "key_uniqueness",
    }


def test_defects_are_measured(real):
    meta = simulacra.Metadata.detect(real)
    synth = real.assign(n=real["n"].astype(float))
    synth.loc[:4, "n"] = [100, -5, 2.5, 3, 4]  # 2 of 20 out of bounds, 1 not whole
    synth.loc[:1, "c"] = "zzz"
    synth.loc[:9, "id"] = "K000"
    synth.loc[0, "d"] = "2030-01-01"
    report = simulacra.evaluate(real, synth, metadata=meta)
    values = {(m.name, m.columns[0]): m.value for m in report.metrics if m.section == "validity"}
    assert values["type_valid_share", "n"] == pytest.approx(19 / 20)
    assert values["within_bounds_share", "n"] == pytest.approx(17 / 19)
    assert values["known_category_share", "c"] == pytest.approx(18 / 20)
    assert values["key_uniqueness", "id"] == pytest.approx(11 / 20)
    assert values["within_bounds_share", "d"] == pytest.approx(19 / 20)
    assert report.scores["validity"] == pytest.approx(11 / 20)


def test_open_tail_labels_count_as_known_when_made_of_the_columns_words(titled):
    meta = simulacra.Metadata.detect(titled)
    synth = simulacra.create("cart", seed=0).fit(titled).sample(1000)
    synth.loc[:9, "title"] = "astronaut poet"  # words no real title holds
    metrics, _ = validity_metrics(titled, synth, meta)
    values = {m.columns[0]: m.value for m in metrics if m.name == "known_category_share"}
    present = synth["title"].notna().sum()
    assert values["title"] == pytest.approx((present - 10) / present)


# ----------------------------------------------------------------- constraints
@pytest.fixture
def orders():
    rng = np.random.default_rng(0)
    n = 60
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 100, n), "D")
    country = rng.choice(["FR", "DE"], n)
    price, qty = np.round(rng.uniform(1, 50, n), 2), rng.integers(1, 5, n)
    return pd.DataFrame(
        {
            "order": np.arange(n),
            "start": start.strftime("%Y-%m-%d"),
            "end": (start + pd.to_timedelta(rng.integers(0, 9, n), "D")).strftime("%Y-%m-%d"),
            "country": country,
            "city": np.where(country == "FR", "Paris", "Berlin"),
            "price": price,
            "qty": qty,
            "total": np.round(price * qty, 2),
        }
    )


RULES = [
    {"type": "inequality", "low": "start", "high": "end"},
    {"type": "fixed_combinations", "columns": ["country", "city"]},
    {"type": "formula", "column": "total", "expression": "price * qty"},
    {"type": "unique", "columns": ["order"]},
    {"type": "custom", "expression": "qty <= 4", "name": "small orders"},
]


def _constraint_scores(report) -> dict[str, float]:
    return {m.name: m.value for m in report.metrics if m.name.startswith("constraint: ")}


def test_a_copy_that_keeps_every_rule_scores_one_on_each(orders):
    meta = simulacra.Metadata.detect(orders)
    meta.constraints = RULES
    report = simulacra.evaluate(orders, orders.sample(frac=1, random_state=1), metadata=meta)
    assert _constraint_scores(report) == {
        "constraint: end >= start": 1.0,
        "constraint: fixed combinations of country, city": 1.0,
        "constraint: total = price * qty": 1.0,
        "constraint: unique order": 1.0,
        "constraint: small orders": 1.0,
    }
    metric = report.of("constraint: end >= start")[0]
    assert (metric.section, metric.higher_is_better, metric.low, metric.high) == (
        "validity",
        True,
        0.0,
        1.0,
    )
    assert metric.columns == ("start", "end")


def test_each_broken_rule_scores_below_one_and_sinks_validity(orders):
    meta = simulacra.Metadata.detect(orders)
    meta.constraints = RULES
    synth = orders.copy()
    synth.loc[:5, "end"] = "2023-12-31"  # 6 of 60 end before they start
    synth.loc[:2, "city"] = synth.loc[:2, "country"].map({"FR": "Berlin", "DE": "Paris"})
    synth.loc[:11, "total"] += 1.0
    synth.loc[30:44, "order"] = 0  # 15 repeats of order 0 across the whole table
    synth.loc[:2, "qty"] = 9
    report = simulacra.evaluate(orders, synth, metadata=meta, allow_mismatch=True)
    scores = _constraint_scores(report)
    assert scores["constraint: end >= start"] == pytest.approx(54 / 60)
    assert scores["constraint: fixed combinations of country, city"] == pytest.approx(57 / 60)
    assert scores["constraint: total = price * qty"] == pytest.approx(48 / 60)
    assert scores["constraint: unique order"] == pytest.approx(45 / 60)
    assert scores["constraint: small orders"] == pytest.approx(57 / 60)
    assert report.scores["validity"] == pytest.approx(45 / 60)


def test_uniqueness_is_measured_over_every_synthetic_row(orders):
    meta = simulacra.Metadata.detect(orders)
    meta.constraints = [{"type": "unique", "columns": ["country", "city"]}]
    wide = pd.concat([orders] * 3, ignore_index=True)
    report = simulacra.evaluate(orders, wide, metadata=meta, max_rows=50)
    assert _constraint_scores(report) == {
        "constraint: unique (country, city)": pytest.approx(2 / 180)
    }


def test_rules_on_columns_left_out_are_noted(orders):
    meta = simulacra.Metadata.detect(orders)
    meta.constraints = RULES[:1] + RULES[3:4]
    synth = orders.drop(columns=["end"])
    report = simulacra.evaluate(orders, synth, metadata=meta, allow_mismatch=True)
    assert set(_constraint_scores(report)) == {"constraint: unique order"}
    assert any("'end >= start'" in note and "not measured" in note for note in report.notes)
