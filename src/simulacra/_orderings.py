"""Finding dates that follow others: a last purchase never before its signup.

A model that learns two dates apart draws each from its own marginal and
breaks their order on many rows (a copula put ``last_purchase`` before
``signup_date`` on 18% of the demo table's rows). Detection proposes each
such order that holds on every row as an ``inequality`` constraint, so that
models learn the gap instead and keep it on every row (a condition on the
later date is then met by drawing again; ``"redraw": true`` keeps the column
as it is). An order counts only where chance cannot explain it: were the two
columns independent, the odds that every row keeps it must be under
``CHANCE``. Of columns equal wherever both hold a value, only the first is
ordered against others, and the pair gets no rule (a gap of 0 learned with
gaps in one column came back nonzero on 6% of a copula's rows: left for
later). An order implied by two others (``a <= b <= c`` gives ``a <= c``) is
left out when ``b`` is never missing (a model then never draws it missing
either).
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
CHECK_ROWS = 100_000  # rows the chance of an order is estimated on


def detect_date_orders(data: pd.DataFrame, columns: dict[str, Column]) -> list[dict[str, Any]]:
    """``inequality`` constraints between datetime columns whose order every row keeps."""
    names = [n for n, c in columns.items() if c.type == "datetime"][:MAX_COLUMNS]
    if len(names) < 2:
        return []
    read = {n: _Scale(columns[n]).read(data[n]) for n in names}
    rank = {n: i for i, n in enumerate(names)}
    rng = np.random.default_rng(0)
    ordered = {
        (a, b) for a in names for b in names if a != b and _always_before(*read[a], *read[b], rng)
    }
    equal = {(a, b) for a, b in ordered if (b, a) in ordered and rank[a] < rank[b]}
    copies = {b for _, b in equal}  # no rule of their own: see the module's notes
    chain = {(a, b) for a, b in ordered if not {a, b} & copies}
    # a model draws a column with gaps only where the training rows have them
    implied = {(a, c) for a, b in chain for b2, c in chain if b == b2 and not read[b][1].any()}
    return [
        {"type": "inequality", "low": a, "high": b}
        for a in names
        for b in names
        if (a, b) in chain and (a, b) not in implied
    ]


def _always_before(
    low: np.ndarray,
    low_null: np.ndarray,
    high: np.ndarray,
    high_null: np.ndarray,
    rng: np.random.Generator,
) -> bool:
    """Whether ``low <= high`` on every row holding both, beyond what chance explains."""
    both = ~(low_null | high_null)
    rows = int(both.sum())
    if rows < MIN_ROWS:
        return False
    low, high = low[both], high[both]
    if (low > high).any():
        return False
    if rows > CHECK_ROWS:  # the chance is a share: a sample estimates it well enough
        pick = rng.choice(rows, CHECK_ROWS, replace=False)
        low, high = low[pick], high[pick]
    # were they independent, a row would break the order with the chance that a
    # random high is below a random low (0 when the ranges alone keep it)
    breaks = np.searchsorted(np.sort(high), low, side="left").mean() / len(high)
    return bool(breaks > 0 and rows * np.log1p(-breaks) < np.log(CHANCE))
