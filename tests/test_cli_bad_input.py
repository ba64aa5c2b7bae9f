"""The real ``simulacra`` entry point on bad input: exit 1, one readable message, no output.

Every command runs as a subprocess (``python -m simulacra.cli``). They are independent, so
a module fixture starts them all at once and the tests read the results.
"""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulacra

TIMEOUT = 120


@dataclass
class Case:
    """One command run in its own folder, after ``setup`` has written its files there."""

    args: list[str]
    setup: Callable[[Path], None] = lambda folder: None
    needles: tuple[str, ...] = ()  # what the message must say
    never_written: tuple[str, ...] = ()  # outputs that must not appear
    exit_code: int = 1
    folder: Path = field(default=Path())
    result: subprocess.CompletedProcess[str] | None = None


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(n)],
            "email": [f"user{i}@example.com" for i in range(n)],
            "age": rng.integers(18, 80, n),
            "income": np.round(rng.normal(50_000, 10_000, n), 2),
            "region": rng.choice(["North", "South", "East", "West"], n),
            "joined": (
                pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), "D")
            ).strftime("%Y-%m-%d"),
        }
    )


def _write_data(folder: Path) -> None:
    _data().to_csv(folder / "data.csv", index=False)


def _text(name: str, text: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_text(text, encoding="utf-8")


@functools.cache
def _model_bytes() -> bytes:
    path = Path(tempfile.mkdtemp()) / "model.simz"
    simulacra.create("independent", seed=0).fit(_data()).save(path)
    blob = path.read_bytes()
    shutil.rmtree(path.parent)
    return blob


def _with_model(folder: Path) -> None:
    (folder / "model.simz").write_bytes(_model_bytes())


def _truncated_model(folder: Path) -> None:
    _with_model(folder)
    blob = (folder / "model.simz").read_bytes()
    (folder / "cut.simz").write_bytes(blob[: len(blob) // 2])


def _metadata_with_ghost(folder: Path) -> None:
    _write_data(folder)
    spec = simulacra.Metadata.detect(_data()).to_dict()
    spec["columns"]["ghost"] = {"type": "numerical"}
    (folder / "meta.json").write_text(json.dumps(spec), encoding="utf-8")


def _latin1(folder: Path) -> None:
    (folder / "latin.csv").write_bytes("name,n\nJos\u00e9,1\nRen\u00e9e,2\n".encode("latin-1"))


MIXED = "amount,n\n" + "".join(f"{i * 1.5},{i}\n" for i in range(30)) + "twelve,30\n"
RAGGED = "a,b\n1,2\n3,4\n5,6,7\n"
NULLS = "age,notes\n" + "".join(f"{20 + i},\n" for i in range(10))

# File problems go through `metadata detect`, which reads the data as `fit` does but loads
# no synthesizer (scipy), so that each of these commands starts fast.
CASES: dict[str, Case] = {
    "empty-file": Case(
        ["metadata", "detect", "empty.csv", "-o", "meta.json"],
        _text("empty.csv", ""),
        ("empty.csv", "empty"),
        ("meta.json",),
    ),
    "header-only": Case(
        ["metadata", "detect", "header.csv", "-o", "meta.json"],
        _text("header.csv", "age,income\n"),
        ("header.csv", "no data rows"),
        ("meta.json",),
    ),
    "csv-in-parquet": Case(
        ["metadata", "detect", "data.parquet", "-o", "meta.json"],
        _text("data.parquet", "age,income\n31,52000\n45,61000\n"),
        ("data.parquet", "Parquet", "suffix"),
        ("meta.json",),
    ),
    "ragged-row": Case(
        ["metadata", "detect", "ragged.csv", "-o", "meta.json"],
        _text("ragged.csv", RAGGED),
        ("ragged.csv", "line 4"),
        ("meta.json",),
    ),
    "not-utf8": Case(
        ["metadata", "detect", "latin.csv", "-o", "meta.json"],
        _latin1,
        ("latin.csv", "UTF-8"),
        ("meta.json",),
    ),
    "missing-file": Case(
        ["metadata", "detect", "nowhere.csv", "-o", "meta.json"],
        needles=("nowhere.csv", "not found"),
        never_written=("meta.json",),
    ),
    "empty-column": Case(
        ["metadata", "detect", "nulls.csv", "-o", "meta.json"],
        _text("nulls.csv", NULLS),
        ("'notes'", "entirely empty"),
        ("meta.json",),
    ),
    "mixed-column": Case(
        ["fit", "mixed.csv", "-o", "model.simz"],
        _text("mixed.csv", MIXED),
        ("'amount'", "'twelve'", "mixes numbers and text"),
        ("model.simz",),
    ),
    "unknown-family": Case(
        ["fit", "data.csv", "-f", "copla", "-o", "model.simz"],
        _write_data,
        ("'copla'", "did you mean 'copula'"),
        ("model.simz",),
    ),
    "bad-parameter": Case(
        ["fit", "data.csv", "-p", "marginals=foo", "-o", "model.simz"],
        _write_data,
        ("'marginals'", "'foo'", "'empirical'", "'parametric'"),
        ("model.simz",),
    ),
    "metadata-ghost-column": Case(
        ["fit", "data.csv", "--metadata", "meta.json", "-o", "model.simz"],
        _metadata_with_ghost,
        ("'ghost'", "no such column"),
        ("model.simz",),
    ),
    "rows-zero": Case(
        ["sample", "model.simz", "-n", "0", "-o", "out.csv"],
        _with_model,
        ("at least 1", "got 0"),
        ("out.csv",),
    ),
    "rows-negative": Case(
        ["sample", "model.simz", "-n", "-5", "-o", "out.csv"],
        _with_model,
        ("at least 1", "got -5"),
        ("out.csv",),
    ),
    "output-in-missing-folder": Case(
        ["sample", "model.simz", "-n", "5", "-o", "missing/out.csv"],
        _with_model,
        ("missing", "does not exist"),
        ("missing",),
    ),
    "truncated-model": Case(
        ["sample", "cut.simz", "-n", "5", "-o", "out.csv"],
        _truncated_model,
        ("cut.simz", "truncated"),
        ("out.csv",),
    ),
    # usage errors: exit 2, no traceback
    "usage-missing-argument": Case(["fit"], needles=("Missing argument",), exit_code=2),
    "usage-rows-not-a-number": Case(
        ["sample", "model.simz", "-n", "many", "-o", "out.csv"],
        _with_model,
        ("--rows",),
        ("out.csv",),
        exit_code=2,
    ),
}


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"}
    return subprocess.run(
        [sys.executable, "-m", "simulacra.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
    )


def _happy_path(folder: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    _write_data(folder)
    steps = {
        "detect": ["metadata", "detect", "data.csv", "-o", "meta.json", "--quiet"],
        "fit": ["fit", "data.csv", "--metadata", "meta.json", "-o", "m.simz", "--quiet"],
        "sample": ["sample", "m.simz", "-n", "500", "-o", "out.parquet", "--quiet", "--seed", "1"],
        "stdout": ["sample", "m.simz", "-n", "25", "--seed", "1"],
    }
    return {name: _cli(args, folder) for name, args in steps.items()}


@dataclass
class Runs:
    """Every finished command: the bad-input cases and the happy path's steps."""

    cases: dict[str, Case]
    happy_folder: Path
    happy: dict[str, subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("cli")
    cases = {name: replace(case, folder=root / name) for name, case in CASES.items()}
    for case in cases.values():
        case.folder.mkdir()
        case.setup(case.folder)
    happy = root / "happy"
    happy.mkdir()
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        happy_future = pool.submit(_happy_path, happy)
        futures = {name: pool.submit(_cli, c.args, c.folder) for name, c in cases.items()}
        for name, future in futures.items():
            cases[name].result = future.result()
        return Runs(cases, happy, happy_future.result())


# ------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.exit_code == 1])
def test_bad_input_gives_one_readable_error(runs: Runs, name: str) -> None:
    case = runs.cases[name]
    result = case.result
    assert result is not None
    report = f"exit {result.returncode}\nstderr:\n{result.stderr}"
    assert result.returncode == 1, report
    assert "Traceback" not in result.stderr, report
    assert "Warning" not in result.stderr, report
    assert result.stderr.startswith("error: "), report
    assert result.stderr.count("error:") == 1, report
    for needle in case.needles:
        assert needle in result.stderr, f"{needle!r} missing\n{report}"
    assert result.stdout == ""
    for output in case.never_written:
        assert not (case.folder / output).exists(), f"{output} was written\n{report}"
    leftovers = [p.name for p in case.folder.iterdir() if p.name.startswith(".")]
    assert leftovers == [], f"temporary files left behind: {leftovers}"


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.exit_code == 2])
def test_usage_errors_exit_2(runs: Runs, name: str) -> None:
    case = runs.cases[name]
    result = case.result
    assert result is not None
    report = f"exit {result.returncode}\nstderr:\n{result.stderr}"
    assert result.returncode == 2, report
    assert "Traceback" not in result.stderr, report
    assert "Usage:" in result.stderr, report
    for needle in case.needles:
        assert needle in result.stderr, f"{needle!r} missing\n{report}"
    for output in case.never_written:
        assert not (case.folder / output).exists()


def test_input_files_are_left_as_they_were(runs: Runs) -> None:
    assert (runs.cases["ragged-row"].folder / "ragged.csv").read_text() == RAGGED
    assert (runs.cases["mixed-column"].folder / "mixed.csv").read_text() == MIXED


# ------------------------------------------------------------------------ happy path
def test_quiet_happy_path_prints_nothing(runs: Runs) -> None:
    for step in ("detect", "fit", "sample"):
        result = runs.happy[step]
        assert (result.returncode, result.stderr, result.stdout) == (0, "", ""), step
    folder = runs.happy_folder
    meta = simulacra.Metadata.from_json(folder / "meta.json")
    assert meta.columns["customer_id"].type == "id"
    out = pd.read_parquet(folder / "out.parquet")
    assert out.shape == (500, 6)
    assert list(out.columns) == list(_data().columns)
    assert out["customer_id"].is_unique
    assert out["age"].between(18, 79).all()
    assert set(out["region"]) <= {"North", "South", "East", "West"}
    assert not set(out["email"]) & set(_data()["email"])  # no real email copied


def test_sample_to_stdout_is_csv(runs: Runs) -> None:
    result = runs.happy["stdout"]
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = pd.read_csv(io.StringIO(result.stdout))
    assert out.shape == (25, 6)
    assert list(out.columns) == list(_data().columns)
    assert result.stdout.startswith("customer_id,email,age,income,region,joined\n")
    # same seed: the same rows as the first 25 of the parquet run
    parquet = pd.read_parquet(runs.happy_folder / "out.parquet")
    assert out["age"].tolist() == parquet["age"].head(25).tolist()
