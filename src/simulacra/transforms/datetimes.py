"""Datetimes as seconds since 1970; back in their source format and resolution.

A text format with a UTC offset (``%z`` writes ``+0200``, ``%:z`` writes
``+02:00``) is read as UTC instants. The offsets the data shows are learned as
a schedule over time (a daylight-saving change is a boundary: ``+01:00``
before it, ``+02:00`` after), so each value comes back at the offset in force
at its instant, as wall-clock time and offset.
"""

from __future__ import annotations

import re
from typing import Any, Self

import numpy as np
import pandas as pd

from simulacra import _strings
from simulacra._datetimes import OFFSET_TOKEN, offset_minutes, parse_datetimes
from simulacra.transforms.base import Transform, with_nulls

_NS = {"D": 86_400 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_FIELDS = re.compile(r"%[YmdHMS]|%:?z|%%|[^%]+")  # formats the fast writer handles
MAX_OFFSET_CHANGES = 64  # offset changes a schedule keeps (daylight saving: two a year)
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
        self.offset_from_, self.offset_minutes_ = np.zeros(0), np.zeros(1, dtype=np.int64)
        self.offset_zulu_ = False  # a zero offset written as Z, as the data writes it
        if self.column.format is not None and OFFSET_TOKEN.search(self.column.format):
            text = values[values.notna().to_numpy()].astype(str)
            self.offset_from_, self.offset_minutes_ = _offset_schedule(text, stamps[text.index])
            self.offset_zulu_ = bool(text.str.endswith("Z").any())
        return self

    def _parse(self, values: pd.Series) -> pd.Series:
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            return values
        return parse_datetimes(values.astype(str), self.column.format)

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
            offsets = None
            if OFFSET_TOKEN.search(col.format):
                starts = getattr(self, "offset_from_", np.zeros(0))
                minutes = getattr(self, "offset_minutes_", np.zeros(1, dtype=np.int64))
                offsets = minutes[np.searchsorted(starts, ns / 1e9, side="right")]
                stamps = stamps + (offsets * 60).astype("timedelta64[s]")  # the wall clock
            return _format(stamps, col.format, null, offsets, getattr(self, "offset_zulu_", False))
        series = pd.Series(stamps)
        if self.tz_ is not None:
            series = series.dt.tz_localize("UTC").dt.tz_convert(self.tz_)
        if null is not None and null.any():
            series[null] = pd.NaT
        return series

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"tz": self.tz_}
        if len(getattr(self, "offset_from_", ())) or getattr(self, "offset_minutes_", [0])[0]:
            state["offset_from"] = self.offset_from_.tolist()
            state["offset_minutes"] = self.offset_minutes_.tolist()
        if getattr(self, "offset_zulu_", False):
            state["offset_zulu"] = True
        return state

    def set_state(self, state: dict[str, Any]) -> Self:
        self.tz_ = state["tz"]
        self.offset_from_ = np.asarray(state.get("offset_from", []), dtype=np.float64)
        self.offset_minutes_ = np.asarray(state.get("offset_minutes", [0]), dtype=np.int64)
        self.offset_zulu_ = bool(state.get("offset_zulu", False))
        return self


def _offset_schedule(text: pd.Series, stamps: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The UTC offsets the values show, as (instants each offset runs from, minutes).

    Offsets in force over spans of time (daylight saving) keep their spans,
    each change placed midway between the data's instants on either side of
    it, to the hour; offsets that change more than ``MAX_OFFSET_CHANGES``
    times (rows from many time zones) give the most common offset throughout.
    """
    minutes = offset_minutes(text)
    if minutes is None:
        return np.zeros(0), np.zeros(1, dtype=np.int64)  # an offset inside the text: UTC
    seconds = stamps.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[s]")
    seconds = seconds.astype("int64").to_numpy()
    order = np.argsort(seconds, kind="stable")
    seconds, minutes = seconds[order], minutes[order]
    change = np.flatnonzero(minutes[1:] != minutes[:-1])
    if len(change) > MAX_OFFSET_CHANGES:
        kinds, counts = np.unique(minutes, return_counts=True)
        return np.zeros(0), kinds[[np.argmax(counts)]]
    middle = (seconds[change] + seconds[change + 1]) / 2
    return np.rint(middle / 3600) * 3600, minutes[np.r_[0, change + 1]]


def _offset_texts(minutes: np.ndarray, colon: bool, zulu: bool) -> tuple[np.ndarray, list[str]]:
    """Each row's index into the distinct offsets, and those offsets as text (+02:00, Z)."""
    kinds, index = np.unique(minutes, return_inverse=True)
    sep = ":" if colon else ""
    texts = [
        "Z"
        if zulu and m == 0
        else f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}{sep}{abs(m) % 60:02d}"
        for m in kinds.tolist()
    ]
    return index.ravel(), texts


def _format(
    stamps: np.ndarray,
    fmt: str,
    null: np.ndarray | None,
    offsets: np.ndarray | None = None,
    zulu: bool = False,
) -> pd.Series:
    """Datetimes as text in ``fmt``; formats of %Y %m %d %H %M %S are written vectorized.

    Each field is formatted once per distinct day (or second of the day) in a
    lookup table, and rows only index into those tables. ``offsets`` (minutes)
    fill a ``%z``/``%:z`` field (``zulu``: a zero offset as ``Z``).
    """
    tokens = _FIELDS.findall(fmt)
    seconds = stamps.astype("datetime64[s]").astype(np.int64)
    days, of_day = np.divmod(seconds, 86_400)
    first = int(days.min(initial=0))
    span = int(days.max(initial=0)) - first + 1
    if offsets is None:
        offsets = np.zeros(len(stamps), dtype=np.int64)
    if "".join(tokens) != fmt or span > _MAX_DAY_SPAN:
        text = pd.Series("", index=range(len(stamps)), dtype=object)
        for piece in re.split(f"({OFFSET_TOKEN.pattern})", fmt):
            if OFFSET_TOKEN.fullmatch(piece):
                which, texts = _offset_texts(offsets, piece == "%:z", zulu)
                text = text + np.asarray(texts, dtype=object)[which]
            elif piece:
                text = text + pd.Series(stamps).dt.strftime(piece).astype(object)
        return with_nulls(text.to_numpy(dtype=object), null)
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
        if OFFSET_TOKEN.fullmatch(token):  # a part of its own: the offset of each row
            runs.append(("offset", [token]))
            continue
        source = ("clock" if token[1] in "HMS" else "day") if _is_field(token) else None
        if runs and runs[-1][0] != "offset" and (source is None or runs[-1][0] in (source, "")):
            kind = runs[-1][0] or (source or "")
            runs[-1] = (kind, [*runs[-1][1], token])
        else:
            runs.append((source or "", [token]))
    n = len(stamps)
    parts = []
    for source, run in runs:
        if source == "offset":
            which, texts = _offset_texts(offsets, run[0] == "%:z", zulu)
            parts.append(_strings.take(_strings.pool(texts), which))
            continue
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
