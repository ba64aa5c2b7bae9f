"""Business rules declared in metadata hold on every sampled row, for every family."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulacra
from conftest import family_available
from simulacra.errors import InvalidDataError, InvalidParameterError
from simulacra.testing import quick_create

# DP families refuse constraints (tests/test_dp.py checks the error): their rules learn from rows
FAMILIES = [
    f for f in sorted(simulacra.families()) if family_available(f) and not f.startswith("dp-")
]
CITIES = {"Paris": "FR", "Lyon": "FR", "Berlin": "DE", "Munich": "DE"}
RULES = [
    {"type": "inequality", "low": "start", "high": "end"},
    {"type": "formula", "column": "total", "expression": "price * qty"},
    {"type": "fixed_combinations", "columns": ["country", "city"]},
    {"type": "one_hot", "columns": ["is_a", "is_b", "is_c"]},
    {"type": "range", "column": "score", "low": 0, "high": "cap"},
    {"type": "positive", "column": "price", "strict": True},
    {"type": "custom", "expression": "age >= 21 or qty <= 5", "name": "young buy little"},
]


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 3000
    start = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D")
    end = start + pd.to_timedelta(rng.integers(0, 60, n), "D")
    price = np.round(rng.gamma(2, 10, n) + 0.01, 2)
    qty = rng.integers(1, 10, n)
    city = rng.choice(list(CITIES), n)
    kind = rng.choice(["a", "b", "c"], n)
    cap = rng.integers(50, 100, n)
    df = pd.DataFrame(
        {
            "start": start.strftime("%Y-%m-%d"),
            "end": end.strftime("%Y-%m-%d"),
            "price": price,
            "qty": qty,
            "total": np.round(price * qty, 2),
            "country": [CITIES[c] for c in city],
            "city": city,
            "is_a": kind == "a",
            "is_b": kind == "b",
            "is_c": kind == "c",
            "age": rng.integers(18, 80, n),
            "cap": cap,
            "score": np.floor(rng.random(n) * cap).astype(int),
        }
    )
    return df[(df["age"] >= 21) | (df["qty"] <= 5)].reset_index(drop=True)


@pytest.fixture(scope="module")
def meta(orders: pd.DataFrame) -> simulacra.Metadata:
    meta = simulacra.Metadata.detect(orders)
    meta.constraints = [dict(r) for r in RULES]
    return meta


def broken(out: pd.DataFrame) -> dict[str, int]:
    """Each rule checked independently of the library's own checker."""
    total = np.round(out["price"].astype(float) * out["qty"].astype(float), 2)
    hot = out[["is_a", "is_b", "is_c"]].astype(int).sum(axis=1)
    return {
        "end >= start": int((pd.to_datetime(out["end"]) < pd.to_datetime(out["start"])).sum()),
        "formula": int((~np.isclose(out["total"].astype(float), total, atol=0.005)).sum()),
        "combination": int((out["city"].map(CITIES) != out["country"]).sum()),
        "one hot": int((hot != 1).sum()),
        "range": int(((out["score"] < 0) | (out["score"] > out["cap"])).sum()),
        "positive": int((out["price"] <= 0).sum()),
        "custom": int(((out["age"] < 21) & (out["qty"] > 5)).sum()),
    }


@pytest.mark.parametrize("family", FAMILIES)
def test_every_rule_holds_on_every_row(family: str, orders, meta) -> None:
    out = quick_create(family, seed=0).fit(orders, metadata=meta).sample(5000)
    assert broken(out) == dict.fromkeys(broken(out), 0)
    assert len(out) == 5000


def test_a_million_rows_keep_every_rule(orders, meta) -> None:
    model = simulacra.create("cart", seed=0).fit(orders, metadata=meta)
    rows = 0
    for batch in model.sample_batches(1_000_000, batch_size=250_000):
        assert sum(broken(batch).values()) == 0
        rows += len(batch)
    assert rows == 1_000_000


def test_rules_are_reported_in_validity(orders, meta) -> None:
    out = simulacra.create("copula", seed=0).fit(orders, metadata=meta).sample(2000)
    report = simulacra.evaluate(orders, out, metadata=meta, seed=0)
    rules = [m for m in report.metrics if m.name.startswith("constraint: ")]
    assert len(rules) == len(RULES) and all(m.value == 1.0 for m in rules)


def test_rules_travel_in_the_model_file(tmp_path, orders, meta) -> None:
    model = simulacra.create("copula", seed=0).fit(orders, metadata=meta)
    model.save(tmp_path / "m.simz")
    loaded = simulacra.load(tmp_path / "m.simz")
    assert loaded.metadata_.constraints == meta.constraints
    pd.testing.assert_frame_equal(loaded.sample(500), model.sample(500))


def test_unique_rule_draws_until_no_combination_repeats(orders) -> None:
    distinct = orders.drop_duplicates(["city", "qty", "age"]).reset_index(drop=True)
    meta = simulacra.Metadata.detect(distinct)
    meta.constraints = [{"type": "unique", "columns": ["city", "qty", "age"]}]
    out = simulacra.create("independent", seed=0).fit(distinct, metadata=meta).sample(800)
    assert not out.duplicated(["city", "qty", "age"]).any()


