"""Validity: the share of well-formed synthetic values, measured on known defects."""

from __future__ import annotations

import pandas as pd
import pytest

import simulacra


@pytest.fixture
def real():
    return pd.DataFrame(
        {
            "id": [f"K{i:03d}" for i in range(20)],
            "n": list(range(20)),
            "c": ["a", "b"] * 10,
            "d": pd.date_range("2024-01-01", periods=20, freq="D").strftime("%Y-%m-%d"),
        }
    )


def test_a_faithful_copy_is_fully_valid(mixed):
    synth = simulacra.create("copula", seed=0).fit(mixed).sample(400)
    report = simulacra.evaluate(mixed, synth)
    assert report.scores["validity"] == 1.0
    names = {m.name for m in report.metrics if m.section == "validity"}
    assert names == {
        "type_valid_share",
        "within_bounds_share",
        "known_category_share",
        "key_uniqueness",
    }


def test_defects_are_measured(real):
    meta = simulacra.Metadata.detect(real)
    synth = real.assign(n=real["n"].astype(float))
    synth.loc[:4, "n"] = [100, -5, 2.5, 3, 4]  # 2 of 20 out of bounds, 1 not whole
    synth.loc[:1, "c"] = "zzz"
    synth.loc[:9, "id"] = "K000"
    synth.loc[0, "d"] = "2030-01-01"
    report = simulacra.evaluate(real, synth, metadata=meta)
    values = {(m.name, m.columns[0]): m.value for m in report.metrics if m.section == "validity"}
    assert values["type_valid_share", "n"] == pytest.approx(19 / 20)
    assert values["within_bounds_share", "n"] == pytest.approx(17 / 19)
    assert values["known_category_share", "c"] == pytest.approx(18 / 20)
    assert values["key_uniqueness", "id"] == pytest.approx(11 / 20)
    assert values["within_bounds_share", "d"] == pytest.approx(19 / 20)
    assert report.scores["validity"] == pytest.approx(11 / 20)
