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
        assert metric.section in ("fidelity", "detection", "privacy", "validity")
        assert metric.meaning
        assert metric.low <= metric.value <= metric.high or np.isnan(metric.value)
    data = json.loads(report.to_json())
    assert data["scores"]["fidelity"] == pytest.approx(report.scores["fidelity"])
    assert [row["section"] for row in data["summary"]] == list(report.summary()["section"])
    assert data["context"]["rows"] == {"real": 400, "synthetic": 400}
    figures = data["figures"]
    learned = [n for n, c in simulacra.Metadata.detect(mixed).columns.items() if c.modelled]
    assert [d["column"] for d in figures["distributions"]] == learned
    for figure in figures["distributions"]:
        assert sum(figure["real"]) == pytest.approx(1.0)
        assert sum(figure["synthetic"]) == pytest.approx(1.0)
    numeric = figures["correlation"]["columns"]
    assert "amount" in numeric and len(figures["correlation"]["real"]) == len(numeric)
    assert figures["distance_to_closest_record"]["holdout"] is None
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


# ---------------------------------------------------------------- privacy
@pytest.fixture
def split():
    table = simulacra.datasets.load_customers()
    return table.iloc[:1000].reset_index(drop=True), table.iloc[1000:].reset_index(drop=True)


def _privacy(family: str, train, holdout, **params):
    synth = simulacra.create(family, seed=0, **params).fit(train).sample(1000)
    report = simulacra.evaluate(train, synth, holdout=holdout)
    values = {m.name: m.value for m in report.metrics if m.section == "privacy"}
    return report.scores["privacy"], values


def test_plain_bootstrap_is_flagged_unsafe(split):
    score, values = _privacy("bootstrap", *split)
    assert score < 0.1
    assert values["exact_copy_share"] > 0.95
    assert values["share_closer_to_train"] > 0.95
    assert values["membership_inference_auc"] > 0.75


def test_independent_marginals_pass(split):
    score, values = _privacy("independent", *split)
    assert score > 0.85
    assert values["exact_copy_share"] == 0.0
    assert abs(values["share_closer_to_train"] - 0.5) < 0.06
    assert abs(values["membership_inference_auc"] - 0.5) < 0.06


def test_copies_real_rows_share_with_each_other_are_no_leak():
    # four columns of few values: unseen real rows equal a training row 99% of the time,
    # so a copy that does the same is no closer to its training rows than they are
    rng = np.random.default_rng(0)
    n = 2000
    df = pd.DataFrame(
        {
            "region": rng.choice(["N", "S", "E", "W"], n),
            "segment": rng.choice(["retail", "business"], n),
            "active": rng.random(n) < 0.7,
            "stars": rng.integers(1, 6, n),
        }
    )
    train, holdout = df.iloc[:1600], df.iloc[1600:]
    synthetic = simulacra.create("independent", seed=0).fit(train).sample(1600)
    report = simulacra.evaluate(train, synthetic, holdout=holdout, seed=0)
    values = {m.name: m.value for m in report.metrics}
    assert values["holdout_copy_share"] > 0.95 and values["exact_copy_share"] > 0.95
    assert report.scores["privacy"] > 0.8  # it was 1 - exact copies, about 0.01


def test_noise_makes_bootstrap_safer_but_not_safe(split):
    plain, _ = _privacy("bootstrap", *split)
    noisy, values = _privacy("bootstrap", *split, noise=0.3, swap_rate=0.3)
    assert plain < noisy < 0.8
    assert values["exact_copy_share"] < 0.05


def test_overlapping_holdout_is_warned_about(split):
    train, holdout = split
    overlapping = pd.concat([holdout, train.iloc[:100]], ignore_index=True)
    synth = simulacra.create("independent", seed=0).fit(train).sample(500)
    with pytest.warns(UserWarning, match="also appear in the training data"):
        report = simulacra.evaluate(train, synth, holdout=overlapping)
    assert any("also appear in the training data" in n for n in report.notes)


def test_without_holdout_only_copy_metrics(split):
    train, _ = split
    synth = simulacra.create("independent", seed=0).fit(train).sample(500)
    report = simulacra.evaluate(train, synth)
    names = {m.name for m in report.metrics if m.section == "privacy"}
    assert names == {
        "exact_copy_share",
        "near_copy_share",
        "median_distance_to_closest_record",
        "median_nndr",
        "singling_out_rate",
    }
    assert any("no holdout" in n for n in report.notes)


