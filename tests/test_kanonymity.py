"""k-anonymity by Mondrian partitioning: k really holds on the output, and the report is true."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulacra.errors import InvalidDataError, InvalidParameterError
from simulacra.privacy import k_anonymize

QIS = ["age", "zip", "sex", "visit"]


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 2000
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "zip": rng.choice([f"{z:05d}" for z in rng.integers(1000, 99999, 60)], n),
            "sex": rng.choice(["F", "M", "X"], n, p=[0.49, 0.49, 0.02]),
            "visit": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
            "diagnosis": rng.choice(["flu", "cold", "asthma", "none"], n),
            "spend": rng.gamma(2.0, 30.0, n).round(2),
        }
    )


def _class_sizes(out: pd.DataFrame, qis: list[str]) -> pd.Series:
    return out.groupby(qis, dropna=False).size()


@pytest.mark.parametrize("k", [2, 5, 25])
def test_every_class_has_at_least_k_rows(people: pd.DataFrame, k: int) -> None:
    out, report = k_anonymize(people, QIS, k=k, sensitive=["diagnosis"])
    sizes = _class_sizes(out, QIS)
    assert sizes.min() >= k and report.k_achieved == sizes.min()
    assert report.classes == len(sizes) and report.rows == len(people) == len(out)
    assert report.rows_suppressed == 0
    pd.testing.assert_frame_equal(out[["diagnosis", "spend"]], people[["diagnosis", "spend"]])
    per_class = out.groupby(QIS)["diagnosis"].nunique()
    assert report.l_diversity == {"diagnosis": per_class.min()}
    assert report.discernibility == (sizes**2).sum()
    assert len(sizes) > len(people) / (4 * k)  # it really partitions, not one big class


def test_generalised_values_contain_the_real_ones(people: pd.DataFrame) -> None:
    out, _ = k_anonymize(people, QIS, k=5)
    for real, label in zip(people["age"], out["age"], strict=True):
        low, _, high = str(label).partition("-")
        assert int(low) <= real <= int(high or low)
    for real, label in zip(people["zip"], out["zip"], strict=True):  # codes with leading zeros
        assert real == label or real in label.strip("{}").split(",")
    for real, label in zip(people["sex"], out["sex"], strict=True):
        assert real == label or real in label.strip("{}").split(",")
    for real, label in zip(people["visit"], out["visit"], strict=True):
        start, _, end = label.partition("/")
        assert pd.Timestamp(start) <= real <= pd.Timestamp(end or start)


def test_information_loss_grows_with_k(people: pd.DataFrame) -> None:
    exact, low = k_anonymize(people[["age", "sex"]].drop_duplicates(), ["age", "sex"], k=1)
    assert low.ncp == 0.0 and low.k_achieved == 1 and exact["age"].str.fullmatch(r"\d+").all()
    reports = [k_anonymize(people, QIS, k=k)[1] for k in (2, 10, 50)]
    assert reports[0].ncp < reports[1].ncp < reports[2].ncp <= 1
    assert reports[0].discernibility < reports[1].discernibility < reports[2].discernibility
    text = reports[1].summary()
    assert "k=" in text and "NCP" in text and "rows suppressed" in text


def test_l_diversity_is_enforced_when_asked(people: pd.DataFrame) -> None:
    _, plain = k_anonymize(people, QIS, k=3, sensitive=["diagnosis"])
    out, report = k_anonymize(people, QIS, k=3, sensitive=["diagnosis"], l_diverse=3)
    assert out.groupby(QIS)["diagnosis"].nunique().min() >= 3
    assert report.l_satisfied is True and report.l_diversity["diagnosis"] >= 3
    assert plain.l_satisfied is None and report.to_dict()["l_satisfied"] is True


def test_rare_missing_patterns_are_suppressed(people: pd.DataFrame) -> None:
    gaps = people.copy()
    gaps.loc[:2, "age"] = np.nan  # 3 rows miss their age: fewer than k
    gaps.loc[10:29, "sex"] = None  # 20 rows miss their sex: a class of their own
    out, report = k_anonymize(gaps, QIS, k=5)
    assert report.rows_suppressed == 3 and len(out) == len(gaps) - 3
    assert not out.index.isin([0, 1, 2]).any()
    assert _class_sizes(out, QIS).min() >= 5 and out.loc[10:29, "sex"].isna().all()
    assert report.ncp > k_anonymize(people, QIS, k=5)[1].ncp - 0.01


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 50), st.sampled_from("abc")), min_size=1, max_size=60),
    st.integers(1, 8),
)
def test_k_holds_for_any_small_table(rows: list, k: int) -> None:
    df = pd.DataFrame(rows, columns=["n", "c"])
    if k > len(df):
        with pytest.raises(InvalidParameterError, match="larger than the table"):
            k_anonymize(df, ["n", "c"], k=k)
        return
    out, report = k_anonymize(df, ["n", "c"], k=k)
    assert _class_sizes(out, ["n", "c"]).min() >= k == report.k or report.k_achieved >= k
    assert report.k_achieved >= k and 0 <= report.ncp <= 1


def test_bad_input_is_named(people: pd.DataFrame) -> None:
    with pytest.raises(InvalidDataError, match=r"'zipcode' is not a column.*did you mean 'zip'"):
        k_anonymize(people, ["age", "zipcode"], k=5)
    with pytest.raises(InvalidDataError, match=r"sensitive column 'diagnoses'.*'diagnosis'"):
        k_anonymize(people, ["age"], k=5, sensitive=["diagnoses"])
    with pytest.raises(InvalidParameterError, match=r"k=5000 is larger than the table \(2,000"):
        k_anonymize(people, ["age"], k=5000)
    with pytest.raises(InvalidParameterError, match="k must be a whole number"):
        k_anonymize(people, ["age"], k=0)
    with pytest.raises(InvalidParameterError, match="only 4 distinct values"):
        k_anonymize(people, ["age"], k=5, sensitive=["diagnosis"], l_diverse=5)
    with pytest.raises(InvalidDataError, match="both quasi-identifiers and sensitive"):
        k_anonymize(people, ["age"], k=5, sensitive=["age"])
    with pytest.raises(InvalidDataError, match="at least one quasi-identifier"):
        k_anonymize(people, [], k=5)
