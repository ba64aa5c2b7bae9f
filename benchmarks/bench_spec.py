"""Spec-driven generation benchmark: simulacra against Faker and Mimesis, in the same run.

Run by hand (never in the test suite):

    /tmp/bench-venv/bin/pip install -r benchmarks/requirements.txt   # Faker, Mimesis
    python benchmarks/bench_spec.py            # add --quick for a smoke run

All three make the same customer table: full name, email, phone, street
address, city, date of birth and age. Faker and Mimesis run in a child
process in the benchmark environment (Mimesis is never a simulacra
dependency), one Python call per value as their documentation shows;
simulacra runs from a spec in this environment. Also measured: a purely
numeric and categorical table, and the peak memory (RSS) of streaming a
large table to Parquet, in a fresh process per size, to show that memory
stays bounded as the row count grows.

It prints a Markdown report for docs/benchmarks.md and writes the raw
figures to benchmarks/results/spec.json.
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
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS_PYTHON = "/tmp/bench-venv/bin/python"

CUSTOMERS = {
    "tables": {
        "customers": {
            "columns": {
                "name": {"fake": "name"},
                "email": {"fake": "email"},
                "phone": {"fake": "phone_number"},
                "street": {"fake": "street_address"},
                "city": {"fake": "city"},
                "date_of_birth": {"dates": {"start": "1936-01-01", "end": "2008-11-23"}},
                "age": {"distribution": "integers", "low": 18, "high": 90},
            }
        }
    }
}
NUMERIC = {
    "tables": {
        "facts": {
            "columns": {
                "id": {"sequence": {"start": 1}},
                "age": {"distribution": "normal", "mean": 42, "sd": 13, "min": 18, "integer": True},
                "income": {"distribution": "lognormal", "mean": 52000, "sd": 21000},
                "score": {"distribution": "beta", "a": 2, "b": 5},
                "visits": {"distribution": "poisson", "mean": 3},
                "wait": {"distribution": "exponential", "mean": 12.5},
                "region": {"values": {"north": 3, "south": 2, "east": 2, "west": 2, "centre": 1}},
                "plan": {"values": {"basic": 0.6, "plus": 0.3, "pro": 0.1}, "nulls": 0.05},
                "churned": {"values": [True, False], "weights": [0.2, 0.8]},
            },
            "correlations": [
                {"columns": ["age", "income"], "matrix": [[1, 0.4], [0.4, 1]]},
            ],
        }
    }
}


# ------------------------------------------------------------------ the peers
def peer_faker(rows: int) -> float:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(0)
    today = date(2026, 11, 23)
    start = time.perf_counter()
    records = []
    for _ in range(rows):
        born = fake.date_of_birth(minimum_age=18, maximum_age=90)
        records.append(
            {
                "name": fake.name(),
                "email": fake.email(),
                "phone": fake.phone_number(),
                "street": fake.street_address(),
                "city": fake.city(),
                "date_of_birth": born,
                "age": today.year - born.year - ((today.month, today.day) < (born.month, born.day)),
            }
        )
    import pandas as pd

    pd.DataFrame.from_records(records)
    return time.perf_counter() - start


def peer_mimesis(rows: int) -> float:
    from mimesis import Address, Datetime, Person
    from mimesis.locales import Locale

    person, address = Person(Locale.EN, seed=0), Address(Locale.EN, seed=0)
    when = Datetime(Locale.EN, seed=0)
    today = date(2026, 11, 23)
    start = time.perf_counter()
    records = []
    for _ in range(rows):
        born = when.date(start=1936, end=2008)
        records.append(
            {
                "name": person.full_name(),
                "email": person.email(),
                "phone": person.telephone(),
                "street": address.address(),
                "city": address.city(),
                "date_of_birth": born,
                "age": today.year - born.year - ((today.month, today.day) < (born.month, born.day)),
            }
        )
    import pandas as pd

    pd.DataFrame.from_records(records)
    return time.perf_counter() - start


def run_peer(python: str, name: str, rows: int) -> dict[str, float]:
    out = subprocess.run(
        [python, __file__, "--peer", name, "--peer-rows", str(rows)],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = float(out.stdout.strip().splitlines()[-1])
    version = subprocess.run(
        [python, "-c", f"import importlib.metadata as m; print(m.version('{name}'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds, "version": version}


# ------------------------------------------------------------------ simulacra
def timed_generate(spec: dict, table: str, rows: int, repeat: int = 2) -> dict[str, float]:
    import simulacra

    best = float("inf")
    for i in range(repeat):  # the first run also builds the Faker pools: report both
        start = time.perf_counter()
        frame = simulacra.generate(spec, rows={table: rows}, seed=i)[table]
        best = min(best, time.perf_counter() - start)
        assert len(frame) == rows
        if i == 0:
            first = time.perf_counter() - start
    return {"rows": rows, "seconds": best, "first_run_seconds": first, "rows_per_s": rows / best}


def stream_child(spec_name: str, rows: int, folder: str) -> None:
    """In a fresh process: stream ``rows`` rows to Parquet; print seconds and peak RSS (MiB)."""
    import simulacra.spec

    spec = {"customers": CUSTOMERS, "numeric": NUMERIC}[spec_name]
    table = next(iter(spec["tables"]))
    start = time.perf_counter()
    paths = simulacra.spec.write(spec, folder, rows={table: rows}, batch_size=500_000)
    seconds = time.perf_counter() - start
    peak = _peak_rss_mib()
    size = paths[table].stat().st_size / 2**20
    print(json.dumps({"seconds": seconds, "peak_rss_mib": peak, "file_mib": size}))


def _peak_rss_mib() -> float:
    """This process's peak resident memory. /proc's VmHWM starts afresh at exec; ru_maxrss
    can keep the high-water mark of the parent that forked us."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_stream(spec_name: str, rows: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        out = subprocess.run(
            [sys.executable, __file__, "--stream", spec_name, "--stream-rows", str(rows), folder],
            capture_output=True,
            text=True,
            check=True,
        )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    return {"rows": rows, **found, "rows_per_s": rows / found["seconds"]}


