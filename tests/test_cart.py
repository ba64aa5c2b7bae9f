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


def test_smoothing_moves_draws_but_keeps_the_spread(mixed: pd.DataFrame) -> None:
    real = (mixed["spend"] - mixed["income"] * 0.3).std()
    draws = {}
    for smoothing in (0.0, 3.0):
        model = simulacra.create("cart", seed=0, smoothing=smoothing, min_leaf=50)
        draws[smoothing] = out = model.fit(mixed).sample(6000)
        # without shrinking back, a kernel three bandwidths wide widened this by 28%
        assert abs((out["spend"] - out["income"] * 0.3).std() / real - 1) < 0.08
    assert not np.allclose(draws[0.0]["income"], draws[3.0]["income"])


def test_a_skewed_leaf_keeps_its_upper_tail() -> None:
    # one leaf per group of 3,000 lognormal incomes: evenly spaced stored values put the
    # top 1/31 of each leaf uniformly between its 97th percentile and its largest value
    rng = np.random.default_rng(3)
    group = rng.choice(["a", "b"], 6000)
    income = np.exp(rng.normal(11.0, 0.8, 6000)) * np.where(group == "a", 1.0, 2.0)
    df = pd.DataFrame({"group": group, "income": income})
    out = simulacra.create("cart", seed=0, smoothing=0.0).fit(df).sample(100_000)
    for q in (0.01, 0.99, 0.995):  # evenly spaced values: 0.86, 2.1 and 2.0 times the real
        assert out["income"].quantile(q) == pytest.approx(df["income"].quantile(q), rel=0.1)


def test_lattice_columns_stay_on_their_steps(mixed: pd.DataFrame) -> None:
    out = simulacra.create("cart", seed=0).fit(mixed).sample(6000)
    assert np.allclose(out["score"] * 2, np.round(out["score"] * 2))
    real = mixed["score"].value_counts(normalize=True)
    synth = out["score"].value_counts(normalize=True).reindex(real.index, fill_value=0)
    assert (synth - real).abs().sum() / 2 < 0.04  # total variation distance


def test_rare_lattice_values_are_not_reproduced_but_the_range_is() -> None:
    rng = np.random.default_rng(1)
    values = rng.integers(0, 5, 3000).astype(float)
    values[:3] = [101.0, 202.0, 303.0]  # each seen once; 303 is the column's maximum
    df = pd.DataFrame({"n": values, "c": rng.choice(["x", "y"], 3000)})
    out = simulacra.create("cart", seed=0).fit(df).sample(60_000)
    assert not out["n"].isin([101.0, 202.0]).any()
    assert out["n"].max() == 303.0 and out["n"].min() == 0.0  # the metadata's bounds anyway


def test_visit_order_is_used_and_checked(mixed: pd.DataFrame) -> None:
    model = simulacra.create("cart", seed=0, visit_order=["spend", "group"]).fit(mixed)
    assert model.order_[:3] == ["spend#null", "spend", "group"]
    with pytest.raises(InvalidParameterError, match="visit_order"):
        simulacra.create("cart", visit_order=["nope"]).fit(mixed)


def test_visit_order_may_name_every_column_of_the_table() -> None:
    # an id, an email and a total that a formula rebuilds are not drawn by the trees; a
    # visit order listing the whole table was refused ("names ['total', ...]")
    rng = np.random.default_rng(0)
    price, qty = rng.integers(1, 100, 500).astype(float), rng.integers(1, 9, 500).astype(float)
    df = pd.DataFrame(
        {
            "order_id": [f"ORD-{i:05d}" for i in range(500)],
            "email": [f"user{i}@example.com" for i in range(500)],
            "price": price,
            "qty": qty,
            "total": price + qty,
        }
    )
    order = ["total", "qty", "email", "order_id", "price"]
    model = simulacra.create("cart", seed=0, visit_order=order).fit(df)
    assert model.order_ == ["qty", "price"]
    out = model.sample(200)
    assert (out["total"] == out["price"] + out["qty"]).all()
    with pytest.raises(InvalidParameterError, match="'totl'"):
        simulacra.create("cart", visit_order=["totl", "qty"]).fit(df)


