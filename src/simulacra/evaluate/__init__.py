"""Evaluation: evidence that a synthetic copy is realistic, useful, safe, fair and valid.

Evaluation never trusts the synthesizer: it reads only the real table, the
synthetic table, the real holdout and metadata.

>>> import simulacra
>>> real = simulacra.datasets.load_customers()
>>> synth = simulacra.create("copula", seed=0).fit(real).sample(2000)
>>> report = simulacra.evaluate(real, synth)
>>> bool(report.scores["fidelity"] > 0.8)
True
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra.constraints import constraint_set
from simulacra.errors import InvalidDataError
from simulacra.evaluate.detection import MAX_DETECTION_ROWS, detection_metrics
from simulacra.evaluate.fairness import MAX_GROUPS, fairness_metrics, group_labels
from simulacra.evaluate.fidelity import as_number, fidelity_figures, fidelity_metrics, prepare
from simulacra.evaluate.multi import MultiReport, evaluate_multi
from simulacra.evaluate.privacy import MAX_PRIVACY_ROWS, attack_metrics, embed, privacy_metrics
from simulacra.evaluate.report import Metric, Report
from simulacra.evaluate.utility import utility_metrics
from simulacra.evaluate.validity import validity_metrics
from simulacra.io import read_table
from simulacra.metadata import Column, Metadata

__all__ = ["MAX_ROWS", "Metric", "MultiReport", "Report", "evaluate", "evaluate_multi"]

MAX_ROWS = 50_000  # rows of each table that metrics read; larger tables are sampled (seeded)


def evaluate(
    real: pd.DataFrame | str | Path,
    synthetic: pd.DataFrame | str | Path,
    *,
    holdout: pd.DataFrame | str | Path | None = None,
    metadata: Metadata | str | Path | None = None,
    target: str | None = None,
    sensitive: Sequence[str] | str | None = None,
    ledger: Sequence[Mapping[str, Any]] | None = None,
    allow_mismatch: bool = False,
    seed: int = 0,
    max_rows: int = MAX_ROWS,
) -> Report:
    """Compare a synthetic table with the real one; return a :class:`Report`.

    ``real`` is the table the model was trained on; ``holdout``, real rows it
    never saw, lets the privacy section tell memorising from generalising and
    is the test set of the utility section, which runs for a ``target`` column.
    ``sensitive`` columns (such as sex or race) get the fairness section and an
    attribute-inference attack each. ``ledger`` lists the differential-privacy
    spends of the model that made the copy (``{"what", "epsilon", "delta"}``).
    Without ``metadata`` the column types are detected from the real table.
    Columns or types that differ between the tables are an error that lists
    them all, unless ``allow_mismatch`` (then only the common, well-typed
    columns are compared). Tables longer than ``max_rows`` (``MAX_PRIVACY_ROWS``
    for distance metrics) are sampled with ``seed``, and the report says so.
    """
    frames = {"real": read_table(real), "synthetic": read_table(synthetic)}
    if holdout is not None:
        frames["holdout"] = read_table(holdout)
    for role, frame in frames.items():
        if len(frame) < 2:
            source = {"real": real, "synthetic": synthetic, "holdout": holdout}[role]
            where = f" ({source})" if isinstance(source, (str, Path)) else ""
            has = "no rows" if len(frame) == 0 else "only 1 row"
            raise InvalidDataError(
                f"the {role} table{where} has {has}; evaluation needs at least 2 rows"
            )
    if metadata is None:
        meta = Metadata.detect(frames["real"])
    elif isinstance(metadata, Metadata):
        meta = metadata
    else:
        meta = Metadata.from_json(metadata)
    notes: list[str] = []
    meta = _common_columns(frames, meta, allow_mismatch, notes)
    sensitive = [sensitive] if isinstance(sensitive, str) else list(sensitive or [])
    if target is not None:
        _check_target(target, meta)
    _check_sensitive(sensitive, meta, frames["real"])
    rng = np.random.default_rng(seed)
    context = {
        "rows": {role: len(frame) for role, frame in frames.items()},
        "columns": len(meta.columns),
        "target": target,
        "sensitive": sensitive,
        "seed": seed,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "version": _version(),
    }
    whole = (frames["real"], frames["synthetic"])  # constraints are measured on every row
    for role, frame in frames.items():
        frames[role] = _cap(frame, max_rows, rng)
        if len(frame) > max_rows:
            notes.append(f"{role} table: {max_rows:,} of {len(frame):,} rows sampled (seed {seed})")
    skipped = [n for n, c in meta.columns.items() if not c.modelled]
    if skipped:
        notes.append(f"not compared (regenerated, never learned): {', '.join(skipped)}")
    columns = prepare(frames["real"], frames["synthetic"], meta)
    metrics, fidelity = fidelity_metrics(columns, rng)
    figures = fidelity_figures(columns)
    detection, detection_score = detection_metrics(frames["real"], frames["synthetic"], meta, seed)
    if max(len(frames["real"]), len(frames["synthetic"])) > MAX_DETECTION_ROWS:
        notes.append(f"the detection classifier read at most {MAX_DETECTION_ROWS:,} rows per table")
    scores = {"fidelity": fidelity, "detection": detection_score}
    metrics += detection
    predictions = None
    if target is not None:
        if "holdout" in frames:
            utility, scores["utility"], predictions = utility_metrics(
                frames["real"], frames["synthetic"], frames["holdout"], meta, target, seed
            )
            metrics += utility
            if scores["utility"] != scores["utility"]:
                notes.append(
                    f"ML utility not scored: a model trained on the real rows predicts "
                    f"{target!r} on the holdout no better than a blind guess (the majority "
                    "class, or the mean), so there is no real skill for the synthetic copy to keep"
                )
        else:
            notes.append("ML utility needs a holdout of real rows to test on; none was given")
    privacy, scores["privacy"], figures["distance_to_closest_record"] = _privacy(
        frames, meta, sensitive, rng, notes
    )
    metrics += privacy
    if sensitive:
        fairness, scores["fairness"], figures["representation"] = fairness_metrics(
            frames["real"], frames["synthetic"], sensitive, predictions
        )
        metrics += fairness
        compared = {m.columns[0] for m in fairness if m.name.endswith("_gap_tstr")}
        compared |= {m.columns[0] for m in fairness if m.name.endswith("_difference_tstr")}
        if predictions is not None and (lacking := [c for c in sensitive if c not in compared]):
            notes.append(
                f"model fairness was not compared for {', '.join(lacking)}: it needs at "
                "least two groups with 10 or more holdout rows each"
            )
        if predictions is None:
            notes.append(
                "fairness of models trained on the copy needs a target and a holdout; "
                "only the groups' representation was measured"
            )
    validity, scores["validity"] = validity_metrics(
        frames["real"], frames["synthetic"], meta, whole=whole
    )
    metrics += validity
    spends = _ledger(ledger, notes)
    return Report(metrics, scores, notes, figures=figures, ledger=spends, context=context)


def _check_target(target: str, meta: Metadata) -> None:
    if target not in meta.columns:
        raise InvalidDataError(
            f"target {target!r} is not a column; the columns are: {', '.join(meta.columns)}"
        )
    if not meta.columns[target].modelled:
        raise InvalidDataError(
            f"target {target!r} is a regenerated {meta.columns[target].type} column, never "
            "learned; choose a numeric, category, boolean or date column"
        )


def _privacy(
    frames: dict[str, pd.DataFrame],
    meta: Metadata,
    sensitive: list[str],
    rng: np.random.Generator,
    notes: list[str],
) -> tuple[list[Metric], float, dict[str, Any]]:
    train, synth, hold = frames["real"], frames["synthetic"], frames.get("holdout")
    if hold is not None:
        learned = [n for n, c in meta.columns.items() if c.modelled]
        train_keys = _row_keys(train, learned)
        overlap = _row_keys(hold, learned).isin(set(train_keys)).mean()
        # rows repeat by chance in real data too: warn when the overlap is beyond that
        if overlap > 0.01 + 2 * train_keys.duplicated(keep=False).mean():
            message = (
                f"{overlap:.0%} of holdout rows also appear in the training data: "
                "holdout-based privacy numbers are then meaningless"
            )
            notes.append(message)
            warnings.warn(message, UserWarning, stacklevel=3)
    train = _cap(train, MAX_PRIVACY_ROWS, rng)
    chosen = None  # training rows as many as the holdout's, for the comparisons with it
    if hold is not None:
        hold = _cap(hold, len(train), rng)
        chosen = np.sort(rng.choice(len(train), len(hold), replace=False))
    else:
        notes.append(
            "no holdout given: membership inference and train-vs-holdout distances "
            "were not measured"
        )
    synth = _cap(synth, MAX_PRIVACY_ROWS, rng)
    if max(len(train), len(synth)) == MAX_PRIVACY_ROWS:
        notes.append(f"privacy distances read at most {MAX_PRIVACY_ROWS:,} rows per table")
    tables = [t for t in (train, synth, hold) if t is not None]
    embedded = embed(tables, meta)
    if embedded[0].shape[1] == 0:
        return [], float("nan"), {}
    if hold is None:
        metrics, parts, figure = privacy_metrics(embedded[0], embedded[1], None)
    else:
        metrics, parts, figure = privacy_metrics(*embedded, members=embedded[0][chosen])
        tables[0] = train.iloc[chosen].reset_index(drop=True)
    attacks, attack_parts = attack_metrics(tables, meta, sensitive, rng)
    return metrics + attacks, float(min(parts + attack_parts)), figure


def _ledger(ledger: Sequence[Mapping[str, Any]] | None, notes: list[str]) -> list[dict[str, Any]]:
    """The differential-privacy spends, checked, with a note of the total."""
    spends = []
    for i, entry in enumerate(ledger or []):
        try:
            spend = {
                "what": str(entry["what"]),
                "mechanism": str(entry.get("mechanism", "")),
                "epsilon": float(entry["epsilon"]),
                "delta": float(entry.get("delta", 0.0)),
            }
            if not (0 < spend["epsilon"] < float("inf") and 0 <= spend["delta"] < 1):
                raise ValueError("out of range")
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidDataError(
                f"ledger entry {i} ({entry!r}) needs 'what' and a finite 'epsilon' above 0 "
                "(and optionally 'delta' in [0, 1) and 'mechanism')"
            ) from exc
        spends.append(spend)
    if spends:
        epsilon = sum(s["epsilon"] for s in spends)
        delta = sum(s["delta"] for s in spends)
        notes.append(
            f"the copy was made with differential privacy: epsilon {epsilon:g}, "
            f"delta {delta:g} in all (basic composition over {len(spends)} spends)"
        )
    return spends


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("simulacra")
    except PackageNotFoundError:
        return "unknown"


def _cap(frame: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """At most ``rows`` rows of ``frame`` (a seeded sample when it is longer), indexed from 0."""
    if len(frame) > rows:
        frame = frame.sample(rows, random_state=rng)
    return frame.reset_index(drop=True)


def _row_keys(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    return pd.util.hash_pandas_object(frame[columns].astype(str), index=False)


def _check_sensitive(sensitive: list[str], meta: Metadata, real: pd.DataFrame) -> None:
    problems = []
    for name in sensitive:
        if name not in meta.columns:
            problems.append(
                f"sensitive column {name!r} is not a column; the columns are: "
                f"{', '.join(meta.columns)}"
            )
        elif not meta.columns[name].modelled:
            problems.append(
                f"sensitive column {name!r} is a regenerated {meta.columns[name].type} "
                "column; choose a column of groups such as sex or region"
            )
        else:
            levels = group_labels(real[name]).nunique()
            if levels > MAX_GROUPS:
                problems.append(
                    f"sensitive column {name!r} has {levels:,} levels; fairness compares "
                    f"groups, so it allows at most {MAX_GROUPS}: bin it into groups first "
                    "(e.g. age bands) or choose another column"
                )
    if problems:
        raise InvalidDataError(problems)


def _common_columns(
    frames: dict[str, pd.DataFrame], meta: Metadata, allow_mismatch: bool, notes: list[str]
) -> Metadata:
    """Metadata for the columns every table has with the same type; mismatches listed."""
    real = frames["real"]
    problems, dropped = [], set()
    for role, other in frames.items():
        if role == "real":
            continue
        for c in real.columns:
            if c not in other.columns:
                problems.append(f"column {c!r} is in the real table but not in the {role} one")
                dropped.add(c)
        problems += [
            f"column {c!r} is in the {role} table but not in the real one"
            for c in other.columns
            if c not in real.columns
        ]
        for name, col in meta.columns.items():
            if name in other.columns and (problem := _type_mismatch(other[name], col)):
                problems.append(f"column {name!r} of the {role} table: {problem}")
                dropped.add(name)
    missing = [n for n in meta.columns if n not in real.columns]
    problems += [f"column {n!r} is in the metadata but not in the real table" for n in missing]
    dropped |= set(missing)
    if problems and not allow_mismatch:
        raise InvalidDataError(
            [
                *problems,
                "fix: make the tables match, or compare only the common, well-typed columns "
                "with allow_mismatch=True (--allow-mismatch)",
            ]
        )
    if problems:
        notes.append(f"tables differ, so only common columns were compared: {'; '.join(problems)}")
    kept = {n: c for n, c in meta.columns.items() if n not in dropped}
    key = meta.primary_key if meta.primary_key in kept else None
    for role, frame in frames.items():
        frames[role] = frame[[n for n in kept]]
    return Metadata(columns=kept, primary_key=key, constraints=_kept_rules(meta, kept, notes))


def _kept_rules(meta: Metadata, kept: dict[str, Column], notes: list[str]) -> list[dict[str, Any]]:
    """The declared constraints on columns every table has (the others noted as not measured)."""
    if not meta.constraints:
        return []
    rules = constraint_set(meta).constraints
    lost = [r.name for r in rules if not set(r.columns) <= set(kept)]
    if lost:
        notes.append(f"constraints not measured (their columns were not compared): {lost}")
    return [r.spec for r in rules if set(r.columns) <= set(kept)]


def _type_mismatch(values: pd.Series, col: Column) -> str | None:
    """Why a column's values are not of its declared type (most of them fail), if they are not."""
    present = values[values.notna()]
    if not len(present) or col.type not in ("numerical", "datetime", "boolean"):
        return None
    if col.type == "boolean":
        labels = [True, False, col.true_label, col.false_label]
        failed = ~present.isin([v for v in labels if v is not None])
        if col.true_label is None:  # detected from text such as yes/no: accept any two labels
            failed &= present.nunique() > 2
    else:
        failed = as_number(present, col.format, col.type).isna().to_numpy()
    share = float(np.mean(failed))
    if share <= 0.5:
        return None
    example = present[np.asarray(failed)].iloc[0]
    kind = {"numerical": "numbers", "datetime": f"dates ({col.format or 'ISO'})"}.get(
        col.type, "true/false values"
    )
    return f"{share:.0%} of values are not {kind}, e.g. {example!r} (dtype {values.dtype})"
