"""The ``bayesnet`` family: structure, fidelity, and exact conditional sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulacra
from simulacra.conditions import Evidence
from simulacra.errors import InvalidDataError
from simulacra.testing import check_synthesizer

LETTERS = np.array(list("abcd"))


def _draw(rng: np.random.Generator, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One code per row from ``table[rows[i]]`` (each row of ``table`` sums to 1)."""
    u = rng.random(len(rows))[:, None]
    return (u > np.cumsum(table[rows], axis=1)).sum(axis=1)


def _network_data(rows: int, seed: int = 0) -> pd.DataFrame:
    """A -> B -> C and A -> D <- C: a chain plus a collider, codes shown as letters."""
    rng = np.random.default_rng(seed)
    a = _draw(rng, np.array([[0.5, 0.3, 0.2]]), np.zeros(rows, dtype=int))
    b = _draw(rng, np.array([[0.8, 0.2], [0.3, 0.7], [0.1, 0.9]]), a)
    c = _draw(rng, np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]), b)
    d_table = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])  # rows: a + c, capped at 2
    d = _draw(rng, d_table, np.minimum(a + c, 2))
    return pd.DataFrame({"A": LETTERS[a], "B": LETTERS[b], "C": LETTERS[c], "D": LETTERS[d]})


def _edges(model) -> set[frozenset[str]]:
    names = [c.name for c in model.columns_]
    return {frozenset((names[p], names[c])) for c, pa in enumerate(model.parents_) for p in pa}


