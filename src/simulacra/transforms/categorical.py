"""Categories as integer codes; rare values pooled so no single record's value leaks."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
import pyarrow as pa

from simulacra import _strings
from simulacra.transforms.base import Transform, with_nulls

RARE_LABEL = "(other)"


class CategoricalTransform(Transform):
    """Codes ``0 .. k-1`` for the declared categories, ``k`` for every other value.

    Values not declared in the metadata are pooled into one code. On the way
    back that code becomes ``"(other)"`` for text categories (or the most
    common category for non-text ones), never one of the pooled real values.

    >>> from simulacra.metadata import Column
    >>> t = CategoricalTransform(Column("categorical", categories=["a", "b"]))
    >>> t = t.fit(pd.Series(["a", "b", "zed"]))
    >>> t.encode(pd.Series(["b", "zed", "a"])).tolist()
    [1, 2, 0]
    >>> t.decode(np.array([1, 2, 0])).tolist()
    ['b', '(other)', 'a']
    """

    kind = "discrete"

    def fit(self, values: pd.Series) -> Self:
        declared = self.column.categories
        self.categories_ = list(declared) if declared is not None else sorted(values.unique())
        codes = self._codes(values)
        self.has_other_ = bool((codes < 0).any())
        counts = np.bincount(codes[codes >= 0], minlength=len(self.categories_))
        self.mode_ = int(counts.argmax()) if len(counts) else 0
        return self

    @property
    def cardinality(self) -> int:
        return len(self.categories_) + int(self.has_other_)

    def _codes(self, values: pd.Series) -> np.ndarray:
        cats = pd.Index(self.categories_)
        if pd.api.types.is_numeric_dtype(cats.dtype) and not pd.api.types.is_numeric_dtype(
            values.dtype
        ):
            values = pd.to_numeric(values, errors="coerce")
        return np.asarray(cats.get_indexer(values), dtype="int64")

    def encode(self, values: pd.Series) -> np.ndarray:
        codes = self._codes(values)
        codes[codes < 0] = len(self.categories_)
        return codes

    def decode(self, encoded: np.ndarray, null: np.ndarray | None = None) -> pd.Series:
        labels = list(self.categories_)
        text = all(isinstance(c, str) for c in labels)
        if self.has_other_:
            labels.append(RARE_LABEL if text else self.categories_[self.mode_])
        codes = np.clip(encoded, 0, len(labels) - 1)
        if text:
            decoded = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), labels)
            return _strings.to_series(decoded.cast(pa.string()), null)
        return with_nulls(np.asarray(labels)[codes], null)

    def get_state(self) -> dict[str, Any]:
        return {"categories": self.categories_, "has_other": self.has_other_, "mode": self.mode_}

    def set_state(self, state: dict[str, Any]) -> Self:
        self.categories_ = list(state["categories"])
        self.has_other_ = bool(state["has_other"])
        self.mode_ = int(state["mode"])
        return self


class BooleanTransform(Transform):
    """True/false (or two labels such as yes/no) as codes 1/0."""

    kind = "discrete"

    @property
    def cardinality(self) -> int:
        return 2

    def encode(self, values: pd.Series) -> np.ndarray:
        true = self.column.true_label
        if true is None:
            return values.astype(bool).to_numpy(dtype="int64")
        return (values == true).to_numpy(dtype="int64")

    def decode(self, encoded: np.ndarray, null: np.ndarray | None = None) -> pd.Series:
        flags = np.asarray(encoded) == 1
        col = self.column
        if col.true_label is None:
            return with_nulls(flags, null, "boolean")
        return with_nulls(np.where(flags, col.true_label, col.false_label), null)
