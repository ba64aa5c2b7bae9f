"""Reading datetime text in a known format, UTC offsets included."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

OFFSET_TOKEN = re.compile(r"(?<!%)%:?z")  # a UTC offset field: %z (+0200) or %:z (+02:00)
OFFSET_AT_END = r"(Z|[+-]\d{2}:?\d{2})$"  # a UTC offset ending an ISO timestamp


def parse_datetimes(
    values: pd.Series, fmt: str | None, *, errors: str = "raise", utc: bool = False
) -> pd.Series:
    """Text in ``fmt`` as datetimes; a format with a UTC offset gives UTC instants.

    Values at different offsets (a daylight-saving change inside the column)
    are one instant each, not a column of mixed time zones. ``utc`` reads
    offset-less text as UTC too.
    """
    offset = fmt is not None and OFFSET_TOKEN.search(fmt) is not None
    if offset:
        fmt = OFFSET_TOKEN.sub("%z", fmt)
    return pd.to_datetime(values, format=fmt, errors=errors, utc=utc or offset)


def offset_minutes(text: pd.Series) -> np.ndarray | None:
    """The UTC offset each value ends in, in minutes (``Z`` is 0); None if one has none."""
    found = text.str.extract(OFFSET_AT_END, expand=False)
    if found.isna().any():
        return None
    parts = found.str.extract(r"([+-])(\d{2}):?(\d{2})")
    hours, mins = (pd.to_numeric(parts[i]).fillna(0).to_numpy(np.int64) for i in (1, 2))
    return np.where(parts[0].to_numpy() == "-", -1, 1) * (hours * 60 + mins)
