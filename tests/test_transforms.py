"""Every transform gives its input back up to the declared precision; generators keep shapes."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import re
import uuid
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from simulacra._detect import luhn_valid
from simulacra.metadata import Column, Metadata
from simulacra.transforms import (
    RARE_LABEL,
    BooleanTransform,
    CategoricalTransform,
    DatetimeTransform,
    IdGenerator,
    NumericTransform,
    PiiGenerator,
)
from simulacra.transforms._tail import tail_pool

# When a property fails, hypothesis' pytest plugin imports libcst to suggest a patch, and
# libcst's import raises a DeprecationWarning; with warnings as errors that turns a readable
# failure into an INTERNALERROR. Import it once here, with that warning silenced.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    with contextlib.suppress(ImportError):  # without libcst there is nothing to silence
        import hypothesis.extra._patching  # noqa: F401

FAST = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

# Text pyarrow can encode (no lone surrogates).
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=8)
# Inside pandas' nanosecond range, with room for time zones on both sides.
DATETIMES = st.datetimes(min_value=dt.datetime(1700, 1, 2), max_value=dt.datetime(2250, 12, 30))


def _masks(n: int) -> st.SearchStrategy[np.ndarray]:
    return st.lists(st.booleans(), min_size=n, max_size=n).map(np.array)


# ------------------------------------------------------------------------ numeric
@FAST
@given(
    data=st.data(),
    bounds=st.tuples(st.integers(-(10**12), 10**12), st.integers(0, 10**6)),
)
def test_numeric_integers_round_trip(data: st.DataObject, bounds: tuple[int, int]) -> None:
    lo, width = bounds
    hi = lo + width
    values = data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=30))
    null = data.draw(_masks(len(values)))
    t = NumericTransform(Column("numerical", integer=True, min=lo, max=hi))
    series = pd.Series(values)
    encoded = t.fit(series).encode(series)
    assert encoded.dtype == np.float64
    back = t.decode(encoded, null)
    assert pd.api.types.is_integer_dtype(back.dtype)
    assert back.isna().tolist() == null.tolist()
    assert back[~null].tolist() == [v for v, gone in zip(values, null, strict=True) if not gone]


@FAST
@given(
    decimals=st.integers(0, 4),
    values=st.lists(
        st.floats(-1e8, 1e8, allow_nan=False, allow_infinity=False), min_size=1, max_size=30
    ),
)
def test_numeric_floats_round_trip_to_declared_decimals(decimals: int, values: list[float]) -> None:
    t = NumericTransform(Column("numerical", integer=False, decimals=decimals))
    back = t.decode(t.encode(pd.Series(values))).to_numpy()
    # at most half a unit in the last declared place away, and exactly that many places
    assert np.all(np.abs(back - np.array(values)) <= 0.5 * 10.0**-decimals * (1 + 1e-9) + 1e-6)
    assert np.allclose(back, np.round(back, decimals), rtol=0, atol=1e-6)
    # values already at the declared precision come back unchanged
    again = t.decode(t.encode(pd.Series(back))).to_numpy()
    np.testing.assert_array_equal(again, back)


@FAST
@given(
    lo=st.floats(-1e6, 1e6),
    width=st.floats(0, 1e6),
    values=st.lists(st.floats(-1e9, 1e9), min_size=1, max_size=30),
    integer=st.booleans(),
)
def test_numeric_decode_clips_to_bounds(
    lo: float, width: float, values: list[float], integer: bool
) -> None:
    lo = float(np.round(lo))
    hi = float(np.round(lo + width))
    col = Column("numerical", integer=integer, min=int(lo) if integer else lo, max=hi)
    t = NumericTransform(col)
    back = t.decode(np.array(values)).to_numpy(dtype="float64")
    assert back.min() >= lo and back.max() <= hi
    inside = (np.array(values) >= lo) & (np.array(values) <= hi)
    if not integer:
        np.testing.assert_array_equal(back[inside], np.array(values)[inside])


def test_numeric_nulls_keep_the_float_dtype() -> None:
    t = NumericTransform(Column("numerical", integer=False, decimals=1))
    back = t.decode(np.array([1.26, 2.0, 3.0]), np.array([False, True, False]))
    assert back.dtype == "float64"
    assert back.isna().tolist() == [False, True, False]
    assert back[0] == 1.3


# -------------------------------------------------------------------- categorical
@FAST
@given(data=st.data(), declared=st.lists(TEXT, min_size=1, max_size=6, unique=True))
def test_categorical_text_round_trip(data: st.DataObject, declared: list[str]) -> None:
    undeclared_pool = data.draw(
        st.lists(
            TEXT.filter(lambda s: s not in declared and s != RARE_LABEL),
            max_size=4,
            unique=True,
        )
    )
    values = data.draw(
        st.lists(st.sampled_from(declared + undeclared_pool), min_size=1, max_size=40)
    )
    if RARE_LABEL in declared:
        values = [v for v in values if v in declared] or [declared[0]]
        undeclared_pool = []
    series = pd.Series(values, dtype=object)
    t = CategoricalTransform(Column("categorical", categories=declared)).fit(series)
    codes = t.encode(series)
    assert codes.dtype == np.int64
    assert codes.min() >= 0 and codes.max() < t.cardinality
    back = t.decode(codes).tolist()
    expected = [v if v in declared else RARE_LABEL for v in values]
    assert back == expected
    # a pooled real value never comes back as itself
    assert not set(back) & set(undeclared_pool)


@FAST
@given(
    data=st.data(),
    declared=st.lists(st.integers(-1000, 1000), min_size=1, max_size=6, unique=True),
)
def test_categorical_numbers_pool_undeclared_values(
    data: st.DataObject, declared: list[int]
) -> None:
    extra = data.draw(
        st.lists(st.integers(-1000, 1000).filter(lambda v: v not in declared), max_size=4)
    )
    values = data.draw(st.lists(st.sampled_from(declared + extra), min_size=1, max_size=40))
    series = pd.Series(values, dtype="int64")
    t = CategoricalTransform(Column("categorical", categories=declared)).fit(series)
    back = t.decode(t.encode(series)).tolist()
    for v, b in zip(values, back, strict=True):
        if v in declared:
            assert b == v
        else:
            assert b in declared  # pooled into a declared value, never itself
    assert not set(back) & set(extra)


def test_categorical_decode_marks_nulls_and_state_round_trips() -> None:
    t = CategoricalTransform(Column("categorical", categories=["a", "b"]))
    t.fit(pd.Series(["a", "b", "zed", "a"]))
    copy = CategoricalTransform(t.column).set_state(t.get_state())
    back = copy.decode(np.array([0, 1, 2, 0]), np.array([False, False, False, True]))
    assert back[:3].tolist() == ["a", "b", RARE_LABEL]
    assert back.isna().tolist() == [False, False, False, True]


def test_categorical_without_rare_values_has_no_other_code() -> None:
    t = CategoricalTransform(Column("categorical", categories=["a", "b"]))
    t.fit(pd.Series(["a", "b", "b"]))
    assert t.cardinality == 2
    assert t.decode(np.array([0, 1, 5])).tolist() == ["a", "b", "b"]  # out of range: clipped


# ---------------------------------------------------------------------- open tail
def _frequent(titles: pd.Series) -> list[str]:
    counts = titles.value_counts()
    return sorted(counts.index[counts >= 5])


def _tail(titles: pd.Series, seed: int = 0, words: int = 5) -> CategoricalTransform:
    col = Column("categorical", categories=_frequent(titles), tail_words=words)
    return CategoricalTransform(col).fit(titles, rng=np.random.default_rng(seed))


def test_open_tail_never_draws_a_rare_value(titled: pd.DataFrame) -> None:
    titles = titled["title"].dropna()
    t = _tail(titles)
    assert len(t.tail_) >= 50
    real = set(titles.str.casefold())
    assert not real & {label.casefold() for label in t.tail_}  # the pool holds no real value
    pooled = np.full(20_000, len(t.categories_))
    out = t.decode(pooled, rng=np.random.default_rng(1))
    counts = titles.value_counts()
    assert not set(out) & set(counts.index[counts < 5])
    assert RARE_LABEL not in set(out)
    assert out.nunique() > 0.8 * len(t.tail_)  # drawn across the pool, not a few labels


def test_open_tail_labels_use_only_common_words(titled: pd.DataFrame) -> None:
    titles = titled["title"].dropna()
    rows = titles.str.split().map(set).explode().value_counts()
    for words in (3, 5, 50):
        used = set(pd.Series(_tail(titles, words=words).tail_).str.split().explode())
        assert used and used <= set(rows.index[rows >= words]), words
    assert not any("zork" in label or "wrangler" in label for label in _tail(titles).tail_)


def test_open_tail_keeps_frequent_labels_and_codes(titled: pd.DataFrame) -> None:
    titles = titled["title"].dropna()
    t = _tail(titles)
    codes = t.encode(titles)
    back = t.decode(codes, rng=np.random.default_rng(0))
    known = titles.isin(t.categories_).to_numpy()
    assert (back[known] == titles[known].to_numpy()).all()  # declared labels as they were
    assert set(back[~known]) <= set(t.tail_)  # pooled rows: new labels only
    assert t.cardinality == len(t.categories_) + 1  # models see one rare code, as before


def test_open_tail_state_round_trips_and_is_seeded(titled: pd.DataFrame) -> None:
    titles = titled["title"].dropna()
    t = _tail(titles, seed=3)
    assert t.tail_ == _tail(titles, seed=3).tail_
    assert t.tail_ != _tail(titles, seed=4).tail_
    copy = CategoricalTransform(t.column).set_state(t.get_state())
    assert copy.tail_ == t.tail_
    codes = np.arange(t.cardinality).repeat(50)
    first = t.decode(codes, rng=np.random.default_rng(9))
    pd.testing.assert_series_equal(copy.decode(codes, rng=np.random.default_rng(9)), first)


def test_open_tail_needs_an_rng_and_text(titled: pd.DataFrame) -> None:
    titles = titled["title"].dropna()
    col = Column("categorical", categories=_frequent(titles), tail_words=5)
    no_rng = CategoricalTransform(col).fit(titles)  # as constraints read codes: nothing drawn
    assert no_rng.tail_ == [] and "tail" not in no_rng.get_state()
    assert no_rng.decode(np.array([len(no_rng.categories_)])).tolist() == [RARE_LABEL]
    t = _tail(titles)
    assert t.decode(np.array([len(t.categories_)])).tolist() == [RARE_LABEL]  # no rng: pooled
    numbers = CategoricalTransform(Column("categorical", categories=[1, 2], tail_words=5))
    numbers.fit(pd.Series([1, 2, 3, 4] * 20), rng=np.random.default_rng(0))
    assert numbers.tail_ == []


# ------------------------------------------------------------------------ boolean
@FAST
@given(values=st.lists(st.booleans(), min_size=1, max_size=40), data=st.data())
def test_boolean_round_trip(values: list[bool], data: st.DataObject) -> None:
    null = data.draw(_masks(len(values)))
    t = BooleanTransform(Column("boolean"))
    encoded = t.encode(pd.Series(values))
    assert set(encoded.tolist()) <= {0, 1}
    back = t.decode(encoded, null)
    assert back.isna().tolist() == null.tolist()
    kept = [v for v, gone in zip(values, null, strict=True) if not gone]
    assert [bool(v) for v in back[~null]] == kept


@FAST
@given(
    labels=st.sampled_from([("yes", "no"), ("Y", "N"), ("true", "false"), ("T", "F")]),
    flags=st.lists(st.booleans(), min_size=1, max_size=40),
)
def test_boolean_labels_round_trip(labels: tuple[str, str], flags: list[bool]) -> None:
    true, false = labels
    values = [true if f else false for f in flags]
    t = BooleanTransform(Column("boolean", true_label=true, false_label=false))
    assert t.decode(t.encode(pd.Series(values))).tolist() == values


# ----------------------------------------------------------------------- datetime
# Far from 1970 a float64 count of nanoseconds cannot hold every second exactly.
FAR = [dt.datetime(2117, 1, 1, 0, 0, 1), dt.datetime(1800, 6, 1, 12, 0, 1)]


@FAST
@given(
    fmt=st.sampled_from(
        ["%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d-%b-%Y"]
    ),
    stamps=st.lists(DATETIMES, min_size=1, max_size=20),
    nulls=st.integers(0, 2**20),
)
@example(fmt="%Y-%m-%d %H:%M:%S", stamps=FAR, nulls=0)
def test_datetime_text_round_trip(fmt: str, stamps: list[dt.datetime], nulls: int) -> None:
    text = [pd.Timestamp(s).strftime(fmt) for s in stamps]
    resolution = "s" if "%S" in fmt else "D"
    parsed = pd.to_datetime(pd.Series(text), format=fmt)
    col = Column(
        "datetime",
        format=fmt,
        resolution=resolution,
        min=parsed.min().isoformat(),
        max=parsed.max().isoformat(),
    )
    null = np.array([bool(nulls >> i & 1) for i in range(len(text))])
    series = pd.Series(text)
    t = DatetimeTransform(col).fit(series)
    back = t.decode(t.encode(series), null)
    assert back.isna().tolist() == null.tolist()
    assert back[~null].tolist() == [v for v, gone in zip(text, null, strict=True) if not gone]


SECONDS = DATETIMES.map(lambda d: d.replace(microsecond=0))


@FAST
@given(stamps=st.lists(SECONDS, min_size=1, max_size=20))
@example(stamps=FAR)
def test_datetime_native_round_trip(stamps: list[dt.datetime]) -> None:
    series = pd.Series(pd.to_datetime(stamps))
    col = Column(
        "datetime", resolution="s", min=series.min().isoformat(), max=series.max().isoformat()
    )
    t = DatetimeTransform(col).fit(series)
    back = t.decode(t.encode(series))
    assert pd.api.types.is_datetime64_any_dtype(back.dtype)
    assert back.dt.tz is None
    assert back.tolist() == series.tolist()


@FAST
@given(
    stamps=st.lists(SECONDS, min_size=1, max_size=20),
    seconds=st.lists(st.floats(-0.49, 0.49), min_size=20, max_size=20),
)
@example(stamps=FAR, seconds=[0.2] * 20)
def test_datetime_decode_rounds_to_the_resolution(
    stamps: list[dt.datetime], seconds: list[float]
) -> None:
    series = pd.Series(pd.to_datetime(stamps))
    t = DatetimeTransform(Column("datetime", resolution="s")).fit(series)
    jitter = np.array(seconds[: len(stamps)])
    assert t.decode(t.encode(series) + jitter).tolist() == series.tolist()


TIME_ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"]


def _whole_seconds(first: int, last: int, max_size: int) -> st.SearchStrategy:
    """Lists of naive datetimes in whole seconds, from year ``first`` to year ``last``."""
    stamps = st.datetimes(min_value=dt.datetime(first, 1, 1), max_value=dt.datetime(last, 1, 1))
    return st.lists(stamps.map(lambda d: d.replace(microsecond=0)), min_size=1, max_size=max_size)


@FAST
@given(zone=st.sampled_from(TIME_ZONES), stamps=_whole_seconds(1980, 2100, 20))
def test_datetime_tz_aware_round_trip(zone: str, stamps: list[dt.datetime]) -> None:
    series = pd.Series(pd.to_datetime(stamps).tz_localize("UTC").tz_convert(zone))
    t = DatetimeTransform(Column("datetime", resolution="s")).fit(series)
    back = t.decode(t.encode(series))
    assert str(back.dt.tz) == zone
    assert back.tolist() == series.tolist()


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
def test_datetime_tz_aware_round_trip_with_detected_bounds(zone: str) -> None:
    """The bounds detection learns must not cut off the earliest or latest value."""
    local = pd.to_datetime(["2024-01-01 00:00:00", "2024-01-10 12:00:00", "2024-01-05 08:30:00"])
    series = pd.Series(local.tz_localize(zone))
    col = Metadata.detect(pd.DataFrame({"at": series})).columns["at"]
    t = DatetimeTransform(col).fit(series)
    assert t.decode(t.encode(series)).tolist() == series.tolist()


OFFSET_FORMATS = ["%Y-%m-%dT%H:%M:%S%:z", "%Y-%m-%d %H:%M:%S%z", "%d %b %Y %H:%M:%S%:z"]


def _with_offsets(stamps: pd.Series, fmt: str) -> list[str]:
    """Aware datetimes as text, the offset written as ``%:z`` (+02:00) or ``%z`` (+0200)."""
    text = stamps.dt.strftime(fmt.replace("%:z", "%z"))
    if "%:z" in fmt:  # Python 3.11's strftime has no %:z
        text = text.str[:-2] + ":" + text.str[-2:]
    return text.tolist()


@FAST
@given(
    zone=st.sampled_from(["Europe/Berlin", "America/New_York", "Pacific/Auckland"]),
    fmt=st.sampled_from(OFFSET_FORMATS),
    stamps=_whole_seconds(1990, 2040, 30),
)
def test_datetime_text_at_changing_utc_offsets_round_trips(
    zone: str, fmt: str, stamps: list[dt.datetime]
) -> None:
    # each value comes back at its own offset: the schedule learned from the data keeps
    # every daylight-saving change the data shows (the third format takes the slow writer)
    aware = pd.Series(pd.to_datetime(stamps).tz_localize("UTC").tz_convert(zone))
    text = pd.Series(_with_offsets(aware, fmt))
    col = Column(
        "datetime",
        format=fmt,
        resolution="s",
        min=aware.min().isoformat(),
        max=aware.max().isoformat(),
    )
    t = DatetimeTransform(col).fit(text)
    assert t.decode(t.encode(text)).tolist() == text.tolist()
    restored = DatetimeTransform(col).set_state(t.get_state())
    assert restored.decode(t.encode(text)).tolist() == text.tolist()


def test_datetime_offsets_from_many_zones_come_back_at_the_most_common() -> None:
    zones = ["Europe/Berlin", "America/New_York", "Europe/Berlin", "Asia/Tokyo"] * 75
    base = pd.Timestamp("2024-05-01", tz="UTC") + pd.to_timedelta(np.arange(300) * 3600, "s")
    text = pd.Series(
        [
            _with_offsets(pd.Series([b]).dt.tz_convert(z), OFFSET_FORMATS[0])[0]
            for b, z in zip(base, zones, strict=True)
        ]
    )
    col = Column("datetime", format=OFFSET_FORMATS[0], resolution="s")
    t = DatetimeTransform(col).fit(text)
    back = t.decode(t.encode(text))
    assert back.str.endswith("+02:00").all()  # Berlin's summer offset, half the rows
    instants = pd.to_datetime(back, format="%Y-%m-%dT%H:%M:%S%z", utc=True)
    assert (instants == base).all()  # the same instants, written at one offset


# -------------------------------------------------------------------------- ids
@FAST
@given(
    pattern=st.sampled_from(
        [
            "CUST-{digits:5}",
            "{upper:2}-{digits:3}",
            "{alnum:8}",
            "{lower:3}{digits:2}",
            "{digits:4}",
        ]
    ),
    sizes=st.lists(st.integers(1, 300), min_size=1, max_size=4),
    key=st.integers(0, 2**32),
)
def test_ids_are_unique_across_consecutive_batches(
    pattern: str, sizes: list[int], key: int
) -> None:
    gen = IdGenerator(pattern)
    total = sum(sizes)
    rng = np.random.default_rng(0)
    batches, start = [], 0
    for n in sizes:
        batches.append(gen.generate(n, start=start, rng=rng, key=key, total=total))
        start += n
    ids = pd.concat(batches, ignore_index=True)
    assert len(ids) == total
    assert ids.is_unique
    assert gen.capacity is not None and total <= gen.capacity  # no widening needed ...
    assert _matches_pattern(ids, pattern)  # ... so every id keeps the pattern


def _matches_pattern(ids: pd.Series, pattern: str) -> bool:
    classes = {"digits": "[0-9]", "upper": "[A-Z]", "lower": "[a-z]", "alnum": "[0-9A-Za-z]"}
    regex = re.sub(r"\{(\w+):(\d+)\}", lambda m: f"{classes[m.group(1)]}{{{m.group(2)}}}", pattern)
    return bool(ids.str.fullmatch(regex).all())


def test_ids_match_their_pattern() -> None:
    gen = IdGenerator("CUST-{digits:5}")
    ids = gen.generate(500, start=0, rng=np.random.default_rng(1), key=3, total=500)
    assert _matches_pattern(ids, "CUST-{digits:5}")
    assert ids.is_unique


def test_id_pattern_widens_when_the_run_exceeds_its_capacity() -> None:
    gen = IdGenerator("CUST-{digits:2}")
    assert gen.capacity == 100
    rng = np.random.default_rng(0)
    first = gen.generate(150, start=0, rng=rng, key=5, total=250)
    second = gen.generate(100, start=150, rng=rng, key=5, total=250)
    ids = pd.concat([first, second], ignore_index=True)
    assert ids.is_unique
    assert ids.str.fullmatch(r"CUST-\d{3}").all()  # one digit more, literal kept


def test_id_pattern_within_capacity_is_not_widened() -> None:
    gen = IdGenerator("{upper:1}{digits:1}")
    ids = gen.generate(260, start=0, rng=np.random.default_rng(0), key=1, total=260)
    assert ids.is_unique and ids.str.fullmatch(r"[A-Z]\d").all()


def test_int_ids_continue_after_the_largest_real_one() -> None:
    gen = IdGenerator("{int}").fit(pd.Series([1005, 1001, 1003]))
    rng = np.random.default_rng(0)
    first = gen.generate(3, start=0, rng=rng, key=0, total=6)
    second = gen.generate(3, start=3, rng=rng, key=0, total=6)
    assert first.tolist() == [1006, 1007, 1008]  # none of them real
    assert second.tolist() == [1009, 1010, 1011]
    restored = IdGenerator("{int}").set_state(gen.get_state())
    assert restored.generate(2, start=0, rng=rng, key=0, total=2).tolist() == [1006, 1007]


def test_uuid_ids_are_valid_version_4() -> None:
    gen = IdGenerator("{uuid}")
    ids = gen.generate(1000, start=0, rng=np.random.default_rng(9), key=0, total=1000)
    assert ids.is_unique
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text


@pytest.mark.parametrize("pattern", ["{int}{digits:2}", "{nope:3}", "ab{digits:2", "{uuid}x"])
def test_bad_id_patterns_are_rejected(pattern: str) -> None:
    from simulacra.errors import InvalidDataError

    with pytest.raises(InvalidDataError, match="pattern"):
        IdGenerator(pattern)


# -------------------------------------------------------------------------- PII
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
SSN = re.compile(r"^(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}$")


def _generate(kind: str, n: int = 400, seed: int = 0, key: int = 11) -> pd.Series:
    gen = PiiGenerator(kind, "en_US")
    return gen.generate(n, start=0, rng=np.random.default_rng(seed), key=key, total=n)


@pytest.fixture(scope="module")
def pii() -> dict[str, pd.Series]:
    kinds = ["email", "phone", "person_name", "address", "credit_card", "national_id"]
    return {kind: _generate(kind) for kind in [*kinds, "ip_address", "free_text"]}


def test_pii_emails(pii: dict[str, pd.Series]) -> None:
    emails = pii["email"]
    assert emails.str.match(EMAIL).all(), emails[~emails.str.match(EMAIL)].tolist()[:5]
    assert emails.nunique() > 350  # rarely repeat


def test_pii_card_numbers_pass_luhn(pii: dict[str, pd.Series]) -> None:
    cards = pii["credit_card"]
    assert cards.str.fullmatch(r"\d{16}").all()
    assert luhn_valid(cards).all()
    assert cards.nunique() == len(cards)


def test_pii_national_ids(pii: dict[str, pd.Series]) -> None:
    assert pii["national_id"].str.match(SSN).all()


def test_pii_ip_addresses(pii: dict[str, pd.Series]) -> None:
    for text in pii["ip_address"]:
        assert isinstance(ipaddress.ip_address(text), ipaddress.IPv4Address)


def test_pii_phones_names_and_addresses(pii: dict[str, pd.Series]) -> None:
    assert pii["phone"].str.count(r"\d").ge(10).all()
    assert pii["phone"].nunique() > 350
    names = pii["person_name"]
    assert names.str.split().str.len().ge(2).all()
    assert not pii["address"].str.contains("\n").any()


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("value", "email"),
        ("phone", "phone"),
        ("name", "person_name"),
        ("value", "credit_card"),
        ("value", "national_id"),
        ("value", "ip_address"),
    ],
)
def test_generated_pii_is_detected_as_its_own_kind(
    pii: dict[str, pd.Series], column: str, kind: str
) -> None:
    meta = Metadata.detect(pd.DataFrame({column: pii[kind]}))
    assert meta.columns[column].pii == kind


@pytest.mark.parametrize("kind", ["email", "person_name", "credit_card", "ip_address"])
def test_pii_same_key_and_seed_give_same_values(kind: str) -> None:
    def run(gen: PiiGenerator, seed: int) -> pd.Series:
        return gen.generate(200, start=0, rng=np.random.default_rng(seed), key=5, total=200)

    first, second = PiiGenerator(kind, "en_US"), PiiGenerator(kind, "en_US")
    pd.testing.assert_series_equal(run(first, 3), run(second, 3))
    assert not run(first, 3).equals(run(second, 4))


def test_pii_unknown_locale_is_a_clear_error() -> None:
    from simulacra.errors import InvalidDataError

    gen = PiiGenerator("person_name", "xx_NOPE")
    with pytest.raises(InvalidDataError, match="xx_NOPE"):
        gen.generate(3, start=0, rng=np.random.default_rng(0), key=0, total=3)


def test_open_tail_pool_takes_the_lengths_of_the_rows_it_stands_in_for() -> None:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(12)]
    short = [" ".join(rng.choice(words, 2, replace=False)) for _ in range(600)]
    long = [" ".join(rng.choice(words, 5, replace=False)) for _ in range(600)]
    values = pd.Series(short + long)
    lengths = {}
    for name, like in (("short", pd.Series(short)), ("long", pd.Series(long))):
        pool = pd.Series(tail_pool(values, 5, 200, np.random.default_rng(1), like))
        assert len(pool) == 200 and not set(pool) & set(values)
        lengths[name] = pool.str.split().str.len()
    # the chain's new labels run from 1 to 12 words, few of them 2 (nearly every pair
    # is a real value); drawn as they come they average over 4 words for both pools
    assert lengths["short"].mean() < 3.2 and (lengths["short"] <= 3).mean() > 0.8
    assert lengths["long"].mean() > 4.6 and (lengths["long"] == 5).mean() > 0.5
