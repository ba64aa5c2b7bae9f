"""The contract every per-column transform keeps."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from simulacra.metadata import Column


class Transform(ABC):
    """Reversible map between one column's non-null values and numbers a model learns.

    ``kind`` is ``"continuous"`` (floats) or ``"discrete"`` (integer codes
    ``0 .. cardinality - 1``). ``decode(encode(x))`` gives ``x`` back up to the
    column's declared precision.
    """

    kind: ClassVar[str]

    def __init__(self, column: Column) -> None:
        self.column = column

    @property
    def cardinality(self) -> int | None:
        return None

    def fit(self, values: pd.Series, *, rng: np.random.Generator | None = None) -> Self:
        """Learn from the column's non-null values.

        ``rng`` is for a transform that draws while it learns (a categorical
        column's open tail); without it such a transform draws nothing.
        """
        return self

    @abstractmethod
    def encode(self, values: pd.Series) -> np.ndarray:
        """Non-null values to float64 (continuous) or int64 codes (discrete)."""

    @abstractmethod
    def decode(self, encoded: np.ndarray, null: np.ndarray | None = None) -> pd.Series:
        """Numbers back to values; rows where ``null`` is true become missing."""

    def get_state(self) -> dict[str, Any]:
        return {}

    def set_state(self, state: dict[str, Any]) -> Self:
        return self


def with_nulls(values: np.ndarray, null: np.ndarray | None, dtype: str | None = None) -> pd.Series:
    """A Series of ``values`` with missing cells where ``null`` is true.

    A column that may hold gaps (``null`` given) keeps the dtype that can hold
    them even when none of these rows is missing, so every batch has one dtype.
    """
    series = pd.Series(values)
    if null is None:
        return series
    if dtype is not None:
        series = series.astype(dtype)
    elif series.dtype.kind in "iub":
        series = series.astype(object)
    if null.any():
        series[null] = None
    return series
