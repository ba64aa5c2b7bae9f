"""Multi-table benchmark: a shop database at 1,000,000 rows, next to SDV's HMASynthesizer.

Run by hand in the benchmark environment, which has simulacra (editable) and
SDV side by side (never in the test suite):

    /tmp/bench-venv/bin/python benchmarks/bench_relational.py          # --quick: a smoke run

The shop has five tables, generated with relationships that a copy should
keep: richer customers and VIPs place more orders, VIP orders have more
lines, popular products appear on more lines, a line's price follows its
product's price. Each measurement runs in a child process, so that its peak
memory (ru_maxrss) is its own:

- simulacra's ``hierarchical`` model (per-table family ``--family``) fits and
  samples the whole database at ``--rows`` (1,000,000 by default), and at the
  smaller sizes where SDV runs too;
- SDV's HMASynthesizer at each size of ``--sdv-rows`` until one fit takes
  longer than ``--sdv-limit`` seconds; the time ratio is reported where both ran;
- every copy is scored by ``simulacra.evaluate_multi`` (cardinality of
  children per parent, inter-table trends, integrity), next to a baseline
  that keeps our rows but assigns each child to a parent uniformly at random.

Results go to benchmarks/results/relational.json and a Markdown table.
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
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
# parent first; "orders" has a second foreign key (the region it ships to) besides its customer
LINKS = (
    ("customers", "region_id", "regions"),
    ("orders", "customer_id", "customers"),
    ("orders", "ship_region_id", "regions"),
    ("order_items", "order_id", "orders"),
    ("order_items", "product_id", "products"),
)
HMA_TABLES = ("customers", "orders")  # SDV's community HMA refuses a chain deeper than 2
KEYS = {
    "regions": "region_id",
    "customers": "customer_id",
    "products": "product_id",
    "orders": "order_id",
    "order_items": "item_id",
}


def shop(total: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Five related tables with about ``total`` rows in all (7% customers, 23% orders)."""
    rng = np.random.default_rng(seed)
    regions = pd.DataFrame(
        {
            "region_id": np.arange(1, 9),
            "name": ["north", "south", "east", "west", "centre", "coast", "hills", "islands"],
            "urban": [0.8, 0.6, 0.7, 0.5, 0.9, 0.4, 0.2, 0.1],
        }
    )
    n_customers, n_products = max(50, int(total * 0.07)), max(20, min(2000, total // 500))
    region = rng.integers(1, 9, n_customers)
    urban = regions["urban"].to_numpy()[region - 1]
    segment = rng.choice(["basic", "plus", "vip"], n_customers, p=[0.65, 0.27, 0.08])
    income = np.exp(rng.normal(10.4 + 0.5 * urban + 0.4 * (segment == "vip"), 0.45)).round(-2)
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(1, n_customers + 1),
            "region_id": region,
            "age": np.clip(rng.normal(44, 14, n_customers), 18, 90).round().astype(int),
            "income": income,
            "segment": segment,
        }
    )
    category = rng.choice(["books", "food", "garden", "tech", "toys"], n_products)
    base = {"books": 15, "food": 8, "garden": 40, "tech": 250, "toys": 25}
    price = (pd.Series(category).map(base).to_numpy() * rng.lognormal(0, 0.5, n_products)).round(2)
    products = pd.DataFrame(
        {"product_id": np.arange(1, n_products + 1), "category": category, "price": price}
    )
    # orders per customer: more with income and for VIPs, tuned to ~23% of the rows
    rate = (0.6 + (income / income.mean()) * 1.6) * np.where(segment == "vip", 2.0, 1.0)
    per_customer = rng.poisson(rate * (total * 0.23 / n_customers) / rate.mean())
    owner = np.repeat(np.arange(n_customers), per_customer)
    n_orders = len(owner)
    vip = segment[owner] == "vip"
    moved = rng.random(n_orders) < 0.1  # a tenth ship to another region than the customer's
    ship = np.where(moved, rng.integers(1, 9, n_orders), region[owner])
    day = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n_orders), "D")
    orders = pd.DataFrame(
        {
            "order_id": np.arange(1, n_orders + 1),
            "customer_id": owner + 1,
            "ship_region_id": ship,
            "ordered_at": day,
            "channel": rng.choice(["web", "app", "store"], n_orders, p=[0.5, 0.35, 0.15]),
            "express": rng.random(n_orders) < np.where(vip, 0.5, 0.15),
        }
    )
    # lines per order: 1 + Poisson, more for VIPs, tuned to ~70% of the rows
    extra = np.where(vip, 2.0, 1.0)
    lines = 1 + rng.poisson(extra * max(total * 0.70 / n_orders - 1, 0.1) / extra.mean())
    order = np.repeat(np.arange(n_orders), lines)
    popularity = 1.0 / np.arange(1, n_products + 1) ** 0.9
    product = rng.choice(n_products, len(order), p=popularity / popularity.sum())
    quantity = 1 + rng.poisson(np.where(products["category"].to_numpy()[product] == "food", 2, 0.3))
    discount = np.where(vip[order], 0.9, 1.0) * rng.uniform(0.95, 1.05, len(order))
    items = pd.DataFrame(
        {
            "item_id": np.arange(1, len(order) + 1),
            "order_id": order + 1,
            "product_id": product + 1,
            "quantity": quantity,
            "unit_price": (price[product] * discount).round(2),
        }
    )
    return {
        "regions": regions,
        "customers": customers,
        "products": products,
        "orders": orders,
        "order_items": items,
    }


