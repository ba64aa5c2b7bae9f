"""A learned model exported as a spec: the marginals and correlations, never a real record."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import simulacra
from simulacra.errors import InvalidParameterError, ModelFileError, NotFittedError
from simulacra.spec import load_spec, spec_from_model, spec_to_yaml

EXE = shutil.which("simulacra") or str(Path(sys.executable).parent / "simulacra")
ROWS = 20_000  # rows generated from each spec
RARE = ("zanzibar", "sevenfold")  # categories seen 3 and 7 times: under the default count of 10


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    """Correlated numbers, a rare category, dates, an email, an id, a formula, gaps and zeros."""
    rng = np.random.default_rng(7)
    n = 2000
    z = rng.normal(size=n)
    w = 0.6 * z + 0.8 * rng.normal(size=n)
    segment = rng.choice(["basic", "plus", "premium"], n, p=[0.6, 0.3, 0.1]).astype(object)
    segment[rng.permutation(n)[:10]] = ["zanzibar"] * 3 + ["sevenfold"] * 7
    income = np.exp(10.5 + 0.5 * w).round(2)
    df = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in rng.permutation(n)],
            "email": [f"realperson{i}.private@example.org" for i in range(n)],
            "age": np.clip(np.rint(45 + 12 * z), 18, 90).astype(int),
            "income": income,
            "monthly": (income / 12).round(2),
            "score": rng.normal(0, 1, n).round(6),
            "spend": np.where(rng.random(n) < 0.4, 0.0, rng.gamma(2.0, 50.0, n).round(2)),
            "segment": segment,
            "signup": pd.Timestamp("2021-03-05") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
            "active": rng.random(n) < 0.7,
            "kids": rng.poisson(1.2, n),
        }
    )
    gaps = rng.random(n) < 0.1
    df.loc[gaps, ["income", "monthly"]] = np.nan
    return df


@pytest.fixture(scope="module")
def meta(real) -> simulacra.Metadata:
    meta = simulacra.Metadata.detect(real)
    # declared with the rare categories, so the model itself draws them now and then
    meta.columns["segment"].categories = ["basic", "plus", "premium", *RARE]
    meta.constraints = [
        {"type": "positive", "column": "income", "strict": True},
        {"type": "formula", "column": "monthly", "expression": "round(income / 12, 2)"},
        {"type": "fixed_combinations", "columns": ["segment", "active"]},
    ]
    return meta


@pytest.fixture(scope="module")
def copula(real, meta):
    return simulacra.create("copula", seed=0).fit(real, metadata=meta)


@pytest.fixture(scope="module")
def spec(copula) -> dict:
    return spec_from_model(copula, table="customers")


@pytest.fixture(scope="module")
def made(spec) -> pd.DataFrame:
    return simulacra.generate(spec, rows={"customers": ROWS}, seed=3)["customers"]


def _spearman(df: pd.DataFrame, a: str, b: str) -> float:
    return float(df[[a, b]].dropna().corr(method="spearman").iloc[0, 1])


# ------------------------------------------------------------------ the spec
def test_the_spec_validates_and_generates(spec, made, real):
    checked = load_spec(spec)
    assert list(checked.tables) == ["customers"]
    assert list(spec["tables"]["customers"]["columns"]) == list(real.columns)
    assert spec["tables"]["customers"]["rows"] == 2000
    assert "copula model" in spec["description"] and "No real record" in spec["description"]
    assert list(made.columns) == list(real.columns) and len(made) == ROWS


def test_the_columns_take_the_spec_language(spec):
    cols = spec["tables"]["customers"]["columns"]
    assert cols["customer_id"] == {"pattern": "C[0-9]{5}", "unique": True}
    assert cols["email"] == {"fake": "email"}
    assert cols["age"]["distribution"] == "histogram" and cols["age"]["integer"] is True
    assert cols["income"]["decimals"] == 2 and cols["income"]["nulls"] == pytest.approx(
        0.1, abs=0.02
    )
    assert cols["monthly"]["expression"] == "round(income / 12, 2)"  # the formula rule
    levels = {"basic", "plus", "premium"}  # the 10 rare rows: an "(other)" of about 10, or none
    assert levels <= set(cols["segment"]["values"]) <= levels | {"(other)"}
    start, end = cols["signup"]["dates"]["start"], cols["signup"]["dates"]["end"]
    assert start.endswith("-01") and (start, end) == ("2021-03-01", "2023-08-31")
    assert cols["active"] == {"values": [False, True], "weights": cols["active"]["weights"]}
    assert cols["kids"]["values"] == sorted(cols["kids"]["values"])  # few whole numbers: values
    rules = spec["tables"]["customers"]["constraints"]
    assert rules == [{"type": "positive", "column": "income", "strict": True}]
    assert "fixed combinations of segment, active is left out" in spec["description"]


def test_marginals_come_back(made, real):
    for col, rel_mean, rel_sd in (("age", 0.02, 0.05), ("income", 0.03, 0.06)):
        assert made[col].mean() == pytest.approx(real[col].mean(), rel=rel_mean), col
        assert made[col].std() == pytest.approx(real[col].std(), rel=rel_sd), col
    assert made["kids"].mean() == pytest.approx(real["kids"].mean(), abs=0.05)
    assert made["score"].std() == pytest.approx(real["score"].std(), rel=0.06)
    # shares: the model's fit, its 20,000-row sample and the spec's draw, each within a point
    shares = made["segment"].value_counts(normalize=True)
    truth = real["segment"].value_counts(normalize=True)
    for level in ("basic", "plus", "premium"):
        assert shares[level] == pytest.approx(truth[level], abs=0.02), level
    assert made["active"].mean() == pytest.approx(real["active"].mean(), abs=0.02)
    assert made["income"].isna().mean() == pytest.approx(real["income"].isna().mean(), abs=0.02)
    assert (made["spend"] == 0).mean() == pytest.approx((real["spend"] == 0).mean(), abs=0.03)
    days = made["signup"]
    assert days.min() >= pd.Timestamp("2021-03-01") and days.max() <= pd.Timestamp("2023-08-31")


def test_the_correlation_comes_back(spec, made, real):
    block = spec["tables"]["customers"]["correlations"][0]
    assert {"age", "income"} <= set(block["columns"])
    matrix = np.array(block["matrix"])
    assert np.allclose(matrix, matrix.T) and np.linalg.eigvalsh(matrix).min() >= 0
    assert _spearman(made, "age", "income") == pytest.approx(
        _spearman(real, "age", "income"), abs=0.05
    )


def test_rules_hold_in_the_made_data(made):
    assert (made["income"].dropna() > 0).all()
    both = made.dropna(subset=["income"])
    assert np.allclose(both["monthly"], (both["income"] / 12).round(2))
    assert made["customer_id"].is_unique and made["customer_id"].str.fullmatch(r"C\d{5}").all()


def test_no_real_record_or_rare_value_in_the_yaml(spec, made, real):
    text = spec_to_yaml(spec)
    for rare in RARE:
        assert rare not in text and rare not in set(made["segment"].dropna())
    assert not any(email in text for email in real["email"])
    assert "realperson" not in text and "example.org" not in text
    assert not any(key in text for key in real["customer_id"])
    # no edge is a real value: grid points, with the tails where fewer than 10 rows lie cut off
    cols = spec["tables"]["customers"]["columns"]
    assert not set(cols["score"]["edges"]) & set(real["score"])
    assert not set(cols["income"]["edges"]) & set(real["income"].dropna())
    for col in ("age", "income", "score"):
        ends = real[col].dropna().sort_values()
        extremes = {*ends.iloc[:10], *ends.iloc[-10:]}
        assert not extremes & set(cols[col]["edges"]), col
        assert cols[col]["edges"][-1] < ends.iloc[-1], col  # the largest values are rare
        if col != "age":  # (18, the clip, is common: its bin starts at 17.5)
            assert cols[col]["edges"][0] > ends.iloc[0], col
        assert not any(
            re.search(rf"(?<![\d.]){re.escape(repr(float(v)))}(?!\d)", text)
            for v in (ends.iloc[0], ends.iloc[-1])
        ), col


def test_the_yaml_reads_back_with_a_header(spec):
    text = spec_to_yaml(spec, header="From a test.")
    assert text.startswith("# From a test.\n# Written by simulacra ")
    assert yaml.safe_load(text) == spec
    columns = list(yaml.safe_load(text)["tables"]["customers"]["columns"])
    assert columns == list(spec["tables"]["customers"]["columns"])


def test_same_model_and_seed_same_spec(copula):
    first, again = (spec_from_model(copula, sample_rows=3000) for _ in range(2))
    assert again == first
    assert spec_from_model(copula, sample_rows=3000, seed=1) != first


def test_min_count_decides_what_is_rare(copula):
    low = spec_from_model(copula, table="t", min_count=1, sample_rows=5000)
    levels = low["tables"]["t"]["columns"]["segment"]["values"]
    assert "sevenfold" in levels  # seen 7 times: kept when one sighting is enough
    high = spec_from_model(copula, table="t", min_count=300, sample_rows=5000)
    # premium (about 200 rows) is pooled too, and (other), about 210 rows, is dropped in turn
    assert set(high["tables"]["t"]["columns"]["segment"]["values"]) == {"basic", "plus"}
    assert len(high["tables"]["t"]["columns"]["age"]["weights"]) <= 2000 // 300


def test_another_family(real, meta):
    model = simulacra.create("cart", seed=0).fit(real, metadata=meta)
    spec = spec_from_model(model, table="customers")
    made = simulacra.generate(spec, rows={"customers": ROWS}, seed=3)["customers"]
    assert "cart model" in spec["description"]
    assert not any(rare in spec_to_yaml(spec) for rare in RARE)
    assert made["age"].mean() == pytest.approx(real["age"].mean(), rel=0.03)
    shares = made["segment"].value_counts(normalize=True)
    assert shares["basic"] == pytest.approx((real["segment"] == "basic").mean(), abs=0.03)
    assert _spearman(made, "age", "income") == pytest.approx(
        _spearman(real, "age", "income"), abs=0.08
    )


def test_a_date_of_birth_becomes_decades():
    rng = np.random.default_rng(1)
    births = pd.Timestamp("1951-06-01") + pd.to_timedelta(rng.integers(0, 16_000, 600), "D")
    df = pd.DataFrame({"date_of_birth": births.strftime("%Y-%m-%d"), "x": rng.normal(size=600)})
    model = simulacra.create("copula", seed=0).fit(df)
    assert model.metadata_.columns["date_of_birth"].pii == "date_of_birth"
    dates = spec_from_model(model, sample_rows=2000)["tables"]["table"]["columns"]["date_of_birth"]
    assert dates == {"dates": {"start": "1950-01-01", "end": "1999-12-31"}}


# ------------------------------------------------------------------- errors
def test_python_errors(real):
    with pytest.raises(NotFittedError):
        spec_from_model(simulacra.create("copula"))
    with pytest.raises(InvalidParameterError, match="min_count must be a whole number >= 1"):
        spec_from_model(simulacra.create("copula"), min_count=0)
    with pytest.raises(InvalidParameterError, match="not DataFrame"):
        spec_from_model(real)


def _multi_model(path: Path) -> None:
    parents = pd.DataFrame({"id": range(1, 41), "size": np.arange(40) % 5})
    children = pd.DataFrame({"child_id": range(1, 121), "parent_id": np.arange(120) % 40 + 1})
    tables = {"parents": parents, "children": children}
    simulacra.create_multi(seed=0, family="independent").fit(tables).save(path)


def test_bad_model_files_are_named(tmp_path):
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ModelFileError, match=r"table\.csv: not a readable simulacra model file"):
        spec_from_model(tmp_path / "table.csv")
    _multi_model(tmp_path / "db.simz")
    with pytest.raises(ModelFileError, match=r"db\.simz: is a multi-table model"):
        spec_from_model(tmp_path / "db.simz")
    with pytest.raises(ModelFileError, match=r"missing\.simz: model file not found"):
        spec_from_model(tmp_path / "missing.simz")


# --------------------------------------------------------------------- CLI
COMMANDS = {  # independent commands, run at once (each start of the CLI takes a few seconds)
    "write": ["spec", "from-model", "customers.simz", "-o", "customers.yaml", "-n", "5000"],
    "stdout": ["spec", "from-model", "customers.simz", "-n", "1000", "-q"],
    "schema": ["spec", "schema"],
    "csv": ["spec", "from-model", "table.csv", "-o", "out.yaml"],
    "multi": ["spec", "from-model", "db.simz", "-o", "out.yaml"],
}


@pytest.fixture(scope="module")
def cli(tmp_path_factory, copula) -> tuple[Path, dict[str, subprocess.CompletedProcess[str]]]:
    folder = tmp_path_factory.mktemp("cli")
    copula.save(folder / "customers.simz")
    (folder / "table.csv").write_text("a,b\n1,2\n")
    _multi_model(folder / "db.simz")
    with ThreadPoolExecutor(len(COMMANDS)) as pool:
        running = {k: pool.submit(run, *args, cwd=folder) for k, args in COMMANDS.items()}
        done = {k: job.result() for k, job in running.items()}
    return folder, done


def test_cli_writes_a_spec_that_generates(cli):
    folder, done = cli
    wrote = done["write"]
    assert wrote.returncode == 0, wrote.stderr
    assert "wrote the spec of table 'customers' to customers.yaml" in wrote.stderr
    text = (folder / "customers.yaml").read_text()
    assert text.startswith("# From customers.simz by `simulacra spec from-model`")
    assert "simulacra generate customers.yaml -o out/ --rows customers=1e6" in text
    assert "description: Exported from a copula model" in text.replace("'", "")
    made = run("generate", "customers.yaml", "-o", "out", "--format", "csv", "-q", cwd=folder)
    assert made.returncode == 0, made.stderr
    out = pd.read_csv(folder / "out" / "customers.csv")
    assert len(out) == 2000 and "zanzibar" not in set(out["segment"].dropna())
    piped = done["stdout"]
    assert piped.returncode == 0 and piped.stderr == ""
    columns = yaml.safe_load(piped.stdout)["tables"]["customers"]["columns"]
    assert columns["email"] == {"fake": "email"}


def test_cli_prints_the_schema(cli):
    _, done = cli
    shown = done["schema"]
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == simulacra.spec.SCHEMA


def test_cli_bad_input_names_the_file(cli):
    folder, done = cli
    for key, name, needle in (
        ("csv", "table.csv", "not a readable"),
        ("multi", "db.simz", "multi-table model"),
    ):
        result = done[key]
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert f"error: {name}: " in result.stderr and needle in result.stderr
    assert not (folder / "out.yaml").exists()
