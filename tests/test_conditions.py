"""Conditional sampling and rebalancing, for every family, through the public API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulacra
from conftest import family_available
from simulacra.errors import InvalidParameterError
from simulacra.testing import quick_create

FAMILIES = [f for f in sorted(simulacra.families()) if family_available(f)]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 3000
    region = rng.choice(["North", "South", "East", "West"], n, p=[0.4, 0.3, 0.2, 0.1])
    age = np.clip(rng.normal(45, 12, n) + (region == "North") * 8, 18, 90).round()
    income = np.round(20_000 + age * 800 + rng.normal(0, 5000, n), 2)
    diagnosis = np.where(rng.random(n) < 0.05, "rare", "common")
    df = pd.DataFrame({"region": region, "age": age.astype(int), "income": income})
    df["diagnosis"] = diagnosis
    df["joined"] = (
        pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), "D")
    ).strftime("%Y-%m-%d")
    df.loc[rng.random(n) < 0.1, "income"] = np.nan
    return df


@pytest.fixture(scope="module")
def fitted(table: pd.DataFrame) -> dict[str, simulacra.Synthesizer]:
    return {f: quick_create(f, seed=0).fit(table) for f in FAMILIES}


@pytest.mark.parametrize("family", FAMILIES)
def test_every_row_meets_dict_conditions(family: str, fitted: dict) -> None:
    # North aged 40-60 is a quarter of the rows: a DP-SGD fit draws its noise from the
    # system's entropy (unrepeatable), and a few-epoch dp-gan gave North aged 30-40 (5% of
    # the rows) anywhere from 1.7% to 7% of the time, at times too rarely for rejection
    model = fitted[family]
    out = model.sample(500, conditions={"region": "North", "age": (40, 60)})
    assert len(out) == 500
    assert (out["region"] == "North").all()
    assert out["age"].between(40, 60).all()
    assert model.last_sample_info["rows"] == 500


@pytest.mark.parametrize("family", FAMILIES)
def test_a_range_between_the_columns_steps_holds_after_rounding(family: str, fitted: dict) -> None:
    # income keeps cents and age whole years: bounds between two steps must not let a
    # value that rounds to just outside them through
    low, high = 40_000.0025, 60_000.0075
    out = fitted[family].sample(400, conditions={"income": (low, high), "age": (35.5, 50.5)})
    income = out["income"].dropna()
    assert income.between(low, high).all(), income[~income.between(low, high)].head().tolist()
    assert out["age"].between(36, 50).all()


def test_an_end_within_float_rounding_of_a_step_is_that_step(fitted: dict) -> None:
    # 40.000000000000014 is what interpolating whole ages can give: it reads as 40, as the
    # README says, not as 41
    end = np.nextafter(np.nextafter(40.0, 50.0), 50.0)
    out = fitted["copula"].sample(300, conditions={"age": (end, end + 0.4)})
    assert (out["age"] == 40).all()


def test_a_range_with_no_value_at_the_columns_precision_is_refused(fitted: dict) -> None:
    with pytest.raises(InvalidParameterError, match="no value in steps of 1"):
        fitted["copula"].sample(10, conditions={"age": (40.2, 40.8)})


@pytest.mark.parametrize("family", FAMILIES)
def test_one_row_per_condition_row(family: str, fitted: dict) -> None:
    wanted = pd.DataFrame({"region": ["West", "North", None, "East"] * 50})
    out = fitted[family].sample(conditions=wanted)
    assert len(out) == 200
    given = wanted["region"].notna()
    assert (out["region"][given].to_numpy() == wanted["region"][given].to_numpy()).all()


@pytest.mark.parametrize("family", FAMILIES)
def test_rebalance_hits_the_asked_share(family: str, fitted: dict) -> None:
    out = fitted[family].sample(2000, rebalance={"diagnosis": {"rare": 0.3}})
    assert (out["diagnosis"] == "rare").mean() == pytest.approx(0.3, abs=0.001)


@pytest.mark.parametrize("family", ["bayesnet", "cart", "copula"])
def test_rebalancing_keeps_the_missing_share_among_the_rest(family: str) -> None:
    rng = np.random.default_rng(0)
    plan = pd.Series(rng.choice(["a", "b", "c"], 3000), dtype=object)
    plan[rng.random(3000) < 0.2] = None
    df = pd.DataFrame({"plan": plan, "x": rng.normal(size=3000).round(2)})
    model = simulacra.create(family, seed=0).fit(df)
    # c's 0.5 asked; a, b and the gaps (about 0.27, 0.27, 0.2 of rows) share the other half
    out = model.sample(6000, seed=0, rebalance={"plan": {"c": 0.5}})["plan"]
    assert (out == "c").mean() == pytest.approx(0.5, abs=0.001)
    assert out.isna().mean() == pytest.approx(0.5 * 0.2 / 0.8, abs=0.03)
    asked = model.sample(6000, seed=0, rebalance={"plan": {None: 0.05}})["plan"]
    assert asked.isna().mean() == pytest.approx(0.05, abs=0.001)


def test_rebalance_with_a_conditions_table_is_refused(fitted: dict) -> None:
    # before, the shares were read with no conditions and placed on random rows: North
    # rows asked for 30% rare diagnoses got the other categories in their overall shares
    wanted = pd.DataFrame({"region": ["North", "West"] * 100})
    with pytest.raises(InvalidParameterError, match="put 'diagnosis' in the table"):
        fitted["cart"].sample(conditions=wanted, rebalance={"diagnosis": {"rare": 0.3}})


def test_rebalance_under_conditions_too_rare_to_read_shares_says_so() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"kind": np.repeat(["rare", "usual"], [6, 2994]), "x": rng.random(3000)})
    df["flag"] = np.where(rng.random(3000) < 0.5, "yes", "no")
    model = simulacra.create("bootstrap", seed=0).fit(df)
    model.sample(3, conditions={"kind": "rare"})  # a few such rows can be drawn
    with pytest.raises(InvalidParameterError, match=r"rebalance under conditions .* are read"):
        model.sample(3, conditions={"kind": "rare"}, rebalance={"flag": {"yes": 0.3}})


def test_a_missing_share_is_refused_where_training_had_no_gaps(fitted: dict) -> None:
    with pytest.raises(InvalidParameterError, match="'region' had no missing values"):
        fitted["cart"].sample(10, rebalance={"region": {None: 0.1}})


def test_pinned_nullable_columns_keep_their_dtypes() -> None:
    rng = np.random.default_rng(0)
    kids = pd.array(rng.integers(0, 4, 1000), dtype="Int64")
    kids[rng.random(1000) < 0.1] = pd.NA
    flag = pd.array(rng.random(1000) < 0.5, dtype="boolean")
    flag[rng.random(1000) < 0.1] = pd.NA
    df = pd.DataFrame({"kids": kids, "flag": flag, "x": rng.normal(size=1000).round(2)})
    model = simulacra.create("bayesnet", seed=0).fit(df)
    out = model.sample(300, seed=0, conditions={"kids": 2, "flag": True})
    assert out.dtypes.astype(str).to_dict() == df.dtypes.astype(str).to_dict()


def test_a_training_timestamp_kept_to_the_millisecond_can_be_pinned() -> None:
    rng = np.random.default_rng(0)
    stamps = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**10, 300), "ms")
    df = pd.DataFrame({"t": stamps, "x": rng.normal(size=300).round(2)})
    model = simulacra.create("bayesnet", seed=0).fit(df)
    for value in df["t"].iloc[:40]:
        assert (model.sample(2, conditions={"t": value})["t"] == value).all()


def test_a_range_ending_on_a_millisecond_timestamp_keeps_it() -> None:
    rng = np.random.default_rng(0)
    stamps = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**9, 300), "ms")
    df = pd.DataFrame({"t": stamps, "x": rng.normal(size=300).round(2)})
    model = simulacra.create("bayesnet", seed=0).fit(df)
    for value in df["t"].iloc[:40]:  # ~1.7e12 steps: the grid snap must not lose one
        assert (model.sample(2, conditions={"t": (value, value)})["t"] == value).all()
    top = df["t"].max()
    assert (model.sample(2, conditions={"t": (top, top + pd.Timedelta(1, "s"))})["t"] == top).all()


def test_a_nested_cell_in_an_integer_conditions_column_is_a_clear_error(fitted: dict) -> None:
    with pytest.raises(
        InvalidParameterError, match=r"'age' holds \(20, 40\) in row 1 \(counting from 0\)"
    ):
        fitted["copula"].sample(conditions=pd.DataFrame({"age": [30, (20, 40)]}))


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (
            {"age": [30, "20-30"]},
            r"column 'age' holds '20-30' in row 1 \(counting from 0\), not a number",
        ),
        (
            {"joined": ["2021-03-01", None, "soon"]},
            r"'joined' holds 'soon' in row 2 \(counting from 0\), not a date",
        ),
    ],
)
def test_a_bad_cell_in_a_conditions_table_is_named(fitted: dict, cells: dict, message) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        fitted["copula"].sample(conditions=pd.DataFrame(cells))


def test_a_conditions_table_reads_numbers_as_text_and_dates_in_another_format(fitted) -> None:
    conditions = pd.DataFrame({"age": ["30", None], "joined": ["01 Mar 2021", "2021-04-02"]})
    out = fitted["copula"].sample(conditions=conditions)
    assert out["age"].iloc[0] == 30 and list(out["joined"]) == ["2021-03-01", "2021-04-02"]


def test_a_conditions_table_reads_dates_in_the_columns_own_format_first() -> None:
    days = pd.date_range("2021-01-01", periods=400)
    df = pd.DataFrame({"day": days.strftime("%d/%m/%Y"), "x": np.arange(400.0)})
    model = simulacra.create("copula", seed=0).fit(df)
    for odd in ("2021-03-04", pd.Timestamp("2021-03-04")):  # one ISO cell beside the others
        out = model.sample(conditions=pd.DataFrame({"day": ["01/02/2021", odd, None]}))
        assert out["day"].iloc[:2].tolist() == ["01/02/2021", "04/03/2021"]


@pytest.mark.parametrize("family", ["copula", "bayesnet"])
def test_a_value_off_the_grid_by_float_rounding_is_met(family: str) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"price": rng.uniform(0, 10, 800).round(2), "g": rng.choice(["a", "b"], 800)})
    out = simulacra.create(family, seed=0).fit(df).sample(50, conditions={"price": 0.1 + 0.2})
    assert (out["price"] == 0.3).all()


def test_where_leaves_backticks_inside_quoted_values_alone() -> None:
    from simulacra._where import parse_where

    assert parse_where(["region == 'a`b`c'"]) == {"region": "a`b`c"}
    assert parse_where(["`home region` == 'it`s'"]) == {"home region": "it`s"}


def test_where_conditions_on_one_column_meet_both() -> None:
    from simulacra._where import parse_where

    assert parse_where(["30 <= age <= 40", "age <= 60"]) == {"age": (30, 40)}
    assert parse_where(["age >= 50", "age >= 30"]) == {"age": (50, None)}
    assert parse_where(["age in (20, 35, 50)", "30 <= age <= 40"]) == {"age": 35}
    assert parse_where(["r in ('N', 'S', 'E')", "r in ('S', 'E', 'W')"]) == {"r": ["S", "E"]}
    contradictions = (["a == 3", "a >= 5"], ["r in ('N', 'S')", "r == 'W'"], ["a >= 5", "a <= 4"])
    for texts in contradictions:
        with pytest.raises(InvalidParameterError, match="contradict each other"):
            parse_where(texts)
    with pytest.raises(InvalidParameterError, match="not comparable"):
        parse_where(["age >= 30", "age <= 'forty'"])


def test_where_conditions_meet_as_their_columns_types_given_the_metadata() -> None:
    from simulacra._where import parse_where

    days = pd.date_range("2021-01-01", periods=60)
    meta = simulacra.Metadata.detect(
        pd.DataFrame(
            {"day": days.strftime("%d/%m/%Y"), "age": np.arange(60), "flag": [True, False] * 30}
        )
    )
    asked = parse_where(["day >= '15/01/2021'", "day >= '01/02/2021'", "day <= '3/2/2021'"], meta)
    assert asked["day"] == (pd.Timestamp("2021-02-01"), pd.Timestamp("2021-02-03"))
    assert parse_where(["age == '35'", "age >= 30", "flag == 'true'", "flag == True"], meta) == {
        "age": 35.0,
        "flag": True,
    }
    with pytest.raises(InvalidParameterError, match="contradict each other"):
        parse_where(["day >= '15/01/2021'", "day <= '01/01/2021'"], meta)


def test_copula_pinned_at_the_largest_value_keeps_the_rest_varied() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 50, 1000)
    df = pd.DataFrame({"a": a, "b": (a + rng.normal(0, 5, 1000)).round(1)})
    df["c"] = rng.choice(["x", "y", "z"], 1000)
    model = simulacra.create("copula", seed=0).fit(df)
    top = model.sample(1000, conditions={"a": 49})
    assert top["b"].nunique() > 50 and top["c"].nunique() == 3  # was one repeated row
    assert top["b"].mean() == pytest.approx(df.loc[df["a"] == 49, "b"].mean(), abs=4)


def test_conditions_as_typed_nan_float32_booleans_and_an_empty_dict(fitted: dict) -> None:
    model = fitted["copula"]
    assert model.sample(20, conditions={"income": np.nan})["income"].isna().all()
    pinned = model.sample(20, conditions={"income": np.float32(41234.5)})  # not 41234.49804
    assert (pinned["income"] == 41234.5).all()
    model.sample(5, conditions={})
    assert model.last_sample_info["how"] == "direct"
    with pytest.raises(InvalidParameterError, match=r"'age' holds \(30, 40\) in row 0"):
        model.sample(conditions=pd.DataFrame({"age": [(30, 40), (50, 60)]}))


def test_a_boolean_condition_reads_true_as_typed() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"active": rng.random(500) < 0.5, "x": rng.normal(size=500).round(2)})
    model = simulacra.create("bayesnet", seed=0).fit(df)
    for said in ("true", "True", True):
        assert model.sample(30, conditions={"active": said})["active"].all()


def test_copula_conditions_exactly_without_rejection(table: pd.DataFrame, fitted: dict) -> None:
    model = fitted["copula"]
    out = model.sample(4000, conditions={"region": "North"})
    assert model.last_sample_info == {"rows": 4000, "drawn": 4000, "how": "exact"}
    real = table.loc[table["region"] == "North", "age"].mean()
    assert out["age"].mean() == pytest.approx(real, abs=1.5)


@pytest.mark.parametrize("b, a", [(9, 0.0), (1, "min"), (9, "max")])
def test_copula_pins_a_columns_end_values_together_with_another(b, a) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=2000).round(3), "b": rng.integers(1, 10, 2000)})
    a = {"min": df["a"].min(), "max": df["a"].max()}.get(a, a)
    model = simulacra.create("copula", seed=0).fit(df)
    with np.errstate(all="raise"):  # no infinite latent score on the way
        out = model.sample(200, conditions={"b": b, "a": a})
    assert (out["b"] == b).all() and (out["a"] == a).all()
    assert model.last_sample_info["how"] == "exact"


def test_copula_pinned_number_follows_the_conditional_gaussian() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=5000)
    df = pd.DataFrame({"x": x, "y": 0.8 * x + 0.6 * rng.normal(size=5000)})
    out = simulacra.create("copula", seed=0).fit(df).sample(20_000, conditions={"x": 1.0})
    assert (out["x"] == 1.0).all()
    assert out["y"].mean() == pytest.approx(0.8, abs=0.04)
    assert out["y"].std() == pytest.approx(0.6, abs=0.04)


def test_copula_two_ranges_use_gibbs_and_hold(table: pd.DataFrame, fitted: dict) -> None:
    out = fitted["copula"].sample(2000, conditions={"age": (60, 70), "region": ["South", "East"]})
    assert out["age"].between(60, 70).all() and out["region"].isin(["South", "East"]).all()
    assert fitted["copula"].last_sample_info["how"] == "exact"


def test_cart_is_exact_when_conditions_lead_the_visit_order(table: pd.DataFrame) -> None:
    model = simulacra.create("cart", seed=0, visit_order=["region", "age"]).fit(table)
    out = model.sample(3000, conditions={"region": "North", "age": (30, 40)})
    assert model.last_sample_info["how"] == "exact"
    assert model.last_sample_info["drawn"] == 3000
    real = table[(table["region"] == "North") & table["age"].between(30, 40)]
    assert out["income"].mean() == pytest.approx(real["income"].mean(), rel=0.05)


def test_missing_cell_condition(fitted: dict) -> None:
    out = fitted["copula"].sample(300, conditions={"income": None})
    assert out["income"].isna().all()


def test_batches_with_conditions_match_sample(fitted: dict) -> None:
    model = fitted["independent"]
    whole = model.sample(900, seed=5, conditions={"region": "East"})
    parts = list(model.sample_batches(900, batch_size=400, seed=5, conditions={"region": "East"}))
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)


def test_too_rare_a_condition_is_named(table: pd.DataFrame) -> None:
    model = simulacra.create("bootstrap", seed=0).fit(table)
    with pytest.raises(InvalidParameterError, match=r"income in \[50000.01, 50000.02\]"):
        model.sample(50, conditions={"income": (50000.01, 50000.02)})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"conditions": {"regoin": "North"}}, "did you mean 'region'"),
        ({"conditions": {"region": "Mars"}}, "never took the value"),
        ({"conditions": {"age": (50, 40)}}, "low 50 above high 40"),
        ({"conditions": {"age": 200}}, "outside 18 to"),
        ({"conditions": {"age": 30.5}}, "steps of 1"),
        ({"conditions": {"age": None}}, "no missing values"),
        ({"rebalance": {"diagnosis": {"rare": 0.8, "common": 0.5}}}, "sum to at most 1"),
        ({"rebalance": {"diagnosis": {"unheard": 0.2}}}, "no category"),
        ({"rebalance": {"age": {30: 0.2}}}, "not a categorical"),
        (
            {"conditions": {"diagnosis": "rare"}, "rebalance": {"diagnosis": {"rare": 0.3}}},
            "conditioned twice",
        ),
    ],
)
def test_bad_requests_get_clear_errors(fitted: dict, kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        fitted["copula"].sample(100, **kwargs)


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({"age": [30, 40, 200]}, r"table: 'age' is 200 in row 2 .*outside 18 to"),
        ({"age": [30.5, 40, None]}, r"table: 'age' is 30.5 in row 0 .*steps of 1"),
        ({"region": ["North", None, "Mars"]}, r"table \(first in row 2.*never took .*'Mars'"),
    ],
)
def test_a_bad_cell_in_a_conditions_table_is_named_with_its_row(
    fitted: dict, cells: dict, message: str
) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        fitted["copula"].sample(conditions=pd.DataFrame(cells))


def test_conditions_table_and_n_must_agree(fitted: dict) -> None:
    with pytest.raises(InvalidParameterError, match="conditions table has 2 rows"):
        fitted["copula"].sample(5, conditions=pd.DataFrame({"region": ["North", "South"]}))


def test_regenerated_columns_cannot_be_conditioned() -> None:
    df = simulacra.datasets.load_customers()
    model = simulacra.create("independent", seed=0).fit(df)
    with pytest.raises(InvalidParameterError, match="regenerated"):
        model.sample(10, conditions={"email": "a@b.c"})


def test_datetime_range_condition(fitted: dict) -> None:
    out = fitted["copula"].sample(500, conditions={"joined": ("2021-01-01", "2021-03-31")})
    days = pd.to_datetime(out["joined"])
    assert days.between("2021-01-01", "2021-03-31").all()
