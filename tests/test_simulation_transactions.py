"""The economic-transactions model: seasonality, fraud patterns, keys, seeds, bad input.

Statistical checks run on one seeded month (3,000 customers, 4 full weeks,
about 130,000 transactions) and state their tolerances.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import InvalidParameterError
from simulacra.simulation.transactions import (
    HOURLY_PROFILE,
    PATTERNS,
    WEEKLY_PROFILE,
    simulate_transactions,
)

COLUMNS = [
    "transaction_id",
    "time",
    "customer_id",
    "merchant_id",
    "amount",
    "channel",
    "is_fraud",
    "fraud_pattern",
    "fraud_case",
]
NIGHT = [22, 23, 0, 1, 2, 3, 4, 5, 6]


@pytest.fixture(scope="module")
def month():
    return simulate_transactions(customers=3000, merchants=300, days=28, fraud_rate=0.02, seed=7)


@pytest.fixture(scope="module")
def fraud(month) -> pd.DataFrame:
    """Fraud rows with their merchant's category and city, and the customer's city."""
    tx = month.logs["transactions"]
    shops = month.tables["merchants"].set_index("merchant_id")
    people = month.tables["customers"].set_index("customer_id")
    rows = tx[tx["is_fraud"]].copy()
    rows["category"] = shops["category"].reindex(rows["merchant_id"]).to_numpy()
    rows["shop_city"] = shops["city"].reindex(rows["merchant_id"]).to_numpy()
    rows["home_city"] = people["city"].reindex(rows["customer_id"]).to_numpy()
    return rows


def _legit(month) -> pd.DataFrame:
    tx = month.logs["transactions"]
    return tx[~tx["is_fraud"]]


def test_log_columns_ids_and_keys(month):
    tx = month.logs["transactions"]
    assert list(tx.columns) == COLUMNS
    assert tx["transaction_id"].tolist() == list(range(1, len(tx) + 1))
    assert tx["time"].is_monotonic_increasing
    assert tx["time"].min() >= pd.Timestamp("2025-01-01")
    assert tx["time"].max() < pd.Timestamp("2025-01-29")
    assert np.allclose(tx["amount"], tx["amount"].round(2)) and (tx["amount"] > 0).all()
    assert set(tx["channel"].unique()) == {"in_store", "online"}
    assert (tx["fraud_pattern"].isna() == ~tx["is_fraud"]).all()
    assert (tx["fraud_case"].isna() == ~tx["is_fraud"]).all()
    # online merchants sell online, the others in store
    online = month.tables["merchants"].set_index("merchant_id")["online"]
    assert ((tx["channel"] == "online").to_numpy() == online[tx["merchant_id"]].to_numpy()).all()
    assert set(month.logs) == {"transactions", "breaches"}
    month.metadata().validate(month.all_tables())  # every key links to an agent


def test_agent_tables(month):
    people, shops = month.tables["customers"], month.tables["merchants"]
    assert people["customer_id"].is_unique and len(people) == 3000
    assert {"city", "region", "segment", "activity", "spend_level", "opened"} <= set(people)
    assert (people["opened"] < pd.Timestamp("2025-01-01")).all()
    assert shops["merchant_id"].is_unique and len(shops) == 300
    assert {"category", "mcc", "city", "online", "typical_amount"} <= set(shops)
    assert people["activity"].mean() == pytest.approx(1.5, rel=0.05)


def test_hour_of_day_follows_profile(month):
    legit = _legit(month)
    counts = np.bincount(legit["time"].dt.hour, minlength=24)
    profile = np.array(HOURLY_PROFILE) / sum(HOURLY_PROFILE)
    expected = profile * len(legit)
    # Poisson counts: every hour within 5 standard deviations of the profile
    assert (np.abs(counts - expected) < 5 * np.sqrt(expected)).all()
    assert counts.argmax() == profile.argmax() == 18
    assert counts[[1, 2, 3, 4]].max() < counts[18] / 15  # nights are quiet


def test_weekend_to_weekday_ratio_matches_profile(month):
    day = _legit(month)["time"].dt.day_of_week.to_numpy()
    weekend, weekday = (day >= 5).sum(), (day < 5).sum()  # 4 full weeks
    ratio = (weekend / 2) / (weekday / 5)
    declared = np.mean(WEEKLY_PROFILE[5:]) / np.mean(WEEKLY_PROFILE[:5])
    error = ratio * np.sqrt(1 / weekend + 1 / weekday)  # sampling sd of the ratio
    assert abs(ratio - declared) < 4 * error
    assert ratio == pytest.approx(declared, rel=0.03)


def test_profile_overrides():
    run = simulate_transactions(
        customers=800,
        merchants=80,
        days=14,
        fraud_rate=0,
        hourly=[0] * 9 + [1, 1] + [0] * 13,
        weekly=[1, 1, 1, 1, 1, 3, 3],
        seed=2,
    )
    tx = run.logs["transactions"]
    assert set(tx["time"].dt.hour) == {9, 10}
    day = tx["time"].dt.day_of_week.to_numpy()
    ratio = ((day >= 5).sum() / 2) / ((day < 5).sum() / 5)
    assert ratio == pytest.approx(3.0, rel=0.08)
    assert not tx["is_fraud"].any() and "breaches" not in run.logs


def test_fraud_share_close_to_fraud_rate(month, fraud):
    tx = month.logs["transactions"]
    # expected share is exactly fraud_rate; the case counts make it vary by a few %
    assert tx["is_fraud"].mean() == pytest.approx(0.02, rel=0.1)
    shares = fraud["fraud_pattern"].value_counts(normalize=True)
    assert set(shares.index) == set(PATTERNS)
    assert shares.between(0.2, 0.47).all()  # equal shares by default
    assert fraud.groupby("fraud_case")["fraud_pattern"].nunique().eq(1).all()


def test_patterns_mapping_picks_patterns():
    run = simulate_transactions(
        customers=1000,
        merchants=100,
        days=7,
        fraud_rate=0.05,
        patterns={"card_testing": 1, "account_takeover": 0},
        seed=4,
    )
    tx = run.logs["transactions"]
    assert set(tx["fraud_pattern"].dropna().unique()) == {"card_testing"}
    assert tx["is_fraud"].mean() == pytest.approx(0.05, rel=0.3)


def test_card_testing_signature(fraud):
    cases = fraud[fraud["fraud_pattern"] == "card_testing"]
    assert cases["fraud_case"].nunique() > 50
    assert (cases["channel"] == "online").all()
    for _, case in cases.groupby("fraud_case"):
        assert case["customer_id"].nunique() == 1  # one compromised card
        tiny = case[case["amount"] < 3]
        assert len(tiny) >= 3 and tiny["merchant_id"].nunique() == 1
        assert tiny["time"].max() - tiny["time"].min() <= pd.Timedelta("30min")
        big = case[case["amount"] >= 3]
        assert len(big) <= 1
        if len(big):  # the cash-out comes last, within half an hour
            assert big["time"].iloc[0] >= tiny["time"].max()
            assert big["time"].iloc[0] - tiny["time"].max() <= pd.Timedelta("30min")
            assert big["amount"].iloc[0] > 25  # ten times the tests and more


def test_account_takeover_signature(month, fraud):
    cases = fraud[fraud["fraud_pattern"] == "account_takeover"]
    assert cases["fraud_case"].nunique() > 100
    assert cases.groupby("fraud_case")["customer_id"].nunique().eq(1).all()
    legit = _legit(month)
    typical = legit.groupby("customer_id")["amount"].median()
    ratio = cases["amount"].to_numpy() / typical.reindex(cases["customer_id"]).to_numpy()
    assert np.nanmean(ratio >= 5) > 0.95  # well above what the customer usually spends
    assert cases["time"].dt.hour.isin(NIGHT).mean() > 0.9
    away = (cases["channel"] == "online") | (cases["shop_city"] != cases["home_city"])
    assert away.mean() > 0.95
    # in categories the customer had not bought in before the case began
    shops = month.tables["merchants"].set_index("merchant_id")["category"]
    before = legit.assign(category=shops.reindex(legit["merchant_id"]).to_numpy())
    began = cases.groupby("fraud_case")["time"].transform("min").rename("began")
    pairs = cases.assign(began=began).merge(
        before[["customer_id", "category", "time"]].rename(columns={"time": "seen"}),
        on=["customer_id", "category"],
        how="left",
    )
    used = (pairs["seen"] < pairs["began"]).groupby(pairs["transaction_id"]).any()
    assert used.mean() < 0.1


def test_merchant_compromise_signature(month, fraud):
    cases = fraud[fraud["fraud_pattern"] == "merchant_compromise"]
    breaches = month.logs["breaches"]
    assert breaches["fraud_case"].is_unique
    assert set(breaches["fraud_case"]) == set(cases["fraud_case"])
    victims = cases.groupby("fraud_case")["customer_id"].nunique()
    assert (
        breaches.set_index("fraud_case")["victims"] == victims.reindex(breaches["fraud_case"])
    ).all()
    assert victims.mean() > 4  # a breach hits several customers
    # every victim bought at the breached merchant in the week before the breach...
    legit = _legit(month)
    bought = breaches.merge(legit[["merchant_id", "customer_id", "time"]], on="merchant_id")
    window = (bought["time_y"] < bought["time_x"]) & (
        bought["time_y"] >= bought["time_x"] - pd.Timedelta("7D")
    )
    exposed = set(map(tuple, bought.loc[window, ["fraud_case", "customer_id"]].to_numpy().tolist()))
    assert set(map(tuple, cases[["fraud_case", "customer_id"]].to_numpy().tolist())) <= exposed
    # ...and the fraud comes after it, elsewhere
    breach_time = breaches.set_index("fraud_case")["time"]
    assert (cases["time"].to_numpy() > breach_time[cases["fraud_case"]].to_numpy()).all()
    away = (cases["channel"] == "online") | (cases["shop_city"] != cases["home_city"])
    assert away.mean() > 0.95


def test_same_seed_same_output_other_seed_differs():
    def run(seed):
        return simulate_transactions(
            customers=300, merchants=40, days=3, fraud_rate=0.05, seed=seed
        )

    first, again, other = run(3), run(3), run(4)
    assert set(first.all_tables()) == set(again.all_tables())
    for name, table in first.all_tables().items():
        pd.testing.assert_frame_equal(table, again.all_tables()[name])
    assert not first.logs["transactions"].equals(other.logs["transactions"])
    assert not first.tables["customers"].equals(other.tables["customers"])


def test_progress_reports_every_hour():
    calls = []
    simulate_transactions(
        customers=50, merchants=10, days=1, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(h, 24) for h in range(1, 25)]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"customers": -5}, r"customers=-5: give a whole number, 1 or more"),
        ({"customers": 2.5}, r"customers=2.5"),
        ({"merchants": True}, r"merchants=True"),
        ({"days": 0}, r"days=0"),
        ({"fraud_rate": 1.0}, r"fraud_rate=1.0: .*\[0, 1\)"),
        ({"fraud_rate": -0.1}, r"fraud_rate=-0.1"),
        (
            {"patterns": ["card_test"]},
            r"unknown fraud pattern 'card_test'; did you mean 'card_testing'",
        ),
        ({"patterns": ["card_testing", "card_testing"]}, r"given twice"),
        ({"patterns": []}, r"needs at least one fraud pattern"),
        ({"patterns": {"account_takeover": -1}}, r"share of 'account_takeover'"),
        ({"hourly": [1] * 23}, r"hourly=.*give 24 relative rates"),
        ({"weekly": [0] * 7}, r"weekly=.*all 0"),
        ({"start": "not a date"}, r"start='not a date'"),
        ({"start": "2025-01-01T00:00+01:00"}, r"time-zone naive"),
        ({"purchases_per_day": 0}, r"purchases_per_day=0"),
        ({"seed": -1}, r"seed=-1"),
        ({"progress": 3}, r"progress=3"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        simulate_transactions(**kwargs)
