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
from simulacra.evaluate.fidelity import fidelity_metrics, prepare
from simulacra.evaluate.report import Metric, Report
from simulacra.io import read_table
from simulacra.metadata import Metadata

__all__ = ["MAX_ROWS", "Metric", "Report", "evaluate"]

MAX_ROWS = 50_000  # rows of each table that metrics read; larger tables are sampled (seeded)


def evaluate(
    real: pd.DataFrame | str | Path,
    synthetic: pd.DataFrame | str | Path,
    *,
    metadata: Metadata | str | Path | None = None,
    seed: int = 0,
    max_rows: int = MAX_ROWS,
) -> Report:
    """Compare a synthetic table with the real one; return a :class:`Report`.

    Without ``metadata`` the column types are detected from the real table.
    Tables longer than ``max_rows`` are sampled (seeded), and the report says so.
    """
    frames = {"real": read_table(real), "synthetic": read_table(synthetic)}
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
        if len(frame) > max_rows:
            frames[role] = frame.sample(max_rows, random_state=rng).reset_index(drop=True)
            notes.append(f"{role} table: {max_rows:,} of {len(frame):,} rows sampled (seed {seed})")
        else:
            frames[role] = frame.reset_index(drop=True)
    skipped = [n for n, c in meta.columns.items() if not c.modelled]
    if skipped:
        notes.append(f"not compared (regenerated, never learned): {', '.join(skipped)}")
    columns = prepare(frames["real"], frames["synthetic"], meta)
    metrics, fidelity = fidelity_metrics(columns, rng)
    return Report(metrics=metrics, scores={"fidelity": fidelity}, notes=notes)


def _check_same_columns(real: pd.DataFrame, synthetic: pd.DataFrame) -> None:
    problems = [
        f"column {c!r} is in the real table but not in the synthetic one"
        for c in real.columns
        if c not in synthetic.columns
    ]
    problems += [
        f"column {c!r} is in the synthetic table but not in the real one"
        for c in synthetic.columns
        if c not in real.columns
    ]
    if problems:
        raise InvalidDataError(problems)
