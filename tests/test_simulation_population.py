"""Synthetic populations: IPF, integerisation (TRS), households and persons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulacra.simulation as simulation
from simulacra.errors import InvalidDataError, InvalidParameterError
from simulacra.relational import MultiTableMetadata
from simulacra.simulation import COMPOSITIONS, build_population, integerise, ipf


def margin(table: pd.Series, dims: list[str]) -> pd.Series:
    return table.groupby(level=dims, sort=False).sum()


def test_all_is_curated_and_importable():
    for name in simulation.__all__:
        assert hasattr(simulation, name), name
    assert {"ipf", "integerise", "build_population", "Population"} <= set(simulation.__all__)


# ------------------------------------------------------------------------ IPF
def test_ipf_with_a_seed_of_ones_gives_the_independence_table():
    fit = ipf(None, {"row": {"a": 30, "b": 70}, "col": {"x": 20, "y": 50, "z": 30}})
    expected = np.outer([30, 70], [20, 50, 30]) / 100
    np.testing.assert_allclose(fit.array, expected)
    assert fit.converged and fit.iterations == 1 and fit.max_deviation < 1e-9
    assert fit.table.index.names == ["row", "col"]


def test_ipf_textbook_two_by_two_keeps_the_seed_odds_ratio():
    # a survey table raked to census margins (rows 5, 15; columns 10, 10): the
    # fit keeps the survey's odds ratio, so its first cell solves a quadratic
    survey = np.array([[7.0, 9.0], [12.0, 7.0]])
    fit = ipf(survey, {0: [5, 15], 1: [10, 10]}, tol=1e-12)
    theta, n, r1, c1 = 7 * 7 / (9 * 12), 20, 5, 10
    a = np.roots([1 - theta, n - r1 - c1 + theta * (r1 + c1), -theta * r1 * c1])
    x11 = a[(a > 0) & (a < 5)][0]
    expected = np.array([[x11, r1 - x11], [c1 - x11, n - r1 - c1 + x11]])
    np.testing.assert_allclose(fit.table, expected, atol=1e-9)
    assert fit.table[0, 0] == pytest.approx(1.7757, abs=1e-4)
    assert survey[0, 0] == 7.0  # the caller's seed is left alone


def test_ipf_three_dimensions_one_and_two_way_marginals():
    rng = np.random.default_rng(3)
    cats = {"age": ["young", "mid", "old"], "sex": ["F", "M"], "region": ["n", "s", "e", "w"]}
    index = pd.MultiIndex.from_product(cats.values(), names=list(cats))
    truth = pd.Series(rng.uniform(5, 100, len(index)), index=index)
    seed = pd.Series(rng.uniform(0.5, 3, len(index)), index=index)
    age_sex = margin(truth, ["age", "sex"]).unstack("sex")  # a DataFrame, index x columns
    sex_region = {
        s: {r: margin(truth, ["sex", "region"])[(s, r)] for r in cats["region"]}
        for s in cats["sex"]
    }
    marginals = {
        "age": margin(truth, ["age"]).to_dict(),
        ("age", "sex"): age_sex,
        ("sex", "region"): sex_region,  # a dict of dicts
    }
    fit = ipf(seed, marginals, tol=1e-8)
    assert fit.converged and fit.max_deviation <= 1e-8 and fit.iterations > 1
    for dims in (["age"], ["age", "sex"], ["sex", "region"], ["region"]):
        pd.testing.assert_series_equal(
            margin(fit.table, dims), margin(truth, dims), check_names=False, atol=1e-6, rtol=0
        )
    assert fit.marginal_dims == (("age",), ("age", "sex"), ("sex", "region"))
    # a list of named pandas tables works as well as a dict
    again = ipf(seed, [margin(truth, ["age"]), age_sex, margin(truth, ["sex", "region"])])
    np.testing.assert_allclose(again.array, fit.array, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(2, 4), min_size=2, max_size=3),
    data=st.data(),
)
def test_ipf_fits_any_positive_seed_to_consistent_marginals(shape, data):
    size = int(np.prod(shape))
    cells = st.lists(st.floats(0.1, 10.0), min_size=size, max_size=size)
    seed = np.array(data.draw(cells)).reshape(shape)
    truth = np.array(data.draw(cells)).reshape(shape) * 10
    axes = range(len(shape))
    marginals = {a: truth.sum(axis=tuple(b for b in axes if b != a)) for a in axes}
    marginals[(0, 1)] = truth.sum(axis=tuple(range(2, len(shape))))
    fit = ipf(seed, marginals, tol=1e-7, max_iter=5000)
    assert fit.converged
    for key, target in marginals.items():
        keep = key if isinstance(key, tuple) else (key,)
        got = fit.table.sum(axis=tuple(b for b in axes if b not in keep))
        np.testing.assert_allclose(got, target, atol=1e-6)


def test_ipf_disagreeing_totals_name_the_tables_and_offer_to_rescale():
    marginals = {"sex": {"F": 60, "M": 40}, "smoker": {"yes": 30, "no": 75}}
    with pytest.raises(InvalidDataError) as err:
        ipf(None, marginals)
    message = str(err.value)
    assert "'sex' sums to 100" in message and "'smoker' sums to 105" in message
    assert "rescale=True" in message
    fit = ipf(None, marginals, rescale=True)
    assert fit.table.sum() == pytest.approx(100)
    assert margin(fit.table, ["smoker"])["no"] == pytest.approx(75 * 100 / 105)


def test_ipf_tables_sharing_a_dimension_must_agree_on_it():
    two_way = {"F": {"yes": 10, "no": 50}, "M": {"yes": 20, "no": 20}}  # 60 F, 40 M
    with pytest.raises(InvalidDataError, match=r"disagree at sex='F': 55 vs 60"):
        ipf(None, {"sex": {"F": 55, "M": 45}, ("sex", "smoker"): two_way})


def test_ipf_unknown_category_names_it_and_the_known_ones():
    seed = pd.Series(1.0, index=pd.Index(["F", "M"], name="sex"))
    with pytest.raises(InvalidDataError) as err:
        ipf(seed, {"sex": {"F": 50, "X": 50}})
    assert "sex='X'" in str(err.value) and "['F', 'M']" in str(err.value)
    with pytest.raises(InvalidDataError, match=r"dimension\(s\) \['income'\]"):
        ipf(seed, {"income": {"low": 50}})
    with pytest.raises(InvalidDataError, match=r"no count for 1 cell\(s\) \(sex='M'\)"):
        ipf(seed, {"sex": {"F": 50}})


def test_ipf_structural_zero_names_the_impossible_cell():
    seed = pd.DataFrame(
        [[1.0, 0.0], [1.0, 1.0]],  # no retired children
        index=pd.Index(["child", "adult"], name="age"),
        columns=pd.Index(["student", "retired"], name="status"),
    )
    ok = ipf(seed, {"age": {"child": 30, "adult": 70}, "status": {"student": 40, "retired": 60}})
    assert ok.converged and ok.table[("child", "retired")] == 0
    two_way = {
        ("child", "student"): 25,
        ("child", "retired"): 5,
        ("adult", "student"): 15,
        ("adult", "retired"): 55,
    }
    with pytest.raises(InvalidDataError) as err:
        ipf(seed, {("age", "status"): two_way})
    assert "asks for 5 at age='child', status='retired'" in str(err.value)
    assert "structural zero" in str(err.value)
    seed["retired"] = 0.0  # no one retired at all: a one-way table cannot be met either
    with pytest.raises(InvalidDataError, match=r"asks for 60 at status='retired'"):
        ipf(seed, {"status": {"student": 40, "retired": 60}})


def test_ipf_bad_counts_and_parameters():
    with pytest.raises(InvalidDataError, match=r"count -5 at sex='M'.*0 or more"):
        ipf(None, {"sex": {"F": 50, "M": -5}})
    with pytest.raises(InvalidDataError, match="is no number"):
        ipf(None, {"sex": {"F": 50, "M": "many"}})
    with pytest.raises(InvalidParameterError, match="max_iter=0"):
        ipf(None, {"sex": {"F": 50}}, max_iter=0)
    with pytest.raises(InvalidParameterError, match="marginals is empty"):
        ipf(None, {})
    with pytest.raises(InvalidDataError, match="unnamed index"):
        ipf(None, [pd.Series([1.0, 2.0], index=["a", "b"])])


def test_ipf_reports_no_convergence_when_zeros_contradict():
    # each one-way table is reachable, but together they force the zero cell
    seed = np.array([[0.0, 1.0], [1.0, 1.0]])
    fit = ipf(seed, {0: [10, 0], 1: [10, 0]}, max_iter=20)
    assert not fit.converged and fit.iterations == 20 and fit.max_deviation > 1


# ---------------------------------------------------------------- integerise
def test_integerise_keeps_the_total_and_the_finest_marginal_exact():
    rng = np.random.default_rng(0)
    cats = {"a": list("pqr"), "b": list("xy"), "c": list("uvw")}
    index = pd.MultiIndex.from_product(cats.values(), names=list(cats))
    truth = pd.Series(rng.integers(0, 40, len(index)), index=index)
    marginals = {"c": margin(truth, ["c"]), ("a", "b"): margin(truth, ["a", "b"])}
    fit = ipf(pd.Series(rng.uniform(0.2, 2, len(index)), index=index), marginals)
    for s in range(20):
        counts = integerise(fit, seed=s)
        assert counts.dtype == np.int64 and counts.index.equals(fit.table.index)
        assert counts.sum() == truth.sum()
        assert (np.abs(counts - fit.table) < 1).all()  # every cell rounded down or up
        pd.testing.assert_series_equal(
            margin(counts, ["a", "b"]), margin(truth, ["a", "b"]), check_names=False
        )
        # the other marginal: each cell off by at most the cells it sums (here 6)
        assert (np.abs(margin(counts, ["c"]) - margin(truth, ["c"])) <= 6).all()
    # by= picks the exact margin; a new total scales the table first
    counts = integerise(fit, by=["c"], total=2 * int(truth.sum()), seed=1)
    pd.testing.assert_series_equal(
        margin(counts, ["c"]), 2 * margin(truth, ["c"]), check_names=False
    )


def test_integerise_arrays_are_seeded_and_margins_within_one_when_not_whole():
    x = np.random.default_rng(5).uniform(0, 3, (4, 5))
    a, b = integerise(x, total=40, by=[0], seed=9), integerise(x, total=40, by=[0], seed=9)
    np.testing.assert_array_equal(a, b)
    assert a.sum() == 40
    scaled = x * 40 / x.sum()
    assert (np.abs(a - scaled) < 1).all()
    assert (np.abs(a.sum(axis=1) - scaled.sum(axis=1)) < 1).all()
    # a bare Series: cells grouped by the index levels named in by=
    index = pd.MultiIndex.from_product([range(4), range(5)], names=["u", "v"])
    series = integerise(pd.Series(x.ravel(), index=index), total=40, by=["u"], seed=9)
    assert series.index.equals(index) and series.sum() == 40
    assert (np.abs(series.groupby(level="u").sum() - scaled.sum(axis=1)) < 1).all()
    with pytest.raises(InvalidParameterError, match="total=-1"):
        integerise(x, total=-1)
    with pytest.raises(InvalidParameterError, match=r"by=\[7\]"):
        integerise(x, by=[7])


# ---------------------------------------------------------------- population
HOUSEHOLD_TYPES = pd.DataFrame(
    {1: [30, 0, 0, 0], 2: [0, 25, 0, 5], 3: [0, 0, 12, 4], 4: [0, 0, 16, 0], 5: [0, 0, 8, 0]},
    index=pd.Index(["single", "couple", "couple_with_children", "lone_parent"], name="type"),
).rename_axis(columns="size")
N_PERSONS = sum(s * HOUSEHOLD_TYPES[s].sum() for s in HOUSEHOLD_TYPES.columns)  # 242
AGE_SEX = pd.DataFrame(
    {"F": [25, 12, 43, 23, 20], "M": [25, 11, 42, 22, 19]},
    index=pd.Index(["0-11", "12-17", "18-39", "40-64", "65+"], name="age_band"),
).rename_axis(columns="sex")


def build(**kwargs):
    households = {("type", "size"): HOUSEHOLD_TYPES, "region": {"north": 40, "south": 60}}
    persons = {
        ("age_band", "sex"): AGE_SEX,
        "employed": {"yes": 0.45 * N_PERSONS, "no": 0.55 * N_PERSONS},
    }
    return build_population(households, persons, **{"seed": 1, **kwargs})


def with_heads(persons: pd.DataFrame) -> pd.DataFrame:
    heads = persons.loc[persons["role"] == "head", ["household_id", "age", "sex"]]
    return persons.merge(heads, on="household_id", suffixes=("", "_head"))


def test_population_tables_join_and_sizes_match_members():
    assert AGE_SEX.to_numpy().sum() == N_PERSONS
    pop = build()
    hh, people = pop.households, pop.persons
    assert len(hh) == 100 and len(people) == N_PERSONS
    assert hh["household_id"].is_unique and people["person_id"].is_unique
    assert people["household_id"].isin(hh["household_id"]).all()
    members = people.groupby("household_id").size()
    pd.testing.assert_series_equal(
        members.reindex(hh["household_id"]).reset_index(drop=True),
        hh["size"].rename(None),
        check_names=False,
    )
    assert (people.groupby("household_id")["role"].apply(lambda r: (r == "head").sum()) == 1).all()
    # the household marginals come back exactly (the type x size table is the finest)
    got = hh.groupby(["type", "size"]).size().unstack(fill_value=0)
    got = got.reindex(index=HOUSEHOLD_TYPES.index, columns=HOUSEHOLD_TYPES.columns, fill_value=0)
    pd.testing.assert_frame_equal(got, HOUSEHOLD_TYPES, check_names=False)
    assert hh["region"].value_counts().to_dict() == {"south": 60, "north": 40}
    assert list(hh.columns) == ["household_id", "size", "type", "region"]
    assert list(people.columns) == [
        "person_id",
        "household_id",
        "role",
        "age",
        "age_band",
        "sex",
        "employed",
    ]


def test_population_person_marginals_come_back():
    people = build().persons
    # the finest person table (age_band x sex) is exact, and so its own margins
    got = people.groupby(["age_band", "sex"]).size().unstack()
    pd.testing.assert_frame_equal(
        got.loc[AGE_SEX.index, AGE_SEX.columns], AGE_SEX, check_names=False
    )
    # a one-way table beside it: within the cells it sums (here 10), not exact
    assert abs((people["employed"] == "yes").sum() - 0.45 * N_PERSONS) <= 10
    # ages are whole years inside their band
    bands = {"0-11": (0, 11), "12-17": (12, 17), "18-39": (18, 39), "40-64": (40, 64)}
    bands["65+"] = (65, 100)  # max_age
    low, high = (people["age_band"].map({k: v[i] for k, v in bands.items()}) for i in (0, 1))
    assert people["age"].between(low, high).all()


def test_population_roles_are_coherent():
    pop = build()
    people, hh = with_heads(pop.persons), pop.households.set_index("household_id")
    children = people[people["role"] == "child"]
    assert (children["age"] < children["age_head"]).all()
    assert (children["age_head"] - children["age"] >= 18).all()  # parent_gap[0]
    adults = people[people["role"].isin(["head", "partner", "other"])]
    assert (adults["age"] >= 18).all()
    assert (people.loc[people["age"] < 18, "role"] == "child").all()
    # the roles follow the household type
    roles = people.groupby("household_id")["role"].agg(lambda r: " ".join(sorted(r)))
    kind = hh.loc[roles.index, "type"]
    assert (roles[kind == "single"] == "head").all()
    assert (roles[kind == "couple"] == "head partner").all()
    assert roles[kind == "lone_parent"].str.contains("child").all()
    assert not roles[kind == "lone_parent"].str.contains("partner").any()
    assert roles[kind == "couple_with_children"].str.contains("partner").all()
    # partners are matched to their heads by age (nearly every adult here is a head
    # or a partner, so the ages cannot be much closer), and of the other sex here
    partners = people[people["role"] == "partner"]
    assert partners["age"].corr(partners["age_head"], method="spearman") > 0.9
    assert (partners["sex"] != partners["sex_head"]).all()


def test_population_metadata_validates_and_round_trips():
    pop = build()
    meta = pop.metadata()
    meta.validate(pop.tables)
    assert meta.primary_keys == {"households": ["household_id"], "persons": ["person_id"]}
    assert [fk.name for fk in meta.foreign_keys] == ["persons.household_id"]
    assert meta.tables["persons"].columns["role"].categories == list(
        ("head", "partner", "child", "other")
    )
    assert meta.tables["households"].columns["type"].categories == list(HOUSEHOLD_TYPES.index)
    assert MultiTableMetadata.from_json(meta.to_json()) == meta
    assert pop.primary_keys == {"households": "household_id", "persons": "person_id"}


def test_population_is_seeded():
    a, b, c = build(seed=5), build(seed=5), build(seed=6)
    pd.testing.assert_frame_equal(a.households, b.households)
    pd.testing.assert_frame_equal(a.persons, b.persons)
    assert not a.persons.equals(c.persons)


def test_population_scales_to_a_number_of_households_or_persons():
    pop = build(n_households=1000)
    assert len(pop.households) == 1000
    assert pop.households["type"].value_counts()["single"] == 300
    shares = pop.persons.groupby("age_band").size() / len(pop.persons)
    np.testing.assert_allclose(shares[AGE_SEX.index], AGE_SEX.sum(axis=1) / N_PERSONS, atol=2e-3)
    pop = build(n_persons=5000)
    assert abs(len(pop.persons) - 5000) <= 5  # whole households of up to 5
    assert len(pop.households) == round(5000 / (N_PERSONS / 100))


def test_population_without_types_is_couples_with_children():
    pop = build_population(
        {"size": {1: 30, 2: 40, 3: 20, 4: 10}},
        {"age_band": {"0-17": 40, "18-64": 130, "65+": 40}},
        seed=0,
    )
    roles = pop.persons.merge(pop.households, on="household_id")
    assert (roles.loc[roles["size"] == 1, "role"] == "head").all()
    assert set(roles.loc[roles["size"] == 2, "role"]) == {"head", "partner"}
    assert (roles.loc[roles["size"] == 4, "role"] == "child").sum() == 20
    assert set(COMPOSITIONS) >= {"single", "couple", "lone_parent"}


def test_population_samples_seed_the_fits():
    rng = np.random.default_rng(0)
    # in the sample, every 65+ person is retired and no one younger is
    ages = rng.integers(0, 95, 400)
    sample = pd.DataFrame({"age": ages, "retired": np.where(ages >= 65, "yes", "no")})
    persons = {
        "age_band": {"0-17": 40, "18-64": 130, "65+": 40},
        "retired": {"yes": 40, "no": 170},
    }
    before = sample.copy()
    pop = build_population(
        {"size": {1: 30, 2: 40, 3: 20, 4: 10}}, persons, person_sample=sample, seed=0
    )
    pd.testing.assert_frame_equal(sample, before)  # the caller's sample is left alone
    old = pop.persons["age_band"] == "65+"
    assert (pop.persons.loc[old, "retired"] == "yes").all()
    assert (pop.persons.loc[~old, "retired"] == "no").all()
    # a sample that lacks combinations the marginals need: zeros no fit can get past,
    # unless a prior makes every combination possible
    sizes = {"size": {1: 30, 2: 40, 3: 20, 4: 10}}
    persons["retired"] = {"yes": 50, "no": 160}
    with pytest.raises(InvalidDataError, match=r"person marginals: IPF did not converge"):
        build_population(sizes, persons, person_sample=sample, max_iter=50)
    two_way = {("18-64", "yes"): 10, ("18-64", "no"): 120, ("65+", "yes"): 40}
    two_way |= {("65+", "no"): 0, ("0-17", "yes"): 0, ("0-17", "no"): 40}
    with pytest.raises(InvalidDataError, match=r"asks for 10 at age_band='18-64', retired='yes'"):
        build_population(sizes, {("age_band", "retired"): two_way}, person_sample=sample)
    pop = build_population(sizes, persons, person_sample=sample, sample_prior=0.5, seed=0)
    assert abs((pop.persons["retired"] == "yes").sum() - 50) <= 3
    # a household sample where the north has only one-person households
    sample = pd.DataFrame({"size": [1, 1, 2, 3, 4, 2], "region": ["n", "n", "s", "s", "s", "s"]})
    sizes_regions = {"size": {1: 30, 2: 40, 3: 20, 4: 10}, "region": {"n": 30, "s": 70}}
    hh = build_population(sizes_regions, persons, household_sample=sample, seed=0).households
    assert (hh.loc[hh["region"] == "n", "size"] == 1).all() and (hh["region"] == "n").sum() == 30
    households = pd.DataFrame(
        {"size": [1, 2, 2, 3, 4], "tenure": ["rent", "own", "own", "own", "rent"]}
    )
    with pytest.raises(InvalidDataError, match=r"household sample.*no column\(s\) \['region'\]"):
        build_population(
            {"size": {1: 30, 2: 40, 3: 20, 4: 10}, "region": {"n": 50, "s": 50}},
            persons,
            household_sample=households,
        )


def test_population_custom_compositions():
    households = {
        ("type", "size"): {
            ("flatshare", 3): 10,
            ("flatshare", 4): 5,
            ("single", 3): 0,
            ("single", 4): 0,
        },
    }
    with pytest.raises(InvalidDataError, match=r"types \['flatshare'\] have no composition"):
        build_population(households, {"age_band": {"18-30": 50}})
    pop = build_population(
        households, {"age_band": {"18-30": 50}}, compositions={"flatshare": "head other+"}, seed=0
    )
    assert set(pop.persons["role"]) == {"head", "other"}
    with pytest.raises(InvalidParameterError, match="at most one role may repeat"):
        build_population(
            households,
            {"age_band": {"18-30": 50}},
            compositions={"flatshare": "head other+ child*"},
        )
    with pytest.raises(InvalidDataError, match=r"asks for 5 at type='single', size=3"):
        build_population(
            {("type", "size"): {("single", 1): 10, ("single", 3): 5}}, {"age_band": {"18-30": 25}}
        )


def test_population_bad_inputs_say_how_to_fix_them():
    sizes = {"size": {1: 30, 2: 40, 3: 20, 4: 10}}
    with pytest.raises(InvalidDataError, match=r"40 of 210 persons under 18.*places for only 30"):
        build_population(
            {"size": {1: 20, 2: 50, 3: 30}}, {"age_band": {"0-17": 40, "18-64": 130, "65+": 40}}
        )
    with pytest.raises(InvalidDataError, match="no free adult at least 18 years older"):
        build_population(sizes, {"age_band": {"10-17": 40, "18-25": 170}})
    with pytest.raises(InvalidDataError, match="'size' dimension"):
        build_population({"region": {"n": 5}}, {"age_band": {"18-30": 5}})
    with pytest.raises(InvalidDataError, match="'age_band' dimension"):
        build_population(sizes, {"sex": {"F": 5}})
    with pytest.raises(InvalidDataError, match=r"age bands \['adults'\]"):
        build_population(sizes, {"age_band": {"adults": 210}})
    with pytest.raises(InvalidDataError, match=r"size categories \['5\+'\].*split"):
        build_population({"size": {1: 3, "5+": 2}}, {"age_band": {"18-30": 5}})
    with pytest.raises(InvalidDataError, match=r"household marginals: marginal totals disagree"):
        build_population(
            {"size": {1: 30, 2: 70}, "region": {"n": 40, "s": 40}}, {"age_band": {"18-30": 5}}
        )
    with pytest.raises(InvalidDataError, match=r"count -3 at sex='M'"):
        build_population(sizes, {"age_band": {"18-30": 5}, "sex": {"F": 8, "M": -3}})
    with pytest.raises(InvalidParameterError, match="not both"):
        build_population(sizes, {"age_band": {"18-30": 5}}, n_households=5, n_persons=9)
    with pytest.raises(InvalidParameterError, match="parent_gap"):
        build_population(sizes, {"age_band": {"18-30": 5}}, parent_gap=(30, 20))
