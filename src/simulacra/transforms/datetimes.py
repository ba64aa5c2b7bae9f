"""Datetimes as seconds since 1970; back in their source format and resolution."""

from __future__ import annotations

import re
from typing import Any, Self

import numpy as np
import pandas as pd

from simulacra import _strings
from simulacra.transforms.base import Transform, with_nulls

_NS = {"D": 86_400 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_FIELDS = re.compile(r"%[YmdHMS]|%%|[^%]+")  # formats the fast writer handles
_WIDTH = {"Y": 4, "m": 2, "d": 2, "H": 2, "M": 2, "S": 2}


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
            return _format(stamps, col.format, null)
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


def _format(stamps: np.ndarray, fmt: str, null: np.ndarray | None) -> pd.Series:
    """Datetimes as text in ``fmt``; common numeric formats are written vectorized."""
    tokens = _FIELDS.findall(fmt)
    if "".join(tokens) != fmt:
        return with_nulls(pd.Series(stamps).dt.strftime(fmt).to_numpy(dtype=object), null)
    days = stamps.astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    seconds = (stamps - days).astype("timedelta64[s]").astype(np.int64)
    fields = {
        "Y": days.astype("datetime64[Y]").astype(np.int64) + 1970,
        "m": months.astype(np.int64) % 12 + 1,
        "d": (days - months).astype(np.int64) + 1,
        "H": seconds // 3600,
        "M": seconds // 60 % 60,
        "S": seconds % 60,
    }
    n = len(stamps)
    parts = [
        _strings.digits(fields[t[1]], _WIDTH[t[1]])
        if t[0] == "%" and t != "%%"
        else _strings.literal(t.replace("%%", "%"), n)
        for t in tokens
    ]
    return _strings.to_series(_strings.join(parts), null)
