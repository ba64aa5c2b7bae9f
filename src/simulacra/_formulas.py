"""Finding sums that hold on every row: ``total = a + b + c``, ``balance = amount - paid``.

A table often carries a column that is the sum or difference of two or three
others to the cent (a loan's ``paid_total`` of its principal, interest and
fees). Detection proposes each as a ``formula`` constraint, so that every
family computes the column instead of learning it and the total always adds
up. The search runs on a few random projections of the rows (a relation
that holds on every row holds on any weighted sum of them), so it costs a
handful of dot products per candidate, and each relation found is then
checked on every row.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from simulacra.metadata import Column

__all__ = ["detect_sums", "half_step"]

MAX_COLUMNS = 40  # numbers searched (the first ones); triples grow with the cube
MIN_ROWS = 20  # rows a table needs before a relation counts as evidence
PROJECTIONS = 3
RELATIVE = 1e-9  # float noise allowed on top of each value's rounding


def detect_sums(data: pd.DataFrame, columns: dict[str, Column]) -> list[dict[str, Any]]:
    """``formula`` constraints for columns equal to a signed sum of two or three others.

    Candidates are numbers without gaps that vary, named so that an
    expression can hold them. Each column is the result of at most one
    formula and never a part of another; among the ways to write one
    relation, all-plus signs and the largest column as the result come first.
    """
    names = [
        n
        for n, c in columns.items()
        if c.type == "numerical" and n.isidentifier() and _usable(data[n])
    ][:MAX_COLUMNS]
    if len(names) < 3 or len(data) < MIN_ROWS:
        return []
    values = data[names].to_numpy(dtype=np.float64)
    steps = np.array([half_step(columns[n]) for n in names])
    found = _candidates(values, steps)
    size = np.abs(values).mean(axis=0)
    found.sort(key=lambda f: (sum(s < 0 for s in f[2]), len(f[1]), -size[f[0]]))
    out, results, parts_used = [], set(), set()
    for target, parts, signs in found:
        involved = {target, *parts}
        if (
            target in parts_used
            or involved & results
            or not _holds(values, steps, target, parts, signs)
        ):
            continue
        results.add(target)
        parts_used |= set(parts)
        out.append(
            {"type": "formula", "column": names[target], "expression": _text(names, parts, signs)}
        )
    return out


def _usable(values: pd.Series) -> bool:
    return bool(values.notna().all() and np.isfinite(values.to_numpy(np.float64)).all()) and (
        values.nunique() > 1
    )


def half_step(column: Column) -> float:
    """Half the unit a column is rounded to: what rounding may move a value by."""
    if column.integer:
        return 0.0
    if column.decimals is not None:
        return 0.5 * 10.0**-column.decimals
    return 0.0  # full precision: only float noise (RELATIVE)


def _candidates(values: np.ndarray, steps: np.ndarray) -> list[tuple[int, tuple, tuple]]:
    """(result, parts, signs) whose projections agree within their rounding, not yet checked."""
    weights = np.random.default_rng(0).standard_normal((PROJECTIONS, len(values)))
    z = weights @ values  # (projections, columns)
    size = np.abs(weights) @ np.abs(values)  # how large float noise can make each projection
    mass = np.abs(weights).sum(axis=1)  # a unit of rounding per row, summed over the projection
    m = values.shape[1]
    found = []
    for k in (2, 3):
        parts = np.array(list(itertools.combinations(range(m), k)))  # (C, k)
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=k)))  # (S, k)
        combined = np.einsum("pck,sk->pcs", z[:, parts], signs)  # (P, C, S)
        rounding = steps[parts].sum(axis=1)[:, None] + steps[None, :]  # (C, m)
        noise = size[:, parts].sum(axis=2)[:, :, None] + size[:, None, :]  # (P, C, m)
        tol = mass[:, None, None] * rounding[None] + RELATIVE * noise  # (P, C, m)
        close = np.all(np.abs(z[:, None, None, :] - combined[..., None]) <= tol[:, :, None], axis=0)
        c, sgn, target = np.nonzero(close)  # (C, S, m) -> candidates
        for ci, si, t in zip(c, sgn, target, strict=True):
            if t not in parts[ci]:
                found.append((int(t), tuple(int(p) for p in parts[ci]), tuple(signs[si])))
    return found


def _holds(values: np.ndarray, steps: np.ndarray, target: int, parts: tuple, signs: tuple) -> bool:
    """Whether the result equals the signed sum on every row, within rounding."""
    total = values[:, list(parts)] @ np.asarray(signs)
    scale = np.abs(values[:, [target, *parts]]).sum(axis=1)
    tol = steps[target] + steps[list(parts)].sum() + RELATIVE * scale
    return bool(np.all(np.abs(values[:, target] - total) <= tol))


def _text(names: list[str], parts: tuple, signs: tuple) -> str:
    text = names[parts[0]] if signs[0] > 0 else f"-{names[parts[0]]}"
    for p, s in zip(parts[1:], signs[1:], strict=True):
        text += f" {'+' if s > 0 else '-'} {names[p]}"
    return text
