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
_MAX_DAY_SPAN = 1_000_000  # days a lookup table may cover (about 2,700 years)


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

    def fit(self, values: pd.Series, *, rng: np.random.Generator | None = None) -> Self:
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
        # Round in whole units of the resolution, then scale in integers: exact for s and D.
        units = np.rint(np.asarray(encoded, dtype="float64") * (1e9 / step))
        lo, hi = (
            pd.Timestamp(b).value // step if b is not None else None for b in (col.min, col.max)
        )
        units = np.clip(units, -np.inf if lo is None else lo, np.inf if hi is None else hi)
        ns = units.astype("int64") * step
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
    """Datetimes as text in ``fmt``; formats of %Y %m %d %H %M %S are written vectorized.

    Each field is formatted once per distinct day (or second of the day) in a
    lookup table, and rows only index into those tables.
    """
    tokens = _FIELDS.findall(fmt)
    seconds = stamps.astype("datetime64[s]").astype(np.int64)
    days, of_day = np.divmod(seconds, 86_400)
    first = int(days.min(initial=0))
    span = int(days.max(initial=0)) - first + 1
    if "".join(tokens) != fmt or span > _MAX_DAY_SPAN:
        return with_nulls(pd.Series(stamps).dt.strftime(fmt).to_numpy(dtype=object), null)
    calendar = np.arange(first, first + span).astype("datetime64[D]")
    months = calendar.astype("datetime64[M]")
    clock = np.arange(86_400)
    fields = {
        "Y": calendar.astype("datetime64[Y]").astype(np.int64) + 1970,
        "m": months.astype(np.int64) % 12 + 1,
        "d": (calendar - months).astype(np.int64) + 1,
        "H": clock // 3600,
        "M": clock // 60 % 60,
        "S": clock % 60,
    }
    index = {"day": days - first, "clock": of_day}
    # Runs of tokens that read the same table (day or clock), literals joining the run they sit in.
    runs: list[tuple[str, list[str]]] = []
    for token in tokens:
        source = ("clock" if token[1] in "HMS" else "day") if _is_field(token) else None
        if runs and (source is None or runs[-1][0] in (source, "")):
            kind = runs[-1][0] or (source or "")
            runs[-1] = (kind, [*runs[-1][1], token])
        else:
            runs.append((source or "", [token]))
    n = len(stamps)
    parts = []
    for source, run in runs:
        if not source:
            parts.append(_strings.literal("".join(run).replace("%%", "%"), n))
            continue
        size = len(fields["Y"] if source == "day" else clock)
        table = _strings.side_by_side(
            [
                _strings.digits(fields[t[1]], _WIDTH[t[1]])
                if _is_field(t)
                else _strings.literal(t.replace("%%", "%"), size)
                for t in run
            ]
        )
        parts.append(_strings.take(table, index[source]))
    return _strings.to_series(_strings.join(parts), null)


def _is_field(token: str) -> bool:
    return token[0] == "%" and token != "%%"
