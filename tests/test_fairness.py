"""Fairness: representation of sensitive groups, and model gaps TSTR vs TRTR."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulacra
from simulacra.errors import InvalidDataError
from simulacra.evaluate.fairness import _group_rates


def test_group_rates_known_values():
    codes = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    truth = np.array(["y", "y", "n", "n", "y", "y", "n", "n"])
    predicted = np.array(["y", "y", "y", "n", "y", "n", "n", "n"])
    (parity, odds), rate = _group_rates(truth, predicted, codes, classify=True)
    # selection: group 0 3/4, group 1 1/4; TPR 1 vs 1/2, FPR 1/2 vs 0
    assert rate.tolist() == [0.75, 0.25]
    assert parity == pytest.approx(0.5) and odds == pytest.approx(0.5)
    values = np.array([0.0, 10.0, 0.0, 10.0])
    (gap, error), _ = _group_rates(
        values, values + np.array([0, 0, 2, 2]), np.array([0, 0, 1, 1]), False
    )
    # group 1 predicts 2 and 12 for 0 and 10: as shares of the range, clipped, 0.2 and 1.0
    assert gap == pytest.approx(0.1) and error == pytest.approx(0.1)


@pytest.fixture
def loans():
    """Approval depends on income only, never on sex."""
    rng = np.random.default_rng(7)
    n = 4000
    sex = rng.choice(["F", "M"], n)
    income = rng.normal(50, 15, n).round(1)
    approved = np.where(income + rng.normal(0, 5, n) > 50, "yes", "no")
    return pd.DataFrame({"sex": sex, "income": income, "approved": approved})


def _fairness(train, synth, holdout):
    return simulacra.evaluate(train, synth, holdout=holdout, target="approved", sensitive="sex")


def test_a_fair_copy_scores_well_and_a_biased_one_does_not(loans):
    train, holdout = loans.iloc[:3000].reset_index(drop=True), loans.iloc[3000:]
    fair = _fairness(train, simulacra.create("copula", seed=0).fit(train).sample(3000), holdout)
    assert fair.scores["fairness"] > 0.85
    assert fair.of("demographic_parity_difference_trtr")[0].value < 0.1
    # a copy that teaches "men are approved, women are not"
    biased = train.assign(approved=np.where(train["sex"] == "M", "yes", "no"))
    unfair = _fairness(train, biased, holdout)
    assert unfair.of("demographic_parity_difference_tstr")[0].value > 0.9
    assert unfair.of("equalized_odds_difference_tstr")[0].value > 0.9
    assert unfair.scores["fairness"] < 0.2
    groups = {m.group: m.value for m in unfair.of("selection_rate_tstr")}
    assert groups == {"M": pytest.approx(1.0), "F": pytest.approx(0.0)}


def test_a_missing_group_shows_in_representation(loans):
    synth = loans[loans["sex"] == "M"]
    report = simulacra.evaluate(loans, synth, sensitive=["sex"])
    assert report.of("representation_similarity")[0].value == pytest.approx(
        1 - (loans["sex"] == "F").mean(), abs=1e-9
    )
    shares = {m.group: m.value for m in report.of("group_share_difference")}
    assert shares["F"] == pytest.approx((loans["sex"] == "F").mean())
    assert report.scores["fairness"] < 0.6
    assert any("needs a target and a holdout" in n for n in report.notes)
    figure = report.to_dict()["figures"]["representation"][0]
    assert figure["column"] == "sex" and set(figure["labels"]) == {"F", "M"}


def test_regression_target_gaps(loans):
    train, holdout = loans.iloc[:3000].reset_index(drop=True), loans.iloc[3000:]
    report = simulacra.evaluate(train, train, holdout=holdout, target="income", sensitive="sex")
    assert 0 <= report.of("mean_prediction_gap_tstr")[0].value < 0.1
    assert report.scores["fairness"] > 0.9


def test_sensitive_column_checks(loans):
    many = loans.assign(zip=[f"{i:05d}" for i in range(len(loans))])
    with pytest.raises(InvalidDataError) as err:
        simulacra.evaluate(many, many, sensitive=["zip", "nope"])
    text = str(err.value)
    assert "'nope' is not a column" in text
    assert "has 4,000 levels" in text or "regenerated" in text
    levels = loans.assign(band=(loans["income"] // 1).astype(int))
    with pytest.raises(InvalidDataError, match=r"'band' has \d+ levels.*bin it"):
        simulacra.evaluate(levels, levels, sensitive="band")


def test_a_biased_regression_copy_scores_within_bounds(loans):
    train, holdout = loans.iloc[:3000].reset_index(drop=True), loans.iloc[3000:]
    biased = train.assign(income=np.where(train["sex"] == "M", 5000.0, 0.0))
    report = simulacra.evaluate(train, biased, holdout=holdout, target="income", sensitive="sex")
    assert 0.0 <= report.scores["fairness"] < 0.2
    for metric in report.metrics:
        if metric.section == "fairness":
            assert metric.low <= metric.value <= metric.high, metric


def test_numbers_read_as_int_or_float_are_one_group():
    real = pd.DataFrame({"flag": [0, 1] * 50, "x": np.arange(100.0)})
    synth = real.assign(flag=real["flag"].astype(float))
    synth.loc[0, "flag"] = np.nan  # an int column with a gap reads as floats
    report = simulacra.evaluate(real, synth, sensitive="flag")
    assert report.of("representation_similarity")[0].value > 0.98
    assert report.scores["validity"] == 1.0