def test_an_exact_function_is_rebuilt_from_its_anchor_and_can_be_conditioned_on() -> None:
    # trees drew wage from a leaf of logwage: 55% of Wage's rows paired a wage with
    # another wage's logarithm
    rng = np.random.default_rng(5)
    heaps = rng.normal(4.6, 0.3, 30)  # 60% of rows on 30 heaped salaries, as Wage's
    logwage = np.where(rng.random(3000) < 0.6, rng.choice(heaps, 3000), rng.normal(4.6, 0.35, 3000))
    df = pd.DataFrame(
        {"logwage": logwage, "wage": np.exp(logwage), "c": rng.choice(["a", "b"], 3000)}
    )
    model = simulacra.create("cart", seed=0, visit_order=["wage", "c"]).fit(df)
    assert list(model.derived_) == ["wage"] and model.order_ == ["c", "logwage"]
    out = model.sample(2000)
    assert np.allclose(out["wage"], np.exp(out["logwage"]), rtol=1e-12, atol=0)
    ranged = model.sample(300, conditions={"wage": (100.0, 120.0)})
    assert ranged["wage"].between(100.0, 120.0).all()
    assert np.allclose(ranged["wage"], np.exp(ranged["logwage"]), rtol=1e-12, atol=0)


def test_default_order_is_the_tables_column_order(mixed: pd.DataFrame) -> None:
    model = simulacra.create("cart", seed=0).fit(mixed)
    assert model.order_ == ["group", "income", "score", "spend#null", "spend"]
    turned = simulacra.create("cart", seed=0).fit(mixed[["spend", "score", "income", "group"]])
    assert turned.order_ == ["spend#null", "spend", "score", "income", "group"]


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


def test_a_value_many_rows_share_is_drawn_exactly_and_keeps_its_links() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    works = rng.random(n) < 0.65
    hours = np.where(works, np.where(rng.random(n) < 0.5, 40.0, rng.uniform(5, 70, n)), np.nan)
    income = np.where(works, rng.lognormal(10, 0.6, n), 0.0)  # 35 % hold exactly 0
    df = pd.DataFrame({"income": income, "hours": hours})
    out = simulacra.create("cart", seed=0).fit(df).sample(20_000, seed=1)
    assert (out["income"] == 0).mean() == pytest.approx((income == 0).mean(), abs=0.02)
    assert (out["hours"] == 40).mean() == pytest.approx((hours == 40).mean(), abs=0.02)
    assert ((out["income"] == 0) == out["hours"].isna()).mean() > 0.98  # the spike keeps its link
    smooth = out.loc[out["income"] > 0, "income"]
    assert smooth.min() > 0 and not smooth.isin(set(income)).any()  # the rest is still smoothed
    evidence = {"income": (0.0, 0.0)}
    assert (
        simulacra.create("cart", seed=0).fit(df).sample(500, conditions=evidence)["income"] == 0
    ).all()


def test_pruning_drops_splits_on_noise_and_keeps_real_ones() -> None:
    rng = np.random.default_rng(5)
    n = 4000
    noise = rng.choice(["q1", "q2", "q3", "q4"], n)
    signal = rng.choice(["lo", "hi"], n)
    value = np.where(signal == "hi", 10.0, 0.0) + rng.normal(0, 1, n)
    df = pd.DataFrame({"noise": noise, "signal": signal, "value": value})
    leaves = {}
    for prune in (0.0, 12.0):
        model = simulacra.create("cart", seed=0, prune=prune, visit_order=["noise", "signal"])
        model.fit(df)
        leaves[prune] = [int(node["leaf_of"].max()) + 1 for node in model.nodes_]
    assert leaves[12.0][1] == 1 < leaves[0.0][1]  # signal does not depend on noise: one leaf
    assert 2 <= leaves[12.0][2] < leaves[0.0][2]  # value splits on signal, not on noise
    out = model.sample(10_000, seed=2)
    gap = out.groupby("signal")["value"].mean()
    assert gap["hi"] - gap["lo"] == pytest.approx(10.0, abs=0.3)


def test_smoothed_numbers_are_rounded_as_the_data_is() -> None:
    rng = np.random.default_rng(9)
    n = 6000
    income = rng.lognormal(10.8, 0.5, n)
    heaped = rng.random(n) < 0.8
    income = np.where(heaped, np.round(income, -3), np.round(income, 2))  # 80 % to the thousand
    small = np.round(rng.uniform(1, 9, n), 1)  # tenths; a thousand step must not touch it
    df = pd.DataFrame({"income": income, "small": small, "g": rng.choice(["a", "b"], n)})
    out = simulacra.create("cart", seed=0).fit(df).sample(20_000, seed=1)
    on_thousand = (out["income"] % 1000 == 0).mean()
    assert on_thousand == pytest.approx((income % 1000 == 0).mean(), abs=0.04)
    assert np.allclose(out["small"] * 10, np.round(out["small"] * 10))
    assert out["small"].nunique() > 50 and not (out["small"] % 1 == 0).all()


