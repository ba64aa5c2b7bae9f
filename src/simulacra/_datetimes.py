"""Reading datetime text in a known format, UTC offsets included."""

from __future__ import annotations

import re

import pandas as pd

OFFSET_TOKEN = re.compile(r"(?<!%)%:?z")  # a UTC offset field: %z (+0200) or %:z (+02:00)


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
