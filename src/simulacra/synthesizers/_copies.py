"""The copy guard: synthetic rows repeat a one-of-a-kind training row no more often
than unseen real rows would.

A real row found once in the training data is a whole record of one person; a
synthetic row equal to it gives that record away. Unseen real rows repeat such a
row too (people alike in every column), and how often is read from the training
data itself: leave one row out and it repeats a row found once in the rest exactly
when it has one twin, so the natural share is the share of training rows found
twice. At fit the model draws a sample; when it repeats one-of-a-kind rows more
often than that, each such row it draws later is kept with the chance that brings
the share down to the natural one, and drawn again otherwise (never more than half
of the rows, so a model that does little but copy is thinned, not starved).

Rows are compared in the model's own decoded form on the columns it learns (ids
and PII are regenerated, so never copied), numbers to six decimals. When the
guard is active the model file holds one 64-bit hash per one-of-a-kind training
row, a membership test for whole rows; a model that never copies more than real
rows do stores nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from simulacra.synthesizers.base import Synthesizer

GUARD_ROWS = 10_000  # rows drawn at fit to read how often the model repeats training rows
MAX_REDRAWN = 0.5  # the guard redraws at most this share of a model's rows


def fingerprints(decoded: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row: numbers to six decimals, gaps equal to gaps."""
    parts: dict[str, pd.Series] = {}
    for name, column in decoded.reset_index(drop=True).items():
        if pd.api.types.is_datetime64_any_dtype(column):
            parts[str(name)] = pd.Series(pd.DatetimeIndex(column).asi8)  # NaT: one sentinel
        elif pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            numbers = pd.to_numeric(column, errors="coerce").astype("float64")
            parts[str(name)] = numbers.round(6).fillna(np.inf) + 0.0  # -0.0 folds into 0.0
        else:
            text = column.astype(object)
            parts[str(name)] = text.where(text.notna(), "\x00NA").astype(str)
    if not parts:
        return np.zeros(len(decoded), dtype=np.uint64)
    frame = pd.DataFrame(parts, index=pd.RangeIndex(len(decoded)))
    return pd.util.hash_pandas_object(frame, index=False).to_numpy(np.uint64)


def fit_copy_guard(
    model: Synthesizer, learned: pd.DataFrame, rng: np.random.Generator
) -> dict[str, Any] | None:
    """The guard for a fitted model (``learned``: the rows it was fitted on), or None
    when the model repeats one-of-a-kind training rows no more often than real rows do."""
    from simulacra.synthesizers._sampling import to_source

    if learned.empty or learned.columns.empty:
        return None
    seen = fingerprints(to_source(model, learned, learned_only=True))
    values, counts = np.unique(seen, return_counts=True)
    uniques = values[counts == 1]
    if not len(uniques):
        return None
    natural = float(np.mean(counts[np.searchsorted(values, seen)] == 2))
    drawn = to_source(model, model._sample(GUARD_ROWS, rng), learned_only=True)
    share = float(np.mean(np.isin(fingerprints(drawn), uniques)))
    if share <= natural:
        return None
    # a kept copy with chance q leaves q*s / (1 - s + q*s) of the rows copies: solve for natural
    keep = natural * (1 - share) / (share * (1 - natural))
    # a model that does little but copy (a column that names its row) is thinned, not
    # starved: redrawing nearly every row would take unbounded draws and bend the rest
    keep = max(keep, 1 - MAX_REDRAWN / share)
    return {"keep": keep, "natural": natural, "drawn": share, "uniques": uniques}


def kept(guard: dict[str, Any], decoded: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Rows the guard lets through: every row that repeats no one-of-a-kind training row,
    and each that does with the guard's chance."""
    copies = np.isin(fingerprints(decoded), guard["uniques"])
    return ~copies | (rng.random(len(decoded)) < guard["keep"])