def test_a_unique_rule_with_too_few_combinations_is_refused_before_drawing(orders) -> None:
    pairs = orders.drop_duplicates(["city", "qty"])[["city", "qty", "price"]]
    meta = simulacra.Metadata.detect(pairs)
    meta.constraints = [{"type": "unique", "columns": ["city", "qty"]}]
    model = simulacra.create("independent", seed=0).fit(pairs, metadata=meta)
    out = model.sample(36)  # 4 cities x 9 quantities: every pair once
    assert len(out.drop_duplicates(["city", "qty"])) == 36
    with pytest.raises(InvalidParameterError, match=r"at most 36 .*city: 4 values, qty: 9 .*37"):
        model.sample(37)
    assert not hasattr(model, "last_sample_info") or model.last_sample_info["rows"] == 36


def test_training_rows_that_break_a_rule_are_named(orders, meta) -> None:
    bad = orders.copy()
    bad.loc[[3, 7], "end"] = "2022-01-01"
    with pytest.raises(InvalidDataError, match=r"end >= start.*\b3\b.*\b7\b"):
        simulacra.create("copula").fit(bad, metadata=meta)


def test_a_formula_that_does_not_parse_is_an_error(orders) -> None:
    meta = simulacra.Metadata.detect(orders).to_dict()
    meta["constraints"] = [{"type": "formula", "column": "total", "expression": "price * * qty"}]
    with pytest.raises(InvalidDataError, match="price \\* \\* qty"):
        simulacra.Metadata.from_dict(meta)


def test_conditions_and_rules_together(orders, meta) -> None:
    model = simulacra.create("cart", seed=0).fit(orders, metadata=meta)
    out = model.sample(500, conditions={"city": "Lyon", "qty": (6, 9)})
    assert (out["city"] == "Lyon").all() and out["qty"].between(6, 9).all()
    assert (out["country"] == "FR").all() and (out["age"] >= 21).all()


@pytest.mark.parametrize("family", ["copula", "cart", "bayesnet"])
@pytest.mark.parametrize(
    ("conditions", "said"),
    [
        ({"is_a": True, "is_b": True}, "('exactly one of is_a, is_b, is_c': exactly one column"),
        (
            {"city": "Paris", "country": "DE"},
            "rule 'fixed combinations of country, city'",
        ),
        ({"start": "2023-05-01", "end": "2023-04-01"}, "break the rule 'end >= start'"),
        ({"price": 10.0, "qty": 3, "total": 31.0}, "break the rule 'total = price * qty'"),
    ],
)
def test_conditions_a_rule_forbids_are_refused_before_drawing(
    family, conditions, said, orders, meta
) -> None:
    model = simulacra.create(family, seed=0).fit(orders, metadata=meta)
    with pytest.raises(InvalidParameterError) as error:
        model.sample(50, conditions=conditions)
    message = str(error.value)
    assert said in message and "change the conditions" in message
    assert " and ".join(f"{k} == {v!r}" for k, v in conditions.items()) in message
    assert "young buy little" not in message and "rows drawn" not in message


def test_refused_conditions_are_written_as_the_user_writes_values(orders, meta) -> None:
    model = simulacra.create("copula", seed=0).fit(orders, metadata=meta)
    asked = {"start": pd.Timestamp("2023-05-01"), "end": np.datetime64("2023-04-01")}
    with pytest.raises(InvalidParameterError) as error:
        model.sample(5, conditions={**asked, "price": np.float64(10.0)})
    message = str(error.value)  # before: start == Timestamp('2023-05-01 00:00:00')
    assert "start == '2023-05-01' and end == '2023-04-01'" in message
    assert "price == 10.0" in message and "np." not in message


def test_a_condition_on_one_hot_columns_is_met_exactly(orders, meta) -> None:
    model = simulacra.create("copula", seed=0).fit(orders, metadata=meta)
    out = model.sample(300, conditions={"is_b": True})
    assert model.last_sample_info["how"] == "exact" and out["is_b"].all()
    out = model.sample(conditions=pd.DataFrame({"is_a": [False, None], "is_c": [False, True]}))
    assert out[["is_a", "is_b", "is_c"]].values.tolist() == [
        [False, True, False],
        [False, False, True],
    ]


@pytest.mark.parametrize("family", ["copula", "bayesnet"])
def test_a_condition_on_a_formula_column_keeps_the_others_exact(family, orders, meta) -> None:
    # price 10.00 is a point of a continuous column: only the family's own conditioning meets
    # it; total == 50 is then met by drawing qty again (about one draw in nine)
    model = simulacra.create(family, seed=0).fit(orders, metadata=meta)
    out = model.sample(200, conditions={"total": 50.0, "price": 10.0})
    assert out[["price", "qty", "total"]].drop_duplicates().to_numpy().tolist() == [[10, 5, 50]]
    assert model.last_sample_info["how"] == "partly exact"
