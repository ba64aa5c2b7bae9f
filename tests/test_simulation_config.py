"""Simulation configs: the shipped examples run as written; bad configs are named by line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simulacra.errors import InputError, InvalidParameterError, SpecError
from simulacra.simulation.config import load_config, run_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_the_epidemic_example_runs_as_written_and_its_tables_join():
    result = run_config(EXAMPLES / "epidemic.yaml")
    tables = result.all_tables()
    assert set(tables) == {"households", "persons", "infections", "transitions", "epidemic_curve"}
    meta = result.metadata()
    meta.validate(tables)  # every key joins: persons -> households, logs -> persons
    assert {fk.name for fk in meta.foreign_keys} == {
        "persons.household_id",
        "infections.person_id",
        "infections.infector_id",
        "transitions.person_id",
    }
    persons = tables["persons"]
    assert len(tables["households"]) == 4000
    # the outbreak took off and ran its course: everyone infected has recovered
    infected = persons["state"].eq("R").mean()
    assert 0.2 < infected < 0.95
    assert not persons["state"].isin(["E", "I"]).any()
    assert result.stopped == "no one is exposed or infectious"
    # the contact network is used: households and schools both pass it on
    settings = set(tables["infections"]["setting"])
    assert {"household", "school", "workplace", "community", "seed"} <= settings


def test_the_transactions_example_runs_as_written_and_its_tables_join():
    result = run_config(EXAMPLES / "transactions.yaml")
    tables = result.all_tables()
    # a merchant breach (one of the fraud patterns) is logged when one happened
    assert set(tables) - {"breaches"} == {"customers", "merchants", "transactions"}
    result.metadata().validate(tables)
    log = tables["transactions"]
    assert len(tables["customers"]) == 5000
    assert 0.002 < log["is_fraud"].mean() < 0.01
    assert log["time"].min() >= pd.Timestamp("2025-03-03")


def test_seed_and_overrides_replace_the_configs_own():
    config = {"model": "transactions", "seed": 1, "parameters": {"customers": 40, "days": 2}}
    a = run_config(config)
    b = run_config(config, seed=1)
    c = run_config(config, seed=2)
    assert a.logs["transactions"].equals(b.logs["transactions"])
    assert not a.logs["transactions"].equals(c.logs["transactions"])
    short = run_config(config, overrides={"days": 1})
    assert short.logs["transactions"]["time"].dt.normalize().nunique() == 1
    with pytest.raises(InvalidParameterError, match="no parameter 'dayz'; did you mean 'days'"):
        run_config(config, overrides={"dayz": 1})


def test_two_way_population_tables_are_keyed_by_both_dimensions():
    config = load_config(
        {
            "model": "epidemic",
            "population": {
                "household_marginals": {
                    "type, size": {"single": {1: 10, 2: 0}, "couple": {1: 0, 2: 20}}
                },
                "person_marginals": {"age_band": {"18-64": 50}},
            },
            "parameters": {"days": 3},
        }
    )
    assert ("type", "size") in config.population["household_marginals"]
    result = run_config(config)
    assert result.tables["households"].groupby("type").size().to_dict() == {
        "couple": 20,
        "single": 10,
    }


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sim.yaml"
    path.write_text(text)
    return path


def test_bad_configs_name_the_line_and_the_nearest_name(tmp_path):
    path = _write(
        tmp_path,
        "model: transaction\nseed: 1\nparameter:\n  days: 3\n",
    )
    with pytest.raises(SpecError) as caught:
        load_config(path)
    text = str(caught.value)
    assert str(path) in text
    assert (
        "line 1" in text and "model 'transaction' is not known; did you mean 'transactions'" in text
    )
    assert "line 3" in text and "unknown key 'parameter'; did you mean 'parameters'" in text

    path = _write(tmp_path, "model: transactions\nparameters:\n  fraud_rat: 0.1\n")
    with pytest.raises(
        SpecError, match=r"line 3.*no parameter 'fraud_rat'; did you mean 'fraud_rate'"
    ):
        load_config(path)

    path = _write(tmp_path, "model: epidemic\nparameters: {days: 3}\n")
    with pytest.raises(SpecError, match="runs over people: give 'population'"):
        load_config(path)

    path = _write(tmp_path, "model: transactions\npopulation: {n_households: 3}\n")
    with pytest.raises(SpecError, match="makes its own agents; drop 'population'"):
        load_config(path)

    path = _write(tmp_path, "model: transactions\nseed: -1\n")
    with pytest.raises(SpecError, match="seed must be a whole number"):
        load_config(path)

    with pytest.raises(InputError, match="simulation config file not found"):
        load_config(tmp_path / "missing.yaml")


def test_parameter_values_are_checked_by_the_model():
    with pytest.raises(InvalidParameterError, match="fraud_rate"):
        run_config({"model": "transactions", "parameters": {"fraud_rate": 2.0}})


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("simulacra") or str(Path(sys.executable).parent / "simulacra")
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, env=env)


def test_simulate_writes_every_table_through_the_real_command(tmp_path):
    config = EXAMPLES / "transactions.yaml"
    args = ("simulate", str(config), "-o", "pay", "--set", "customers=300", "--set", "days=2")
    done = _cli(*args, "--format", "csv", "--seed", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ran 48 steps" in done.stderr
    written = {p.name for p in (tmp_path / "pay").iterdir()}
    assert {"customers.csv", "merchants.csv", "transactions.csv"} <= written
    log = pd.read_csv(tmp_path / "pay" / "transactions.csv")
    customers = pd.read_csv(tmp_path / "pay" / "customers.csv")
    assert len(customers) == 300
    assert log["customer_id"].isin(customers["customer_id"]).all()
    # the same run again into the same folder is refused, then allowed with --replace
    again = _cli(*args, "--format", "csv", "--seed", "3", "-q", cwd=tmp_path)
    assert again.returncode == 1 and "already has" in again.stderr and "--replace" in again.stderr
    same = _cli(*args, "--format", "csv", "--seed", "3", "-q", "--replace", cwd=tmp_path)
    assert same.returncode == 0 and same.stderr == ""
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "pay" / "transactions.csv"), log)


def test_simulate_names_a_bad_override_or_config(tmp_path):
    done = _cli("simulate", str(EXAMPLES / "epidemic.yaml"), "--set", "r_0=2", cwd=tmp_path)
    assert done.returncode == 1
    assert "no parameter 'r_0'; did you mean 'r0'" in done.stderr
    assert "Traceback" not in done.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: epidemik\n")
    done = _cli("simulate", str(bad), cwd=tmp_path)
    assert done.returncode == 1
    assert "line 1" in done.stderr and "did you mean 'epidemic'" in done.stderr
    done = _cli("simulate", str(EXAMPLES / "epidemic.yaml"), "--set", "days", cwd=tmp_path)
    assert done.returncode == 1 and "must look like name=value" in done.stderr
