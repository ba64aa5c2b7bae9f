"""Differential privacy: the budget and its ledger, private domains, audits of every DP family."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import simulacra
from conftest import attacks_pass_at_epsilon_one, family_available
from simulacra.errors import BudgetError, InvalidDataError, InvalidParameterError
from simulacra.metadata import Metadata
from simulacra.privacy.budget import PrivacyBudget

DP_FAMILIES = ["dp-bayesnet", "dp-marginals", "dp-copula"]
pytestmark = pytest.mark.skipif(
    not all(family_available(f) for f in DP_FAMILIES),
    reason="needs the dp extra: pip install 'simulacra[dp]'",
)


def _small(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.random(rows) < 0.3
    return pd.DataFrame({"a": a, "b": np.where(a, "x", rng.choice(["y", "z"], rows))})


DECLARED = Metadata.from_dict(
    {
        "columns": {
            "a": {"type": "boolean"},
            "b": {"type": "categorical", "categories": ["x", "y", "z"]},
        }
    }
)


def _spent(model) -> float:
    return math.fsum(s["epsilon"] for s in model.privacy_ledger())


# ------------------------------------------------------------------ budget
def test_budget_records_spends_and_refuses_to_overspend(tmp_path):
    budget = PrivacyBudget(1.0, 1e-6)
    budget.spend("age histogram", 0.4, mechanism="laplace")
    budget.spend("categories", 0.1, 5e-7)
    assert budget.remaining_epsilon == pytest.approx(0.5)
    with pytest.raises(BudgetError, match=r"needs epsilon 0\.6 but only 0\.5 of 1 is left"):
        budget.spend("too much", 0.6)
    with pytest.raises(BudgetError, match="delta"):
        budget.spend("too much delta", 0.1, 1e-6)
    assert len(budget.spends) == 2, "a refused spend must not be recorded"
    path = tmp_path / "budget.json"
    budget.save(path)
    again = PrivacyBudget.load(path)
    assert again.to_dict() == budget.to_dict()
    assert again.describe()[0] == "epsilon 0.4 spent on age histogram (laplace)"


@pytest.mark.parametrize("epsilon", [0, -1.0, float("inf"), float("nan"), True])
def test_epsilon_must_be_positive_and_finite(epsilon):
    with pytest.raises(InvalidParameterError, match="epsilon"):
        PrivacyBudget(epsilon)
    for family in DP_FAMILIES:
        with pytest.raises(InvalidParameterError, match="epsilon"):
            simulacra.create(family, epsilon=epsilon)


def test_epsilon_and_delta_bounds_are_stated_as_checked():
    # help and errors say what is refused: epsilon 0 and delta 1 (they said >= 0, <= 1)
    for family in DP_FAMILIES:
        with pytest.raises(InvalidParameterError, match=r"it must be a number > 0\b"):
            simulacra.create(family, epsilon=0)
        with pytest.raises(InvalidParameterError, match=r">= 0 and < 1, or None"):
            simulacra.create(family, delta=1.0)


def test_delta_must_be_below_one_over_n():
    model = simulacra.create("dp-copula", epsilon=1.0, delta=0.01)
    with pytest.raises(InvalidParameterError, match=r"not below 1/n = 1/200"):
        model.fit(_small(200))


def test_a_spent_budget_fails_before_the_data_is_read(tmp_path):
    budget = PrivacyBudget(1.0)
    budget.spend("an earlier release", 0.9)
    model = simulacra.create("dp-bayesnet", epsilon=0.5)
    with pytest.raises(BudgetError, match=r"only 0\.1 of 1 is left"):
        model.fit(tmp_path / "does-not-exist.csv", budget=budget)  # never opened


def test_fits_charge_the_shared_budget_once_each():
    budget = PrivacyBudget(1.0, 1e-5)
    data = _small(400)
    simulacra.create("dp-marginals", epsilon=0.6, seed=0).fit(data, DECLARED, budget=budget)
    assert [s["what"] for s in budget.spends] == ["dp-marginals fit"]
    assert budget.spends[0]["epsilon"] <= 0.6 + 1e-9
    with pytest.raises(BudgetError):
        simulacra.create("dp-copula", epsilon=0.6).fit(data, DECLARED, budget=budget)
    simulacra.create("dp-copula", epsilon=0.4, seed=0).fit(data, DECLARED, budget=budget)
    assert budget.spent_epsilon <= 1.0 + 1e-9


def test_delta_zero_needs_declared_categories():
    data = _small()
    with pytest.raises(InvalidParameterError, match=r"\['b'\].*declare them in the metadata"):
        simulacra.create("dp-copula", epsilon=1.0, delta=0.0).fit(data)
    model = simulacra.create("dp-copula", epsilon=1.0, delta=0.0, seed=0).fit(data, DECLARED)
    assert all(s["delta"] == 0 for s in model.privacy_ledger())


def test_too_few_rows_for_a_private_range_or_category_list_say_what_to_declare():
    """Too few rows: each try refuses (an empty bucket clears the noise level almost never)."""
    numbers = pd.DataFrame({"x": np.linspace(0, 1, 30)})
    refused = 0
    for _ in range(6):
        try:
            simulacra.create("dp-copula", epsilon=0.1).fit(numbers)
        except InvalidDataError as exc:
            assert re.search(r"range of column 'x'.*declare its min and max", str(exc))
            refused += 1
    assert refused >= 5
    data = pd.DataFrame({"x": np.linspace(0, 1, 30), "c": ["a", "b", "c"] * 10})
    meta = Metadata.from_dict(
        {"columns": {"x": {"type": "numerical", "min": 0, "max": 1}, "c": {"type": "categorical"}}}
    )
    refused = 0
    for _ in range(6):  # OpenDP's noise is not seeded: a rare try gets through
        try:
            simulacra.create("dp-copula", epsilon=0.1).fit(data, meta)
        except InvalidDataError as exc:
            assert re.search(r"column 'c'.*declare its categories", str(exc))
            refused += 1
    assert refused >= 5


def _ruled(rows: int = 2_000) -> tuple[pd.DataFrame, Metadata]:
    rng = np.random.default_rng(3)
    start = rng.uniform(0, 100, rows).round(1)
    data = pd.DataFrame(
        {
            "start": start,
            "end": (start + rng.gamma(2.0, 5.0, rows)).clip(max=150).round(1),
            "fee": rng.uniform(0, 10, rows).round(1),
            "city": rng.choice(["Oslo", "Rome", "Lima"], rows),
        }
    )
    data["total"] = data["end"] + data["fee"]
    columns = {
        name: {"type": "numerical", "min": 0, "max": high, "decimals": 1}
        for name, high in (("start", 100), ("end", 150), ("fee", 10), ("total", 160))
    }
    columns["city"] = {"type": "categorical", "categories": ["Lima", "Oslo", "Rome"]}
    rules = [
        {"type": "inequality", "low": "start", "high": "end"},
        {"type": "formula", "column": "total", "expression": "end + fee"},
        {"type": "custom", "expression": "fee < 9 or city != 'Oslo'"},
    ]
    return data[~((data["fee"] >= 9) & (data["city"] == "Oslo"))], Metadata.from_dict(
        {"columns": columns, "constraints": rules}
    )


@pytest.mark.parametrize("family", ["dp-copula", "dp-bayesnet", "dp-marginals"])
def test_declared_rules_hold_on_every_row_drawn_again_not_clamped(family, tmp_path):
    # the rules are read from the metadata alone, never learned from the rows, so they
    # cost no budget; rows that break one are drawn again rather than clamped onto it
    data, meta = _ruled()
    model = simulacra.create(family, epsilon=5.0, seed=0).fit(data, meta)
    assert sum(s["epsilon"] for s in model.privacy_ledger()) == pytest.approx(5.0)
    model.save(tmp_path / "m.simz")
    for out in (model.sample(3_000), simulacra.load(tmp_path / "m.simz").sample(3_000)):
        kept = out.dropna()
        assert (kept["end"] >= kept["start"]).all()
        assert np.allclose(kept["total"], kept["end"] + kept["fee"])
        assert not ((kept["fee"] >= 9) & (kept["city"] == "Oslo")).any()
        assert (kept["end"] == kept["start"]).mean() < 0.02  # clamping piled 10%+ here


def test_a_training_row_breaking_a_rule_neither_stops_a_dp_fit_nor_is_named():
    # whether a DP fit succeeds may not hang on one row; the rule still holds on the output
    data, meta = _ruled()
    data = data.copy()
    data.iloc[7, data.columns.get_loc("end")] = data["start"].iloc[7] - 1
    out = simulacra.create("dp-copula", epsilon=5.0, seed=0).fit(data, meta).sample(500)
    kept = out.dropna()
    assert (kept["end"] >= kept["start"]).all()
    with pytest.raises(InvalidDataError, match="break constraint"):
        simulacra.create("copula", seed=0).fit(data, meta)  # a non-DP family names the row


def test_fixed_combinations_are_refused_naming_the_columns():
    # the seen combinations are read from the training rows: a release DP does not allow
    data, meta = _ruled()
    meta.constraints = [{"type": "fixed_combinations", "columns": ["city", "fee"]}]
    meta.columns["fee"] = meta.columns["city"]
    data = data.assign(fee=data["city"])
    named = r"fixed_combinations constraint \(\['city', 'fee'\]"
    with pytest.raises(InvalidDataError, match=named):
        simulacra.create("dp-copula").fit(data, meta)


@pytest.mark.parametrize("family", DP_FAMILIES)
def test_a_column_declaring_no_categories_is_refused_naming_it(family):
    # detection writes [] when every value is rare; before, sampling crashed inside Arrow
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"x": rng.uniform(0, 1, 300), "note": [f"n{i}" for i in range(300)]})
    meta = Metadata.detect(data)
    meta.columns["x"].min, meta.columns["x"].max = 0, 1
    assert meta.columns["note"].categories == []
    with pytest.raises(InvalidDataError, match=r"column 'note' declares no categories.*\"text\""):
        simulacra.create(family, epsilon=1.0).fit(data, meta)
    meta.columns["note"].type, meta.columns["note"].categories = "text", None
    out = simulacra.create(family, epsilon=1.0).fit(data, meta).sample(50)
    assert not set(out["note"]) & set(data["note"])


def test_an_epsilon_too_large_for_opendp_is_a_clear_error_and_huge_ones_fit_elsewhere():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"x": rng.normal(size=300).clip(-3, 3)}).assign(y=lambda d: 2 * d.x)
    with pytest.raises(InvalidParameterError, match="give the fit a smaller epsilon"):
        simulacra.create("dp-copula", epsilon=1e5).fit(data)  # Overflow inside OpenDP before
    out = simulacra.create("dp-marginals", epsilon=1e200).fit(data).sample(10)  # ZeroDivision
    assert len(out) == 10


# ------------------------------------------------------------- the ledger
@pytest.mark.parametrize("family", DP_FAMILIES)
def test_the_ledger_adds_up_and_travels_with_the_model(family, tmp_path):
    rng = np.random.default_rng(1)
    data = pd.DataFrame(
        {
            "age": rng.integers(18, 90, 2000),
            "income": rng.lognormal(10, 0.5, 2000),
            "city": rng.choice(["Oslo", "Rome", "Lima"], 2000),
        }
    )
    model = simulacra.create(family, epsilon=2.0, seed=0).fit(data)
    ledger = model.privacy_ledger()
    assert _spent(model) <= 2.0 + 1e-9
    assert _spent(model) >= 2.0 * 0.99, "the whole budget should be put to use"
    whats = " | ".join(s["what"] for s in ledger)
    for part in ("the row count", "the range of 'age'", "the range of 'income'", "'city'"):
        assert part in whats
    assert abs(model.n_training_rows_ - 2000) < 1000
    path = tmp_path / "model.simz"
    model.save(path)
    loaded = simulacra.load(path)
    assert loaded.privacy_ledger() == ledger
    pd.testing.assert_frame_equal(loaded.sample(100, seed=3), model.sample(100, seed=3))
    report = simulacra.evaluate(data, model.sample(2000, seed=1), ledger=ledger)
    assert report.ledger and "differential privacy" in " ".join(report.notes)


@pytest.mark.parametrize("family", DP_FAMILIES)
def test_the_default_delta_comes_from_the_released_row_count(family):
    # before, delta was 1/(n*sqrt(n)) for the exact n, so the ledger gave n back exactly
    data = _small(rows=1234)
    model = simulacra.create(family, epsilon=1.0, seed=0).fit(data)
    bound = model.noisy_rows_ + 5 / (0.02 * 1.0)  # five Laplace scales of the count's release
    assert model.fit_budget.delta == pytest.approx(1 / (bound * math.sqrt(bound)))
    assert all(s["delta"] <= model.fit_budget.delta for s in model.privacy_ledger())


def test_declared_bounds_and_categories_are_free_and_kept():
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"x": rng.uniform(0, 10, 1000), "c": rng.choice(["p", "q"], 1000)})
    meta = Metadata.from_dict(
        {
            "columns": {
                "x": {"type": "numerical", "min": 0, "max": 10},
                "c": {"type": "categorical", "categories": ["p", "q"]},
            }
        }
    )
    model = simulacra.create("dp-bayesnet", epsilon=1.0, seed=0).fit(data, meta)
    assert not any(
        "range" in s["what"] or "categories" in s["what"] for s in model.privacy_ledger()
    )
    assert (model.metadata_.columns["x"].min, model.metadata_.columns["x"].max) == (0, 10)


def test_detected_ranges_and_rare_categories_are_not_used():
    """Metadata a fit detects itself comes from the data: its ranges and categories are dropped."""
    rng = np.random.default_rng(3)
    data = pd.DataFrame(
        {
            "x": np.append(rng.normal(50, 5, 3999), 1e6),  # one outlier
            "city": np.append(rng.choice(["Oslo", "Rome"], 3999), "Tiny Village"),
        }
    )
    for family in DP_FAMILIES:
        model = simulacra.create(family, epsilon=1.0, seed=0).fit(data)
        assert model.metadata_.columns["x"].max < 1e5, family
        assert "Tiny Village" not in model.metadata_.columns["city"].categories, family
        out = model.sample(5000)
        assert out["x"].max() < 1e5 and "Tiny Village" not in set(out["city"]), family


# ----------------------------------------------------------------- audits
def _share_of_a(family: str, data: pd.DataFrame, epsilon: float, seeds: range) -> np.ndarray:
    """The share of rows with ``a`` true (of 4000 sampled) for fits under each seed."""
    shares = []
    for s in seeds:
        out = simulacra.create(family, epsilon=epsilon, seed=s).fit(data, DECLARED).sample(4000)
        shares.append(float(out["a"].eq(True).fillna(False).mean()))
    return np.array(shares)


@pytest.mark.parametrize("family", DP_FAMILIES)
def test_audit_neighbouring_tables_stay_within_e_to_the_epsilon(family):
    """Fits on tables one row apart: the chance of any event differs by at most e^epsilon.

    The event is "the learned share of a is above the first table's median".
    With 120 fits a side, a Clopper-Pearson interval (99%) of each chance
    must be consistent with P(E | D) <= e^eps P(E | D') and vice versa. A fit
    without noise fails it: its event has chance 0 on one table and 1 on the other.
    """
    epsilon, runs = 1.0, 120
    base = _small(60, seed=4)
    extra = pd.concat([base, pd.DataFrame({"a": [True], "b": ["x"]})], ignore_index=True)
    first = _share_of_a(family, base, epsilon, range(runs))
    second = _share_of_a(family, extra, epsilon, range(runs, 2 * runs))
    cut = float(np.median(first))
    for event in (lambda s: s > cut, lambda s: s <= cut):
        k1, k2 = int(event(first).sum()), int(event(second).sum())
        lo1, hi1 = stats.binomtest(k1, runs).proportion_ci(0.99)
        lo2, hi2 = stats.binomtest(k2, runs).proportion_ci(0.99)
        assert lo1 <= math.exp(epsilon) * hi2 and lo2 <= math.exp(epsilon) * hi1, (k1, k2)


@pytest.mark.parametrize("family", DP_FAMILIES)
def test_a_tiny_epsilon_forgets_the_data(family):
    """At epsilon 0.001 fits on two opposite tables are alike; at 20 the same test tells them apart.

    The outputs are compared by a two-sample Kolmogorov-Smirnov test on the
    learned share of ``a`` over 16 fits a side: at 0.001 it must not reject
    (a false alarm has chance 1e-3), at 20 it must.
    """
    ones = pd.DataFrame({"a": [True] * 300, "b": ["x"] * 300})
    zeros = pd.DataFrame({"a": [False] * 300, "b": ["y"] * 300})
    for epsilon, alike in ((1e-3, True), (20.0, False)):
        first, second = (_share_of_a(family, t, epsilon, range(16)) for t in (ones, zeros))
        p = stats.ks_2samp(first, second).pvalue
        assert (p > 1e-3) == alike, (epsilon, p, first.mean(), second.mean())


# ------------------------------------------------------- fidelity at a fair epsilon
def test_dp_families_keep_the_main_relations_at_epsilon_one():
    rng = np.random.default_rng(5)
    x = rng.normal(size=8000)
    data = pd.DataFrame(
        {"x": x, "y": 2 * x + rng.normal(size=8000), "g": np.where(x > 0.5, "hi", "lo")}
    )
    for family in DP_FAMILIES:
        out = simulacra.create(family, epsilon=1.0, seed=0).fit(data).sample(8000)
        assert out["x"].corr(out["y"], method="spearman") > 0.45, family
        share = (out["g"] == "hi").mean()
        assert abs(share - (data["g"] == "hi").mean()) < 0.08, family
        assert out.loc[out["g"] == "hi", "x"].mean() > out.loc[out["g"] == "lo", "x"].mean()


def test_sampling_spends_nothing_and_conditions_are_exact():
    model = simulacra.create("dp-bayesnet", epsilon=1.0, seed=0).fit(_small(500), DECLARED)
    before = json.dumps(model.privacy_ledger())
    out = model.sample(300, conditions={"b": "x"})
    assert (out["b"] == "x").all()
    model.sample(1000, rebalance={"a": {True: 0.5}})
    assert json.dumps(model.privacy_ledger()) == before


@pytest.mark.parametrize("family", DP_FAMILIES)
def test_privacy_attacks_pass_at_epsilon_one(family):
    """The evaluation's attacks against a DP copy: no more risk than for unseen rows."""
    attacks_pass_at_epsilon_one(
        lambda train, meta: simulacra.create(family, epsilon=1.0, seed=0).fit(train, meta)
    )
