"""Datetimes as seconds since 1970; back in their source format and resolution."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd

from simulacra.transforms.base import Transform, with_nulls

_NS = {"D": 86_400 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
# strftime formats that numpy can write fast: format -> (numpy unit, fix-up)
_FAST = {
    "%Y-%m-%d": ("D", None),
    "%Y-%m-%dT%H:%M:%S": ("s", None),
    "%Y-%m-%d %H:%M:%S": ("s", " "),
    "%Y-%m-%dT%H:%M": ("m", None),
    "%Y-%m-%d %H:%M": ("m", " "),
}


class DatetimeTransform(Transform):
    """Encode as float seconds; decode rounded to the resolution, within bounds.

    Text sources come back as text in the same ``format``; native datetimes
    come back as datetimes (with their time zone, if they had one).

    >>> from simulacra.metadata import Column
    >>> t = DatetimeTransform(Column("datetime", format="%Y-%m-%d", resolution="D"))
    >>> t = t.fit(pd.Series(["2024-01-31", "2024-03-01"]))
    >>> t.decode(t.encode(pd.Series(["2024-02-10"])) + 3600.0).tolist()
    ['2024-02-10']
    """

    kind = "continuous"

    def fit(self, values: pd.Series) -> Self:
        stamps = self._parse(values)
        self.tz_ = None if stamps.dt.tz is None else str(stamps.dt.tz)
        return self

    def _parse(self, values: pd.Series) -> pd.Series:
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            return values
        return pd.to_datetime(values.astype(str), format=self.column.format)

    def encode(self, values: pd.Series) -> np.ndarray:
        stamps = self._parse(values)
        if stamps.dt.tz is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        return stamps.astype("datetime64[ns]").astype("int64").to_numpy() / 1e9

    def decode(self, encoded: np.ndarray, null: np.ndarray | None = None) -> pd.Series:
        col = self.column
        step = _NS[col.resolution or "ns"]
        ns = np.rint(np.asarray(encoded, dtype="float64") * 1e9 / step) * step
        lo, hi = (pd.Timestamp(b).value if b is not None else None for b in (col.min, col.max))
        ns = np.clip(ns, lo if lo is not None else -np.inf, hi if hi is not None else np.inf)
        stamps = ns.astype("int64").astype("datetime64[ns]")
        if col.format is not None:
            return with_nulls(_format(stamps, col.format), null)
        series = pd.Series(stamps)
        if self.tz_ is not None:
            series = series.dt.tz_localize("UTC").dt.tz_convert(self.tz_)
        if null is not None and null.any():
            series[null] = pd.NaT
        return series

    def get_state(self) -> dict[str, Any]:
        return {"tz": self.tz_}

    def set_state(self, state: dict[str, Any]) -> Self:
        self.tz_ = state["tz"]
        return self


def _format(stamps: np.ndarray, fmt: str) -> np.ndarray:
    fast = _FAST.get(fmt)
    if fast is None:
        return pd.Series(stamps).dt.strftime(fmt).to_numpy(dtype=object)
    unit, sep = fast
    text = np.datetime_as_string(stamps.astype(f"datetime64[{unit}]"), unit=unit)
    if sep is not None:
        text = np.strings.replace(text, "T", sep)
    return text.astype(object)
