"""Correlation matrices for a Gaussian copula: checks, the nearest valid matrix, draws.

>>> problem, nearest = check([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]])
>>> "not positive semi-definite" in problem
True
>>> bool(np.linalg.eigvalsh(np.array(nearest)).min() >= 0)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

__all__ = ["check", "factor", "nearest", "uniforms"]

_TOL = 1e-9


def check(matrix: Any) -> tuple[str | None, list[list[float]] | None]:
    """What is wrong with ``matrix`` as a correlation matrix, and the nearest valid one if any."""
    m = np.asarray(matrix, dtype=float)
    k = m.shape[0] if m.ndim == 2 else 0
    if m.ndim != 2 or m.shape != (k, k):
        return "the matrix must be square, one row per column listed", None
    if not np.allclose(m, m.T, atol=_TOL):
        i, j = np.argwhere(~np.isclose(m, m.T, atol=_TOL))[0]
        return f"the matrix is not symmetric: row {i + 1}, column {j + 1} differs", None
    if not np.allclose(np.diag(m), 1.0):
        return "the diagonal must be all 1 (each column's correlation with itself)", None
    if np.abs(m).max() > 1:
        return "correlations must lie between -1 and 1", None
    low = float(np.linalg.eigvalsh(m).min())
    if low < -_TOL:
        fixed = nearest(m)
        return (
            f"the matrix is not positive semi-definite (its smallest eigenvalue is "
            f"{low:.3g}), so no data can have these correlations; the nearest valid matrix "
            f"is {_flow(fixed)}"
        ), fixed
    return None, None


def nearest(m: np.ndarray, decimals: int = 2) -> list[list[float]]:
    """The nearest valid correlation matrix by eigenvalue clipping, rounded to ``decimals``.

    Negative eigenvalues are raised to a floor, the matrix rebuilt and scaled
    back to a unit diagonal; the floor grows until the rounded matrix is still
    positive semi-definite.
    """
    values, vectors = np.linalg.eigh(m)
    floor = 1e-6
    for _ in range(12):
        fixed = (vectors * np.maximum(values, floor)) @ vectors.T
        d = np.sqrt(np.diag(fixed))
        fixed = np.round(fixed / np.outer(d, d), decimals)
        np.fill_diagonal(fixed, 1.0)
        if np.linalg.eigvalsh(fixed).min() >= 0:
            break
        floor *= 4
    return [[float(x) for x in row] for row in fixed]


def _flow(m: list[list[float]]) -> str:
    rows = (", ".join(f"{x:g}" for x in row) for row in m)
    return "[" + ", ".join(f"[{r}]" for r in rows) + "]"


def factor(matrix: Any) -> np.ndarray:
    """``L`` with ``L @ L.T == matrix`` (works for semi-definite matrices too)."""
    values, vectors = np.linalg.eigh(np.asarray(matrix, dtype=float))
    return vectors * np.sqrt(np.maximum(values, 0))


def uniforms(chol: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` rows of uniforms joined by the Gaussian copula with factor ``chol``."""
    z = rng.standard_normal((n, chol.shape[0])) @ chol.T
    return special.ndtr(z)
