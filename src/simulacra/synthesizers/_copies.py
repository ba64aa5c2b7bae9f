"""The copy guard: synthetic rows repeat a one-of-a-kind training row no more often
than unseen real rows would.

A real row found once in the training data is a whole record of one person; a
synthetic row equal to it gives that record away. Unseen real rows repeat such a
row too (people alike in every column), and how often is read from the training
data itself: leave one row out and it repeats a row found once in the rest exactly
when it has one twin, so the natural share is the share of training rows found
twice. At fit the model draws a sample; when it repeats one-of-a-kind rows clearly more
often than that (three standard errors of its draws), each such row it draws later
is kept with the chance that brings the share down to the natural one, and drawn
again otherwise (never more than half of the rows, so a model that does little but
copy is thinned, not starved, with a warning). Rows with a pooled value (a rare
category, an open tail) are never copies: that value is regenerated.

Rows are compared in the model's own decoded form on the columns it learns (ids
and PII are regenerated, so never copied), numbers to six decimals. When the
guard is active the model file holds one 64-bit hash per one-of-a-kind training
row: a membership test for whole rows, and where the columns take few values, a way
to list those rows by trying every combination. So the guard is off unless asked
for (``guard_copies=True``), and such a file is as private as the data.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from simulacra.synthesizers.base import Synthesizer

GUARD_ROWS = 50_000  # rows drawn at fit to read how often the model repeats training rows
MAX_REDRAWN = 0.5  # the guard redraws at most this share of a model's rows
MARGIN_SE = 3.0  # a guard is kept only when the model's share clears the natural one by this


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


def pooled(columns: list[str], decoded: pd.DataFrame) -> np.ndarray:
    """Rows with a pooled cell (a rare category or an open tail's label, read ``(other)``):
    their real value is regenerated, so such a row never repeats a training row."""
    from simulacra.transforms.categorical import RARE_LABEL

    mask = np.zeros(len(decoded), dtype=bool)
    for name in columns:
        if name in decoded:
            mask |= (decoded[name].astype(object) == RARE_LABEL).to_numpy()
    return mask


def repeats(uniques: np.ndarray, pooled_columns: list[str], decoded: pd.DataFrame) -> np.ndarray:
    """Rows equal to a one-of-a-kind training row (``uniques``: their fingerprints)."""
    return np.isin(fingerprints(decoded), uniques) & ~pooled(pooled_columns, decoded)


def fit_copy_guard(
    model: Synthesizer, learned: pd.DataFrame, rng: np.random.Generator
) -> dict[str, Any] | None:
    """The guard for a fitted model (``learned``: the rows it was fitted on), or None
    when the model repeats one-of-a-kind training rows no more often than real rows do
    (beyond the noise of its 50,000 draws)."""
    from simulacra.synthesizers._sampling import to_source

    if learned.empty or learned.columns.empty:
        return None
    columns = [
        name
        for name, transform in model.processor_.transforms_.items()
        if getattr(transform, "has_other_", False)
    ]
    decoded = to_source(model, learned, learned_only=True)
    seen = fingerprints(decoded)[~pooled(columns, decoded)]
    values, counts = np.unique(seen, return_counts=True)
    uniques = values[counts == 1]
    if not len(uniques):
        return None
    natural = 2 * int(np.sum(counts == 2)) / len(decoded)
    drawn = to_source(model, model._sample(GUARD_ROWS, rng), learned_only=True)
    share = float(np.mean(repeats(uniques, columns, drawn)))
    if share <= natural + MARGIN_SE * np.sqrt(share * (1 - share) / GUARD_ROWS):
        return None
    # a kept copy with chance q leaves q*s / (1 - s + q*s) of the rows copies: solve for natural
    keep = natural * (1 - share) / (share * (1 - natural))
    floor = 1 - MAX_REDRAWN / share
    if keep < floor:
        # a model that does little but copy (a column that names its row) is thinned, not
        # starved: redrawing nearly every row would take unbounded draws and bend the rest
        keep = floor
        left = keep * share / (1 - share + keep * share)
        warnings.warn(
            f"{model.name}: {share:.1%} of its rows repeat a row found once in the training "
            f"data (unseen real rows: {natural:.1%}); the copy guard redraws at most half the "
            f"rows, so about {left:.1%} still will. The model has learned the rows "
            "themselves: use coarser settings or a DP family",
            UserWarning,
            stacklevel=3,
        )
    return {
        "keep": keep,
        "natural": natural,
        "drawn": share,
        "uniques": uniques,
        "pooled": columns,
    }


def kept(guard: dict[str, Any], decoded: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Rows the guard lets through: every row that repeats no one-of-a-kind training row,
    and each that does with the guard's chance."""
    copies = repeats(guard["uniques"], guard["pooled"], decoded)
    return ~copies | (rng.random(len(decoded)) < guard["keep"])
