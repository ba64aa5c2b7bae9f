"""What the neural families keep of a column's shape: spikes, and numbers that are functions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulacra
from conftest import family_available

pytestmark = pytest.mark.skipif(not family_available("vae"), reason="needs the torch extra")

QUICK = {"epochs": 60, "batch_size": 100, "hidden": 64, "learning_rate": 3e-3, "progress": False}


@pytest.fixture(scope="module")
def wages() -> pd.DataFrame:
    """Round pay on a few spikes (60% of rows), the rest spread; its log; a category."""
    rng = np.random.default_rng(3)
    n = 2000
    spikes = rng.choice([20.0, 25.0, 40.0], n, p=[0.5, 0.3, 0.2])
    pay = np.where(rng.random(n) < 0.6, spikes, rng.lognormal(3.3, 0.3, n).round(2))
    return pd.DataFrame(
        {
            "pay": pay,
            "log_pay": np.log(pay),
            "team": rng.choice(["a", "b"], n),
        }
    )


@pytest.fixture(scope="module")
def vae(wages) -> simulacra.Synthesizer:
    return simulacra.create("vae", seed=0, **QUICK).fit(wages)


def test_spikes_come_back_exactly_in_their_shares(vae, wages):
    out = vae.sample(4000, seed=1)
    for value in (20.0, 25.0, 40.0):
        real = (wages["pay"] == value).mean()
        # a mixture's smooth modes alone put no row exactly on a spike (share 0)
        assert (out["pay"] == value).mean() == pytest.approx(real, abs=0.05)


def test_a_function_of_another_number_is_rebuilt_not_learned(vae, wages):
    assert set(vae.derived_) == {"log_pay"}
    out = vae.sample(3000, seed=2)
    # between two pays the rows hold, the log is interpolated; learned as two numbers, a
    # row's log_pay is 0.1 and more off its pay's (measured: 50% of rows)
    assert np.allclose(out["log_pay"], np.log(out["pay"]), atol=0.01)
    spiked = out["pay"].isin([20.0, 25.0, 40.0])  # drawn as spikes: their own image
    image = wages.groupby("pay")["log_pay"].first()[out.loc[spiked, "pay"]].to_numpy()
    assert (out.loc[spiked, "log_pay"].to_numpy() == image).mean() >= 0.95


def test_a_range_on_a_derived_column_holds_its_anchor(vae):
    out = vae.sample(200, seed=3, conditions={"log_pay": (3.0, 3.4)})
    assert out["log_pay"].between(3.0, 3.4).all()
    assert out["pay"].between(np.exp(3.0) - 0.5, np.exp(3.4) + 0.5).all()
    pinned = vae.sample(50, seed=4, conditions={"log_pay": float(np.log(25.0))})
    assert np.allclose(pinned["log_pay"], np.log(25.0))


def test_dp_families_learn_no_function_of_the_rows(wages):
    if not family_available("dp-vae"):
        pytest.skip("needs the dp extra")
    model = simulacra.create("dp-vae", seed=0, epsilon=5.0, epochs=2, progress=False)
    assert model.fit(wages).derived_ == {}


def test_a_saved_model_keeps_its_spikes_and_functions(vae, tmp_path):
    path = tmp_path / "vae.simz"
    vae.save(path)
    loaded = simulacra.load(path)
    pd.testing.assert_frame_equal(loaded.sample(300, seed=5), vae.sample(300, seed=5))


@settings(max_examples=30, deadline=None)
@given(
    spikes=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=5, unique=True),
    spread=st.floats(0.01, 1e4),
    share=st.floats(0.0, 0.95),
    rows=st.integers(1, 3000),
)
def test_a_batch_is_put_back_on_its_points_in_their_shares(spikes, spread, share, rows):
    from simulacra.synthesizers.neural._codec import ModeNormal

    rng = np.random.default_rng(0)
    n = 1000
    x = np.where(rng.random(n) < share, rng.choice(spikes, n), rng.normal(0.0, spread, n))
    codec = ModeNormal().fit(x, rng)
    offset = rng.uniform(-1, 1, rows)
    mode = rng.integers(0, codec.modes, rows)
    smooth = np.clip(offset, -1, 1) * 4.0 * codec.stds_[mode] + codec.means_[mode]
    out = codec.decode(offset, mode)
    for value, (low, high) in zip(codec.points_, codec.spans_, strict=True):
        # each point takes the batch rows whose rank falls in its span: its share, to a row
        assert abs((out == value).sum() - rows * (high - low)) <= 1
    moved = out != smooth
    assert np.isin(out[moved], codec.points_).all()  # the rest keep the network's values


@pytest.mark.parametrize("bins", [12, 160])
def test_autoregressive_cuts_numbers_into_its_bins(bins):
    """``bins`` reaches the codec: a continuous column is cut into that many quantile bins,
    each holding about its share of the rows, and values come back within the column."""
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"x": rng.gamma(2.0, 10.0, 4000), "c": rng.choice(["a", "b"], 4000)})
    params = {"epochs": 2, "hidden": 16, "bins": bins, "progress": False}
    model = simulacra.create("autoregressive", seed=0, **params).fit(df)
    encoder = model.codec_.encoders_["x"]
    assert encoder.width == bins
    codes = encoder.encode(df["x"].to_numpy())
    assert np.bincount(codes).max() <= 1.5 * len(df) / bins
    out = model.sample(2000, seed=1)["x"]
    assert out.between(df["x"].min(), df["x"].max()).all()
