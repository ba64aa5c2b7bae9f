"""Finding dates that follow others: a last purchase never before its signup.

A model that learns two dates apart draws each from its own marginal and
breaks their order on many rows (a copula put ``last_purchase`` before
``signup_date`` on 18% of the demo table's rows). Detection proposes each
such order that holds on every row as an ``inequality`` constraint, so that
families learn the gap instead and keep it on every row. An order counts
only where chance cannot explain it: were the two columns independent, the
odds that every row keeps it must be under ``CHANCE``. Orders implied by two
others (``a <= b <= c`` gives ``a <= c``) are left out, and so are columns
equal on every row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulacra._dependencies import CHANCE, MIN_ROWS
from simulacra._rules import _Scale
from simulacra.metadata import Column

__all__ = ["detect_date_orders"]

MAX_COLUMNS = 20  # datetime columns searched (the first ones)


def detect_date_orders(data: pd.DataFrame, columns: dict[str, Column]) -> list[dict[str, Any]]:
    """``inequality`` constraints between datetime columns whose order every row keeps."""
    names = [n for n, c in columns.items() if c.type == "datetime"][:MAX_COLUMNS]
    if len(names) < 2:
        return []
    read: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in names:  # a column equal to an earlier one on every row is passed over
        values, null = _Scale(columns[name]).read(data[name])
        if not any(np.array_equal(null, n) and np.array_equal(values, v) for v, n in read.values()):
            read[name] = values, null
    before = {(a, b) for a in read for b in read if a != b and _always_before(*read[a], *read[b])}
    implied = {(a, c) for a, b in before for b2, c in before if b == b2}
    return [
        {"type": "inequality", "low": a, "high": b}
        for a in read
        for b in read
        if (a, b) in before and (a, b) not in implied
    ]


def _always_before(
    low: np.ndarray, low_null: np.ndarray, high: np.ndarray, high_null: np.ndarray
) -> bool:
    """Whether ``low <= high`` on every row holding both, beyond what chance explains."""
    both = ~(low_null | high_null)
    if both.sum() < MIN_ROWS:
        return False
    low, high = low[both], high[both]
    if (low > high).any():
        return False
    # were they independent, a row would break the order with the chance that a
    # random high is below a random low (0 when the ranges alone keep it)
    breaks = np.searchsorted(np.sort(high), low, side="left").mean() / len(high)
    return bool(breaks > 0 and len(low) * np.log1p(-breaks) < np.log(CHANCE))
