"""Detection proposes sums that hold on every row as formula constraints."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import simulacra
from simulacra._formulas import detect_sums


def _loans(n: int = 2_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    principal = np.round(rng.uniform(1_000, 40_000, n), 2)
    interest = np.round(principal * rng.uniform(0.05, 0.2, n), 2)
    fees = np.round(np.where(rng.random(n) < 0.05, rng.uniform(10, 90, n), 0.0), 2)
    return pd.DataFrame(
        {
            "paid_principal": principal,
            "paid_interest": interest,
            "paid_late_fees": fees,
            "paid_total": np.round(principal + interest + fees, 2),
            "term": rng.choice([36, 60], n),
            "income": np.round(rng.lognormal(11, 0.5, n), -2),
        }
    )


def test_a_total_of_three_parts_is_found_and_written_with_plus_signs():
    meta = simulacra.Metadata.detect(_loans())
    assert meta.constraints == [
        {
            "type": "formula",
            "column": "paid_total",
            "expression": "paid_principal + paid_interest + paid_late_fees",
        }
    ]


def test_a_difference_is_found_and_a_near_sum_is_not():
    rng = np.random.default_rng(1)
    amount = rng.integers(1_000, 9_000, 500)
    paid = rng.integers(0, 1_000, 500)
    df = pd.DataFrame({"amount": amount, "paid": paid, "balance": amount - paid})
    df["other"] = rng.integers(0, 50, 500)
    [rule] = simulacra.Metadata.detect(df).constraints
    assert rule["column"] == "amount" and rule["expression"] == "paid + balance"
    df.loc[17, "balance"] += 1  # one row off: no longer a rule of the data ...
    rules = simulacra.Metadata.detect(df).constraints
    assert [r["type"] for r in rules] == ["inequality"]  # ... but the balance is below the amount
    assert (rules[0]["low"], rules[0]["high"]) == ("balance", "amount")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), decimals=st.integers(0, 3))
def test_independent_numbers_never_make_a_formula(seed, decimals):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({c: np.round(rng.normal(0, 10, 300), decimals) for c in "abcdef"})
    meta = simulacra.Metadata.detect(df)
    assert detect_sums(df, meta.columns) == []


def test_models_compute_a_detected_total_and_dp_families_do_not_detect_it():
    df = _loans()
    out = simulacra.create("cart", seed=0).fit(df).sample(3_000)
    parts = out["paid_principal"] + out["paid_interest"] + out["paid_late_fees"]
    assert np.allclose(out["paid_total"], parts, atol=0.011, rtol=0)
    private = simulacra.create("dp-marginals", seed=0, epsilon=5.0).fit(df)
    assert private.metadata_.constraints == []  # found in the rows, it would be a free release


def test_detected_metadata_fits_when_the_total_is_finer_than_its_parts():
    rng = np.random.default_rng(2)
    principal = np.round(rng.uniform(1_000, 40_000, 1_000), 2)
    interest = principal * rng.uniform(0.05, 0.2, 1_000)  # to the fraction of a cent
    df = pd.DataFrame(
        {"principal": principal, "interest": np.round(interest, 2), "total": principal + interest}
    )
    meta = simulacra.Metadata.detect(df)  # as `simulacra detect` writes it
    assert [c["column"] for c in meta.constraints] == ["total"]
    out = simulacra.create("independent", seed=0).fit(df, metadata=meta).sample(500)
    assert np.allclose(out["total"], out["principal"] + out["interest"], atol=0.011, rtol=0)
