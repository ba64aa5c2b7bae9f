"""Simulation benchmark: SEIR next to Mesa, IPF next to ipfn, populations and transactions.

Run by hand (never in the test suite):

    /tmp/bench-venv/bin/pip install -r benchmarks/requirements.txt   # Mesa, ipfn
    nice -n 10 python benchmarks/bench_simulation.py     # add --quick for a smoke run
    nice -n 10 python benchmarks/bench_simulation.py --final-size 10000 20   # attack rates only

In one run, with the peers in child processes in the benchmark environment
(benchmarks/simulation_peers.py; neither is a simulacra dependency):

1. The well-mixed stochastic SEIR (R0 = 2, gamma latent and infectious periods
   of mean 3 and 5 days, shape 2, 10 initial cases) in simulacra
   (``simulate_epidemic(persons, r0=2.0)``) and in Mesa, at 10,000 and
   100,000 people, several seeds: seconds, agent-steps per second (people x
   days simulated), final attack rate against ``final_size(2.0)``. Mesa at
   the larger size starts runs while its budget lasts (``--mesa-budget``, each
   run capped by ``--mesa-limit``).
   Then the full network model (households, schools, workplaces, community)
   on 1,000,000 people from ``build_population``: seconds and peak RSS.
2. IPF: simulacra's ``ipf`` and the ``ipfn`` package fit the same 3-D seeds
   to the same one-way and two-way marginals, to the same relative
   tolerance: seconds, sweeps, largest marginal deviation, and the largest
   difference between the two fitted tables.
3. ``build_population`` at 100,000 and 1,000,000 households.
4. ``simulate_transactions``: 50,000 customers over 30 days.

The population, network and transaction runs each take a fresh process, so
that the peak RSS (``VmHWM``, imports included) is theirs alone. simulacra's
SEIR runs in this process after a warm-up run. It prints a Markdown report
for docs/benchmarks.md and writes the raw figures to
benchmarks/results/simulation.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
PEERS_PYTHON = "/tmp/bench-venv/bin/python"
R0 = 2.0
REL_TOL = 1e-8  # IPF: every marginal cell within this share of its target

# the population of the network model and of the build benchmark
HOUSEHOLD_TYPES = pd.DataFrame(
    {
        1: [30, 0, 0, 0, 0],
        2: [0, 25, 0, 5, 2],
        3: [0, 0, 12, 4, 1],
        4: [0, 0, 16, 1, 0],
        5: [0, 0, 8, 0, 0],
    },
    index=pd.Index(
        ["single", "couple", "couple_with_children", "lone_parent", "other"], name="type"
    ),
).rename_axis(columns="size")
AGE_SEX = pd.DataFrame(
    {"F": [6, 8, 4, 20, 17, 10], "M": [6, 8, 4, 19, 16, 8]},
    index=pd.Index(["0-4", "5-14", "15-17", "18-39", "40-64", "65+"], name="age_band"),
).rename_axis(columns="sex")
REGIONS = {"north": 30, "south": 25, "east": 25, "west": 20}


# ---------------------------------------------------------------- children
def peak_rss_mib() -> float:
    """This process's peak resident memory since its exec (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def population(**size: int) -> Any:
    from simulacra.simulation import build_population

    return build_population(
        {("type", "size"): HOUSEHOLD_TYPES, "region": REGIONS},
        {("age_band", "sex"): AGE_SEX},
        rescale=True,  # the tables are shares; persons are scaled to the households' size
        seed=1,
        **size,
    )


def child_population(households: int) -> dict:
    import simulacra.simulation  # noqa: F401 (imports stay out of the timing)

    start = time.perf_counter()
    pop = population(n_households=households)
    seconds = time.perf_counter() - start
    persons = len(pop.persons)
    return {
        "households": len(pop.households),
        "persons": persons,
        "seconds": seconds,
        "persons_per_s": persons / seconds,
        "peak_rss_mib": peak_rss_mib(),
    }


