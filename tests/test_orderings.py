"""Detection proposes dates that follow others as inequality constraints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulacra
from simulacra.errors import InvalidParameterError


def _orders(n: int = 1_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    signup = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1_500, n), "D")
    first = signup + pd.to_timedelta(rng.integers(0, 200 * 86_400, n), "s")
    last = first + pd.to_timedelta(rng.integers(0, 400 * 86_400, n), "s")
    return pd.DataFrame(
        {
            "signup": signup.strftime("%Y-%m-%d"),
            "spend": np.round(rng.gamma(2.0, 50.0, n), 2),
            "first_order": first.strftime("%Y-%m-%d %H:%M:%S"),
            "last_order": last.strftime("%Y-%m-%d %H:%M:%S"),
        }
    )


def _rules(df: pd.DataFrame) -> list[dict]:
    return [c for c in simulacra.Metadata.detect(df).constraints if c["type"] == "inequality"]


def test_a_chain_of_dates_gives_each_link_once_and_not_what_they_imply():
    assert _rules(_orders()) == [
        {"type": "inequality", "low": "signup", "high": "first_order"},
        {"type": "inequality", "low": "first_order", "high": "last_order"},
    ]


def test_one_row_out_of_order_and_gaps_on_others():
    df = _orders()
    df.loc[5, "last_order"] = "2019-06-01 00:00:00"  # before its signup and first order
    df.loc[7:9, "first_order"] = None  # missing cells never break a rule
    assert _pairs(df) == [("signup", "first_order")]


def _pairs(df: pd.DataFrame) -> list[tuple[str, str]]:
    return [(r["low"], r["high"]) for r in _rules(df)]


def test_an_order_through_a_column_with_gaps_is_kept_as_its_own_rule():
    # a model may draw first_order missing where signup and last_order are both given
    df = _orders()
    df.loc[::7, "first_order"] = None
    assert _pairs(df) == [
        ("signup", "first_order"),
        ("signup", "last_order"),
        ("first_order", "last_order"),
    ]


def test_equal_columns_make_no_contradiction_and_hide_no_order():
    # before, a copy with gaps gave signup <= copy and copy <= signup, and the orders
    # through the copy then counted as implied: last_purchase < signup on 10-21% of rows
    df = _orders()
    df["signup_again"] = df["signup"].where(np.arange(len(df)) % 10 != 0)  # equal, with gaps
    df["signup_copy"] = df["signup"]
    assert _pairs(df) == [("signup", "first_order"), ("first_order", "last_order")]


def test_dates_whose_ranges_alone_keep_the_order_make_no_rule():
    df = _orders()
    df["refund"] = (pd.to_datetime(df["last_order"]) + pd.DateOffset(years=10)).astype(str)
    assert all("refund" not in pair for pair in _pairs(df))
    assert simulacra.Metadata.detect(df, formulas=False).constraints == []  # as DP families


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), rows=st.integers(20, 400))
def test_independent_dates_never_make_a_rule(seed, rows):
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2021-01-01")
    df = pd.DataFrame(
        {
            name: (start + pd.to_timedelta(rng.integers(lo, lo + 300, rows), "D")).astype(str)
            for name, lo in (("a", 0), ("b", 250), ("c", 280))  # b and c overlap a little
        }
    )
    assert _rules(df) == []


@pytest.mark.parametrize("family", ["copula", "cart", "bayesnet"])
def test_every_row_keeps_the_order_the_data_keeps(family):
    # without the detected rules, copula put last_purchase before signup_date on 18%
    # of the demo table's rows
    df = simulacra.datasets.load_customers()
    out = simulacra.create(family, seed=0).fit(df).sample(5_000, seed=1)
    signup, last = pd.to_datetime(out["signup_date"]), pd.to_datetime(out["last_purchase"])
    assert (signup <= last).all()
    real = pd.to_datetime(df["last_purchase"])
    assert last.min() >= real.min() and last.max() <= real.max()
    gap = (last - signup).dt.days
    real_gap = (real - pd.to_datetime(df["signup_date"])).dt.days
    assert gap.median() == pytest.approx(real_gap.median(), rel=0.15)


@pytest.mark.parametrize("family", ["copula", "bayesnet"])
def test_a_condition_on_the_later_date_is_exact_with_redraw_and_explained_without(family):
    df = simulacra.datasets.load_customers()
    point = {"last_purchase": "2022-03-01 10:00:00"}
    with pytest.raises(InvalidParameterError, match=r'rebuilds .last_purchase.*"redraw": true'):
        simulacra.create(family, seed=0).fit(df).sample(50, conditions=point, seed=1)
    meta = simulacra.Metadata.detect(df)
    meta.constraints[0]["redraw"] = True  # kept as it is; rows out of order drawn again
    model = simulacra.create(family, seed=0).fit(df, metadata=meta)
    out = model.sample(200, conditions=point, seed=1)
    assert (out["last_purchase"] == "2022-03-01 10:00:00").all()
    assert (pd.to_datetime(out["signup_date"]) <= pd.Timestamp("2022-03-01 10:00:00")).all()
    assert model.last_sample_info["how"] == "exact"


def _houses(n: int = 1_500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    first = np.round(rng.gamma(9.0, 120.0, n))
    living = np.round(first * (1.0 + rng.uniform(0.0, 0.9, n) * (rng.random(n) < 0.5)))
    return pd.DataFrame(
        {
            "rooms": rng.integers(2, 11, n),  # below every area, but not the same kind of number
            "first_floor": first,
            "living_area": living,  # the first floor's area, or more with a second floor
            "porch": np.round(rng.gamma(2.0, 30.0, n)),
            "outside": 0.0,
        }
    ).assign(outside=lambda d: d["porch"] + np.round(rng.gamma(2.0, 40.0, n)))


def test_a_number_never_above_an_overlapping_one_is_an_order_and_a_formulas_parts_are_not():
    df = _houses()
    df["yard"] = df["outside"] - df["porch"]  # outside = porch + yard: the formula holds them
    rules = simulacra.Metadata.detect(df).constraints
    assert {"type": "formula", "column": "outside", "expression": "porch + yard"} in rules
    assert _pairs(df) == [("first_floor", "living_area")]  # not rooms <= any area


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), rows=st.integers(20, 400))
def test_independent_numbers_never_make_a_rule(seed, rows):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.normal(0, 1, rows), "b": rng.normal(2.5, 1, rows)})
    df["c"] = rng.integers(0, 50, rows) * 1.0
    assert _rules(df) == []


@pytest.mark.parametrize("family", ["copula", "cart"])
def test_every_row_keeps_the_order_two_numbers_keep(family):
    df = _houses()
    unruled = simulacra.Metadata.detect(df, formulas=False)
    plain = simulacra.create(family, seed=0).fit(df, metadata=unruled).sample(5_000, seed=1)
    broken = (plain["first_floor"] > plain["living_area"]).mean()
    assert broken > 0.01  # the model alone draws a first floor larger than the house
    out = simulacra.create(family, seed=0).fit(df).sample(5_000, seed=1)
    assert (out["first_floor"] <= out["living_area"]).all()
    # the gap is learned (no second floor on half the houses): the shares and medians hold
    same = (out["first_floor"] == out["living_area"]).mean()
    assert same == pytest.approx((df["first_floor"] == df["living_area"]).mean(), abs=0.06)
    for name in ("first_floor", "living_area"):
        assert out[name].median() == pytest.approx(df[name].median(), rel=0.05)


@pytest.mark.parametrize("family", ["copula", "cart"])
def test_numbers_rarely_equal_keep_their_round_values_and_their_order(family):
    # a gap would make the amount smooth: 15,000 less a smooth balance plus a smooth gap
    rng = np.random.default_rng(3)
    amount = rng.choice([5_000, 10_000, 15_000, 20_000, 25_000, 30_000], 2_000) * 1.0
    df = pd.DataFrame({"balance": np.round(amount * rng.uniform(0.3, 1.0, 2_000), 2)})
    df["amount"] = amount
    (rule,) = simulacra.Metadata.detect(df).constraints
    assert rule == {"type": "inequality", "low": "balance", "high": "amount", "redraw": True}
    out = simulacra.create(family, seed=0).fit(df).sample(5_000, seed=1)
    assert (out["balance"] <= out["amount"]).all()
    assert (out["amount"] % 5_000 == 0).mean() > 0.95


def test_cart_keeps_an_order_while_drawing_so_no_row_is_drawn_again():
    # whole rows drawn again would change the earlier column's distribution too
    rng = np.random.default_rng(3)
    amount = rng.choice([5_000, 10_000, 15_000, 20_000], 2_000) * 1.0
    df = pd.DataFrame({"balance": np.round(amount * rng.uniform(0.3, 1.0, 2_000), 2)})
    df["amount"] = amount
    model = simulacra.create("cart", seed=0).fit(df)
    out = model.sample(5_000, seed=1)
    assert (out["balance"] <= out["amount"]).all()
    assert model.last_sample_info["drawn"] == 5_000
    copula = simulacra.create("copula", seed=0).fit(df)
    copula.sample(5_000, seed=1)
    assert copula.last_sample_info["drawn"] > 5_000  # it draws rows again instead
