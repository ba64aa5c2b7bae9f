"""Evaluation: evidence that a synthetic copy is realistic (and, as sections land, safe).

Evaluation never trusts the synthesizer: it reads only the real table, the
synthetic table and metadata.

>>> import simulacra
>>> real = simulacra.datasets.load_customers()
>>> synth = simulacra.create("copula", seed=0).fit(real).sample(2000)
>>> report = simulacra.evaluate(real, synth)
>>> bool(report.scores["fidelity"] > 0.8)
True
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from simulacra.errors import InvalidDataError
from simulacra.evaluate.detection import MAX_DETECTION_ROWS, detection_metrics
from simulacra.evaluate.fidelity import fidelity_metrics, prepare
from simulacra.evaluate.privacy import MAX_PRIVACY_ROWS, embed, privacy_metrics
from simulacra.evaluate.report import Metric, Report
from simulacra.evaluate.utility import utility_metrics
from simulacra.io import read_table
from simulacra.metadata import Metadata

__all__ = ["MAX_ROWS", "Metric", "Report", "evaluate"]

MAX_ROWS = 50_000  # rows of each table that metrics read; larger tables are sampled (seeded)


def evaluate(
    real: pd.DataFrame | str | Path,
    synthetic: pd.DataFrame | str | Path,
    *,
    holdout: pd.DataFrame | str | Path | None = None,
    metadata: Metadata | str | Path | None = None,
    target: str | None = None,
    seed: int = 0,
    max_rows: int = MAX_ROWS,
) -> Report:
    """Compare a synthetic table with the real one; return a :class:`Report`.

    ``real`` is the table the model was trained on; ``holdout``, real rows it
    never saw, lets the privacy section tell memorising from generalising and
    is the test set of the utility section, which runs for a ``target`` column.
    Without ``metadata`` the column types are detected from the real table.
    Tables longer than ``max_rows`` (``MAX_PRIVACY_ROWS`` for distance
    metrics) are sampled with ``seed``, and the report says so.
    """
    frames = {"real": read_table(real), "synthetic": read_table(synthetic)}
    if holdout is not None:
        frames["holdout"] = read_table(holdout)
        _check_same_columns(frames["real"], frames["holdout"], "holdout")
    for role, frame in frames.items():
        if len(frame) == 0:
            raise InvalidDataError(f"the {role} table has no rows; nothing to evaluate")
    _check_same_columns(frames["real"], frames["synthetic"])
    if metadata is None:
        meta = Metadata.detect(frames["real"])
    elif isinstance(metadata, Metadata):
        meta = metadata
    else:
        meta = Metadata.from_json(metadata)
    rng = np.random.default_rng(seed)
    notes = []
    for role, frame in frames.items():
        frames[role] = _cap(frame, max_rows, rng)
        if len(frame) > max_rows:
            notes.append(f"{role} table: {max_rows:,} of {len(frame):,} rows sampled (seed {seed})")
    skipped = [n for n, c in meta.columns.items() if not c.modelled]
    if skipped:
        notes.append(f"not compared (regenerated, never learned): {', '.join(skipped)}")
    columns = prepare(frames["real"], frames["synthetic"], meta)
    metrics, fidelity = fidelity_metrics(columns, rng)
    detection, detection_score = detection_metrics(frames["real"], frames["synthetic"], meta, seed)
    if max(len(frames["real"]), len(frames["synthetic"])) > MAX_DETECTION_ROWS:
        notes.append(f"the detection classifier read at most {MAX_DETECTION_ROWS:,} rows per table")
    privacy, privacy_score = _privacy(frames, meta, rng, notes)
    scores = {"fidelity": fidelity, "detection": detection_score, "privacy": privacy_score}
    metrics += detection + privacy
    if target is not None:
        _check_target(target, meta)
        if "holdout" in frames:
            utility, scores["utility"] = utility_metrics(
                frames["real"], frames["synthetic"], frames["holdout"], meta, target, seed
            )
            metrics += utility
        else:
            notes.append("ML utility needs a holdout of real rows to test on; none was given")
    return Report(metrics=metrics, scores=scores, notes=notes)


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
    frames: dict[str, pd.DataFrame], meta: Metadata, rng: np.random.Generator, notes: list[str]
) -> tuple[list[Metric], float]:
    train, synth, hold = frames["real"], frames["synthetic"], frames.get("holdout")
    if hold is not None:
        learned = [n for n, c in meta.columns.items() if c.modelled]
        overlap = _row_keys(hold, learned).isin(set(_row_keys(train, learned))).mean()
        if overlap > 0:
            notes.append(
                f"{overlap:.0%} of holdout rows also appear in the training data: "
                "holdout-based privacy numbers are then meaningless"
            )
        size = min(len(train), len(hold), MAX_PRIVACY_ROWS)
        train, hold = _cap(train, size, rng), _cap(hold, size, rng)
    else:
        train = _cap(train, MAX_PRIVACY_ROWS, rng)
        notes.append(
            "no holdout given: membership inference and train-vs-holdout distances "
            "were not measured"
        )
    synth = _cap(synth, MAX_PRIVACY_ROWS, rng)
    if max(len(train), len(synth)) == MAX_PRIVACY_ROWS:
        notes.append(f"privacy distances read at most {MAX_PRIVACY_ROWS:,} rows per table")
    embedded = embed([t for t in (train, synth, hold) if t is not None], meta)
    return privacy_metrics(embedded[0], embedded[1], embedded[2] if hold is not None else None)


def _cap(frame: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """At most ``rows`` rows of ``frame`` (a seeded sample when it is longer), indexed from 0."""
    if len(frame) > rows:
        frame = frame.sample(rows, random_state=rng)
    return frame.reset_index(drop=True)


def _row_keys(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    return pd.util.hash_pandas_object(frame[columns].astype(str), index=False)


def _check_same_columns(real: pd.DataFrame, other: pd.DataFrame, role: str = "synthetic") -> None:
    problems = [
        f"column {c!r} is in the real table but not in the {role} one"
        for c in real.columns
        if c not in other.columns
    ]
    problems += [
        f"column {c!r} is in the {role} table but not in the real one"
        for c in other.columns
        if c not in real.columns
    ]
    if problems:
        raise InvalidDataError(problems)
