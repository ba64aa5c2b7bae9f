"""The copy guard: synthetic rows repeat one-of-a-kind training rows no more often
than unseen real rows do."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulacra
from simulacra.synthesizers._copies import fingerprints
from simulacra.synthesizers.registry import family_class


def _clustered(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """Seven four-level columns that mostly follow one hidden level: most rows are
    one of a kind, and a model that learns the clusters draws them again."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 4, rows)
    return pd.DataFrame(
        {
            f"k{j}": [
                f"v{x}" for x in (base + (rng.random(rows) < 0.4) * rng.integers(0, 4, rows)) % 4
            ]
            for j in range(7)
        }
    )


def _one_of_a_kind_share(train: pd.DataFrame, sample: pd.DataFrame) -> tuple[float, float]:
    """(share of sample rows repeating a row found once in train, the natural share:
    training rows found exactly twice)."""
    seen = fingerprints(train)
    values, counts = np.unique(seen, return_counts=True)
    natural = float(np.mean(counts[np.searchsorted(values, seen)] == 2))
    return float(np.isin(fingerprints(sample), values[counts == 1]).mean()), natural


def test_guard_brings_copies_of_one_of_a_kind_rows_down_to_the_natural_share():
    train = _clustered()
    free = simulacra.create("bayesnet", seed=1).fit(train)  # off unless asked for
    guarded = simulacra.create("bayesnet", seed=1, guard_copies=True).fit(train)
    copied, natural = _one_of_a_kind_share(train, free.sample(20_000, seed=3))
    kept, _ = _one_of_a_kind_share(train, guarded.sample(20_000, seed=3))
    assert natural == pytest.approx(0.095)
    assert copied > natural + 0.03  # the model repeats them half again as often
    assert kept == pytest.approx(natural, abs=0.01)
    assert guarded.copy_guard_["keep"] < 1
    assert guarded.last_sample_info["drawn"] > 20_000  # the copies were drawn again


def test_no_guard_is_kept_when_the_model_copies_no_more_than_real_rows_do():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)})
    model = simulacra.create("cart", seed=0, guard_copies=True).fit(train)
    assert model.copy_guard_ is None
    assert model.sample(50, seed=1).shape == (50, 2)


def test_guard_survives_save_and_load(tmp_path):
    train = _clustered()
    model = simulacra.create("bayesnet", seed=1, guard_copies=True).fit(train)
    model.save(tmp_path / "m.simz")
    loaded = simulacra.load(tmp_path / "m.simz")
    np.testing.assert_array_equal(loaded.copy_guard_["uniques"], model.copy_guard_["uniques"])
    pd.testing.assert_frame_equal(loaded.sample(500, seed=4), model.sample(500, seed=4))


def test_guard_keeps_conditions_exact():
    train = _clustered()
    model = simulacra.create("bayesnet", seed=1, guard_copies=True).fit(train)
    out = model.sample(2_000, seed=2, conditions={"k0": "v1"})
    assert (out["k0"] == "v1").all()
    share, natural = _one_of_a_kind_share(train, model.sample(20_000, seed=5))
    assert share < natural + 0.01


def test_a_model_that_can_only_copy_is_thinned_not_starved():
    # each of the 200 pairs is in the training rows once: any draw is a copy
    train = pd.DataFrame(
        {"a": [f"a{i % 10}" for i in range(200)], "b": [f"b{i // 10}" for i in range(200)]}
    )
    with pytest.warns(UserWarning, match=r"100.0% of its rows repeat .* about 100.0% still will"):
        model = simulacra.create("cart", seed=0, guard_copies=True).fit(train)
    guard = model.copy_guard_
    assert guard is not None and guard["natural"] == 0.0
    assert guard["keep"] == pytest.approx(1 - 0.5 / guard["drawn"])
    out = model.sample(1_000, seed=1)
    assert len(out) == 1_000
    assert model.last_sample_info["drawn"] < 3_500  # about two draws a row, then done


@pytest.mark.parametrize("family", ["bootstrap", "dp-copula", "dp-bayesnet"])
def test_resampling_and_dp_families_have_no_guard(family):
    assert "guard_copies" not in {p.name for p in family_class(family).all_params()}
    with pytest.raises(simulacra.errors.InvalidParameterError, match="guard_copies"):
        simulacra.create(family, guard_copies=True)