def links(tables: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The foreign keys between the tables given."""
    return [(c, k, p) for c, k, p in LINKS if c in tables and p in tables]


def metadata(tables: dict[str, pd.DataFrame]) -> Any:
    import simulacra

    tables_meta = {}
    for name, df in tables.items():
        meta = simulacra.Metadata.detect(df.drop(columns=[KEYS[name]]))
        columns = {c: v.to_dict() for c, v in meta.columns.items()}
        columns[KEYS[name]] = {"type": "id"}
        for child, column, _ in links(tables):
            if child == name:
                columns[column] = {"type": "id"}
        tables_meta[name] = {"columns": columns, "primary_key": [KEYS[name]]}
    keys = [
        {"table": c, "columns": [k], "parent": p, "parent_columns": [KEYS[p]]}
        for c, k, p in links(tables)
    ]
    return simulacra.MultiTableMetadata.from_dict({"tables": tables_meta, "foreign_keys": keys})


# ----------------------------------------------------------------- one run
def tables_for(rows: int, schema: str) -> dict[str, pd.DataFrame]:
    """The whole shop, or (``hma``) customers and orders only, without their region keys."""
    tables = shop(rows)
    if schema == "full":
        return tables
    regions = ["region_id", "ship_region_id"]
    return {t: tables[t].drop(columns=regions, errors="ignore") for t in HMA_TABLES}


def run_one(tool: str, rows: int, schema: str, family: str, folder: Path) -> dict[str, Any]:
    """Fit and sample one tool on the shop at ``rows``; write the copy as Parquet."""
    warnings.simplefilter("ignore")
    tables = tables_for(rows, schema)
    out: dict[str, Any] = {"tool": tool, "schema": schema}
    out["rows"] = sum(len(t) for t in tables.values())
    if tool == "simulacra":
        import simulacra

        started = time.perf_counter()
        model = simulacra.create_multi("hierarchical", seed=0, family=family)
        model.fit(tables, metadata=metadata(tables))
        out["fit_s"] = time.perf_counter() - started
        started = time.perf_counter()
        synth = model.sample(scale=1.0)
    else:
        from sdv.metadata import Metadata as SdvMetadata
        from sdv.multi_table import HMASynthesizer

        started = time.perf_counter()
        meta = SdvMetadata.detect_from_dataframes(tables, infer_keys=None)
        for name in tables:
            meta.set_primary_key(KEYS[name], table_name=name)
        for child, column, parent in links(tables):
            meta.add_relationship(parent, child, KEYS[parent], column)
        model = HMASynthesizer(meta, verbose=False)
        model.fit(tables)
        out["fit_s"] = time.perf_counter() - started
        started = time.perf_counter()
        synth = model.sample_scale(scale=1.0)
    out["sample_s"] = time.perf_counter() - started
    out["synthetic_rows"] = sum(len(t) for t in synth.values())
    out["peak_rss_mb"] = peak_rss_mb()
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in synth.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    return out


def peak_rss_mb() -> int:
    """This process's peak resident memory since its exec (ru_maxrss would count the parent's
    pages that a forked child held before exec)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def in_child(
    tool: str, rows: int, schema: str, family: str, folder: Path, limit: float
) -> dict[str, Any]:
    """``run_one`` in a fresh interpreter (its own peak memory), killed after ``limit`` s."""
    command = [
        sys.executable, __file__, "--one", tool, "--rows", str(rows), "--schema", schema,
        "--family", family, "--copy", str(folder),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        return {"tool": tool, "rows": rows, "error": f"over {limit:.0f} s"}
    if done.returncode:
        return {"tool": tool, "rows": rows, "error": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------- scoring
def uniform_parents(copy: dict[str, pd.DataFrame], seed: int = 0) -> dict[str, pd.DataFrame]:
    """The same rows, each foreign key pointing at a parent drawn uniformly at random."""
    rng = np.random.default_rng(seed)
    out = {name: df.copy() for name, df in copy.items()}
    for child, column, parent in links(out):
        keys = out[parent][KEYS[parent]].to_numpy()
        out[child][column] = keys[rng.integers(0, len(keys), len(out[child]))]
    return out


def scored(real: dict[str, pd.DataFrame], copy: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Per relationship: cardinality and inter-table trend similarity; integrity overall."""
    import simulacra

    report = simulacra.evaluate_multi(real, copy, metadata(real), per_table=False)
    data = report.to_dict()
    links = {
        r["name"]: {"cardinality": r["cardinality"], "trends": r["inter_table_trends"]}
        for r in data["relationships"]
    }
    return {
        "relationships": links,
        "cardinality": float(np.nanmean([v["cardinality"] for v in links.values()])),
        "trends": float(np.nanmean([v["trends"] for v in links.values()])),
        "integrity_passed": bool(report.passed),
    }


def read_copy(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


# ------------------------------------------------------------------ report
def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| schema | tool | rows | fit s | sample s | peak MB | cardinality | inter-table trends "
        "| integrity |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["runs"]:
        head = f"| {r['schema']} | {r['tool']} | {r['rows']:,} |"
        if "error" in r:
            lines.append(f"{head} {r['error']} | | | | | |")
            continue
        s = r["scores"]
        times = (
            "(the rows above) | |"
            if r["fit_s"] is None
            else f"{r['fit_s']:.1f} | {r['sample_s']:.1f} |"
        )
        integrity = "pass" if s["integrity_passed"] else "FAIL"
        lines.append(
            f"{head} {times} {r['peak_rss_mb']:,} | {s['cardinality']:.3f} | "
            f"{s['trends']:.3f} | {integrity} |"
        )
    for ratio in results["ratios"]:
        lines.append(
            f"\nAt {ratio['rows']:,} rows SDV's HMA took {ratio['fit_sample']:.1f}x "
            "simulacra's fit+sample time."
        )
    return "\n".join(lines)


def measure(
    tool: str, size: int, schema: str, args: argparse.Namespace, tmp: Path
) -> list[dict[str, Any]]:
    """One tool's run, scored; simulacra's also re-scored with uniformly drawn parents."""
    folder = tmp / f"{tool}-{schema}-{size}"
    _log(f"{tool} on the {schema} schema at {size:,} rows")
    run = in_child(tool, size, schema, args.family, folder, args.sdv_limit * 3)
    run["family"] = args.family if tool == "simulacra" else None
    _log(f"  {json.dumps(run)}")
    if "error" in run:
        return [run]
    real = tables_for(size, schema)
    out = [{**run, "scores": scored(real, read_copy(folder))}]
    if tool == "simulacra":
        baseline = {**run, "tool": "uniform parents (our rows)", "fit_s": None, "sample_s": None}
        out.append({**baseline, "scores": scored(real, uniform_parents(read_copy(folder)))})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sdv-rows", default="10000,30000,100000,300000")
    parser.add_argument("--sdv-limit", type=float, default=900.0)
    parser.add_argument("--family", default="cart")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20,000 rows")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "relational.json")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--schema", default="full", help=argparse.SUPPRESS)
    parser.add_argument("--copy", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.rows, args.schema, args.family, args.copy)))
        return
    if args.quick:
        args.rows, args.sdv_rows = 20_000, "5000"
    started = time.time()
    runs, ratios = [], []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        runs += measure("simulacra", args.rows, "full", args, tmp)
        for size in [int(s) for s in args.sdv_rows.split(",") if s]:
            ours = measure("simulacra", size, "hma", args, tmp)
            theirs = measure("sdv-hma", size, "hma", args, tmp)
            runs += ours + theirs
            if "error" in theirs[0] or "error" in ours[0]:
                break
            took = [r["fit_s"] + r["sample_s"] for r in (ours[0], theirs[0])]
            ratios.append({"rows": ours[0]["rows"], "fit_sample": took[1] / took[0]})
            if theirs[0]["fit_s"] > args.sdv_limit:
                break
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, python "
        f"{platform.python_version()}",
        "command": "python " + " ".join(sys.argv),
        "runs": runs,
        "ratios": ratios,
        "seconds": round(time.time() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(markdown(results))


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