def _posterior(model, allowed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Every configuration of a discrete model and its probability given ``allowed``."""
    cards = model.cards_
    configs = np.indices(cards).reshape(len(cards), -1)
    prob = np.ones(configs.shape[1])
    for v, parents in enumerate(model.parents_):
        row = np.zeros(configs.shape[1], dtype=int)
        for p in parents:
            row = row * cards[p] + configs[p]
        prob *= model.cpts_[v][row, configs[v]]
    names = [c.name for c in model.columns_]
    for name, mask in allowed.items():
        prob *= mask[configs[names.index(name)]]
    return configs, prob / prob.sum()


def _conditional(model, n: int, seed: int, allowed=None, bounds=None) -> pd.DataFrame:
    evidence = Evidence(n, allowed or {}, bounds or {})
    out = model._sample_conditional(n, np.random.default_rng(seed), evidence)
    assert out is not None, "bayesnet must condition exactly, not fall back"
    assert list(out.columns) == [c.name for c in model.columns_]
    return out


def test_conformance_suite_passes():
    check_synthesizer("bayesnet")


def test_structure_recovers_chain_and_collider():
    model = simulacra.create("bayesnet", seed=0).fit(_network_data(20_000))
    edges = _edges(model)
    assert {frozenset("AB"), frozenset("BC"), frozenset("AD"), frozenset("CD")} <= edges
    assert frozenset("AC") not in edges  # A and C are independent given B
    assert frozenset("BD") not in edges  # B reaches D only through A and C


def test_a_lighter_penalty_keeps_a_weak_link_that_bic_drops():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, 5000)
    y = rng.random(5000) < 0.5 + np.array([-0.03, -0.01, 0.01, 0.03])[x]  # a weak effect
    df = pd.DataFrame({"X": LETTERS[x], "Y": LETTERS[y.astype(int)]})
    assert frozenset("XY") in _edges(simulacra.create("bayesnet", seed=0).fit(df))
    assert not _edges(simulacra.create("bayesnet", seed=0, penalty=1.0).fit(df))


def test_correlated_pair_and_category_effect_come_back(correlated):
    model = simulacra.create("bayesnet", seed=0).fit(correlated)
    out = model.sample(20_000)
    rank = out["x"].corr(out["y"], method="spearman")
    assert abs(rank - correlated["x"].corr(correlated["y"], method="spearman")) < 0.05
    # binning costs some linear correlation in the tails, and at 5,000 rows BIC
    # links x and y through x's bins merged into a few (a full 20 x 20 table costs too much)
    assert abs(out["x"].corr(out["y"]) - correlated["x"].corr(correlated["y"])) < 0.08
    real_gap = correlated.groupby("group")["y"].mean().diff().iloc[-1]
    synth_gap = out.groupby("group")["y"].mean().diff().iloc[-1]
    assert abs(synth_gap - real_gap) < 0.2
    assert abs(out["y"].isna().mean() - correlated["y"].isna().mean()) < 0.01
    assert out["x"].between(correlated["x"].min(), correlated["x"].max()).all()


@pytest.mark.parametrize(
    "allowed",
    [
        {"D": [False, True]},  # a child: explaining away through the collider
        {"A": [False, True, True], "C": [True, False, False]},
        {"B": [True, False], "D": [True, False]},
    ],
    ids=["leaf", "root-and-middle", "middle-and-leaf"],
)
def test_conditional_frequencies_match_brute_force_posterior(allowed):
    model = simulacra.create("bayesnet", seed=0).fit(_network_data(20_000, seed=1))
    n = 40_000
    masks = {k: np.tile(np.array(v), (n, 1)) for k, v in allowed.items()}
    out = _conditional(model, n, seed=3, allowed=masks).to_numpy().astype(int)
    configs, prob = _posterior(model, {k: np.array(v) for k, v in allowed.items()})
    cards = model.cards_
    flat = np.ravel_multi_index(tuple(out.T), cards)
    seen = np.bincount(flat, minlength=len(prob)) / n
    expected = prob[np.ravel_multi_index(tuple(configs), cards)]
    assert np.all(seen[expected == 0] == 0), "a row breaks its evidence"
    tolerance = 5 * np.sqrt(expected * (1 - expected) / n) + 1e-3
    assert np.all(np.abs(seen - expected) <= tolerance)


def _mixed(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    y = x + 0.6 * rng.normal(size=rows)
    kind = np.where(y + 0.5 * rng.normal(size=rows) > 0.8, "b", "a")
    return pd.DataFrame({"x": x, "y": y, "kind": kind})


@pytest.mark.parametrize("on", ["category", "range"])
def test_conditional_draws_agree_with_rejection_from_plain_draws(on):
    # under BIC's full charge the search takes a parent's merged bins: exercise them
    model = simulacra.create("bayesnet", seed=0, penalty=1.0).fit(_mixed(5_000, seed=8))
    assert any(k >= 0 for levels in model.merged_ for k in levels)
    plain = model._sample(400_000, np.random.default_rng(1))
    n = 20_000
    if on == "category":
        kept = plain[plain["kind"] == 1]
        out = _conditional(model, n, seed=2, allowed={"kind": np.tile([False, True], (n, 1))})
        assert (out["kind"] == 1).all()
    else:
        kept = plain[plain["y"].between(0.5, 1.0)]
        out = _conditional(model, n, seed=2, bounds={"y": (np.full(n, 0.5), np.full(n, 1.0))})
        assert out["y"].between(0.5, 1.0).all()
        assert abs((out["kind"] == 1).mean() - (kept["kind"] == 1).mean()) < 0.02
    assert len(kept) > 20_000
    for name in ("x", "y"):
        assert abs(out[name].mean() - kept[name].mean()) < 0.03
        assert abs(out[name].std() - kept[name].std()) < 0.03


def test_per_row_evidence_is_met_row_by_row():
    data = _network_data(5_000, seed=2)
    rng = np.random.default_rng(7)
    data["x"] = np.where(data["B"] == "b", 2.0, 0.0) + rng.normal(size=len(data))
    model = simulacra.create("bayesnet", seed=0).fit(data)
    n = 3_000
    allowed_a = rng.random((n, 3)) < 0.6
    allowed_a[np.arange(n), rng.integers(0, 3, n)] = True  # every row allows some code
    low = rng.uniform(-2.0, 2.0, n)
    high = low + rng.uniform(0.0, 1.5, n)
    high[rng.random(n) < 0.1] = np.inf  # open above
    pinned = rng.random(n) < 0.2
    high[pinned] = low[pinned]
    allowed = {"A": allowed_a, "D": np.tile([True, False], (n, 1))}  # D: the same for all rows
    out = _conditional(model, n, seed=5, allowed=allowed, bounds={"x": (low, high)})
    assert allowed_a[np.arange(n), out["A"].to_numpy()].all()
    assert (out["D"] == 0).all()
    x = out["x"].to_numpy()
    assert np.all((x >= low) & (x <= high))
    np.testing.assert_array_equal(x[pinned], low[pinned])
    # the evidence moves the rest: a high range on x makes B == "b" far more likely
    high_rows = low > 1.5
    assert (out["B"].to_numpy()[high_rows] == 1).mean() > 0.6
    assert (out["B"].to_numpy()[high < -0.5] == 1).mean() < 0.2


def test_range_on_a_number_reproduces_the_conditional_shares():
    rng = np.random.default_rng(11)
    n = 20_000
    x = rng.normal(size=n)
    group = np.where(rng.random(n) < 1 / (1 + np.exp(-2.5 * x)), "high", "low")
    data = pd.DataFrame({"x": x, "group": group})
    model = simulacra.create("bayesnet", seed=0).fit(data)
    low, high = np.full(n, 0.3), np.full(n, 1.2)
    out = _conditional(model, n, seed=1, bounds={"x": (low, high)})
    assert out["x"].between(0.3, 1.2).all()
    inside = data["x"].between(0.3, 1.2)
    real_share = (data.loc[inside, "group"] == "high").mean()
    assert abs((out["group"] == 0).mean() - real_share) < 0.03  # codes sort: high=0, low=1
    real_mean = data.loc[inside, "x"].mean()
    assert abs(out["x"].mean() - real_mean) < 0.02


def test_a_pinned_value_comes_back_exactly_and_shifts_its_neighbours():
    rng = np.random.default_rng(12)
    n = 10_000
    x = rng.normal(size=n)
    data = pd.DataFrame({"x": x, "sign": np.where(x > 0, "pos", "neg")})
    model = simulacra.create("bayesnet", seed=0).fit(data)
    out = _conditional(model, 500, seed=2, bounds={"x": (np.full(500, 0.7), np.full(500, 0.7))})
    assert (out["x"] == 0.7).all()
    assert (out["sign"] == 1).all()  # "pos" sorts after "neg"


def test_impossible_evidence_raises_a_clear_error():
    data = _network_data(2_000, seed=4)
    data["x"] = np.random.default_rng(0).normal(size=len(data))
    model = simulacra.create("bayesnet", seed=0).fit(data)
    far = (np.full(10, 50.0), np.full(10, 60.0))
    with pytest.raises(InvalidDataError, match="cannot be met by this model"):
        _conditional(model, 10, seed=0, bounds={"x": far})
    with pytest.raises(InvalidDataError, match="not encoded columns"):
        _conditional(model, 10, seed=0, bounds={"A": far})
    none_allowed = np.zeros((10, 3), dtype=bool)
    none_allowed[:5, 0] = True
    with pytest.raises(InvalidDataError, match=r"cannot be met.*5 of 10 rows"):
        _conditional(model, 10, seed=0, allowed={"A": none_allowed})
    unseen = pd.DataFrame({"A": ["a", "b"] * 500, "B": ["a", "b"] * 500})
    apart = simulacra.Metadata.detect(unseen, formulas=False)  # else learned as one code
    twins = simulacra.create("bayesnet", seed=0, alpha=0.0).fit(unseen, apart)
    mismatch = {"A": np.tile([True, False], (4, 1)), "B": np.tile([False, True], (4, 1))}
    with pytest.raises(InvalidDataError, match="A, B cannot be met"):
        _conditional(twins, 4, seed=0, allowed=mismatch)


def test_conditional_sampling_is_seeded_and_survives_save_and_load(tmp_path):
    model = simulacra.create("bayesnet", seed=0).fit(_mixed(3_000, seed=5))
    mask = {"kind": np.tile([False, True], (200, 1))}
    bounds = {"x": (np.full(200, -0.5), np.full(200, 0.5))}
    first = _conditional(model, 200, seed=9, allowed=mask, bounds=bounds)
    pd.testing.assert_frame_equal(first, _conditional(model, 200, 9, mask, bounds))
    model.save(tmp_path / "bn.simz")
    loaded = simulacra.load(tmp_path / "bn.simz")
    pd.testing.assert_frame_equal(first, _conditional(loaded, 200, 9, mask, bounds))
    free = _conditional(model, 200, seed=9, allowed={"kind": np.ones((200, 2), dtype=bool)})
    pd.testing.assert_frame_equal(free, model._sample(200, np.random.default_rng(9)))


def test_gaps_are_outcomes_that_depend_on_other_columns():
    rng = np.random.default_rng(4)
    rows = 4_000
    age = rng.integers(5, 80, rows).astype(float)
    child = age < 16
    job = rng.choice(["clerk", "farmer", "nurse"], rows).astype(object)
    job[child] = None  # children have no job, and the network must draw them again
    hours = np.where(child, np.nan, 30 + rng.normal(0, 6, rows))
    age[rng.random(rows) < 0.05] = np.nan
    df = pd.DataFrame({"age": age, "job": job, "hours": hours})
    out = simulacra.create("bayesnet", seed=0).fit(df).sample(20_000, seed=1)
    real_share = df["job"].isna().mean()
    assert abs(out["job"].isna().mean() - real_share) < 0.02
    assert (out["job"].isna() != out["hours"].isna()).mean() < 0.005  # the prior leaks a little
    ages = out.loc[out["job"].isna(), "age"].dropna()
    assert (ages < 16).mean() > 0.9 and (ages < 20).mean() > 0.97  # bins straddle 16
    assert abs(out["age"].isna().mean() - 0.05) < 0.01
    known = out.dropna()
    assert (known["age"] >= 16).mean() > 0.97 and known["hours"].between(0, 60).all()


def _carats(n: int, seed: int) -> pd.DataFrame:
    """Weights in steps of 0.01 heaped on round values, a price that follows, and a few odd ones."""
    rng = np.random.default_rng(seed)
    carat = np.round(rng.gamma(4.0, 0.2, n), 2)
    heaped = rng.random(n) < 0.3
    carat[heaped] = np.round(carat[heaped] * 2) / 2  # 0.5, 1.0, 1.5 ... as jewellers round
    carat = np.maximum(carat, 0.2)
    carat[:2] = [0.203, 0.777]  # each seen once: never to be reproduced
    price = np.exp(8 + 1.5 * np.log(carat) + rng.normal(scale=0.2, size=n))
    return pd.DataFrame({"carat": carat, "price": price})


def test_lattice_columns_keep_their_common_values_and_shares():
    data = _carats(20_000, seed=21)
    model = simulacra.create("bayesnet", seed=0).fit(data)
    assert "carat" in model.lattices_ and "price" not in model.lattices_
    out = model.sample(40_000)
    assert not out["carat"].isin([0.203, 0.777]).any()
    assert np.allclose(out["carat"] * 100, np.round(out["carat"] * 100))
    real = data["carat"].value_counts(normalize=True)
    synth = out["carat"].value_counts(normalize=True).reindex(real.index, fill_value=0)
    assert (synth - real).abs().sum() / 2 < 0.05  # total variation distance over 0.01 steps
    assert abs((out["carat"] == 1.0).mean() - (data["carat"] == 1.0).mean()) < 0.01  # a heap


def test_a_range_on_a_lattice_column_draws_its_values_in_their_shares():
    data = _carats(20_000, seed=22)
    model = simulacra.create("bayesnet", seed=0).fit(data)
    n = 20_000
    out = _conditional(model, n, seed=3, bounds={"carat": (np.full(n, 0.95), np.full(n, 1.05))})
    assert out["carat"].between(0.95, 1.05).all()
    real = data.loc[data["carat"].between(0.95, 1.05), "carat"].value_counts(normalize=True)
    synth = out["carat"].value_counts(normalize=True)
    assert set(synth.index) <= set(real.index)
    assert abs(synth.get(1.0, 0.0) - real[1.0]) < 0.03
    pinned = _conditional(
        model, 100, seed=4, bounds={"carat": (np.full(100, 0.5), np.full(100, 0.5))}
    )
    assert (pinned["carat"] == 0.5).all()