def test_distance_space_is_gower_like():
    from simulacra.evaluate.privacy import embed

    train = pd.DataFrame({"x": [0.0, 10.0, 3.3, 6.6, 1.1] * 2, "c": ["a", "b"] * 5})
    meta = simulacra.Metadata.detect(train)
    queries = pd.DataFrame({"x": [5.0, 0.0], "c": ["a", "b"]})
    train_rows, query_rows = embed([train, queries], meta)
    gaps = np.abs(query_rows - train_rows[0]).sum(axis=1)
    # half the range on one of two columns: 0.25; a category mismatch on one of two: 0.5
    assert gaps.tolist() == pytest.approx([0.25, 0.5])


def test_holdout_with_other_columns_is_an_error(split):
    train, holdout = split
    with pytest.raises(InvalidDataError, match="holdout"):
        simulacra.evaluate(train, train, holdout=holdout.drop(columns=["age"]))


# -------------------------------------------------------------- detection
def _detection(family: str, real: pd.DataFrame):
    synth = simulacra.create(family, seed=0).fit(real).sample(len(real))
    report = simulacra.evaluate(real, synth)
    auc = report.of("detection_auc")[0].value
    telling = [m.columns[0] for m in report.of("detection_importance")]
    return auc, telling, report.scores["detection"]


def test_detection_sees_broken_relationships(correlated):
    auc, telling, score = _detection("independent", correlated)
    assert auc > 0.65 and score < 0.7
    assert set(telling[:2]) <= {"x", "y", "group"}
    copula_auc, _, copula_score = _detection("copula", correlated)
    assert copula_auc < auc - 0.1 and copula_score > score


def test_a_resample_of_the_real_rows_is_undetectable(correlated):
    auc, _, score = _detection("bootstrap", correlated)
    # copies of real rows in other folds can even push the AUC below 0.5
    assert auc < 0.55 and score > 0.9


# ---------------------------------------------------------------- utility
@pytest.fixture
def correlated_split(correlated):
    return correlated.iloc[:3500].reset_index(drop=True), correlated.iloc[3500:].reset_index(
        drop=True
    )


@pytest.mark.parametrize(("target", "measure"), [("group", "ROC AUC"), ("y", "R²")])
def test_utility_rewards_learned_relationships(correlated_split, target, measure):
    train, holdout = correlated_split
    scores = {}
    for family in ("independent", "copula"):
        synth = simulacra.create(family, seed=0).fit(train).sample(len(train))
        report = simulacra.evaluate(train, synth, holdout=holdout, target=target)
        scores[family] = report.scores["utility"]
        tstr, trtr = report.of("tstr")[0], report.of("trtr")[0]
        assert measure in tstr.meaning and tstr.columns == (target,)
    assert trtr.value > (0.75 if measure == "ROC AUC" else 0.4)
    assert scores["independent"] < 0.2
    assert scores["copula"] > 0.8


def test_utility_target_checks(correlated_split):
    train, holdout = correlated_split
    with pytest.raises(InvalidDataError, match="target 'nope' is not a column"):
        simulacra.evaluate(train, train, holdout=holdout, target="nope")
    report = simulacra.evaluate(train, train, target="group")
    assert "utility" not in report.scores
    assert any("needs a holdout" in n for n in report.notes)


def _attacks(family: str, train, holdout, **params):
    synth = simulacra.create(family, seed=0, **params).fit(train).sample(1000)
    report = simulacra.evaluate(train, synth, holdout=holdout, sensitive=["segment"])
    return {m.name: m.value for m in report.metrics if m.section == "privacy"}


def test_attacks_flag_a_bootstrap_and_pass_independent_marginals(split):
    copied = _attacks("bootstrap", *split)
    independent = _attacks("independent", *split)
    # a copy of a training row gives its sensitive value away and singles its owner out
    # (a resample holds about 63% of the training rows)
    assert copied["attribute_inference_accuracy"] > 0.8
    assert copied["attribute_inference_risk"] > 0.5
    assert copied["singling_out_risk"] > 0.3
    assert copied["median_nndr"] == 0.0
    assert independent["attribute_inference_risk"] < 0.1
    assert independent["singling_out_risk"] < 0.1
    assert independent["median_nndr"] > 0.5


def test_attack_risk_is_scaled_to_what_was_left_to_gain():
    from simulacra.evaluate.privacy import _risk

    assert _risk(0.9, 0.5) == pytest.approx(0.8)
    assert _risk(0.4, 0.5) == 0.0
    assert _risk(1.0, 1.0) == 0.0


