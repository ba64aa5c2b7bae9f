"""Evaluation benchmark: a full report on 50,000 x 20 mixed rows, next to SDMetrics.

Run by hand (never in the test suite) in an environment with the test extra,
which holds SDMetrics (it pins pandas < 3):

    python -m venv /tmp/eval-venv && /tmp/eval-venv/bin/pip install -e ".[test]"
    /tmp/eval-venv/bin/python benchmarks/bench_evaluate.py      # add --rows 5000 for a smoke run

Both tools read the same training table and copula sample in one process.
simulacra runs every section (fidelity, detection, utility, privacy with a
holdout, fairness, validity) and writes the HTML page; SDMetrics runs its
QualityReport (column shapes and pair trends only). Results go to
benchmarks/results/evaluate.json and a Markdown summary to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from bench_foundation import mixed_table

import simulacra
from simulacra.evaluate.fidelity import fidelity_metrics, prepare

HERE = Path(__file__).resolve().parent


def wide_table(rows: int, seed: int) -> pd.DataFrame:
    """Twenty mixed columns: two ten-column tables side by side."""
    left = mixed_table(rows, seed)
    right = mixed_table(rows, seed + 1).add_suffix("_2")
    return pd.concat([left, right], axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    train, holdout = wide_table(args.rows, 0), wide_table(args.rows, 100)
    meta = simulacra.Metadata.detect(train)
    synth = simulacra.create("copula", seed=0).fit(train, metadata=meta).sample(args.rows)
    sections = {}
    start = time.perf_counter()
    report = simulacra.evaluate(
        train, synth, holdout=holdout, metadata=meta, target="plan", sensitive=["region"]
    )
    sections["simulacra full report"] = time.perf_counter() - start
    start = time.perf_counter()
    report.to_html("/tmp/bench-report.html")
    sections["simulacra HTML page"] = time.perf_counter() - start
    start = time.perf_counter()
    simulacra.evaluate(train, synth, metadata=meta)
    sections["simulacra fidelity + detection + privacy + validity, no holdout"] = (
        time.perf_counter() - start
    )
    start = time.perf_counter()
    fidelity_metrics(prepare(train, synth, meta), np.random.default_rng(0))
    sections["simulacra fidelity section only (shapes, pairs, triples)"] = (
        time.perf_counter() - start
    )
    sections["SDMetrics QualityReport (shapes, pairs)"] = _sdmetrics(train, synth, meta)
    results = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}",
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "default"),
        "rows": args.rows,
        "columns": train.shape[1],
        "seconds": {k: round(v, 2) for k, v in sections.items()},
        "scores": {k: round(v, 4) for k, v in report.scores.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    out = HERE / "results" / "evaluate.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{args.rows:,} x {train.shape[1]} rows, {results['date']}, {results['machine']}\n")
    print("| run | seconds |\n|---|---|")
    for name, seconds in results["seconds"].items():
        print(f"| {name} | {seconds:.1f} |")
    print(f"\nscores: {results['scores']}; peak RSS {results['peak_rss_mb']} MB")


def _sdmetrics(train: pd.DataFrame, synth: pd.DataFrame, meta: simulacra.Metadata) -> float:
    from sdmetrics.reports import QualityReport

    kinds = {"numerical": "numerical", "categorical": "categorical", "boolean": "boolean"}
    columns = {}
    for name, col in meta.columns.items():
        if col.type == "datetime":
            columns[name] = {"sdtype": "datetime", "datetime_format": col.format}
        else:
            columns[name] = {"sdtype": kinds.get(col.type, "categorical")}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        QualityReport().generate(
            {"t": train}, {"t": synth}, {"tables": {"t": {"columns": columns}}}, verbose=False
        )
    return time.perf_counter() - start


def _cores() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
