"""Masking operations for data that stays real, and the anonymize plan."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulacra import privacy
from simulacra.errors import InvalidDataError, InvalidParameterError
from simulacra.privacy import mask

FAST = settings(max_examples=60, deadline=None)
texts = st.lists(st.one_of(st.none(), st.text(min_size=0, max_size=30)), min_size=1, max_size=30)


@FAST
@given(texts, st.integers(0, 8))
def test_partial_masking_shows_at_most_keep_and_half(values: list, keep: int) -> None:
    series = pd.Series(values, dtype=object)
    out = mask.partial(series, keep)
    assert out.isna().tolist() == series.isna().tolist()
    for before, after in zip(series.dropna(), out.dropna(), strict=True):
        shown = min(keep, len(before) // 2)
        assert len(after) == len(before)
        assert after == "*" * (len(before) - shown) + before[len(before) - shown :]


def test_partial_masking_examples() -> None:
    out = mask.partial(pd.Series(["4111111111111111", "ab", "", None, 123456]), keep=4)
    assert out.tolist() == ["************1111", "*b", "", None, "***456"]
    assert mask.partial(pd.Series(["0\x00"]), keep=1).tolist() == ["*\x00"]  # NUL kept


@FAST
@given(
    st.lists(st.one_of(st.none(), st.integers(-(10**6), 10**6)), min_size=1, max_size=40),
    st.integers(1, 1000),
)
def test_number_bands_hold_their_values(values: list, width: int) -> None:
    series = pd.Series(values, dtype="Int64")
    out = mask.generalize_numbers(series, width)
    assert out.isna().tolist() == series.isna().tolist()
    for value, band in zip(series.dropna(), out.dropna(), strict=True):
        low, high = map(int, band.rsplit("-", 1)) if not band.startswith("-") else _neg(band)
        assert low <= value <= high and high - low == width - 1 and low % width == 0


def _neg(band: str) -> tuple[int, int]:
    low, _, high = band[1:].partition("-")
    return -int(low), int(high) if not high.startswith("-") else -int(high[1:])


@FAST
@given(
    st.lists(st.floats(-1e6, 1e6, allow_subnormal=False), min_size=1, max_size=40),
    st.sampled_from([0.5, 2.5, 10.0]),
)
def test_float_bands_are_half_open(values: list, width: float) -> None:
    out = mask.generalize_numbers(pd.Series(values), width)
    whole = all(v == int(v) for v in values) and width == int(width)
    for value, band in zip(values, out, strict=True):
        if whole:  # whole numbers in whole bands read as integers: 0-9
            low = int(value // width * width)
            assert band == f"{low}-{low + int(width) - 1}"
            continue
        low, high = (float(x) for x in band.strip("[)").split(", "))
        assert low <= value < high and high - low == pytest.approx(width)


def test_number_band_examples_and_errors() -> None:
    assert mask.generalize_numbers(pd.Series([37, 30, 39, 40]), 10).tolist() == [
        "30-39",
        "30-39",
        "30-39",
        "40-49",
    ]
    with pytest.raises(InvalidParameterError, match="positive"):
        mask.generalize_numbers(pd.Series([1]), 0)
    with pytest.raises(InvalidDataError, match="'x' holds 'abc'"):
        mask.generalize_numbers(pd.Series(["1", "abc"], name="x"), 10)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.dates(date(1900, 1, 1), date(2100, 12, 31)), min_size=1, max_size=30),
    st.sampled_from(mask.DATE_LEVELS),
)
def test_dates_generalise_to_their_period(days: list, level: str) -> None:
    text = pd.Series([d.strftime("%Y-%m-%d") for d in days])
    out = mask.generalize_dates(text, level)
    for day, label in zip(days, out, strict=True):
        expected = {
            "year": f"{day.year:04d}",
            "quarter": f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}",
            "month": f"{day.year:04d}-{day.month:02d}",
        }[level]
        assert label == expected


def test_dates_keep_gaps_and_reject_non_dates() -> None:
    stamps = pd.Series(pd.to_datetime(["2024-03-17", None, "2023-12-31"]))
    assert mask.generalize_dates(stamps, "month").tolist() == ["2024-03", None, "2023-12"]
    with pytest.raises(InvalidDataError, match="known format"):
        mask.generalize_dates(pd.Series(["soon", "later"], name="when"), "year")
    with pytest.raises(InvalidParameterError, match="'week'"):
        mask.generalize_dates(stamps, "week")


@FAST
@given(st.lists(st.from_regex(r"[A-Z0-9]{2,4} ?[0-9][A-Z]{2}|\d{5}", fullmatch=True), min_size=1),
       st.integers(0, 6))  # fmt: skip
def test_postcodes_keep_their_prefix_and_shape(codes: list[str], keep: int) -> None:
    out = mask.generalize_postcodes(pd.Series(codes), keep=keep)
    for code, masked in zip(codes, out, strict=True):
        assert len(masked) == len(code) and masked[:keep] == code[:keep]
        tail = masked[keep:]
        assert all(c == "*" or not c.isalnum() for c in tail)
        assert [c == " " for c in masked] == [c == " " for c in code]


def test_postcode_examples() -> None:
    out = mask.generalize_postcodes(pd.Series(["90210", "SW1A 1AA", None]), keep=3)
    assert out.tolist() == ["902**", "SW1* ***", None]


def test_keyed_hash_and_tokens_are_consistent_and_keyed() -> None:
    values = pd.Series(["ann", "bob", "ann", None, "cy"])
    hashed = mask.keyed_hash(values, "k1")
    assert hashed[0] == hashed[2] != hashed[1] and hashed[3] is None
    assert hashed.dropna().str.fullmatch(r"[0-9a-f]{16}").all()
    assert mask.keyed_hash(values, "k1").equals(hashed)
    assert not (mask.keyed_hash(values, "k2").dropna() == hashed.dropna()).any()
    tokens = mask.tokenize(values, "k1")
    assert tokens[0] == tokens[2] and tokens.dropna().str.fullmatch(r"tok_[a-z2-7]{12}").all()
    assert not tokens.dropna().isin(mask.keyed_hash(values, "k1")).any()  # separate domains
    for bad in (None, "", b""):
        with pytest.raises(InvalidParameterError, match="--secret-env"):
            mask.keyed_hash(values, bad)


@FAST
@given(st.lists(st.from_regex(r"[A-Za-z0-9 .@-]{1,20}", fullmatch=True), min_size=1, max_size=30))
def test_format_preserving_tokens_keep_each_character_class(values: list[str]) -> None:
    out = mask.tokenize(pd.Series(values), "key", preserve_format=True)
    for before, after in zip(values, out, strict=True):
        assert len(after) == len(before)
        for a, b in zip(before, after, strict=True):
            assert a.isdigit() == b.isdigit() and a.isupper() == b.isupper()
            assert a.islower() == b.islower() and (a.isalnum() or a == b)
    assert out.tolist() == mask.tokenize(pd.Series(values), "key", preserve_format=True).tolist()


def test_suppress_blanks_every_cell() -> None:
    out = mask.suppress(pd.Series([1, 2, 3], name="x", index=[5, 6, 7]))
    assert out.isna().all() and out.name == "x" and out.index.tolist() == [5, 6, 7]


# ------------------------------------------------------------------- the plan
def test_anonymize_applies_the_plan_and_fakes_detected_pii() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "email": [f"user{i}@corp.com" for i in range(50)],
            "card": ["4111 1111 1111 1111"] * 50,
            "age": rng.integers(18, 90, 50),
            "zip": [f"{z:05d}" for z in rng.integers(10000, 99999, 50)],
            "joined": ["2024-03-17"] * 50,
            "secret_note": ["x"] * 50,
            "kept_name": ["Ann Lee"] * 50,
        }
    )
    plan = {"card": "partial", "age": "generalize:10", "zip": "generalise:3"}
    plan |= {"joined": "generalize:year", "secret_note": "drop", "kept_name": "keep"}
    out = privacy.anonymize(df, plan, secret="k")
    assert "secret_note" not in out.columns and out["kept_name"].eq("Ann Lee").all()
    assert out["card"].eq("***************1111").all() and out["joined"].eq("2024").all()
    assert out["zip"].str.fullmatch(r"\d{3}\*\*").all()
    assert out["age"].str.fullmatch(r"\d0-\d9").all()
    assert not out["email"].isin(df["email"]).any()  # detected and faked, though not in the plan
    untouched = privacy.anonymize(df[["email"]], {}, detect=False)
    assert untouched.equals(df[["email"]])
    before = df.copy()
    privacy.anonymize(df, plan, secret="k")
    pd.testing.assert_frame_equal(df, before)  # the caller's frame is never changed


def test_plan_errors_are_clear() -> None:
    df = pd.DataFrame({"email": ["a@x.com"], "age": [30]})
    with pytest.raises(InvalidParameterError, match="did you mean 'hash'"):
        privacy.anonymize(df, {"email": "hahs"})
    with pytest.raises(InvalidParameterError, match="generalize needs an argument"):
        privacy.anonymize(df, {"age": "generalize"})
    with pytest.raises(InvalidParameterError, match="kind must be one of"):
        privacy.anonymize(df, {"email": "fake:dna"})
    with pytest.raises(InvalidParameterError, match="needs a whole number"):
        privacy.anonymize(df, {"email": "partial:x"})
    assert str(privacy.parse_action("pseudonymize:email")) == "fake:email"
