"""Fidelity metrics: known values by hand, the families' expected order, the report as data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import simulacra
from simulacra.errors import InvalidDataError
from simulacra.evaluate.fidelity import (
    category_coverage,
    joint_tv_complement,
    ks_complement,
    range_coverage,
    tv_complement,
)


def test_ks_complement_known_values():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert ks_complement(a, a.copy()) == 1.0
    assert ks_complement(a, a + 10) == 0.0
    # CDFs of {1,2,3,4} and {3,4,5,6} differ by at most 0.5
    assert ks_complement(a, a + 2) == pytest.approx(0.5)
    assert ks_complement(np.array([1.0, np.nan, 2.0]), np.array([1.0, 2.0])) == 1.0


def test_tv_complement_and_coverage_known_values():
    real = pd.Series(["a", "a", "b", "c", None])
    synth = pd.Series(["a", "b", "b", "b"])
    # shares a .5/.25, b .25/.75, c .25/0 -> TVD = (.25 + .5 + .25) / 2 = .5
    assert tv_complement(real, synth) == pytest.approx(0.5)
    assert category_coverage(real, synth) == pytest.approx(2 / 3)
    assert range_coverage(np.array([0.0, 10.0]), np.array([2.0, 9.0])) == pytest.approx(0.7)
    assert range_coverage(np.array([0.0, 10.0]), np.array([-5.0, 20.0])) == 1.0


def test_joint_tv_complement_sees_what_marginals_miss():
    x = np.array([0, 0, 1, 1] * 25)
    # same marginals, opposite pairing
    assert joint_tv_complement([x, x], [x, 1 - x]) == pytest.approx(0.0)
    assert joint_tv_complement([x, x], [x, x]) == 1.0


def _scores(family: str, real: pd.DataFrame) -> dict[str, float]:
    synth = simulacra.create(family, seed=0).fit(real).sample(len(real))
    report = simulacra.evaluate(real, synth)
    return {m.name: m.value for m in report.metrics if not m.columns} | report.scores


def test_scores_rank_the_families(correlated):
    independent = _scores("independent", correlated)
    copula = _scores("copula", correlated)
    bootstrap = _scores("bootstrap", correlated)
    assert independent["column_shapes"] > 0.95 and copula["column_shapes"] > 0.95
    assert independent["column_pair_trends"] < copula["column_pair_trends"] - 0.05
    assert copula["column_pair_trends"] > 0.9
    assert bootstrap["fidelity"] >= copula["fidelity"] - 0.01


def test_report_is_data_with_declared_metrics(mixed):
    synth = simulacra.create("copula", seed=0).fit(mixed).sample(400)
    report = simulacra.evaluate(mixed, synth)
    for metric in report.metrics:
        assert metric.section == "fidelity" and metric.meaning
        assert metric.low <= metric.value <= metric.high or np.isnan(metric.value)
    data = json.loads(report.to_json())
    assert data["scores"]["fidelity"] == pytest.approx(report.scores["fidelity"])
    names = {m["name"] for m in data["metrics"]}
    assert {
        "ks_complement",
        "tv_complement",
        "correlation_similarity",
        "contingency_similarity",
        "three_way_similarity",
        "missing_share_difference",
        "range_coverage",
        "category_coverage",
    } <= names
    summary = report.summary()
    assert list(summary.columns) == ["section", "score", "verdict", "meaning"]
    assert "user_id" in report.notes[0] and "email" in report.notes[0]


def test_missing_share_difference_is_measured():
    real = pd.DataFrame({"v": [1.0, np.nan, 3.0, np.nan, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]})
    synth = pd.DataFrame({"v": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]})
    report = simulacra.evaluate(real, synth)
    assert report.of("missing_share_difference")[0].value == pytest.approx(0.2)


def test_large_tables_are_sampled_and_say_so(correlated):
    report = simulacra.evaluate(correlated, correlated, max_rows=1000)
    assert any("1,000 of 5,000 rows sampled" in note for note in report.notes)


def test_mismatched_columns_are_all_listed(mixed):
    synth = mixed.drop(columns=["amount", "group"]).assign(extra=1)
    with pytest.raises(InvalidDataError) as err:
        simulacra.evaluate(mixed, synth)
    text = str(err.value)
    assert "'amount'" in text and "'group'" in text and "'extra'" in text


def test_empty_table_is_an_error(mixed):
    with pytest.raises(InvalidDataError, match="synthetic table has no rows"):
        simulacra.evaluate(mixed, mixed.iloc[:0])