def child_network(persons: int, seed: int) -> dict:
    from simulacra.simulation import simulate_epidemic

    start = time.perf_counter()
    pop = population(n_persons=persons)
    built = time.perf_counter() - start
    start = time.perf_counter()
    result = simulate_epidemic(pop.persons, seed=seed)  # every setting at its default rate
    seconds = time.perf_counter() - start
    people = len(pop.persons)
    days = len(result.logs["epidemic_curve"])
    settings = result.logs["infections"]["setting"].value_counts()
    return {
        "persons": people,
        "households": len(pop.households),
        "build_seconds": built,
        "seconds": seconds,
        "days": days,
        "agent_steps_per_s": people * days / seconds,
        "attack_rate": float(result.tables["persons"]["infected_at"].notna().mean()),
        "infections_by_setting": {k: int(v) for k, v in settings.items()},
        "log_rows": {k: len(v) for k, v in result.logs.items()},
        "peak_rss_mib": peak_rss_mib(),
    }


def child_transactions(customers: int, merchants: int, days: int, fraud_rate: float) -> dict:
    from simulacra.simulation import simulate_transactions

    start = time.perf_counter()
    result = simulate_transactions(
        customers=customers, merchants=merchants, days=days, fraud_rate=fraud_rate, seed=1
    )
    seconds = time.perf_counter() - start
    tx = result.logs["transactions"]
    patterns = tx["fraud_pattern"].value_counts()
    return {
        "customers": customers,
        "merchants": merchants,
        "days": days,
        "seconds": seconds,
        "transactions": len(tx),
        "transactions_per_s": len(tx) / seconds,
        "fraud_rate": fraud_rate,
        "fraud_share": float(tx["is_fraud"].mean()),
        "fraud_cases": int(tx["fraud_case"].nunique()),
        "fraud_by_pattern": {k: int(v) for k, v in patterns.items()},
        "peak_rss_mib": peak_rss_mib(),
    }


CHILDREN = {
    "population": child_population,
    "network": child_network,
    "transactions": child_transactions,
}


