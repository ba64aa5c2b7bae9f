"""Finding categories that name another: a city its country, a sub-grade its grade.

When every value of one category goes with a single value of another (each
city lies in one country), a model that learns the two apart can pair them
wrongly: a Gaussian copula wrote "Paris, Germany" on three rows in four.
Detection proposes each such group as a ``fixed_combinations`` constraint, so
that every family learns the group as one code and only combinations the data
holds come back. A dependency counts only where chance cannot explain it:
the odds that every value's rows share one partner value, were the two
columns independent, must be under ``CHANCE``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from simulacra.metadata import Column

__all__ = ["detect_fixed_combinations"]

MAX_COLUMNS = 40  # categories searched (the first ones): pairs grow with the square
MIN_ROWS = 20  # rows a table needs before a dependency counts as evidence
CHECK_ROWS = 20_000  # rows a candidate pair is screened on before the whole table
CHANCE = 1e-6  # largest chance that independent columns look like a dependency
POOLED = -2  # the code of a value outside the declared categories (missing: -1)


def detect_fixed_combinations(
    data: pd.DataFrame, columns: dict[str, Column]
) -> list[dict[str, Any]]:
    """``fixed_combinations`` constraints: a category and every category it determines.

    Candidates are categorical and boolean columns; a missing value counts as a
    value of its own. A column's rare values (pooled when a model learns, so
    the group keeps whichever partners they have) are passed over when it
    determines others, and a column that holds any cannot be determined. A
    column that determines others leads a group of them all; groups never
    share a column, and those that cover the most columns come first.
    """
    codes = {
        name: code
        for name, column in columns.items()
        if column.type in ("categorical", "boolean")
        and column.tail_words is None
        and (code := _codes(data[name], column)) is not None
    }
    names = list(codes)[:MAX_COLUMNS]
    if len(names) < 2 or len(data) < MIN_ROWS:
        return []
    rng = np.random.default_rng(0)
    screen = slice(None)
    if len(data) > CHECK_ROWS:
        screen = np.sort(rng.choice(len(data), CHECK_ROWS, replace=False))
    led = [name for name in names if not (codes[name] == POOLED).any()]
    determines: dict[str, list[str]] = {name: [] for name in names}
    for a in names:
        declared = codes[a] != POOLED  # rare values lead nowhere: their partners vary
        seen = declared[screen]
        for b in led:
            if a == b or not _determines(codes[a][screen][seen], codes[b][screen][seen]):
                continue
            x, y = codes[a][declared], codes[b][declared]
            if _determines(x, y) and _beyond_chance(x, y):
                determines[a].append(b)
    out, used = [], set()
    leaders = sorted(names, key=lambda n: -len(determines[n]))
    for lead in leaders:
        group = [lead, *determines[lead]]
        if len(group) < 2 or used & set(group):
            continue
        used |= set(group)
        out.append({"type": "fixed_combinations", "columns": [n for n in names if n in group]})
    return out


def _codes(values: pd.Series, column: Column) -> np.ndarray | None:
    """Each row's category number (missing: -1, a rare value: ``POOLED``), or None."""
    if column.type == "boolean":  # True/False, 1/0 or two labels: two values and gaps
        codes, seen = pd.factorize(values)
        return codes.astype(np.int64) if len(seen) == 2 else None
    categories = column.categories or []
    if len(categories) < 2:
        return None
    index = pd.Index(categories).get_indexer(pd.Index(values.astype(object)))
    return np.where(values.isna(), -1, np.where(index < 0, POOLED, index)).astype(np.int64)


def _determines(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether each value of ``a`` goes with a single value of ``b`` (codes from -1 up)."""
    width = int(b.max(initial=0)) + 2
    pairs = np.unique((a + 1) * width + (b + 1))
    return len(pairs) == len(np.unique(a)) and len(np.unique(pairs % width)) > 1


def _beyond_chance(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether independent columns with these shares would rarely look this dependent.

    Were ``b`` independent of ``a``, the ``n`` rows of a value of ``a`` would all
    share one value of ``b`` with chance ``sum_v p_v ** n``; the product over
    the values of ``a`` must be under ``CHANCE`` (a flag true on 2% of rows is
    constant within small groups by chance alone).
    """
    _, b_counts = np.unique(b, return_counts=True)
    shares = b_counts / len(b)
    _, a_counts = np.unique(a, return_counts=True)
    log_chance = logsumexp(a_counts[:, None] * np.log(shares)[None, :], axis=1).sum()
    return bool(log_chance < np.log(CHANCE))