def test_mismatched_types_are_listed_and_can_be_skipped(mixed):
    synth = simulacra.create("copula", seed=0).fit(mixed).sample(400)
    synth["amount"] = "n/a"  # text where the real table has numbers
    synth = synth.drop(columns=["group"])
    with pytest.raises(InvalidDataError) as err:
        simulacra.evaluate(mixed, synth)
    text = str(err.value)
    assert "'amount' of the synthetic table: 100% of values are not numbers" in text
    assert "'group' is in the real table but not in the synthetic one" in text
    assert "allow_mismatch" in text
    report = simulacra.evaluate(mixed, synth, allow_mismatch=True)
    compared = {c for m in report.metrics for c in m.columns}
    assert "amount" not in compared and "group" not in compared and "count" in compared
    assert any("only common columns" in n and "'amount'" in n for n in report.notes)


def test_ledger_is_reported_and_checked(mixed):
    spends = [
        {"what": "amount histogram", "epsilon": 0.3, "mechanism": "laplace"},
        {"what": "correlations", "epsilon": 0.7, "delta": 1e-6},
    ]
    report = simulacra.evaluate(mixed, mixed, ledger=spends)
    assert [s["epsilon"] for s in report.ledger] == [0.3, 0.7]
    assert any("epsilon 1, delta 1e-06" in n for n in report.notes)
    assert json.loads(report.to_json())["ledger"][1]["what"] == "correlations"
    with pytest.raises(InvalidDataError, match="ledger entry 0"):
        simulacra.evaluate(mixed, mixed, ledger=[{"what": "x"}])


def test_attribute_inference_compares_numbers_by_value(split):
    train, holdout = split
    copied = train.assign(orders=train["orders"].astype(float))  # 3 and 3.0 are one value
    report = simulacra.evaluate(train, copied, holdout=holdout, sensitive=["orders"])
    assert report.of("attribute_inference_accuracy")[0].value == 1.0
    assert report.of("attribute_inference_risk")[0].value > 0.9


def test_bad_ledger_values_and_tiny_tables_are_errors(mixed):
    with pytest.raises(InvalidDataError, match="finite 'epsilon' above 0"):
        simulacra.evaluate(mixed, mixed, ledger=[{"what": "x", "epsilon": "nan"}])
    with pytest.raises(InvalidDataError, match="finite 'epsilon' above 0"):
        simulacra.evaluate(mixed, mixed, ledger=[{"what": "x", "epsilon": -3}])
    with pytest.raises(InvalidDataError, match="synthetic table has only 1 row"):
        simulacra.evaluate(mixed, mixed.iloc[:1])


def test_dates_with_changing_offsets_are_read():
    stamps = pd.date_range("2024-03-20", periods=40, freq="D", tz="Europe/Paris")
    real = pd.DataFrame({"t": stamps, "v": np.arange(40.0)})
    synth = real.assign(t=stamps.strftime("%Y-%m-%d %H:%M:%S%z"))  # +0100 and +0200
    report = simulacra.evaluate(real, synth)
    assert report.of("ks_complement")[0].columns == ("t",)
    assert report.of("ks_complement")[0].value == 1.0


def test_a_small_holdout_does_not_hide_copies(split):
    train, holdout = split
    synth = simulacra.create("bootstrap", seed=0).fit(train).sample(1000)
    report = simulacra.evaluate(train, synth, holdout=holdout.iloc[:20])
    assert report.of("exact_copy_share")[0].value > 0.95


def test_utility_not_scored_says_why():
    rng = np.random.default_rng(0)
    n = 1000  # a target the features say nothing about: no real skill to keep
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
            "y": rng.choice(["a", "b"], n, p=[0.6, 0.4]),
        }
    )
    synthetic = simulacra.create("independent", seed=0).fit(df.iloc[:800]).sample(800)
    report = simulacra.evaluate(df.iloc[:800], synthetic, holdout=df.iloc[800:], target="y", seed=0)
    assert report.scores["utility"] != report.scores["utility"]
    assert any("no better than a blind guess" in note for note in report.notes)


def test_a_constant_synthetic_target_scores_utility_zero_without_warnings():
    rng = np.random.default_rng(0)
    n = 1000
    y = np.where(rng.normal(size=n) > 0, "a", "b")
    df = pd.DataFrame({"x": rng.normal(size=n) + (y == "a") * 2, "z": rng.normal(size=n), "y": y})
    synthetic = df.iloc[:800].assign(y="a")  # a copy that learned one class only
    report = simulacra.evaluate(df.iloc[:800], synthetic, holdout=df.iloc[800:], target="y", seed=0)
    values = {m.name: m.value for m in report.metrics}
    assert report.scores["utility"] == 0.0 and values["tstr"] == 0.5
    assert values["feature_importance_agreement"] != values["feature_importance_agreement"]
