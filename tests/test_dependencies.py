"""Detection proposes a category and those it determines as fixed combinations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulacra
from conftest import RARE_COUNTRY_CITIES, people_with_a_rare_country

CITIES = {
    "Paris": "France",
    "Lyon": "France",
    "Nice": "France",
    "Berlin": "Germany",
    "Munich": "Germany",
    "Rome": "Italy",
    "Milan": "Italy",
    "Madrid": "Spain",
    "Seville": "Spain",
    "Porto": "Portugal",
}
CONTINENT = {"France": "Europe", "Germany": "Europe", "Italy": "Europe", "Spain": "Europe"}


def _customers(n: int = 3_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    city = rng.choice(list(CITIES), n)
    country = pd.Series(city).map(CITIES)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "country": country,
            "segment": rng.choice(["a", "b", "c"], n),
            "city": city,
            "region": country.map(CONTINENT).fillna("Iberia"),
            "spend": np.round(rng.gamma(2.0, 50.0, n), 2),
            "vip": rng.random(n) < 0.02,  # rare: constant within small groups by chance
        }
    )


def test_a_city_leads_the_categories_it_determines_in_table_order():
    meta = simulacra.Metadata.detect(_customers())
    assert meta.constraints == [
        {"type": "fixed_combinations", "columns": ["country", "city", "region"]}
    ]


def test_dp_families_detect_no_dependency():
    assert simulacra.Metadata.detect(_customers(), formulas=False).constraints == []


def test_a_rare_flag_constant_within_small_groups_is_chance_not_a_dependency():
    rng = np.random.default_rng(1)
    n = 60
    df = pd.DataFrame({"shop": np.repeat([f"s{i}" for i in range(12)], 5)})
    df["flag"] = False
    df.loc[df["shop"] == "s3", "flag"] = True  # 5 rows of 60: each shop's rows agree
    df["x"] = rng.normal(size=n)
    assert simulacra.Metadata.detect(df).constraints == []


def test_rare_values_are_passed_over_where_they_lead_and_bar_being_led():
    df = _customers()
    df.loc[:3, "city"] = ["Lille", "Bonn", "Pisa", "Faro"]  # held once each: pooled
    df.loc[:3, "country"] = ["France", "Germany", "Italy", "Portugal"]
    df["region"] = df["country"].map(CONTINENT).fillna("Iberia")
    assert simulacra.Metadata.detect(df).constraints == [
        {"type": "fixed_combinations", "columns": ["country", "city", "region"]}
    ]
    df.loc[4, ["country", "region"]] = ["Malta", "Europe"]  # a country held once: pooled
    assert simulacra.Metadata.detect(df).constraints == [
        {"type": "fixed_combinations", "columns": ["country", "region"]}
    ]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), levels=st.integers(2, 6), rows=st.integers(20, 400))
def test_independent_categories_never_make_a_dependency(seed, levels, rows):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "a": rng.choice([f"a{i}" for i in range(levels)], rows),
            "b": rng.choice(["x", "y"], rows),
            "c": rng.choice([f"c{i}" for i in range(levels + 1)], rows),
        }
    )
    assert simulacra.Metadata.detect(df, min_category_count=1).constraints == []


@pytest.mark.parametrize("family", ["independent", "copula", "bayesnet", "cart"])
def test_every_city_comes_back_in_its_own_country(family):
    # without the detected group, copula paired a city with another country on 77% of rows
    df = _customers()
    out = simulacra.create(family, seed=0).fit(df).sample(5_000, seed=1)
    assert (out["city"].map(CITIES) == out["country"]).all()
    shares = out["country"].value_counts(normalize=True)
    assert shares["France"] == pytest.approx(0.3, abs=0.03)


@pytest.mark.parametrize("family", ["copula", "cart", "bayesnet"])
def test_a_condition_on_a_grouped_category_is_still_met_exactly(family):
    # the group is learned as one code; a condition on one of its columns becomes a
    # condition on that code, so a country on 0.3% of rows is drawn exactly, not rejected
    model = simulacra.create(family, seed=0).fit(people_with_a_rare_country(20_000, 0.003))
    out = model.sample(200, conditions={"country": "Malta"}, seed=1)
    assert (out["city"] == "Valletta").all() and model.last_sample_info["how"] == "exact"
    out = model.sample(2_000, rebalance={"country": {"Malta": 0.3}}, seed=2)
    assert (out["country"] == "Malta").mean() == pytest.approx(0.3, abs=0.03)
    assert (out["city"].map(RARE_COUNTRY_CITIES) == out["country"]).all()


@pytest.mark.parametrize("family", ["copula", "cart", "bayesnet"])
def test_rebalancing_within_a_condition_shares_out_only_what_the_condition_allows(family):
    # the cities other than the one asked for share the rest as they do in France, so no
    # Berlin row is planned only to contradict the condition
    model = simulacra.create(family, seed=0).fit(people_with_a_rare_country(3000, 0.02))
    out = model.sample(1000, conditions={"country": "France"}, rebalance={"city": {"Lyon": 0.8}})
    assert out["city"].value_counts(normalize=True).to_dict() == {"Lyon": 0.8, "Paris": 0.2}
