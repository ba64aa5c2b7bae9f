"""Conditions on sampled rows: what the user asks for, in the model's encoded space.

``sample(n, conditions={"region": "North", "age": (30, 40)})`` or
``sample(conditions=df)`` (one output row per condition row). A condition
value is a single value (equality), a ``(low, high)`` tuple (a closed range,
either end ``None`` for open), a list or set (any of these values), or
``None`` (the cell is missing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Evidence"]


@dataclass(frozen=True)
class Evidence:
    """Conditions per row, in the encoded space a family learns from.

    ``allowed[name]`` is an ``(n, cardinality)`` bool array: the codes discrete
    column ``name`` may take in each row. ``bounds[name]`` is a pair of float
    arrays ``(low, high)`` of length ``n``: the closed interval continuous
    column ``name`` must fall in (``low == high`` pins the value). Columns not
    named are free. A condition on a nullable column also pins its ``#null``
    indicator through ``allowed``.
    """

    n: int
    allowed: dict[str, np.ndarray]
    bounds: dict[str, tuple[np.ndarray, np.ndarray]]

    @property
    def columns(self) -> list[str]:
        return [*self.allowed, *self.bounds]

    def take(self, rows: slice | np.ndarray) -> Evidence:
        """The evidence of a subset of rows."""
        allowed = {k: v[rows] for k, v in self.allowed.items()}
        bounds = {k: (lo[rows], hi[rows]) for k, (lo, hi) in self.bounds.items()}
        return Evidence(len(np.arange(self.n)[rows]), allowed, bounds)
