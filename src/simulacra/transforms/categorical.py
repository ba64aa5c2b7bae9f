"""Categories as integer codes; rare values pooled so no single record's value leaks.

Pooled rows come back as ``(other)``, or, for a text column declared with
``tail_words`` (an open tail, such as job titles), as new labels made of the
column's common words that no training row holds (see ``_tail.py``).
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
import pyarrow as pa

from simulacra import _strings
from simulacra.transforms._tail import pool_size, tail_pool
from simulacra.transforms.base import Transform, with_nulls

RARE_LABEL = "(other)"


class CategoricalTransform(Transform):
    """Codes ``0 .. k-1`` for the declared categories, ``k`` for every other value.

    Values not declared in the metadata are pooled into one code. On the way
    back that code becomes ``"(other)"`` for text categories (or the most
    common category for non-text ones), never one of the pooled real values.
    With the column's ``tail_words`` set and an ``rng`` given to ``fit``, text
    categories keep an open tail instead: ``tail_`` holds new labels made of
    words that at least ``tail_words`` rows hold, none equal to a real value,
    and ``decode(..., rng=rng)`` draws pooled rows' labels from it uniformly.

    >>> from simulacra.metadata import Column
    >>> t = CategoricalTransform(Column("categorical", categories=["a", "b"]))
    >>> t = t.fit(pd.Series(["a", "b", "zed"]))
    >>> t.encode(pd.Series(["b", "zed", "a"])).tolist()
    [1, 2, 0]
    >>> t.decode(np.array([1, 2, 0])).tolist()
    ['b', '(other)', 'a']
    """

    kind = "discrete"

    def fit(self, values: pd.Series, *, rng: np.random.Generator | None = None) -> Self:
        declared = self.column.categories
        self.categories_ = list(declared) if declared is not None else sorted(values.unique())
        codes = self._codes(values)
        self.has_other_ = bool((codes < 0).any())
        counts = np.bincount(codes[codes >= 0], minlength=len(self.categories_))
        self.mode_ = int(counts.argmax()) if len(counts) else 0
        self.tail_: list[str] = []
        min_rows = self.column.tail_words
        if min_rows and rng is not None and self.has_other_ and self._text(values):
            rare = values[codes < 0]
            size = pool_size(len(rare), rare.nunique())
            self.tail_ = tail_pool(values.astype(str), min_rows, size, rng, rare.astype(str))
        return self

    def _text(self, values: pd.Series) -> bool:
        if not all(isinstance(c, str) for c in self.categories_):
            return False
        return pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")

    @property
    def cardinality(self) -> int:
        return len(self.categories_) + int(self.has_other_)

    def _codes(self, values: pd.Series) -> np.ndarray:
        cats = pd.Index(self.categories_)
        if pd.api.types.is_numeric_dtype(cats.dtype) and not pd.api.types.is_numeric_dtype(
            values.dtype
        ):
            values = pd.to_numeric(values, errors="coerce")
        elif all(isinstance(c, str) for c in self.categories_) and len(values):
            if pd.api.types.infer_dtype(values, skipna=True) != "string":
                values = values.astype(str)  # a Categorical of numbers, its labels read as text
        return np.asarray(cats.get_indexer(values), dtype="int64")

    def encode(self, values: pd.Series) -> np.ndarray:
        codes = self._codes(values)
        codes[codes < 0] = len(self.categories_)
        return codes

    def decode(
        self,
        encoded: np.ndarray,
        null: np.ndarray | None = None,
        *,
        rng: np.random.Generator | None = None,
    ) -> pd.Series:
        """Codes back to labels; with ``rng``, pooled rows draw their labels from ``tail_``."""
        labels = list(self.categories_)
        text = all(isinstance(c, str) for c in labels)
        if self.has_other_:
            labels.append(RARE_LABEL if text else self.categories_[self.mode_])
        codes = np.clip(encoded, 0, len(labels) - 1)
        if text and self.tail_ and rng is not None:
            pooled = np.flatnonzero(codes == len(self.categories_))
            codes = codes.copy()
            codes[pooled] = len(labels) + rng.integers(0, len(self.tail_), len(pooled))
            labels += self.tail_
        if text:
            decoded = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), labels)
            return _strings.to_series(decoded.cast(pa.string()), null)
        return with_nulls(np.asarray(labels)[codes], null)

    def get_state(self) -> dict[str, Any]:
        state = {"categories": self.categories_, "has_other": self.has_other_, "mode": self.mode_}
        if self.tail_:
            state["tail"] = list(self.tail_)
        return state

    def set_state(self, state: dict[str, Any]) -> Self:
        self.categories_ = list(state["categories"])
        self.has_other_ = bool(state["has_other"])
        self.mode_ = int(state["mode"])
        self.tail_ = [str(label) for label in state.get("tail", [])]
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
