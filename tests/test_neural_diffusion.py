"""The diffusion family: joint shape after short training, skewed shapes, inpainting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import simulacra
from conftest import family_available

pytestmark = pytest.mark.skipif(not family_available("diffusion"), reason="needs the torch extra")

SHORT = {
    "epochs": 60,
    "batch_size": 128,
    "hidden": 128,
    "depth": 2,
    "steps": 25,
    "learning_rate": 2e-3,
    "patience": 0,
    "progress": False,
}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """x and y correlated (0.58), a group that shifts y by 2, gaps in y, a skewed and a bimodal."""
    rng = np.random.default_rng(3)
    n = 2000
    x = rng.normal(size=n)
    group = rng.choice(["low", "high"], n, p=[0.7, 0.3])
    y = 0.8 * x + 0.6 * rng.normal(size=n) + 2.0 * (group == "high")
    twin = np.where(rng.random(n) < 0.4, rng.normal(-3, 0.5, n), rng.normal(3, 0.7, n))
    df = pd.DataFrame(
        {
            "x": x.round(3),
            "y": y.round(3),
            "group": group,
            "skewed": rng.lognormal(0.0, 1.0, n).round(3),
            "twin": twin.round(3),
        }
    )
    df.loc[rng.random(n) < 0.15, "y"] = np.nan
    return df


@pytest.fixture(scope="module")
def fitted(table: pd.DataFrame):
    return simulacra.create("diffusion", seed=0, **SHORT).fit(table)


@pytest.fixture(scope="module")
def drawn(fitted) -> pd.DataFrame:
    return fitted.sample(3000, seed=1)


def test_diffusion_keeps_correlation_group_shift_and_gaps(drawn, table):
    real = table.dropna()
    both = drawn.dropna()
    real_r = np.corrcoef(real["x"], real["y"])[0, 1]
    assert np.corrcoef(both["x"], both["y"])[0, 1] == pytest.approx(real_r, abs=0.1)
    means = drawn.groupby("group")["y"].mean()
    assert means["high"] - means["low"] > 1.3  # real: 2.0
    assert (drawn["group"] == "high").mean() == pytest.approx(0.3, abs=0.05)
    assert drawn["y"].isna().mean() == pytest.approx(table["y"].isna().mean(), abs=0.04)


def test_diffusion_keeps_skewed_and_bimodal_shapes(drawn, table):
    for name in ("skewed", "twin"):
        ks = stats.ks_2samp(drawn[name], table[name]).statistic
        assert ks < 0.08, f"{name}: KS {ks:.3f}"
    valley = drawn["twin"].between(-1.0, 1.0).mean()  # real: well under 1%
    assert valley < 0.04
    assert (drawn["twin"] < 0).mean() == pytest.approx(0.4, abs=0.05)


def test_diffusion_inpaints_a_pinned_category(fitted, table):
    out = fitted.sample(1000, seed=2, conditions={"group": "high"})
    assert fitted.last_sample_info["how"] == "exact"
    assert (out["group"] == "high").all()
    real = table.loc[table["group"] == "high", "y"].mean()
    assert out["y"].mean() == pytest.approx(real, abs=0.4)  # about 2.0; unconditioned 0.6


def test_diffusion_ranges_and_rebalancing_hold_every_row(fitted, table):
    out = fitted.sample(500, seed=3, conditions={"x": (1.0, 2.0), "group": ["low", "high"]})
    assert fitted.last_sample_info["how"] == "exact"
    assert out["x"].between(1.0, 2.0).all()
    assert out["y"].mean() > table["y"].mean()  # x pulls y up (real: 1.7 against 0.6)
    rebalanced = fitted.sample(2000, seed=4, rebalance={"group": {"high": 0.7}})
    assert fitted.last_sample_info["how"] == "exact"
    assert (rebalanced["group"] == "high").mean() == pytest.approx(0.7, abs=0.02)


def test_diffusion_validation_loss_falls_and_rows_repeat(fitted):
    history = fitted.loss_history()
    assert history["validation_loss"].iloc[-10:].mean() < history["validation_loss"].iloc[0]
    a, b = fitted.sample(100, seed=7), fitted.sample(100, seed=7)
    pd.testing.assert_frame_equal(a, b)