def test_rounding_piles_no_extra_rows_on_round_values_or_spikes() -> None:
    """A value rounded to 500 must not come out a multiple of 1,000 (the data counts
    those at step 1,000), nor any smoothed value on a spike."""
    rng = np.random.default_rng(12)
    n = 8000
    income = rng.lognormal(10.8, 0.5, n)
    kind = rng.random(n)
    income = np.select(
        [kind < 0.1, kind < 0.45, kind < 0.8],
        [50_000.0, np.round(income / 5000) * 5000, np.round(income / 500) * 500],
        np.round(income, 2),
    )
    df = pd.DataFrame({"income": income, "g": rng.choice(["a", "b"], n)})
    out = simulacra.create("cart", seed=0).fit(df).sample(40_000, seed=1)["income"]
    for step in (500, 1000, 5000, 10_000):
        assert (out % step == 0).mean() == pytest.approx((income % step == 0).mean(), abs=0.03)
    assert (out == 50_000).mean() == pytest.approx((income == 50_000).mean(), abs=0.02)


def test_large_amounts_keep_their_cents() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"g": rng.choice(["n", "s"], 3000), "amount": rng.uniform(1e6, 5e6, 3000)})
    df["amount"] = df["amount"].round(2)
    out = simulacra.create("cart", seed=0).fit(df).sample(3000)["amount"]
    assert (out.round(2) % 1 != 0).mean() > 0.95  # real 0.99; 0 when every value read as whole
    assert (out % 10 == 0).mean() < 0.01


@pytest.mark.parametrize("scale", [1e-9, 1.0])
def test_a_predictor_of_tiny_values_still_splits(scale: float) -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=2000)
    df = pd.DataFrame({"t": z * scale, "s": np.where(z > 0, "pos", "neg")})
    out = simulacra.create("cart", seed=0).fit(df).sample(2000)
    assert ((out["t"] > 0) == (out["s"] == "pos")).mean() > 0.97  # 0.5 when read as constant


def test_a_timestamp_predictor_keeps_its_seconds() -> None:
    rng = np.random.default_rng(0)
    seconds = rng.integers(0, 600, 2000)  # a ten-minute window: 128-second steps as float32
    t = pd.Timestamp("2024-05-01 10:00:00") + pd.to_timedelta(seconds, "s")
    df = pd.DataFrame({"t": t, "half": np.where(seconds < 300, "first", "second")})
    out = simulacra.create("cart", seed=0).fit(df).sample(2000)
    first = pd.to_datetime(out["t"]) < pd.Timestamp("2024-05-01 10:05:00")
    assert (first == (out["half"] == "first")).mean() > 0.97  # 0.91 before


def test_a_many_level_category_keeps_its_link_under_default_pruning() -> None:
    # 400 levels x 5 rows: a perfect split removes 1/399 of the node's Gini, so a bar on
    # rows x Gini share pruned every split and the category came back independent of y
    rng = np.random.default_rng(0)
    level = np.repeat(np.arange(400), 5)
    df = pd.DataFrame({"y": level / 8 + rng.normal(0, 0.1, level.size)})
    df["cat"] = pd.Series(level).map(lambda i: f"L{i:03d}")
    out = simulacra.create("cart", seed=0).fit(df).sample(2000)
    drawn = out["cat"].str[1:].astype(int)
    assert np.corrcoef(drawn, out["y"])[0, 1] > 0.95  # 0.015 before


def test_a_float32_column_is_still_rounded_as_the_data_is() -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(30, 8, 3000).round(1)
    heap = rng.random(3000) < 0.4
    v[heap] = v[heap].round()
    df = pd.DataFrame({"w": v.astype("float32"), "g": rng.choice(["a", "b"], 3000)})
    out = simulacra.create("cart", seed=0).fit(df).sample(4000, seed=0)["w"].astype(float)
    assert np.allclose(out, out.round(1), atol=1e-6)  # 38% on the 0.1 grid when misread
    assert (out == out.round()).mean() == pytest.approx((v == v.round()).mean(), abs=0.04)


def test_a_columns_end_held_by_a_few_rows_is_not_smoothed_away() -> None:
    # 0.5% of incomes are 0 and the rest 5,000 or more: a spike too small for the 1% rule,
    # which smoothing spread into the gap beside it (no zero came back, 2% under 5,000)
    rng = np.random.default_rng(0)
    income = np.round(np.exp(rng.normal(11, 0.5, 4000)) + 5000, -2)
    income[:20] = 0.0
    group = rng.choice(["a", "b"], 4000)
    df = pd.DataFrame({"group": group, "income": income})
    out = simulacra.create("cart", seed=0).fit(df).sample(20_000)["income"]
    assert (out == 0).mean() == pytest.approx(0.005, abs=0.002)
    assert out.between(1, 4_999).mean() < 0.001
