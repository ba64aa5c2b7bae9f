"""The torch core (training loop, persistence, bad input) and the autoregressive family."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

import simulacra
from conftest import family_available
from simulacra.errors import InvalidDataError, InvalidParameterError, ModelFileError

pytestmark = pytest.mark.skipif(
    not family_available("autoregressive"), reason="needs the torch extra"
)

QUICK = {"epochs": 20, "batch_size": 100, "hidden": 32, "progress": False}


@pytest.fixture(scope="module")
def linked() -> pd.DataFrame:
    """y follows x closely, a category follows x's sign, y has gaps."""
    rng = np.random.default_rng(3)
    n = 2000
    x = rng.normal(size=n)
    df = pd.DataFrame(
        {
            "x": x.round(3),
            "y": (2 * x + rng.normal(scale=0.5, size=n)).round(3),
            "side": np.where(x + rng.normal(scale=0.4, size=n) > 0, "up", "down"),
        }
    )
    df.loc[rng.random(n) < 0.15, "y"] = np.nan
    return df


@pytest.fixture(scope="module")
def fitted(linked):
    params = {**QUICK, "epochs": 60, "hidden": 64}
    return simulacra.create("autoregressive", seed=0, **params).fit(linked)


def test_autoregressive_keeps_correlation_category_link_and_gaps(fitted, linked):
    out = fitted.sample(4000, seed=1)
    both = out.dropna()
    assert np.corrcoef(both["x"], both["y"])[0, 1] == pytest.approx(0.97, abs=0.05)
    up = out.loc[out["side"] == "up", "x"].mean()
    down = out.loc[out["side"] == "down", "x"].mean()
    assert up > 0.5 and down < -0.5  # real: about +0.7 and -0.7
    assert out["y"].isna().mean() == pytest.approx(0.15, abs=0.03)


def test_autoregressive_conditions_exactly_on_any_subset(fitted, linked):
    out = fitted.sample(1000, seed=2, conditions={"x": (1.0, 2.0)})
    assert fitted.last_sample_info["how"] == "exact"
    assert out["x"].between(1.0, 2.0).all()
    real = linked.loc[linked["x"].between(1.0, 2.0), "y"].mean()
    assert out["y"].mean() == pytest.approx(real, abs=0.35)  # about 2.9
    ups = fitted.sample(1000, seed=2, conditions={"side": "up"})
    assert fitted.last_sample_info["how"] == "exact"
    assert (ups["side"] == "up").all() and ups["x"].mean() > 0.4


def test_rebalance_is_native(fitted):
    out = fitted.sample(2000, seed=4, rebalance={"side": {"down": 0.8}})
    assert fitted.last_sample_info["how"] == "exact"
    assert (out["side"] == "down").mean() == pytest.approx(0.8, abs=0.03)


def test_loss_history_and_weights_in_safetensors(fitted, tmp_path):
    history = fitted.loss_history()
    assert list(history.columns) == ["epoch", "loss", "validation_loss", "seconds"]
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    assert history["validation_loss"].notna().all()
    path = tmp_path / "ar.simz"
    fitted.save(path)
    with zipfile.ZipFile(path) as zf:
        assert "weights.safetensors" in zf.namelist()
    again = simulacra.load(path)
    pd.testing.assert_frame_equal(again.sample(200, seed=5), fitted.sample(200, seed=5))


def test_tampered_weights_are_refused(fitted, tmp_path):
    path = tmp_path / "ar.simz"
    fitted.save(path)
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    blob = bytearray(parts["weights.safetensors"])
    blob[-1] ^= 1
    parts["weights.safetensors"] = bytes(blob)
    bad = tmp_path / "bad.simz"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    with pytest.raises(ModelFileError, match="weights do not match"):
        simulacra.load(bad)


def test_max_time_stops_training_cleanly(linked):
    model = simulacra.create(
        "autoregressive", seed=0, **{**QUICK, "epochs": 100_000, "patience": 0}, max_time=1.0
    )
    model.fit(linked)
    assert model.stop_reason_ == "max_time"
    assert model.loss_history()["seconds"].iloc[-1] < 5.0
    assert len(model.sample(10)) == 10


def test_early_stopping_keeps_the_best_epoch(linked):
    model = simulacra.create("autoregressive", seed=0, **{**QUICK, "epochs": 500}, patience=2)
    model.fit(linked.head(800))
    history = model.loss_history()
    assert model.stop_reason_ == "early stopping" and len(history) < 500
    best = history["validation_loss"].idxmin()
    assert len(history) - 1 - best == 2  # stopped two epochs after the best one


def test_bad_input_says_what_to_do(linked):
    with pytest.raises(InvalidDataError, match="at least 20 rows"):
        simulacra.create("autoregressive", **QUICK).fit(linked.head(5))
    with pytest.raises(InvalidParameterError, match="max_time"):
        simulacra.create("autoregressive", max_time=0)
    with pytest.raises(InvalidParameterError, match="device"):
        simulacra.create("autoregressive", device="tpu")
    model = simulacra.create("autoregressive", seed=0, **{**QUICK, "epochs": 1}).fit(linked)
    with pytest.raises(InvalidParameterError, match="never took the value"):
        model.sample(5, conditions={"side": "sideways"})


def test_nan_loss_stops_and_keeps_the_last_good_weights(linked):
    from simulacra.synthesizers.neural._core import TrainingWarning
    from simulacra.synthesizers.neural.autoregressive import AutoregressiveSynthesizer

    class Exploding(AutoregressiveSynthesizer):
        """Its loss turns NaN after 30 steps."""

        steps = 0

        def _loss(self, numbers, codes, generator):
            loss = super()._loss(numbers, codes, generator)
            if self.network_.training:
                type(self).steps += 1
                if type(self).steps > 30:
                    return loss * float("nan")
            return loss

    model = Exploding(seed=0, **QUICK)
    with pytest.warns(TrainingWarning, match="NaN in epoch 2"):  # 18 steps an epoch
        model.fit(linked)
    assert model.stop_reason_ == "nan loss"
    assert len(model.loss_history()) == 1
    assert model.sample(100)["x"].notna().all()


def test_missing_torch_names_the_install():
    code = (
        "import sys\n"
        "class NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "import simulacra\n"
        "from simulacra.errors import MissingExtraError\n"
        "try:\n"
        "    simulacra.create('autoregressive')\n"
        "except MissingExtraError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'simulacra[torch]'" in out.stdout


def test_cli_trains_a_network_quietly(tmp_path, linked):
    from test_cli import run

    linked.to_csv(tmp_path / "linked.csv", index=False)
    fit = run(
        "fit", "linked.csv", "-f", "autoregressive", "-p", "epochs=3", "-p", "hidden=16",
        "-o", "m.simz", "--seed", "0", "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    assert fit.stderr == ""
    out = run("sample", "m.simz", "-n", "50", "-o", "s.csv", "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(pd.read_csv(tmp_path / "s.csv")) == 50
