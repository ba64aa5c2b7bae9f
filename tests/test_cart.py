"""The ``cart`` family: sequential trees learn structure without copying values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulacra
from simulacra.errors import InvalidParameterError


@pytest.fixture(scope="module")
def mixed() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 6000
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    base = np.select([group == "a", group == "b"], [10.0, 20.0], 40.0)
    income = base + rng.gamma(2.0, 3.0, n)
    score = np.round(rng.normal(base / 10, 1.0, n) * 2) / 2  # steps of 0.5
    spend = income * 0.3 + rng.normal(0, 1, n)
    df = pd.DataFrame({"group": group, "income": income, "score": score, "spend": spend})
    df.loc[(group == "c") & (rng.random(n) < 0.5), "spend"] = np.nan  # missing with a cause
    return df


def test_nonlinear_and_categorical_structure(mixed: pd.DataFrame) -> None:
    out = simulacra.create("cart", seed=0).fit(mixed).sample(6000)
    real_means = mixed.groupby("group")["income"].mean()
    synth_means = out.groupby("group")["income"].mean()
    assert np.allclose(synth_means[real_means.index], real_means, rtol=0.05)
    real_corr = mixed[["income", "spend"]].corr().iloc[0, 1]
    assert abs(out[["income", "spend"]].corr().iloc[0, 1] - real_corr) < 0.03


def test_missingness_follows_its_cause(mixed: pd.DataFrame) -> None:
    out = simulacra.create("cart", seed=0).fit(mixed).sample(6000)
    share = out["spend"].isna().groupby(out["group"]).mean()
    assert share["c"] == pytest.approx(0.5, abs=0.06)
    assert share[["a", "b"]].max() < 0.02


def test_numbers_are_not_copied_verbatim(mixed: pd.DataFrame) -> None:
    out = simulacra.create("cart", seed=0).fit(mixed).sample(6000)
    copied = out["income"].isin(set(mixed["income"])).mean()
    assert copied < 0.01
    assert out["income"].min() >= mixed["income"].min()


def test_smoothing_zero_interpolates_and_smoothing_widens(mixed: pd.DataFrame) -> None:
    sd = {}
    for smoothing in (0.0, 3.0):
        model = simulacra.create("cart", seed=0, smoothing=smoothing, min_leaf=50)
        out = model.fit(mixed).sample(6000)
        sd[smoothing] = (out["spend"] - out["income"] * 0.3).std()
    assert sd[3.0] > sd[0.0]


def test_lattice_columns_stay_on_their_steps(mixed: pd.DataFrame) -> None:
    out = simulacra.create("cart", seed=0).fit(mixed).sample(6000)
    assert np.allclose(out["score"] * 2, np.round(out["score"] * 2))
    real = mixed["score"].value_counts(normalize=True)
    synth = out["score"].value_counts(normalize=True).reindex(real.index, fill_value=0)
    assert (synth - real).abs().sum() / 2 < 0.04  # total variation distance


def test_rare_lattice_values_are_not_reproduced() -> None:
    rng = np.random.default_rng(1)
    values = rng.integers(0, 5, 3000).astype(float)
    values[:3] = [101.0, 202.0, 303.0]  # each seen once
    df = pd.DataFrame({"n": values, "c": rng.choice(["x", "y"], 3000)})
    out = simulacra.create("cart", seed=0).fit(df).sample(20_000)
    assert not out["n"].isin([101.0, 202.0, 303.0]).any()


def test_visit_order_is_used_and_checked(mixed: pd.DataFrame) -> None:
    model = simulacra.create("cart", seed=0, visit_order=["spend", "group"]).fit(mixed)
    assert model.order_[:3] == ["spend#null", "spend", "group"]
    with pytest.raises(InvalidParameterError, match="visit_order"):
        simulacra.create("cart", visit_order=["nope"]).fit(mixed)


def test_default_order_puts_categories_first(mixed: pd.DataFrame) -> None:
    model = simulacra.create("cart", seed=0).fit(mixed)
    assert model.order_[0] == "group"


def test_larger_leaves_move_away_from_training_rows(mixed: pd.DataFrame) -> None:
    from sklearn.neighbors import NearestNeighbors

    train = mixed.dropna()[["income", "score"]]
    scale = train.std()
    nn = NearestNeighbors(n_neighbors=1).fit(train / scale)
    distance = {}
    for leaf in (2, 200):
        out = simulacra.create("cart", seed=0, min_leaf=leaf).fit(mixed).sample(3000)
        d, _ = nn.kneighbors(out.dropna()[["income", "score"]] / scale)
        distance[leaf] = np.median(d)
    assert distance[200] > distance[2]
