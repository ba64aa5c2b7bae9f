"""A training DataFrame's column dtypes, recorded at fit and given back to samples.

A sample comes back in the dtypes the model was fitted on wherever that loses
nothing: an ordered ``Categorical`` keeps its order, an ``int32`` stays
``int32``, a ``float64`` column of whole numbers with gaps stays ``float64``
(rather than ``Int64``). Where a value does not fit (a gap in a plain integer
column, a new label drawn for a category's open tail) the column keeps the
dtype it was decoded in, or the categories gain the new labels at the end.

>>> train = pd.DataFrame({"size": pd.Categorical(["S", "L"], ["S", "M", "L"], ordered=True)})
>>> kept = record(train)
>>> restore(pd.DataFrame({"size": ["M", "S"]}), kept)["size"].cat.categories.tolist()
['S', 'M', 'L']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["record", "restore", "widened"]

_KEPT = {  # dtype names given back: numpy's and pandas' nullable ones
    *(f"{s}int{b}" for s in ("", "u") for b in (8, 16, 32, 64)),
    *(f"{s}Int{b}" for s in ("", "U") for b in (8, 16, 32, 64)),
    "float32",
    "float64",
    "Float32",
    "Float64",
    "bool",
    "boolean",
    "string",
}


def record(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Each column's dtype, as JSON-ready data, where a sample can be given it back."""
    out: dict[str, dict[str, Any]] = {}
    for name, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype):
            categories = [_plain(v) for v in dtype.categories]
            if all(isinstance(v, (str, int, float, bool)) for v in categories):
                out[str(name)] = {
                    "dtype": "category",
                    "categories": categories,
                    "ordered": bool(dtype.ordered),
                }
        elif str(dtype) in _KEPT:
            out[str(name)] = {"dtype": str(dtype)}
    return out


def widened(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with float32 columns as float64 of the decimals they print as.

    A float32 18.35 is 18.350000381 in float64, so sums and products of such columns
    miss their totals by more than the data's precision; read as its shortest decimal
    text it is 18.35. The caller's frame is not changed.
    """
    wide = {}
    for name, dtype in frame.dtypes.items():
        if str(dtype) in ("float32", "Float32"):
            values = frame[name].astype("float32")  # pandas' NA as NaN
            wide[name] = values.astype(str).astype("float64")
    return frame.assign(**wide) if wide else frame


def restore(frame: pd.DataFrame, dtypes: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """``frame`` with each recorded column in its recorded dtype, where nothing is lost."""
    if not dtypes:
        return frame
    changed = {}
    for name, spec in dtypes.items():
        if name in frame.columns:
            try:
                column = _restored(frame[name], spec)
            except (TypeError, ValueError, OverflowError):
                continue  # the decoded dtype stays
            if column is not frame[name]:
                changed[name] = column
    return frame.assign(**changed) if changed else frame


def _restored(column: pd.Series, spec: dict[str, Any]) -> pd.Series:
    if spec["dtype"] == "category":
        return _categorical(column, list(spec["categories"]), bool(spec["ordered"]))
    target = pd.api.types.pandas_dtype(spec["dtype"])
    if column.dtype == target:
        return column
    if isinstance(target, np.dtype) and target.kind in "iub" and column.isna().any():
        return column  # a plain integer or bool column holds no gap
    if isinstance(target, np.dtype) and target.kind in "iu":
        values = column.to_numpy(dtype="float64")
        info = np.iinfo(target)
        if not (np.all(values == np.round(values)) and values.min() >= info.min):
            return column
        if values.max() > info.max:
            return column
    if isinstance(target, np.dtype) and target.kind == "b":
        if not column.isin([True, False]).all():
            return column
    return column.astype(target)


def _categorical(column: pd.Series, categories: list[Any], ordered: bool) -> pd.Series:
    """The column's values as codes of ``categories`` (labels of numbers may come back as
    text); values not among them are new categories, after the known ones."""
    present = column.notna().to_numpy()
    codes = pd.Index(categories).get_indexer(column)
    missed = (codes < 0) & present
    if missed.any():  # read as text: "1" is the category 1
        text = column[missed].astype(str)
        codes[missed] = pd.Index([str(c) for c in categories]).get_indexer(text)
        missed = (codes < 0) & present
    if missed.any():
        new, at = np.unique(column[missed].astype(str).to_numpy(), return_inverse=True)
        codes[missed] = len(categories) + at
        categories = categories + new.tolist()
    codes[~present] = -1
    values = pd.Categorical.from_codes(codes, categories=categories, ordered=ordered)
    return pd.Series(values, index=column.index, name=column.name)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value JSON writes."""
    return value.item() if isinstance(value, np.generic) else value
