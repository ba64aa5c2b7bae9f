"""Finding dates that follow others (a last purchase never before its signup), and numbers.

Numbers follow the same rules with two more (see :func:`detect_orders`):
they must overlap, and those rarely equal are kept as they are (``redraw``).

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

__all__ = ["detect_orders"]

MAX_COLUMNS = 20  # datetime columns searched (the first ones)
MAX_NUMBERS = 60  # numerical columns searched (the first ones)
CHECK_ROWS = 100_000  # rows the chance of an order is estimated on
OVERLAP = 0.1  # numbers: the share of random pairs that would break the order
TIES = 0.05  # numbers equal on fewer rows are kept as they are, not learned as a gap


def detect_orders(
    data: pd.DataFrame, columns: dict[str, Column], tied: list[set[str]] | None = None
) -> list[dict[str, Any]]:
    """``inequality`` constraints between dates, and between numbers, whose order every row keeps.

    Numbers count only when they overlap: were they independent, at least
    ``OVERLAP`` of rows would break the order. A count of rooms is below an
    area in square feet on every row, but they are not the same kind of
    quantity, and nothing is gained by a rule; a first floor's area below the
    living area is a fact a model must keep. Columns of one set in ``tied``
    (a formula's) are not ordered: the formula already holds them. Numbers
    equal on at least ``TIES`` of rows (no second floor) learn the gap, which
    holds those ties; the others get ``"redraw": true``: a gap would lose the
    round amounts of the later column (a loan of 15,000 less a smooth balance).
    """
    dates = [n for n, c in columns.items() if c.type == "datetime"][:MAX_COLUMNS]
    numbers = [n for n, c in columns.items() if c.type == "numerical"][:MAX_NUMBERS]
    tied = tied or []
    return _orders(data, columns, dates, 0.0, tied) + _orders(
        data, columns, numbers, OVERLAP, tied, ties=TIES
    )


def _orders(
    data: pd.DataFrame,
    columns: dict[str, Column],
    names: list[str],
    overlap: float,
    tied: list[set[str]],
    ties: float = 0.0,
) -> list[dict[str, Any]]:
    """The orders among ``names`` (one kind of column) that every row keeps, beyond chance.

    A pair equal on fewer than ``ties`` of the rows holding both gets ``"redraw": true``.
    """
    if len(names) < 2:
        return []
    read = {n: _Scale(columns[n]).read(data[n]) for n in names}
    rank = {n: i for i, n in enumerate(names)}
    rng = np.random.default_rng(0)
    ordered = {
        (a, b)
        for a in names
        for b in names
        if a != b
        and not any({a, b} <= group for group in tied)
        and _always_before(*read[a], *read[b], rng, overlap)
    }
    equal = {(a, b) for a, b in ordered if (b, a) in ordered and rank[a] < rank[b]}
    copies = {b for _, b in equal}  # no rule of their own: see the module's notes
    chain = {(a, b) for a, b in ordered if not {a, b} & copies}
    # a model draws a column with gaps only where the training rows have them
    implied = {(a, c) for a, b in chain for b2, c in chain if b == b2 and not read[b][1].any()}
    rules = []
    for a in names:
        for b in names:
            if (a, b) in chain and (a, b) not in implied:
                rule: dict[str, Any] = {"type": "inequality", "low": a, "high": b}
                if _tie_share(*read[a], *read[b]) < ties:
                    rule["redraw"] = True
                rules.append(rule)
    return rules


def _tie_share(
    low: np.ndarray, low_null: np.ndarray, high: np.ndarray, high_null: np.ndarray
) -> float:
    """The share of rows holding both columns where they are equal."""
    both = ~(low_null | high_null)
    return float((low[both] == high[both]).mean())


def _always_before(
    low: np.ndarray,
    low_null: np.ndarray,
    high: np.ndarray,
    high_null: np.ndarray,
    rng: np.random.Generator,
    overlap: float = 0.0,
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
    return bool(breaks > overlap and rows * np.log1p(-breaks) < np.log(CHANCE))
