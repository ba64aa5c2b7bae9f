"""The command line, through the real console entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulacra
from conftest import RARE_COUNTRY_CITIES, people_with_a_rare_country

EXE = shutil.which("simulacra") or str(Path(sys.executable).parent / "simulacra")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One run of ``simulacra demo`` for the module (about 12 s): its result and folder."""
    where = tmp_path_factory.mktemp("demo")
    return run("demo", cwd=where), where / "simulacra-demo"


def _with_demo(demo, tmp_path: Path) -> None:
    """A copy of the demo's files in ``tmp_path``, where a test may change them."""
    result, folder = demo
    assert result.returncode == 0, result.stderr
    shutil.copytree(folder, tmp_path / "simulacra-demo")


def test_demo_writes_its_files(demo):
    result, folder = demo
    assert result.returncode == 0, result.stderr
    assert {p.name for p in folder.iterdir()} == {
        "customers.csv",
        "customers.meta.json",
        "customers.simz",
        "synthetic.csv",
        "report.json",
        "report.html",
        "holdout.csv",
    }
    synth = pd.read_csv(folder / "synthetic.csv")
    real = pd.read_csv(folder / "customers.csv")
    assert list(synth.columns) == list(real.columns) and len(synth) == 2000
    assert len(real) == 1600 and len(pd.read_csv(folder / "holdout.csv")) == 400
    assert not set(synth["email"]) & set(real["email"])
    assert "real vs synthetic" in result.stderr and "fidelity: 0.9" in result.stderr
    scores = json.loads((folder / "report.json").read_text())["scores"]
    assert scores["fidelity"] > 0.9 and scores["privacy"] > 0.8 and scores["detection"] > 0.5
    assert scores["utility"] > 0.7 and scores["fairness"] > 0.8 and scores["validity"] == 1.0
    page = (folder / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and 'id="summary"' in page


def test_evaluate_gates_on_a_bar(tmp_path, demo):
    _with_demo(demo, tmp_path)
    args = ["evaluate", "--real", "simulacra-demo/customers.csv"]
    args += ["--synthetic", "simulacra-demo/synthetic.csv", "--json", "r.json"]
    passed = run(*args, "--fail-under", "fidelity=0.9", cwd=tmp_path)
    assert passed.returncode == 0, passed.stderr
    assert "fidelity" in passed.stdout and "good" in passed.stdout
    score = json.loads((tmp_path / "r.json").read_text())["scores"]["fidelity"]
    failed = run(*args, "--fail-under", "fidelity=0.999", cwd=tmp_path)
    assert failed.returncode == 1 and f"fidelity {score:.3f} < 0.999" in failed.stderr
    attacked = run(
        *args,
        "--holdout",
        "simulacra-demo/holdout.csv",
        "--fail-under",
        "privacy=0.8",
        cwd=tmp_path,
    )
    assert attacked.returncode == 0, attacked.stderr
    names = {m["name"] for m in json.loads((tmp_path / "r.json").read_text())["metrics"]}
    assert "membership_inference_auc" in names
    useful = run(
        *args,
        "--holdout",
        "simulacra-demo/holdout.csv",
        "--target",
        "segment",
        "--fail-under",
        "utility=0.5",
        cwd=tmp_path,
    )
    assert useful.returncode == 0, useful.stderr
    assert "utility" in useful.stdout
    unknown = run(*args, "--fail-under", "vibes=0.5", cwd=tmp_path)
    assert unknown.returncode == 1 and "unknown section" in unknown.stderr
    for bars in (["fidelity=0.999", "privacy=0.1"], ["privacy=0.1", "fidelity=0.999"]):
        both = run(*args, *[x for b in bars for x in ("--fail-under", b)], cwd=tmp_path)
        assert both.returncode == 1 and f"fidelity {score:.3f} < 0.999" in both.stderr
    too_high = run(*args, "--fail-under", "fidelity=1.5", cwd=tmp_path)
    assert too_high.returncode == 1 and "scores run from 0 to 1" in too_high.stderr


def test_evaluate_fairness_html_and_mismatch(tmp_path, demo):
    _with_demo(demo, tmp_path)
    synth = pd.read_csv(tmp_path / "simulacra-demo" / "synthetic.csv")
    synth.drop(columns=["orders"]).to_csv(tmp_path / "fewer.csv", index=False)
    args = ["evaluate", "--real", "simulacra-demo/customers.csv", "--synthetic"]
    fair = run(
        *args,
        "simulacra-demo/synthetic.csv",
        "--holdout",
        "simulacra-demo/holdout.csv",
        "--target",
        "segment",
        "--sensitive",
        "region,is_active",
        "--html",
        "r.html",
        "--json",
        "r.json",
        "--fail-under",
        "fairness=0.5,validity=1",
        cwd=tmp_path,
    )
    assert fair.returncode == 0, fair.stderr
    assert "fairness" in fair.stdout and "validity" in fair.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["context"]["sensitive"] == ["region", "is_active"]
    assert {"region", "is_active"} <= {
        m["columns"][0] for m in data["metrics"] if m["name"] == "attribute_inference_risk"
    }
    assert 'data-chart="representation"' in (tmp_path / "r.html").read_text()
    mismatch = run(*args, "fewer.csv", cwd=tmp_path)
    assert mismatch.returncode == 1
    assert "'orders' is in the real table but not in the synthetic one" in mismatch.stderr
    assert "--allow-mismatch" in mismatch.stderr and "Traceback" not in mismatch.stderr
    allowed = run(*args, "fewer.csv", "--allow-mismatch", cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stderr
    assert "only common columns" in allowed.stderr
    many = run(*args, "simulacra-demo/synthetic.csv", "--sensitive", "income", cwd=tmp_path)
    assert many.returncode == 1 and "levels" in many.stderr and "bin it" in many.stderr
    (tmp_path / "ledger.json").write_text('[{"what": "age histogram", "epsilon": 0.5}]')
    spent = run(*args, "simulacra-demo/synthetic.csv", "--ledger", "ledger.json", cwd=tmp_path)
    assert spent.returncode == 0 and "epsilon 0.5" in spent.stderr
    (tmp_path / "bad.json").write_text("{not json")
    bad = run(*args, "simulacra-demo/synthetic.csv", "--ledger", "bad.json", cwd=tmp_path)
    assert bad.returncode == 1 and "bad.json: cannot read the ledger" in bad.stderr


def test_detect_fit_sample_list(tmp_path):
    data = simulacra.datasets.customers_path()
    assert run("metadata", "detect", data, "-o", "m.json", cwd=tmp_path).returncode == 0
    meta = simulacra.Metadata.from_json(tmp_path / "m.json")
    assert meta.columns["email"].pii == "email"
    fit = run(
        "fit",
        data,
        "-f",
        "independent",
        "--metadata",
        "m.json",
        "-o",
        "m.simz",
        "--seed",
        "3",
        "-q",
        cwd=tmp_path,
    )
    assert fit.returncode == 0 and fit.stderr == ""
    out = run(
        "sample",
        "m.simz",
        "-n",
        "700",
        "-o",
        "s.parquet",
        "--batch-size",
        "200",
        "-q",
        cwd=tmp_path,
    )
    assert out.returncode == 0 and out.stderr == ""
    assert len(pd.read_parquet(tmp_path / "s.parquet")) == 700
    listing = run("list", cwd=tmp_path)
    lines = listing.stdout.strip().splitlines()
    assert len(lines) == len(simulacra.families())
    assert all(line.split()[0] in simulacra.families() for line in lines)


def test_sample_to_stdout_is_csv_and_repeatable(tmp_path):
    data = simulacra.datasets.customers_path()
    run("fit", data, "-o", "m.simz", "-q", cwd=tmp_path)
    first = run("sample", "m.simz", "-n", "5", "--seed", "1", cwd=tmp_path)
    again = run("sample", "m.simz", "-n", "5", "--seed", "1", cwd=tmp_path)
    assert first.returncode == 0 and first.stdout == again.stdout
    assert first.stdout.splitlines()[0].startswith("customer_id,name,email")
    assert len(first.stdout.splitlines()) == 6


def test_sample_where_conditions_and_rebalance(tmp_path):
    data = simulacra.datasets.customers_path()
    run("fit", data, "-f", "copula", "-o", "m.simz", "-q", cwd=tmp_path)
    args = ["sample", "m.simz", "-n", "400", "--seed", "1", "-o", "w.csv"]
    where = run(*args, "--where", "region == 'North'", "--where", "30 <= age <= 40", cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    out = pd.read_csv(tmp_path / "w.csv")
    assert len(out) == 400 and (out["region"] == "North").all() and out["age"].between(30, 40).all()
    args[-1] = "r.csv"
    balanced = run(*args, "--rebalance", "segment=premium:0.5", "-q", cwd=tmp_path)
    assert balanced.returncode == 0, balanced.stderr
    assert (pd.read_csv(tmp_path / "r.csv")["segment"] == "premium").mean() == 0.5
    pd.DataFrame({"region": ["South", "West", "South"]}).to_csv(tmp_path / "c.csv", index=False)
    per_row = run("sample", "m.simz", "--conditions", "c.csv", "-q", cwd=tmp_path)
    assert per_row.returncode == 0, per_row.stderr
    lines = per_row.stdout.strip().splitlines()
    assert len(lines) == 4 and all(",South," in lines[i] for i in (1, 3))
    pd.DataFrame({"age": [30, "thirty"]}).to_csv(tmp_path / "b.csv", index=False)
    bad = run("sample", "m.simz", "--conditions", "b.csv", cwd=tmp_path)
    assert bad.returncode == 1 and "'age' holds 'thirty' in row 1 (counting from 0)" in bad.stderr
    assert "Traceback" not in bad.stderr
    bad = run(*args, "--where", "region == 'Mars'", cwd=tmp_path)
    assert bad.returncode == 1 and "never took the value(s) ['Mars']" in bad.stderr
    bad = run(*args, "--where", "age > 30", cwd=tmp_path)
    assert bad.returncode == 1 and "use ==, in, <= or >=" in bad.stderr
    args[-1] = "n.csv"  # repeated on one column, conditions narrow; they never widen
    narrowed = run(*args, "--where", "30 <= age <= 40", "--where", "age <= 60", "-q", cwd=tmp_path)
    assert narrowed.returncode == 0, narrowed.stderr
    assert pd.read_csv(tmp_path / "n.csv")["age"].between(30, 40).all()
    bad = run(*args, "--where", "age == 30", "--where", "age >= 50", cwd=tmp_path)
    assert bad.returncode == 1 and "conditions on 'age' contradict" in bad.stderr


def test_a_training_file_that_breaks_a_rule_names_its_rows(tmp_path):
    rng = np.random.default_rng(0)
    start = rng.integers(0, 100, 40)
    df = pd.DataFrame({"start": start, "end": start + rng.integers(0, 9, 40)})
    df.loc[[3, 7], "end"] = -1
    df.to_csv(tmp_path / "orders.csv", index=False)
    meta = simulacra.Metadata.detect(df)
    meta.constraints = [{"type": "inequality", "low": "start", "high": "end"}]
    meta.to_json(tmp_path / "meta.json")
    done = run("fit", "orders.csv", "--metadata", "meta.json", "-o", "m.simz", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "(rows 3, 7, counting the first data row as 0)" in done.stderr
    assert not (tmp_path / "m.simz").exists()


def test_sample_takes_1e3_rows_and_fit_refuses_a_table_name_for_its_model(tmp_path):
    pd.DataFrame({"age": np.arange(100) % 37}).to_csv(tmp_path / "ages.csv", index=False)
    wrong = run("fit", "ages.csv", "-o", "out.csv", cwd=tmp_path)
    assert wrong.returncode == 1 and "use -o out.simz, then `simulacra sample out.simz" in (
        wrong.stderr
    )
    assert not (tmp_path / "out.csv").exists()
    assert run("fit", "ages.csv", "-o", "m.simz", "-q", cwd=tmp_path).returncode == 0
    done = run("sample", "m.simz", "-n", "1e3", "-o", "s.csv", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(tmp_path / "s.csv")) == 1000
    bad = run("sample", "m.simz", "-n", "2.5", cwd=tmp_path)
    assert bad.returncode == 2 and "'2.5' is not a whole number of rows" in bad.stderr


def test_a_declared_bound_the_data_passes_is_a_one_line_warning(tmp_path):
    pd.DataFrame({"age": np.arange(100)}).to_csv(tmp_path / "ages.csv", index=False)
    meta = simulacra.Metadata.detect(pd.read_csv(tmp_path / "ages.csv"))
    meta.columns["age"].max = 65
    meta.to_json(tmp_path / "ages.json")
    done = run("fit", "ages.csv", "--metadata", "ages.json", "-o", "m.simz", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "warning: column 'age': training values lie 34 (34.0%) above the declared max 65" in (
        done.stderr
    )
    assert "UserWarning" not in done.stderr and "model.fit(" not in done.stderr
    quiet = run("fit", "ages.csv", "--metadata", "ages.json", "-o", "m.simz", "-q", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_a_detected_city_country_group_keeps_where_and_rebalance_exact(tmp_path):
    people_with_a_rare_country(4_000, 0.005).to_csv(tmp_path / "people.csv", index=False)
    detected = run("metadata", "detect", "people.csv", cwd=tmp_path)
    assert detected.returncode == 0, detected.stderr
    group = {"type": "fixed_combinations", "columns": ["city", "country"]}
    assert json.loads(detected.stdout)["constraints"] == [group]
    run("fit", "people.csv", "-f", "copula", "-o", "m.simz", "-q", cwd=tmp_path)
    args = ["sample", "m.simz", "-n", "300", "--seed", "1", "-q"]
    malta = run(*args, "--where", "country == 'Malta'", "-o", "w.csv", cwd=tmp_path)
    assert malta.returncode == 0, malta.stderr  # 0.5% of rows: met exactly, not rejected
    assert (pd.read_csv(tmp_path / "w.csv")["city"] == "Valletta").all()
    balanced = run(*args, "--rebalance", "country=Malta:0.5", "-o", "r.csv", cwd=tmp_path)
    assert balanced.returncode == 0, balanced.stderr
    out = pd.read_csv(tmp_path / "r.csv")
    assert (out["country"] == "Malta").mean() == 0.5
    assert (out["city"].map(RARE_COUNTRY_CITIES) == out["country"]).all()


def test_where_takes_backticked_names_and_typed_booleans(tmp_path):
    rng = np.random.default_rng(0)
    n = 600
    table = pd.DataFrame(
        {
            "home region": rng.choice(["N", "S"], n),
            "unit-price": rng.uniform(10, 90, n).round(2),
            "class": rng.choice(["a", "b"], n),
            "active": rng.random(n) < 0.5,
        }
    )
    table.to_csv(tmp_path / "odd.csv", index=False)
    run("fit", "odd.csv", "-f", "bayesnet", "-o", "m.simz", "-q", cwd=tmp_path)
    wheres = ["`home region` == N", "`unit-price` >= 50", "`class` == 'a'", "active == true"]
    args = ["sample", "m.simz", "-n", "200", "-o", "w.csv", "-q"]
    done = run(*args, *[x for w in wheres for x in ("--where", w)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = pd.read_csv(tmp_path / "w.csv")
    assert (out["home region"] == "N").all() and (out["unit-price"] >= 50).all()
    assert (out["class"] == "a").all() and out["active"].all()
    bad = run(*args, "--where", "unit-price >= 50", cwd=tmp_path)
    assert bad.returncode == 1 and "goes in backticks" in bad.stderr


def test_fit_takes_family_parameters(tmp_path):
    data = simulacra.datasets.customers_path()
    result = run(
        "fit",
        data,
        "-f",
        "bootstrap",
        "-p",
        "noise=0.1",
        "-p",
        "swap_rate=0.2",
        "-o",
        "b.simz",
        "-q",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    model = simulacra.load(tmp_path / "b.simz")
    assert (model.noise, model.swap_rate) == (0.1, 0.2)


def test_fit_takes_a_list_parameter_as_comma_separated_values(tmp_path):
    # "-p visit_order=segment,age" was refused: "it must be list, or None"
    data = simulacra.datasets.customers_path()
    args = ["fit", data, "-f", "cart", "-p", "visit_order=segment,age", "-o", "c.simz", "-q"]
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    model = simulacra.load(tmp_path / "c.simz")
    assert model.visit_order == ["segment", "age"]
    assert model.order_[:3] == ["segment", "age#null", "age"]


def test_database_round_trip(tmp_path):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    simulacra.write_table(simulacra.datasets.load_customers(), url, table="customers")
    assert (
        run("fit", url, "--table", "customers", "-o", "m.simz", "-q", cwd=tmp_path).returncode == 0
    )
    result = run(
        "sample", "m.simz", "-n", "300", "-o", url, "--table", "synthetic", "-q", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert len(simulacra.read_table(url, table="synthetic")) == 300


def test_db_evaluate_reads_two_databases(tmp_path):
    rng = np.random.default_rng(0)
    customers = pd.DataFrame({"id": range(1, 101), "age": rng.integers(18, 80, 100)})
    orders = pd.DataFrame(
        {"id": range(1, 301), "customer_id": rng.integers(1, 101, 300), "total": rng.random(300)}
    )
    real = f"sqlite:///{tmp_path / 'real.db'}"
    synth = f"sqlite:///{tmp_path / 'synth.db'}"
    simulacra.relational.write_tables({"customers": customers, "orders": orders}, real)
    made = run("db", "synthesize", real, "--to", synth, "--seed", "0", "-q", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    args = ["db", "evaluate", real, synth, "--no-tables", "--json", "r.json"]
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "orders.customer_id -> customers" in result.stdout and "Integrity: pass" in result.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    assert [r["name"] for r in data["relationships"]] == ["orders.customer_id"]  # reflected key
    assert data["tables"] == {} and data["passed"] is True


@pytest.mark.parametrize(
    "command",
    [[], ["fit"], ["sample"], ["metadata"], ["metadata", "detect"], ["db", "evaluate"]],
)
def test_help_everywhere(tmp_path, command):
    result = run(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0 and "Usage" in result.stdout


def test_usage_error_exits_2(tmp_path):
    result = run("fit", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_a_budget_file_pays_for_dp_fits_and_refuses_to_overspend(tmp_path):
    from conftest import family_available

    if not family_available("dp-copula"):
        pytest.skip("needs the dp extra")
    data = tmp_path / "d.csv"
    simulacra.datasets.load_customers().to_csv(data, index=False)
    meta = tmp_path / "d.json"
    assert run("metadata", "detect", str(data), "-o", str(meta), cwd=tmp_path).returncode == 0
    assert (
        run(
            "budget", "new", "b.json", "--epsilon", "1.5", "--delta", "1e-6", cwd=tmp_path
        ).returncode
        == 0
    )
    fit = ("fit", str(data), "-f", "dp-copula", "--metadata", str(meta), "--budget", "b.json")
    done = run(*fit, "-p", "epsilon=1", "-p", "delta=1e-7", "-o", "m.simz", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "spent on the row count" in done.stderr
    ledger = json.loads((tmp_path / "b.json").read_text())
    assert [s["what"] for s in ledger["spends"]] == ["dp-copula fit"]
    again = run(*fit, "-p", "epsilon=1", "-o", "m2.simz", cwd=tmp_path)
    assert again.returncode == 1 and "only 0.5" in again.stderr
    assert not (tmp_path / "m2.simz").exists()
    shown = run("budget", "show", "b.json", cwd=tmp_path)
    assert "left: epsilon 0.5" in shown.stdout
    wrong = run("fit", str(data), "-f", "copula", "--budget", "b.json", cwd=tmp_path)
    assert wrong.returncode == 1 and "not differentially private" in wrong.stderr


def test_version_is_printed(tmp_path: Path) -> None:
    out = run("--version", cwd=tmp_path)
    assert out.returncode == 0
    assert out.stdout.strip() == f"simulacra {simulacra.__version__}"