def test_guard_copies_must_be_true_or_false():
    with pytest.raises(simulacra.errors.InvalidParameterError, match="true or false"):
        simulacra.create("cart", guard_copies="no")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-1000, 1000).map(lambda k: k / 100)),
            st.one_of(st.none(), st.sampled_from(["a", "b", ""])),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_fingerprints_match_equal_rows_only(rows):
    frame = pd.DataFrame(rows, columns=["x", "c"]).astype({"x": "float64", "c": object})
    # what a decode gives back for the same rows: float error, -0.0, NaN for None
    noisy = frame.assign(x=frame["x"] * (1 + 1e-12) + 0.0)
    noisy.loc[noisy["x"] == 0, "x"] = -0.0
    a, b = fingerprints(frame), fingerprints(noisy)
    np.testing.assert_array_equal(a, b)
    same = (
        frame["x"].fillna(np.inf).to_numpy()[:, None] == frame["x"].fillna(np.inf).to_numpy()
    ) & (frame["c"].fillna("\x00").to_numpy()[:, None] == frame["c"].fillna("\x00").to_numpy())
    np.testing.assert_array_equal(a[:, None] == a[None, :], same)


def test_conditions_that_ask_for_a_guarded_copy_name_the_guard():
    train = pd.DataFrame(
        {"a": [f"a{i % 10}" for i in range(200)], "b": [f"b{i // 10}" for i in range(200)]}
    )
    with pytest.warns(UserWarning, match="copy guard"):
        model = simulacra.create("cart", seed=0, visit_order=["a", "b"], guard_copies=True)
        model.fit(train)
    model.copy_guard_ = {**model.copy_guard_, "keep": 0.0}  # a guard that lets no copy through
    with pytest.raises(simulacra.errors.InvalidParameterError, match="guard_copies=False"):
        model.sample(10, seed=1, conditions={"a": "a3", "b": "b7"})


def test_cli_turns_the_guard_off_and_says_when_it_drew_again(tmp_path):
    from test_cli import run

    _clustered().to_csv(tmp_path / "people.csv", index=False)
    for name, params in (("guarded", ["-p", "guard_copies=True"]), ("free", [])):
        fit = run(
            "fit",
            "people.csv",
            "-f",
            "bayesnet",
            "--seed",
            "1",
            "-o",
            f"{name}.simz",
            *params,
            cwd=tmp_path,
        )
        assert fit.returncode == 0, fit.stderr
    out = run("sample", "guarded.simz", "-n", "5000", "-o", "a.csv", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "to meet the copy guard" in out.stdout + out.stderr
    free = run("sample", "free.simz", "-n", "5000", "-o", "b.csv", cwd=tmp_path)
    assert "drew" not in free.stdout + free.stderr
    assert simulacra.load(tmp_path / "free.simz").copy_guard_ is None


@pytest.mark.filterwarnings("ignore:cart. .* of its rows repeat")
def test_rows_with_a_pooled_value_are_never_counted_as_copies():
    # each (a, b) pair once; half the rows hold a title seen once, which comes back
    # "(other)", never the real title: those rows are neither one-of-a-kind training rows
    # nor copies, so only the 100 clerks count
    train = pd.DataFrame(
        {
            "a": [f"a{i % 10}" for i in range(200)],
            "b": [f"b{i // 10}" for i in range(200)],
            "title": ["clerk" if i % 2 else f"title {i}" for i in range(200)],
        }
    )
    model = simulacra.create("cart", seed=0, guard_copies=True).fit(train)
    guard = model.copy_guard_
    assert guard["pooled"] == ["title"]
    assert len(guard["uniques"]) == 100 and guard["natural"] == 0.0
    out = model.sample(2_000, seed=1)
    clerks = out[out["title"] == "clerk"]
    other = out[out["title"] == "(other)"]
    assert len(other) > 200  # rows with a pooled title are never redrawn as copies
    copied = clerks.merge(train, on=["a", "b", "title"]).shape[0]
    assert copied / len(out) == pytest.approx(
        guard["keep"] * guard["drawn"] / (1 - guard["drawn"] + guard["keep"] * guard["drawn"]),
        abs=0.05,
    )