def in_child(command: list[str], limit: float) -> dict:
    """The last stdout line of ``command`` as JSON, or an error after ``limit`` seconds."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {limit:.0f} s"}
    if done.returncode:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def ours(kind: str, limit: float = 600, **params: Any) -> dict:
    return in_child([sys.executable, __file__, "--child", kind, json.dumps(params)], limit)


def peer(python: str, *args: Any, limit: float = 600) -> dict:
    return in_child([python, str(HERE / "simulation_peers.py"), *map(str, args)], limit)


def versions(python: str, names: list[str]) -> dict[str, str]:
    """Python's version and those of ``names`` in the environment of ``python``."""
    code = (
        "import importlib.metadata as m, json, platform, sys; "
        "print(json.dumps({'python': platform.python_version(), "
        "**{n: m.version(n) for n in sys.argv[1:]}}))"
    )
    out = subprocess.run([python, "-c", code, *names], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


# ---------------------------------------------------------------------- SEIR
def simulacra_seir(n: int, seed: int) -> dict:
    from simulacra.simulation import simulate_epidemic

    persons = pd.DataFrame(
        {"person_id": np.arange(n), "household_id": np.arange(n), "age": np.full(n, 40)}
    )
    start = time.perf_counter()
    result = simulate_epidemic(persons, r0=R0, initial_infected=10, seed=seed)
    seconds = time.perf_counter() - start
    return {
        "n": n,
        "seed": seed,
        "seconds": seconds,
        "days": len(result.logs["epidemic_curve"]),
        "attack_rate": float(result.tables["persons"]["infected_at"].notna().mean()),
    }


def summary(runs: list[dict]) -> dict:
    done = [r for r in runs if "error" not in r]
    if not done:
        return {"runs": runs}
    for r in done:
        r["agent_steps_per_s"] = r["n"] * r["days"] / r["seconds"]
    attack = np.array([r["attack_rate"] for r in done])
    return {
        "runs": runs,
        "completed": len(done),
        "seconds_median": float(np.median([r["seconds"] for r in done])),
        "agent_steps_per_s_median": float(np.median([r["agent_steps_per_s"] for r in done])),
        "days_median": float(np.median([r["days"] for r in done])),
        "attack_rate_mean": float(attack.mean()),
        "attack_rate_sd": float(attack.std(ddof=1)) if len(done) > 1 else None,
    }


def seir(python: str, sizes: list[int], seeds: int, budget: float, limit: float) -> dict:
    """Both models at each size; Mesa at the largest starts runs while ``budget`` seconds last,
    each stopped after ``limit`` seconds."""
    from simulacra.simulation import final_size

    simulacra_seir(2_000, 99)  # warm-up: first-call costs stay out of the timings
    out: dict[str, Any] = {"final_size": final_size(R0), "sizes": {}}
    out |= {"mesa_budget_s": budget, "mesa_limit_s": limit}
    for n in sizes:
        mine = [simulacra_seir(n, seed) for seed in range(seeds)]
        theirs, spent = [], 0.0
        for seed in range(seeds):
            if n == max(sizes) and spent >= budget:
                theirs.append({"n": n, "seed": seed, "error": "not run: Mesa's budget was spent"})
                continue
            started = time.perf_counter()
            run = peer(python, "mesa", n, seed, limit=limit)
            spent += time.perf_counter() - started
            theirs.append({"n": n, "seed": seed, **run})
        out["sizes"][str(n)] = {"simulacra": summary(mine), "mesa": summary(theirs)}
    return out


def final_size_check(python: str, n: int, seeds: int) -> dict:
    """Attack rates only, both models, over seeds 100, 101, ... (more seeds than the timed runs)."""
    from simulacra.simulation import final_size

    out: dict[str, Any] = {"n": n, "seeds": f"100-{99 + seeds}", "final_size": final_size(R0)}
    for name in ("simulacra", "mesa"):
        if name == "simulacra":
            rates = [simulacra_seir(n, s)["attack_rate"] for s in range(100, 100 + seeds)]
        else:
            rates = [peer(python, "mesa", n, s)["attack_rate"] for s in range(100, 100 + seeds)]
        x = np.array(rates)
        sd = float(x.std(ddof=1))
        out[name] = {"mean": float(x.mean()), "sd": sd, "se": sd / math.sqrt(len(x))}
    return out


# ----------------------------------------------------------------------- IPF
def ipf_problem(shape: tuple[int, ...], ways: int) -> tuple[np.ndarray, list, list]:
    """A sample-like seed, and marginals of a different table (with its own interactions)."""
    rng = np.random.default_rng(sum(shape) + ways)
    seed = rng.gamma(2.0, 1.0, shape) + 0.05
    truth = rng.gamma(2.0, 1.0, shape) * rng.gamma(5.0, 1.0, shape[:2])[:, :, None]
    truth *= 1_000_000 / truth.sum()
    axes = [(0,), (1,), (2,)] if ways == 1 else [(0, 1), (1, 2), (0, 2)]
    margins = [truth.sum(axis=tuple(a for a in range(3) if a not in ax)) for ax in axes]
    return seed, axes, margins


def deviation(table: np.ndarray, axes: list, margins: list) -> tuple[float, float]:
    """Largest gap between a marginal of ``table`` and its target: in counts and relative."""
    gaps = [
        table.sum(axis=tuple(a for a in range(table.ndim) if a not in ax)) - m
        for ax, m in zip(axes, margins, strict=True)
    ]
    return (
        max(float(np.abs(g).max()) for g in gaps),
        max(float(np.abs(g / m).max()) for g, m in zip(gaps, margins, strict=True)),
    )


def ipf_side_by_side(python: str, shapes: list[tuple[int, ...]], folder: Path) -> list[dict]:
    from simulacra.simulation import ipf

    rows = []
    for shape in shapes:
        for ways in (1, 2):
            seed, axes, margins = ipf_problem(shape, ways)
            # simulacra stops on an absolute tolerance in counts: the relative one on the
            # smallest target cell, so every cell is within REL_TOL of its target, as in ipfn
            tol = REL_TOL * min(float(m.min()) for m in margins)
            named = {ax if len(ax) > 1 else ax[0]: m for ax, m in zip(axes, margins, strict=True)}
            repeat = 5 if math.prod(shape) < 10_000 else 3
            best = math.inf
            for _ in range(repeat):
                start = time.perf_counter()
                fit = ipf(seed, named, tol=tol, max_iter=10_000)
                best = min(best, time.perf_counter() - start)
            problem = folder / f"ipf-{ways}.npz"
            np.savez(
                problem,
                seed=seed,
                count=len(axes),
                rel_tol=REL_TOL,
                max_iter=10_000,
                **{f"axes{k}": np.array(ax) for k, ax in enumerate(axes)},
                **{f"margin{k}": m for k, m in enumerate(margins)},
            )
            theirs = peer(python, "ipfn", problem, folder / "fit.npy", repeat)
            row: dict[str, Any] = {
                "shape": list(shape),
                "cells": math.prod(shape),
                "marginals": "one-way x3" if ways == 1 else "two-way x3",
                "simulacra": {
                    "seconds": best,
                    "iterations": fit.iterations,
                    "converged": bool(fit.converged),
                },
                "ipfn": theirs,
            }
            row["simulacra"]["max_dev"], row["simulacra"]["max_rel_dev"] = deviation(
                fit.array, axes, margins
            )
            if "error" not in theirs:
                other = np.load(folder / "fit.npy")
                theirs["max_dev"], theirs["max_rel_dev"] = deviation(other, axes, margins)
                row["max_abs_diff"] = float(np.abs(fit.array - other).max())
                row["max_rel_diff"] = float((np.abs(fit.array - other) / other).max())
                row["x_ipfn"] = theirs["seconds"] / best
            rows.append(row)
    return rows


# ---------------------------------------------------------------------- main
def load() -> str:
    """``uptime``'s line: the load averages over 1, 5 and 15 minutes."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run at small sizes")
    parser.add_argument("--peers-python", default=PEERS_PYTHON)
    parser.add_argument("--seeds", type=int, default=5, help="seeds per SEIR size")
    parser.add_argument(
        "--mesa-budget", type=float, default=240, help="Mesa at 100,000: start runs for this long"
    )
    parser.add_argument("--mesa-limit", type=float, default=180, help="seconds per Mesa run")
    parser.add_argument(
        "--final-size",
        nargs=2,
        type=int,
        metavar=("PEOPLE", "SEEDS"),
        help="only compare both models' attack rates over more seeds, and print them",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("params", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](**json.loads(args.params))))
        return
    if args.final_size:
        print(json.dumps(final_size_check(args.peers_python, *args.final_size), indent=2))
        return

    quick, python = args.quick, args.peers_python
    began = time.perf_counter()
    nice = ["nice", "-n", str(os.nice(0))] if os.nice(0) else []
    results: dict[str, Any] = {
        "date": "2026-11-23",
        "started_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join([*nice, "python", "benchmarks/bench_simulation.py", *sys.argv[1:]]),
        "machine": f"{os.cpu_count()} CPU cores, shared, {platform.machine()} {platform.system()}",
        "load_before": load(),
        "simulacra_env": versions(sys.executable, ["simulacra", "numpy", "pandas", "scipy"]),
        "peers_env": versions(python, ["mesa", "ipfn", "numpy", "pandas"]),
    }
    sizes = [2_000, 10_000] if quick else [10_000, 100_000]
    seeds = 2 if quick else args.seeds
    results["seir"] = seir(python, sizes, seeds, args.mesa_budget, args.mesa_limit)
    people = 50_000 if quick else 1_000_000
    results["network"] = ours("network", persons=people, seed=1)
    with tempfile.TemporaryDirectory() as folder:
        shapes = [(20, 15, 10), (30, 20, 10)] if quick else [(20, 15, 10), (100, 80, 50)]
        results["ipf"] = ipf_side_by_side(python, shapes, Path(folder))
    households = [10_000, 100_000] if quick else [100_000, 1_000_000]
    results["population"] = [ours("population", households=h) for h in households]
    customers = 5_000 if quick else 50_000
    results["transactions"] = [
        ours("transactions", customers=customers, merchants=customers // 10, days=30,
             fraud_rate=rate)
        for rate in (0.005, 0.02)
    ]  # fmt: skip
    results["load_after"] = load()
    results["seconds"] = time.perf_counter() - began
    (HERE / "results").mkdir(exist_ok=True)
    target = HERE / "results" / ("simulation-quick.json" if quick else "simulation.json")
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))


def report(r: dict) -> str:
    s = r["seir"]
    lines = [
        f"Analytic final size for R0 = {R0:g}: {s['final_size']:.4f}.",
        "",
        "| model | people | runs | seconds (median) | days | agent-steps/s | attack rate "
        "(mean ± sd) | simulacra is |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, pair in s["sizes"].items():
        for name in ("simulacra", "mesa"):
            x = pair[name]
            if "completed" not in x:
                err = x["runs"][0].get("error", "")
                lines.append(f"| {name} | {int(n):,} | 0 | {err} | | | | |")
                continue
            sd = f" ± {x['attack_rate_sd']:.4f}" if x["attack_rate_sd"] is not None else ""
            ratio = "—"
            if name == "mesa" and "completed" in pair["simulacra"]:
                times = pair["simulacra"]["seconds_median"]
                ratio = f"{x['seconds_median'] / times:,.0f}× faster"
            lines.append(
                f"| {name} | {int(n):,} | {x['completed']}/{len(x['runs'])} | "
                f"{x['seconds_median']:.2f} | {x['days_median']:.0f} | "
                f"{x['agent_steps_per_s_median']:,.0f} | {x['attack_rate_mean']:.4f}{sd} | "
                f"{ratio} |"
            )
    w = r["network"]
    if "error" not in w:
        lines += [
            "",
            f"Network model on {w['persons']:,} people ({w['households']:,} households, built in "
            f"{w['build_seconds']:.1f} s): {w['seconds']:.1f} s for {w['days']} days, "
            f"{w['agent_steps_per_s']:,.0f} agent-steps/s, attack rate {w['attack_rate']:.3f}, "
            f"peak RSS {w['peak_rss_mib']:,.0f} MiB; infections by setting "
            f"{w['infections_by_setting']}.",
        ]
    lines += [
        "",
        "| IPF seed | marginals | tool | seconds | sweeps | max deviation (counts) | "
        "max relative deviation | simulacra is |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in r["ipf"]:
        shape = "×".join(map(str, row["shape"]))
        for name in ("simulacra", "ipfn"):
            x = row[name]
            if "error" in x:
                lines.append(f"| {shape} | {row['marginals']} | {name} | {x['error']} | | | | |")
                continue
            ratio = f"{row['x_ipfn']:,.0f}× faster" if name == "ipfn" else "—"
            lines.append(
                f"| {shape} | {row['marginals']} | {name} | {x['seconds']:.4f} | "
                f"{x['iterations']} | {x['max_dev']:.2e} | {x['max_rel_dev']:.1e} | {ratio} |"
            )
    lines.append("")
    lines += [
        f"Fitted tables, {'×'.join(map(str, row['shape']))} {row['marginals']}: largest "
        f"difference {row['max_abs_diff']:.2e} counts ({row['max_rel_diff']:.1e} relative)."
        for row in r["ipf"]
        if "max_abs_diff" in row
    ]
    lines += [
        "",
        "| build_population | households | persons | seconds | persons/s | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for p in r["population"]:
        if "error" not in p:
            lines.append(
                f"| | {p['households']:,} | {p['persons']:,} | {p['seconds']:.1f} | "
                f"{p['persons_per_s']:,.0f} | {p['peak_rss_mib']:,.0f} |"
            )
    lines += [
        "",
        "| simulate_transactions | customers × days | transactions | seconds | transactions/s "
        "| fraud requested | fraud share | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in r["transactions"]:
        if "error" not in t:
            lines.append(
                f"| | {t['customers']:,} × {t['days']} | {t['transactions']:,} | "
                f"{t['seconds']:.1f} | {t['transactions_per_s']:,.0f} | {t['fraud_rate']:.3f} | "
                f"{t['fraud_share']:.4f} | {t['peak_rss_mib']:,.0f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
