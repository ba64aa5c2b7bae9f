"""Metadata: detection of every column kind, JSON round trips, validation, user overrides."""

from __future__ import annotations

import json
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulacra
from simulacra.errors import InvalidDataError
from simulacra.metadata import COLUMN_TYPES, Column, Metadata

ROWS = 60


def _card_number(body: str) -> str:
    """``body`` with a Luhn check digit appended."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # doubled: these digits sit at odd places once the check digit is added
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """One column of every kind detection knows, built from a seeded generator."""
    rng = np.random.default_rng(7)
    n = ROWS
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D")
    gappy = rng.integers(0, 50, n).astype("float64")
    gappy[rng.random(n) < 0.2] = np.nan
    names = ["Ann Lee", "Bob Stone", "Cara Diaz", "Dan Wu", "Eve Park", "Finn Ode", "Gus Roy"]
    return pd.DataFrame(
        {
            "count": rng.integers(0, 100, n),
            "price": np.round(rng.uniform(1, 100, n), 2),
            "visits": gappy,
            "color": rng.choice(["red", "green", "blue"], n),
            "level": rng.choice(["low", "medium", "high"], n),
            "flag": rng.random(n) < 0.5,
            "answer": rng.choice(["yes", "no"], n),
            "day": days.strftime("%Y-%m-%d"),
            "eu_day": days.strftime("%d/%m/%Y"),
            "stamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), "s"),
            "user_id": rng.permutation(np.arange(1, n + 1)),
            "customer": [f"CUST-{i:05d}" for i in rng.permutation(np.arange(1, n + 1))],
            "token": [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)],
            "email": [f"person{i}@example.com" for i in range(n)],
            "phone": [f"555-{rng.integers(100, 999)}-{rng.integers(1000, 9999)}" for _ in range(n)],
            "name": rng.choice(names, n),
            "card": [
                _card_number("4" + "".join(rng.choice(list("0123456789"), 14))) for _ in range(n)
            ],
            "ssn": [
                f"{rng.integers(100, 666)}-{rng.integers(10, 99)}-{rng.integers(1000, 9999)}"
                for _ in range(n)
            ],
            "ip": [".".join(str(x) for x in rng.integers(1, 255, 4)) for _ in range(n)],
        }
    )


@pytest.fixture(scope="module")
def detected(table: pd.DataFrame) -> Metadata:
    return Metadata.detect(table)


# ------------------------------------------------------------------- detection
EXPECTED = {
    "count": {"type": "numerical", "integer": True},
    "price": {"type": "numerical", "integer": False, "decimals": 2},
    "visits": {"type": "numerical", "integer": True},
    "color": {"type": "categorical", "categories": ["blue", "green", "red"]},
    "level": {"type": "categorical", "categories": ["low", "medium", "high"], "ordered": True},
    "flag": {"type": "boolean", "true_label": None},
    "answer": {"type": "boolean", "true_label": "yes", "false_label": "no"},
    "day": {"type": "datetime", "format": "%Y-%m-%d", "resolution": "D"},
    "eu_day": {"type": "datetime", "format": "%d/%m/%Y", "resolution": "D"},
    "stamp": {"type": "datetime", "format": None, "resolution": "s"},
    "user_id": {"type": "id", "pattern": "{int}"},
    "customer": {"type": "id", "pattern": "CUST-{digits:5}"},
    "token": {"type": "id", "pattern": "{uuid}"},
    "email": {"type": "pii", "pii": "email"},
    "phone": {"type": "pii", "pii": "phone"},
    "name": {"type": "pii", "pii": "person_name"},
    "card": {"type": "pii", "pii": "credit_card"},
    "ssn": {"type": "pii", "pii": "national_id"},
    "ip": {"type": "pii", "pii": "ip_address"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_detect_guesses_each_column_kind(detected: Metadata, name: str) -> None:
    col = detected.columns[name]
    for field, value in EXPECTED[name].items():
        assert getattr(col, field) == value, f"{name}.{field}: {getattr(col, field)!r}"
    assert col.problems(name) == []


def test_detect_keeps_column_order_and_picks_a_primary_key(
    table: pd.DataFrame, detected: Metadata
) -> None:
    assert list(detected.columns) == list(table.columns)
    assert detected.primary_key in {"user_id", "customer", "token"}
    assert detected.columns[detected.primary_key].type == "id"


def test_python_booleans_beside_gaps_are_a_boolean_column() -> None:
    flags = pd.Series([True, False, None] * 50, dtype=object)  # as JSON lines read back
    assert Metadata.detect(pd.DataFrame({"flag": flags})).columns["flag"].type == "boolean"


@pytest.mark.parametrize("scale", [1e6, 1e7])
def test_detect_keeps_every_decimal_of_large_amounts(scale: float) -> None:
    values = np.random.default_rng(0).uniform(scale, 2 * scale, 500).round(4)
    detected = Metadata.detect(pd.DataFrame({"amount": values}))
    assert detected.columns["amount"].decimals == 4


def test_detected_bounds_are_read_at_the_column_precision() -> None:
    price = pd.Series([0.1, 0.2, 0.3], name="price") * 0.5 + 0.1  # 0.15000000000000002, ...
    col = Metadata.detect(pd.DataFrame({"price": price})).columns["price"]
    assert (col.decimals, col.min, col.max) == (2, 0.15, 0.25)
    again = pd.DataFrame({"price": [0.15, 0.2, 0.25]})  # the same values read from a file
    assert Metadata.detect(again).outside_bounds(again) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no bound a detected column's own values pass
        simulacra.create("independent", seed=0).fit(
            again, metadata=Metadata.detect(price.to_frame())
        )


def test_a_bound_finer_than_the_first_rows_decimals_is_kept() -> None:
    prices = np.r_[np.random.default_rng(0).uniform(1, 2, 2500).round(2), 0.006]
    col = Metadata.detect(pd.DataFrame({"price": prices})).columns["price"]
    assert col.min == 0.006  # decimals are read on the first rows: 2 here, yet 0.006 stays


def test_detect_learns_numeric_bounds(table: pd.DataFrame, detected: Metadata) -> None:
    for name in ("count", "price", "visits"):
        col = detected.columns[name]
        assert col.min == table[name].min() and col.max == table[name].max()
    assert isinstance(detected.columns["count"].min, int)  # plain ints, JSON-friendly


def test_detect_learns_datetime_bounds(table: pd.DataFrame, detected: Metadata) -> None:
    day = detected.columns["day"]
    assert pd.Timestamp(day.min) == pd.to_datetime(table["day"]).min()
    assert pd.Timestamp(day.max) == pd.to_datetime(table["day"]).max()
    stamp = detected.columns["stamp"]
    assert pd.Timestamp(stamp.max) == table["stamp"].max()


@pytest.mark.parametrize("offset", ["+02:00", "-0530", "Z"])
@pytest.mark.parametrize("base", ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f"])
def test_timestamps_with_one_utc_offset_are_datetimes(offset: str, base: str) -> None:
    # they were an id with a digit pattern, sampled as '3144-16-99T18:17:91+5951'
    rng = np.random.default_rng(0)
    stamps = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 86_400 * 30, 300), "s")
    text = stamps.strftime(base) + offset
    col = Metadata.detect(pd.DataFrame({"when": text})).columns["when"]
    assert col.type == "datetime" and col.format == base + offset
    model = simulacra.create("cart", seed=0).fit(pd.DataFrame({"when": text, "x": rng.random(300)}))
    out = model.sample(200)["when"]
    assert out.str.endswith(offset).all()
    back = pd.to_datetime(out, format=base + offset)
    assert back.between(stamps.min(), stamps.max()).all() and back.nunique() > 100


@pytest.mark.parametrize("colon", [True, False])
def test_timestamps_across_a_daylight_saving_change_are_datetimes(colon: bool) -> None:
    # +01:00 before the change and +02:00 after: they were an id with a digit pattern
    rng = np.random.default_rng(0)
    every = pd.date_range("2024-03-01", "2024-05-01", freq="37min", tz="Europe/Berlin")
    stamps = pd.Series(every[np.sort(rng.choice(len(every), 1500, replace=False))])
    text = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    if colon:
        text = text.str[:-2] + ":" + text.str[-2:]
    col = Metadata.detect(pd.DataFrame({"when": text})).columns["when"]
    fmt = "%Y-%m-%dT%H:%M:%S" + ("%:z" if colon else "%z")
    assert col.type == "datetime" and col.format == fmt
    model = simulacra.create("cart", seed=0).fit(
        pd.DataFrame({"when": text, "x": rng.random(1500)})
    )
    out = model.sample(2000)["when"]
    instants = pd.to_datetime(out, format="%Y-%m-%dT%H:%M:%S%z", utc=True)
    assert instants.between(stamps.min(), stamps.max()).all() and instants.nunique() > 1000
    berlin = instants.dt.tz_convert("Europe/Berlin").dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    if colon:
        berlin = berlin.str[:-2] + ":" + berlin.str[-2:]
    assert (out == berlin).all()  # each at the offset in force at its instant
    assert out.str.endswith("+01:00" if colon else "+0100").mean() > 0.3
    assert out.str.endswith("+02:00" if colon else "+0200").mean() > 0.3


def test_timestamps_in_utc_written_as_z_come_back_as_z() -> None:
    # London: Z in winter, +01:00 in summer (a zero offset was written +00:00)
    every = pd.date_range("2024-02-01", "2024-06-01", freq="53min", tz="Europe/London")
    text = pd.Series(every.strftime("%Y-%m-%dT%H:%M:%S%z"))
    text = (text.str[:-2] + ":" + text.str[-2:]).str.replace("+00:00", "Z")
    col = Metadata.detect(pd.DataFrame({"when": text})).columns["when"]
    assert col.format == "%Y-%m-%dT%H:%M:%S%:z"
    df = pd.DataFrame({"when": text, "x": np.random.default_rng(0).random(len(text))})
    out = simulacra.create("cart", seed=0).fit(df).sample(2000)["when"]
    winter = out.str.endswith("Z")
    assert winter.mean() > 0.3 and (winter | out.str.endswith("+01:00")).all()
    instants = pd.to_datetime(out, format="%Y-%m-%dT%H:%M:%S%z", utc=True)
    london = instants.dt.tz_convert("Europe/London").dt.strftime("%z")
    assert ((london == "+0000") == winter).all()


def test_detect_does_not_change_the_data(table: pd.DataFrame) -> None:
    before = table.copy(deep=True)
    Metadata.detect(table)
    pd.testing.assert_frame_equal(table, before)


def test_rare_categories_are_left_out() -> None:
    df = pd.DataFrame({"plan": ["basic"] * 10 + ["pro"] * 5 + ["team"] * 4 + ["solo"]})
    col = Metadata.detect(df).columns["plan"]
    assert col.type == "categorical"
    assert col.categories == ["basic", "pro"]  # 'pro' is seen exactly 5 times: kept
    assert "team" not in Metadata.detect(df).to_json()
    assert "solo" not in Metadata.detect(df).to_json()


def test_min_category_count_is_adjustable() -> None:
    df = pd.DataFrame({"plan": ["basic"] * 10 + ["pro"] * 5 + ["team"] * 4 + ["solo"]})
    col = Metadata.detect(df, min_category_count=1).columns["plan"]
    assert col.categories == ["basic", "pro", "solo", "team"]


def test_job_titles_get_an_open_tail(titled: pd.DataFrame) -> None:
    meta = Metadata.detect(titled)
    col = meta.columns["title"]
    assert col.type == "categorical" and col.tail_words == 5
    assert "zork" not in meta.to_json()  # rare values stay out of metadata, as before
    assert Metadata.from_json(meta.to_json()) == meta
    assert Metadata.detect(titled, min_category_count=8).columns["title"].tail_words == 8


@pytest.mark.parametrize(
    "values",
    [
        ["basic"] * 300 + ["pro"] * 100 + [f"plan {i}" for i in range(40)],  # few rare values
        ["basic"] * 3000 + [f"tier {i} plan" for i in range(60)],  # rare rows under 5%
        ["basic"] * 300 + [f"X{i:04d}" for i in range(300)],  # codes: no common words
    ],
    ids=["few", "small-share", "codes"],
)
def test_closed_categories_keep_pooling(values: list[str]) -> None:
    col = Metadata.detect(pd.DataFrame({"plan": values})).columns["plan"]
    assert col.type == "categorical" and col.tail_words is None
    assert "tail_words" not in json.dumps(col.to_dict())


@pytest.mark.parametrize("bad", [1, 0, 2.5, "5", True])
def test_tail_words_must_be_a_count_of_rows(bad: object) -> None:
    spec = {"columns": {"t": {"type": "categorical", "tail_words": bad}}}
    with pytest.raises(InvalidDataError, match=r"tail_words .* whole number >= 2"):
        Metadata.from_dict(spec)
    with pytest.raises(InvalidDataError, match="cannot have field"):
        Metadata.from_dict({"columns": {"n": {"type": "numerical", "tail_words": 5}}})


def test_two_valued_integers_are_categorical() -> None:
    col = Metadata.detect(pd.DataFrame({"grade": [1, 2, 2, 1, 1, 2]})).columns["grade"]
    assert col.type == "categorical" and col.categories == [1, 2]


def test_unique_ints_without_an_id_name_are_numbers() -> None:
    col = Metadata.detect(pd.DataFrame({"height": [150, 162, 171, 180, 190]})).columns["height"]
    assert col.type == "numerical" and col.integer is True


def test_free_text_is_text() -> None:
    notes = [f"the customer called about order {i} and was happy" for i in range(20)]
    col = Metadata.detect(pd.DataFrame({"notes": notes})).columns["notes"]
    assert (col.type, col.locale) == ("text", "en_US")


def test_free_text_holding_emails_is_pii() -> None:
    notes = [f"please reach me at user{i}@example.com about my order" for i in range(20)]
    col = Metadata.detect(pd.DataFrame({"notes": notes})).columns["notes"]
    assert (col.type, col.pii) == ("pii", "free_text")


def test_invalid_luhn_numbers_are_not_cards() -> None:
    bad = [str(4000_0000_0000_0001 + 7 * i) for i in range(40)]
    valid = [_card_number(b[:15]) for b in bad]
    assert Metadata.detect(pd.DataFrame({"card": valid})).columns["card"].pii == "credit_card"
    # the same shape failing the checksum is not taken for a card number
    broken = [v[:-1] + str((int(v[-1]) + 1) % 10) for v in valid]
    assert Metadata.detect(pd.DataFrame({"number": broken})).columns["number"].pii is None


def test_detect_on_the_bundled_dataset() -> None:
    meta = Metadata.detect(simulacra.datasets.load_customers())
    kinds = {n: c.pii or c.type for n, c in meta.columns.items()}
    assert kinds["customer_id"] == "id"
    assert meta.columns["customer_id"].pattern == "CUST-{digits:5}"
    assert kinds["email"] == "email" and kinds["name"] == "person_name"
    assert kinds["signup_date"] == "datetime" and kinds["is_active"] == "boolean"
    assert meta.columns["satisfaction"].ordered is True


# ------------------------------------------------------------------- bad input
def test_entirely_empty_column_is_an_error() -> None:
    df = pd.DataFrame({"a": [1, 2, 3], "blank": [None, None, None]})
    with pytest.raises(InvalidDataError) as info:
        Metadata.detect(df)
    assert info.value.problems == [info.value.problems[0]]
    assert "'blank'" in str(info.value) and "empty" in str(info.value)


def test_all_nan_float_column_is_an_error() -> None:
    with pytest.raises(InvalidDataError, match=r"'blank'.*empty"):
        Metadata.detect(pd.DataFrame({"a": [1.0, 2.0], "blank": [np.nan, np.nan]}))


@pytest.mark.parametrize(
    "values",
    [
        [*(str(i) for i in range(20)), "oops"],
        [*range(20), "oops"],
    ],
    ids=["text", "objects"],
)
def test_numbers_mixed_with_text_is_an_error(values: list) -> None:
    with pytest.raises(InvalidDataError) as info:
        Metadata.detect(pd.DataFrame({"amount": values}))
    message = str(info.value)
    assert "'amount'" in message and "'oops'" in message and "row 20" in message
    assert "categorical" in message  # says how to get past it


def test_every_detection_problem_is_listed_at_once() -> None:
    df = pd.DataFrame(
        {"amount": [*range(20), "oops"], "blank": [None] * 21, "ok": range(21), 3: range(21)}
    )
    with pytest.raises(InvalidDataError) as info:
        Metadata.detect(df)
    problems = info.value.problems
    assert len(problems) == 3
    assert any("'amount'" in p for p in problems)
    assert any("'blank'" in p for p in problems)
    assert any("3" in p and "name" in p for p in problems)


def test_detect_rejects_what_is_not_a_table() -> None:
    with pytest.raises(InvalidDataError, match="DataFrame"):
        Metadata.detect([[1, 2]])  # type: ignore[arg-type]
    with pytest.raises(InvalidDataError, match="no rows"):
        Metadata.detect(pd.DataFrame({"a": []}))


def test_infinite_numbers_are_an_error() -> None:
    with pytest.raises(InvalidDataError, match=r"'x'.*infinite"):
        Metadata.detect(pd.DataFrame({"x": [1.0, np.inf, 3.0]}))


# -------------------------------------------------------------------------- JSON
def test_json_round_trip(detected: Metadata) -> None:
    text = detected.to_json()
    assert Metadata.from_json(text) == detected
    data = json.loads(text)
    assert data["version"] == 1
    assert set(data["columns"]["answer"]) == {"type", "true_label", "false_label"}


def test_json_round_trip_through_a_file(detected: Metadata, tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    detected.to_json(path)
    assert Metadata.from_json(path) == detected
    assert Metadata.from_json(str(path)) == detected
    assert [p.name for p in tmp_path.iterdir()] == ["meta.json"]  # no temp files left


def test_json_from_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(simulacra.errors.InputError, match="not found"):
        Metadata.from_json(tmp_path / "nope.json")


def test_json_that_does_not_parse_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    path.write_text('{\n  "columns": {\n    "a": {"type": "numerical",}\n', encoding="utf-8")
    with pytest.raises(InvalidDataError) as info:
        Metadata.from_json(path)
    assert str(path) in str(info.value) and "line 3" in str(info.value)


def test_newer_metadata_version_asks_for_an_upgrade() -> None:
    with pytest.raises(InvalidDataError, match="upgrade"):
        Metadata.from_dict({"version": 99, "columns": {}})


def test_json_lists_every_declaration_problem() -> None:
    spec = {
        "columns": {
            "a": {"type": "weird"},
            "b": {"type": "numerical", "min": 5, "max": 1},
            "c": {"type": "pii", "pii": "dna"},
            "d": {"type": "numerical", "colour": "red"},
            "e": {"integer": True},
            "f": {"type": "categorical", "categories": ["x", "x"]},
            "g": {"type": "boolean", "decimals": 2},
        },
        "primary_key": "zzz",
    }
    with pytest.raises(InvalidDataError) as info:
        Metadata.from_dict(spec)
    problems = info.value.problems
    assert len(problems) == 8, problems
    for needle in ("'weird'", "greater than", "'dna'", "colour", "no 'type'", "repeat"):
        assert any(needle in p for p in problems), needle
    assert any("'g'" in p and "decimals" in p for p in problems)
    assert any("'zzz'" in p for p in problems)
    assert "8 problems" in str(info.value)


# -------------------------------------------------------------------- validation
def test_validate_lists_every_problem_at_once() -> None:
    meta = Metadata(
        columns={
            "amount": Column("numerical"),
            "kind": Column("mystery"),
            "ghost": Column("categorical"),
            "when": Column("datetime", format="%Y-%m-%d"),
        }
    )
    data = pd.DataFrame(
        {
            "amount": ["1.5", "two", "3"],
            "kind": [1, 2, 3],
            "when": ["2024-01-01", "01/02/2024", "2024-01-03"],
        }
    )
    with pytest.raises(InvalidDataError) as info:
        meta.validate(data, where="data.csv")
    problems = info.value.problems
    assert len(problems) == 4, problems
    assert any("'ghost'" in p and "no such column" in p for p in problems)
    assert any("'mystery'" in p for p in problems)
    assert any("'amount'" in p and "'two'" in p and "row 1" in p for p in problems)
    assert any("'when'" in p and "'01/02/2024'" in p for p in problems)
    assert str(info.value).startswith("data.csv: 4 problems")


def test_validate_flags_columns_missing_from_metadata_and_repeated_keys() -> None:
    meta = Metadata(columns={"id": Column("id", pattern="{int}")}, primary_key="id")
    data = pd.DataFrame({"id": [1, 2, 2], "extra": [1, 2, 3]})
    with pytest.raises(InvalidDataError) as info:
        meta.validate(data)
    problems = info.value.problems
    assert len(problems) == 2
    assert any("'extra'" in p for p in problems)
    assert any("repeated" in p for p in problems)


def test_validate_checks_boolean_labels() -> None:
    meta = Metadata(columns={"ok": Column("boolean", true_label="yes", false_label="no")})
    with pytest.raises(InvalidDataError, match="'maybe'"):
        meta.validate(pd.DataFrame({"ok": ["yes", "no", "maybe"]}))


def test_validate_accepts_data_that_fits(table: pd.DataFrame, detected: Metadata) -> None:
    detected.validate(table)


def test_column_types_are_the_documented_ones() -> None:
    assert set(COLUMN_TYPES) == {
        "numerical",
        "categorical",
        "boolean",
        "datetime",
        "id",
        "pii",
        "text",
    }


# --------------------------------------------------------------------- overrides
def test_user_can_declare_numbers_categorical_and_the_model_follows() -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {
            "zip": rng.choice([10001, 10002, 10003, 20500], 300, p=[0.5, 0.3, 0.19, 0.01]),
            "spend": np.round(rng.gamma(2.0, 30.0, 300), 2),
        }
    )
    meta = Metadata.detect(df)
    assert meta.columns["zip"].type == "numerical"  # the guess
    spec = meta.to_dict()
    spec["columns"]["zip"] = {"type": "categorical", "categories": [10001, 10002, 10003]}
    edited = Metadata.from_json(json.dumps(spec))
    out = simulacra.create("independent", seed=0).fit(df, metadata=edited).sample(2000)
    # categories, not interpolated numbers; the undeclared rare code never comes back
    assert set(out["zip"].unique()) <= {10001, 10002, 10003}
    real = df["zip"].value_counts(normalize=True)
    shares = out["zip"].value_counts(normalize=True)
    assert abs(shares[10002] - real[10002]) < 0.04
    assert abs(shares[10003] - real[10003]) < 0.04


def test_user_can_narrow_bounds_and_the_model_follows(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"age": rng.integers(0, 100, 400)})
    meta = Metadata.detect(df)
    spec = meta.to_dict()
    spec["columns"]["age"].update(min=18, max=65)
    path = tmp_path / "meta.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    with pytest.warns(
        UserWarning,
        match=r"'age': training values lie 72 \(18.0%\) below the declared min 18 and 142 ",
    ):
        model = simulacra.create("independent", seed=0).fit(df, metadata=path)
    out = model.sample(1000)
    assert out["age"].min() >= 18 and out["age"].max() <= 65
    assert (out["age"] == 18).any() and (out["age"] == 65).any()


def test_user_can_declare_text_labels_categorical(tmp_path: Path) -> None:
    df = pd.DataFrame({"answer": ["yes", "no"] * 50, "n": range(100)})
    spec = Metadata.detect(df).to_dict()
    assert spec["columns"]["answer"]["type"] == "boolean"
    spec["columns"]["answer"] = {"type": "categorical", "categories": ["yes"]}
    meta = Metadata.from_dict(spec)
    out = simulacra.create("independent", seed=0).fit(df, metadata=meta).sample(500)
    assert set(out["answer"]) == {"yes", "(other)"}  # 'no' undeclared: pooled, never verbatim


# ------------------------------------------------------------------ constraints
def test_constraints_round_trip_through_json_and_are_left_out_when_none(tmp_path: Path) -> None:
    meta = Metadata({"start": Column("numerical"), "end": Column("numerical")})
    assert "constraints" not in json.loads(meta.to_json())
    meta.constraints = [
        {"type": "inequality", "low": "start", "high": "end", "strict": True},
        {"type": "custom", "expression": "`end` - start < 10", "name": "short"},
    ]
    path = tmp_path / "meta.json"
    meta.to_json(path)
    again = Metadata.from_json(path)
    assert again == meta and again.constraints == meta.constraints
    assert json.loads(path.read_text())["version"] == 1


def test_constraint_declarations_are_checked_with_the_columns() -> None:
    spec = {
        "columns": {"start": {"type": "numerical"}, "end": {"type": "numerical"}},
        "constraints": [
            {"type": "inequality", "low": "start", "high": "ned"},
            {"type": "formula", "column": "end", "expression": "start +* 2"},
            {"type": "sometimes"},
        ],
    }
    with pytest.raises(InvalidDataError) as info:
        Metadata.from_dict(spec)
    problems = info.value.problems
    assert len(problems) == 3, problems
    assert "'ned'" in problems[0] and "did you mean 'end'" in problems[0]
    assert "does not parse" in problems[1] and "position 8" in problems[1]
    assert "'sometimes'" in problems[2]


def test_constraints_must_be_a_list() -> None:
    with pytest.raises(InvalidDataError, match="'constraints' must be a list"):
        Metadata.from_dict({"columns": {"a": {"type": "numerical"}}, "constraints": {"a": 1}})


def test_validate_names_the_rows_that_break_a_constraint() -> None:
    meta = Metadata(
        {"start": Column("numerical"), "end": Column("numerical")},
        constraints=[{"type": "inequality", "low": "start", "high": "end"}],
    )
    data = pd.DataFrame({"start": [1.0, 5.0, 2.0], "end": [2.0, 4.0, 1.0]}, index=[7, 8, 9])
    with pytest.raises(InvalidDataError) as info:
        meta.validate(data, where="orders.csv")
    assert str(info.value) == (
        "orders.csv: 2 training row(s) break constraint 'end >= start' (index labels 8, 9); "
        "fix or drop these rows, or remove the constraint"
    )


def test_a_column_named_like_a_missing_value_flag_is_a_clear_error() -> None:
    df = pd.DataFrame({"x": [1.0, None, 3.0] * 20, "x#null": ["p", "q", "q"] * 20})
    with pytest.raises(InvalidDataError, match="'x#null' has the name of the missing-value flag"):
        simulacra.create("cart", seed=0).fit(df)


def test_python_numbers_beside_gaps_are_a_numeric_column() -> None:
    df = pd.DataFrame({"k": pd.Series([1, 2, None, 3, 7] * 20, dtype=object)})  # JSON lines
    df["f"] = pd.Series([1.5, None, 2.25, 3, 4] * 20, dtype=object)
    detected = Metadata.detect(df)
    assert detected.columns["k"].type == "numerical" and detected.columns["k"].integer
    assert detected.columns["f"].type == "numerical" and detected.columns["f"].decimals == 2
    out = simulacra.create("cart", seed=0).fit(df).sample(300)
    assert str(out["k"].dtype) == "Int64" and set(out["k"].dropna()) <= {1, 2, 3, 7}


def test_a_column_name_repeated_is_a_clear_error() -> None:
    df = pd.DataFrame({"age": [30, 40, 50] * 20, "x": [1.0, 2.5, 3.0] * 20})
    twice = pd.concat([df, df[["age"]]], axis=1)
    said = "column name 'age' appears 2 times; give every column its own name"
    with pytest.raises(InvalidDataError, match=said):
        simulacra.create("copula", seed=0).fit(twice)
    with pytest.raises(InvalidDataError, match=said):
        simulacra.create("copula", seed=0).fit(twice, metadata=Metadata.detect(df))
