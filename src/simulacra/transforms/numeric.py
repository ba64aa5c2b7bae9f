"""Numbers: ints stay ints, floats keep their precision, values stay within bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulacra.transforms.base import Transform, with_nulls


class NumericTransform(Transform):
    """Identity on the way in; clip to bounds and round on the way out.

    >>> from simulacra.metadata import Column
    >>> t = NumericTransform(Column("numerical", integer=True, min=0, max=10))
    >>> t.decode(np.array([-3.2, 4.6, 12.0])).tolist()
    [0, 5, 10]
    """

    kind = "continuous"

    def encode(self, values: pd.Series) -> np.ndarray:
        return pd.to_numeric(values).to_numpy(dtype="float64")

    def decode(self, encoded: np.ndarray, null: np.ndarray | None = None) -> pd.Series:
        col = self.column
        lo = -np.inf if col.min is None else col.min
        hi = np.inf if col.max is None else col.max
        out = np.clip(encoded, lo, hi)
        if col.integer:
            return with_nulls(np.rint(out).astype("int64"), null, "Int64")
        if col.decimals is not None:
            out = np.round(out, col.decimals)
        return with_nulls(out, null, "float64")