# ---------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run with few rows")
    parser.add_argument("--peers-python", default=PEERS_PYTHON)
    parser.add_argument("--stream-rows", type=int, default=50_000_000)
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("--peer-rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stream", help=argparse.SUPPRESS)
    parser.add_argument("folder", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        print({"faker": peer_faker, "mimesis": peer_mimesis}[args.peer](args.peer_rows))
        return
    if args.stream:
        stream_child(args.stream, args.stream_rows, args.folder)
        return

    quick = args.quick
    results: dict[str, object] = {
        "date": "2026-11-23",
        "machine": "2 CPU cores, shared",
        "python": platform.python_version(),
    }
    faker = run_peer(args.peers_python, "faker", 2_000 if quick else 20_000)
    mimesis = run_peer(args.peers_python, "mimesis", 10_000 if quick else 200_000)
    ours = timed_generate(CUSTOMERS, "customers", 100_000 if quick else 2_000_000)
    numeric = timed_generate(NUMERIC, "facts", 200_000 if quick else 5_000_000)
    big = 1_000_000 if quick else args.stream_rows
    streams = {
        "numeric": [run_stream("numeric", big // 10), run_stream("numeric", big)],
        "customers": [run_stream("customers", big // 50), run_stream("customers", big // 5)],
    }
    results |= {
        "customers": {
            "faker": faker,
            "mimesis": mimesis,
            "simulacra": ours,
            "x_faker": ours["rows_per_s"] / faker["rows_per_s"],
            "x_mimesis": ours["rows_per_s"] / mimesis["rows_per_s"],
        },
        "numeric_categorical": numeric,
        "stream_parquet": streams,
    }
    (HERE / "results").mkdir(exist_ok=True)
    target = HERE / "results" / ("spec-quick.json" if quick else "spec.json")
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))


def report(r: dict) -> str:
    c = r["customers"]
    lines = [
        "| generator | rows | seconds | rows/s | simulacra is |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in ("faker", "mimesis", "simulacra"):
        x = c[name]
        ratio = "—" if name == "simulacra" else f"{c['x_' + name]:,.0f}× faster"
        label = f"{name} {x.get('version', '')}".strip()
        lines.append(
            f"| {label} | {x['rows']:,} | {x['seconds']:.2f} | {x['rows_per_s']:,.0f} | {ratio} |"
        )
    n = r["numeric_categorical"]
    lines += [
        "",
        f"Numeric and categorical table (9 columns, two correlated): {n['rows']:,} rows in "
        f"{n['seconds']:.2f} s, **{n['rows_per_s']:,.0f} rows/s** (to a DataFrame).",
        "",
        "| streamed to Parquet | rows | seconds | rows/s | peak RSS (MiB) | file (MiB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, runs in r["stream_parquet"].items():
        for s in runs:
            lines.append(
                f"| {name} | {s['rows']:,} | {s['seconds']:.1f} | {s['rows_per_s']:,.0f} | "
                f"{s['peak_rss_mib']:,.0f} | {s['file_mib']:,.0f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
