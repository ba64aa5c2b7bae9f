"""Every registered family passes the conformance suite; each family's statistics hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulacra
from conftest import family_available, family_params
from simulacra.errors import InvalidParameterError, NotFittedError, UnknownFamilyError
from simulacra.synthesizers import base
from simulacra.testing import CHECKS, conformance_table, quick_create

FAMILIES = sorted(simulacra.families())


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("family", family_params())
def test_conformance(family, check):
    check(family, conformance_table())


def _typed_frame(rows: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    size = rng.choice(["S", "M", "L"], rows)
    return pd.DataFrame(
        {
            "size": pd.Categorical(size, categories=["S", "M", "L"], ordered=True),
            "code": pd.Categorical(rng.choice([10, 20, 50], rows)),  # a Categorical of numbers
            "visits": np.where(rng.random(rows) < 0.2, np.nan, rng.integers(0, 40, rows)),
            "small": rng.integers(0, 9, rows).astype("int32"),
            "ratio": rng.normal(size=rows).astype("float32"),
            "score": pd.array(np.where(size == "L", None, rng.integers(0, 5, rows)), "Int16"),
            "label": pd.array(rng.choice(["p", "q"], rows), dtype="string"),
        }
    )


@pytest.mark.parametrize("family", ["independent", "bootstrap", "copula", "cart", "bayesnet"])
def test_a_dataframes_dtypes_come_back(family, tmp_path):
    data = _typed_frame()
    model = simulacra.create(family, seed=0).fit(data)
    out = model.sample(2000)
    assert out.dtypes.to_dict() == data.dtypes.to_dict()
    assert out["size"].min() == "S" and out["size"].cat.ordered  # the order is the data's
    # a Categorical of numbers keeps its values: before, every row came back "(other)"
    assert set(out["code"]) == {10, 20, 50}
    assert (out["code"].value_counts(normalize=True) > 0.25).all()
    model.save(tmp_path / "m.simz")
    pd.testing.assert_frame_equal(simulacra.load(tmp_path / "m.simz").sample(2000), out)


def test_a_files_columns_come_back_as_before(tmp_path):
    path = tmp_path / "visits.csv"
    _typed_frame().to_csv(path, index=False)
    out = simulacra.create("cart", seed=0).fit(path).sample(500)
    assert str(out["visits"].dtype) == "Int64"  # whole numbers with gaps, written without ".0"
    assert out["size"].dtype == object


def test_builtin_families_are_registered():
    assert {"independent", "bootstrap", "copula"} <= set(FAMILIES)


def test_copula_keeps_correlation_and_category_effect(correlated):
    out = simulacra.create("copula", seed=0).fit(correlated).sample(20_000)
    real_corr = correlated["x"].corr(correlated["y"])
    assert abs(out["x"].corr(out["y"]) - real_corr) < 0.05
    real_gap = correlated.groupby("group")["y"].mean().diff().iloc[-1]
    synth_gap = out.groupby("group")["y"].mean().diff().iloc[-1]
    assert abs(synth_gap - real_gap) < 0.3
    assert abs(out["y"].isna().mean() - correlated["y"].isna().mean()) < 0.01


def test_parametric_copula_fits_a_known_shape():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"wait": rng.exponential(5.0, 4000), "z": rng.normal(size=4000)})
    model = simulacra.create("copula", seed=0, marginals="parametric").fit(df)
    names = [m.get("dist") for m in model.marginals_]
    assert names[0] in ("expon", "gamma")  # gamma contains the exponential
    out = model.sample(20_000)
    assert abs(out["wait"].mean() - 5.0) < 0.3


def test_independent_breaks_correlation_but_keeps_marginals(correlated):
    out = simulacra.create("independent", seed=0).fit(correlated).sample(20_000)
    assert abs(out["x"].corr(out["y"])) < 0.05
    assert abs(out["x"].mean() - correlated["x"].mean()) < 0.05
    assert abs(out["x"].std() - correlated["x"].std()) < 0.05
    shares = out["group"].value_counts(normalize=True)
    assert abs(shares["high"] - 0.3) < 0.02


def test_bootstrap_copies_rows_and_noise_moves_them(correlated):
    plain = simulacra.create("bootstrap", seed=0).fit(correlated).sample(500)
    assert plain["x"].isin(correlated["x"]).all()
    noisy = simulacra.create("bootstrap", seed=0, noise=0.5).fit(correlated).sample(500)
    shift = (noisy["x"] - plain["x"]).abs()  # same seed: the same rows, then noise
    assert 0.3 < shift.mean() < 0.5  # E|N(0, 0.5 sd)| = 0.4 sd, and sd(x) is about 1
    swapped = simulacra.create("bootstrap", seed=0, swap_rate=1.0).fit(correlated).sample(20_000)
    # every category cell redrawn from the marginal: the group no longer tracks y
    gap = swapped.groupby("group")["y"].mean().diff().abs().iloc[-1]
    assert gap < 0.15


def test_batches_cross_random_stream_blocks(monkeypatch, mixed):
    monkeypatch.setattr(base, "BLOCK_ROWS", 256)
    model = simulacra.create("copula", seed=5).fit(mixed)
    whole = model.sample(2000)
    parts = list(model.sample_batches(2000, batch_size=300))
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
    assert whole["user_id"].is_unique


def test_seed_in_sample_overrides_constructor(mixed):
    model = simulacra.create("copula", seed=1).fit(mixed)
    again = simulacra.create("copula", seed=1).fit(mixed)
    assert model.sample(50, seed=2).equals(again.sample(50, seed=2))
    assert not model.sample(50, seed=2).equals(model.sample(50))


def test_unseeded_runs_differ(mixed):
    model = simulacra.create("independent").fit(mixed)
    assert not model.sample(100).equals(model.sample(100))


def test_rare_category_never_leaks():
    rng = np.random.default_rng(0)
    city = rng.choice(["Paris", "Lyon", "Nice"], 500).astype(object)
    city[7] = "Tiny Village"
    df = pd.DataFrame({"city": city, "v": rng.normal(size=500)})
    for family in filter(family_available, FAMILIES):
        out = quick_create(family, seed=0).fit(df).sample(5000)
        assert "Tiny Village" not in set(out["city"]), family
        assert "Tiny Village" not in simulacra.Metadata.detect(df).to_json()


@pytest.mark.parametrize("family", ["bootstrap", "copula", "cart", "bayesnet"])
def test_open_tail_draws_new_titles_never_rare_ones(titled, family):
    model = simulacra.create(family, seed=0).fit(titled)
    out = model.sample(len(titled))
    counts = titled["title"].value_counts()
    rare, frequent = counts.index[counts < 5], counts.index[counts >= 5]
    drawn = out["title"].dropna()
    assert not set(drawn) & set(rare), family
    assert not drawn.str.contains("zork|wrangler").any()  # words of single rows never used
    assert "(other)" not in set(drawn)
    new = ~drawn.isin(frequent)
    assert abs(new.mean() - (~titled["title"].dropna().isin(frequent)).mean()) < 0.03
    assert set(drawn[new]) <= set(model.processor_.transforms_["title"].tail_)
    shares = drawn.value_counts(normalize=True).reindex(frequent, fill_value=0.0)
    real = titled["title"].dropna().value_counts(normalize=True).reindex(frequent)
    assert (shares - real).abs().max() < 0.02  # the frequent titles keep their shares
    assert abs(out["title"].isna().mean() - titled["title"].isna().mean()) < 0.015


def test_open_tail_is_seeded_and_survives_save_and_load(titled, tmp_path):
    model = simulacra.create("cart", seed=0).fit(titled)
    again = simulacra.create("cart", seed=0).fit(titled)
    pool = model.processor_.transforms_["title"].tail_
    assert pool == again.processor_.transforms_["title"].tail_
    other = simulacra.create("cart", seed=1).fit(titled)
    assert pool != other.processor_.transforms_["title"].tail_
    out = model.sample(500, seed=4)
    pd.testing.assert_frame_equal(out, again.sample(500, seed=4))
    assert not out.equals(model.sample(500, seed=5))
    model.save(tmp_path / "titles.simz")
    loaded = simulacra.load(tmp_path / "titles.simz")
    assert loaded.processor_.transforms_["title"].tail_ == pool
    pd.testing.assert_frame_equal(loaded.sample(500, seed=4), out)


def test_open_tail_under_conditions_and_rebalancing(titled):
    model = simulacra.create("cart", seed=0).fit(titled)
    pool = set(model.processor_.transforms_["title"].tail_)
    out = model.sample(300, conditions={"salary": (60, 80)})  # rows checked, then decoded
    assert out["salary"].between(60, 80).all()
    assert "(other)" not in set(out["title"]) and set(out["title"].dropna()) & pool
    chosen = model.sample(300, conditions={"title": ["manager", "teacher"]})
    assert set(chosen["title"]) == {"manager", "teacher"}
    shifted = model.sample(2000, rebalance={"title": {"driver": 0.3}})
    assert abs((shifted["title"] == "driver").mean() - 0.3) < 0.03


@pytest.mark.parametrize("bad", [0, -5, 2.5, "10", "abc", None, True])
def test_bad_row_counts_are_rejected(mixed, bad):
    model = simulacra.create("independent", seed=0).fit(mixed)
    with pytest.raises(InvalidParameterError, match=r"at least 1|how many rows"):
        model.sample(bad)


def test_not_fitted_error_is_a_value_error():
    with pytest.raises(ValueError, match="not fitted"):
        simulacra.create("copula").sample(3)
    assert issubclass(NotFittedError, ValueError)


def test_bad_parameters_name_what_is_allowed():
    with pytest.raises(InvalidParameterError, match=r"'noise' got -1.*>= 0\b"):
        simulacra.create("bootstrap", noise=-1)
    with pytest.raises(InvalidParameterError, match=r"'marginals'.*'empirical', 'parametric'"):
        simulacra.create("copula", marginals="fancy")
    with pytest.raises(InvalidParameterError, match="unknown parameter"):
        simulacra.create("copula", epochs=3)


def test_constructor_only_stores_and_fit_validates():
    model = simulacra.synthesizers.family_class("bootstrap")(noise=-1)
    assert model.noise == -1
    with pytest.raises(InvalidParameterError):
        model.fit(conformance_table())


def test_unknown_family_suggests_nearest():
    with pytest.raises(UnknownFamilyError, match="did you mean 'copula'"):
        simulacra.create("copla")


@pytest.mark.parametrize("family", ["independent", "copula", "cart", "bayesnet", "bootstrap"])
def test_a_table_with_nothing_to_learn_still_gives_n_rows(family):
    df = pd.DataFrame({"email": [f"user{i}@example.com" for i in range(50)]})
    out = simulacra.create(family, seed=0).fit(df).sample(7)
    assert len(out) == 7 and out["email"].notna().all()
