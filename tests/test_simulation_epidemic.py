"""The SEIR epidemic model: the textbook final size, its contact settings, its event logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import InvalidDataError, InvalidParameterError
from simulacra.simulation.epidemic import (
    DEFAULT_BETA,
    assign_contact_groups,
    final_size,
    simulate_epidemic,
)

N = 20_000
# Over seeds, the final size of a run of N = 20,000 from 20 cases spreads with a standard
# deviation of about 0.009 (R0 = 2) and 0.015 (R0 = 1.5) around the analytic value (the
# model's time steps cost it under 1% of R0). The tolerances are 3 of those, rounded up;
# a wrong R0 (by 0.2) misses the analytic value by more, so the test would catch it.
TOLERANCE = {2: 0.03, 1.5: 0.045}


def make_persons(n: int, seed: int = 0) -> pd.DataFrame:
    """Households of 1 to 5 people (mean 2.4) and ages of a young population."""
    rng = np.random.default_rng(seed)
    sizes = rng.choice([1, 2, 3, 4, 5], p=[0.28, 0.34, 0.16, 0.15, 0.07], size=n)
    return pd.DataFrame(
        {
            "person_id": np.arange(n) + 1000,
            "household_id": np.repeat(np.arange(n), sizes)[:n],
            "age": np.clip(rng.normal(38, 22, n), 0, 95).round(),
            "region": rng.choice(["north", "south"], size=n),
        }
    )


def attack_rate(result) -> float:
    return float(result.tables["persons"]["infected_at"].notna().mean())


@pytest.fixture(scope="module")
def persons() -> pd.DataFrame:
    return make_persons(N)


@pytest.fixture(scope="module")
def well_mixed(persons) -> dict:
    return {r0: simulate_epidemic(persons, r0=r0, initial_infected=20, seed=1) for r0 in (1.5, 2)}


@pytest.fixture(scope="module")
def network(persons):
    return simulate_epidemic(persons, seed=2)


# ------------------------------------------------------------- final size
def test_final_size_solves_the_final_size_equation():
    for r0 in (1.1, 1.5, 2.0, 3.0, 8.0):
        z = final_size(r0)
        assert 0 < z < 1
        assert z == pytest.approx(1 - np.exp(-r0 * z), abs=1e-10)
    assert final_size(2.0) == pytest.approx(0.796812, abs=1e-6)
    assert final_size(1.0) == final_size(0.5) == final_size(0) == 0.0
    with pytest.raises(InvalidParameterError, match="r0"):
        final_size(-1.0)


@pytest.mark.parametrize("r0", [1.5, 2])
def test_well_mixed_final_size_matches_the_analytic_value(well_mixed, r0):
    measured = attack_rate(well_mixed[r0])
    assert measured == pytest.approx(final_size(r0), abs=TOLERANCE[r0])
    # the tolerance tells R0 apart: had the model the wrong R0, the check would fail
    for wrong in (r0 - 0.2, r0 + 0.2):
        assert abs(measured - final_size(wrong)) > TOLERANCE[r0]
    result = well_mixed[r0]
    assert set(result.logs["infections"]["setting"]) == {"seed", "community"}
    assert result.stopped == "no one is exposed or infectious"


def test_final_size_does_not_depend_on_the_step_length(persons):
    result = simulate_epidemic(persons, r0=2, initial_infected=20, step="8h", seed=4)
    assert attack_rate(result) == pytest.approx(final_size(2.0), abs=TOLERANCE[2])


def test_below_threshold_the_outbreak_stays_small(persons):
    result = simulate_epidemic(persons, r0=0.8, initial_infected=20, seed=5)
    # a subcritical chain from 20 cases infects about 20 / (1 - 0.8) = 100 people
    assert attack_rate(result) < 0.02
    assert result.stopped == "no one is exposed or infectious"


def test_households_raise_the_household_secondary_attack_rate(persons):
    def secondary_attack(beta: dict) -> float:
        result = simulate_epidemic(
            persons, r0=1.3, beta=beta, initial_infected=300, days=14, seed=6
        )
        table = result.tables["persons"]
        seeds = result.logs["infections"].query("setting == 'seed'")["person_id"]
        index_households = table.loc[table["person_id"].isin(seeds), "household_id"]
        contacts = table[table["household_id"].isin(index_households)]
        contacts = contacts[~contacts["person_id"].isin(seeds)]
        assert len(contacts) > 200
        return float(contacts["infected_at"].notna().mean())

    community = secondary_attack({"household": 0.0})
    household = secondary_attack({"household": 0.5})
    assert community < 0.1  # about the chance of a community infection in two weeks
    assert household > community + 0.3


# ------------------------------------------------------------ contact groups
def test_contact_groups_follow_ages_and_sizes(persons):
    groups = assign_contact_groups(persons, school_size=300, employment=0.6, seed=1)
    assert groups.drop(columns=["school_id", "workplace_id"]).equals(persons)
    age = groups["age"]
    pupils = groups["school_id"].notna()
    assert pupils.equals((age >= 5) & (age < 19))
    working_age = (age >= 19) & (age < 66)
    assert not (groups["workplace_id"].notna() & ~working_age).any()
    assert groups.loc[working_age, "workplace_id"].notna().mean() == pytest.approx(0.6, abs=0.02)
    assert groups.groupby("school_id").size().between(250, 350).all()
    assert groups.groupby("workplace_id").size().between(15, 25).all()
    # pupils are taken household by household: siblings share a school
    schools_per_household = groups[pupils].groupby("household_id")["school_id"].nunique()
    assert (schools_per_household > 1).mean() < 0.02


def test_given_contact_groups_are_used_as_they_are():
    persons = make_persons(2000, seed=7)
    persons["school_id"] = pd.array([pd.NA] * 1000 + [1] * 1000, dtype="Int64")
    persons["workplace_id"] = pd.array([pd.NA] * 2000, dtype="Int64")
    result = simulate_epidemic(persons, beta={"school": 2.0}, initial_infected=20, seed=8)
    table = result.tables["persons"]
    pd.testing.assert_series_equal(table["school_id"], persons["school_id"])
    infections = result.logs["infections"]
    spread = infections[infections["setting"] != "seed"]
    assert set(spread["setting"]) == {"school"}
    pupils = set(table.loc[table["school_id"] == 1, "person_id"])
    assert set(spread["person_id"]) <= pupils
    assert len(spread) > 500  # the one school catches it


def test_infections_happen_within_the_infectors_setting(network):
    table = network.tables["persons"].set_index("person_id")
    infections = network.logs["infections"]
    assert set(infections["setting"]) == {"seed", *DEFAULT_BETA}
    assert infections["infector_id"].isna().equals(infections["setting"] == "seed")
    assert (infections["setting"] == "seed").sum() == 10
    for setting, column in [
        ("household", "household_id"),
        ("school", "school_id"),
        ("workplace", "workplace_id"),
    ]:
        rows = infections[infections["setting"] == setting]
        mine = table.loc[rows["person_id"], column].to_numpy()
        theirs = table.loc[rows["infector_id"].astype("int64"), column].to_numpy()
        assert len(rows) > 0
        assert pd.notna(mine).all() and (mine == theirs).all()
    assert 0.2 < attack_rate(network) < 0.8


# --------------------------------------------------------------- the logs
@pytest.mark.parametrize("which", ["network", "well_mixed"])
def test_event_logs_are_coherent(which, network, well_mixed):
    result = network if which == "network" else well_mixed[2]
    table = result.tables["persons"]
    infections = result.logs["infections"]
    transitions = result.logs["transitions"]
    curve = result.logs["epidemic_curve"]
    start, dt = pd.Timestamp("2025-01-01"), pd.Timedelta("1D")

    # every infected person: one infection, then E, I, R in time order
    assert infections["person_id"].is_unique
    infected = table.loc[table["infected_at"].notna(), "person_id"]
    assert set(infections["person_id"]) == set(infected)
    assert transitions["time"].is_monotonic_increasing
    assert infections["time"].is_monotonic_increasing
    for log in (infections, transitions):  # each event is logged in the step it happens
        offset = log["time"] - start - log["step"] * dt
        assert ((offset >= pd.Timedelta(0)) & (offset < dt)).all()
    sequences = transitions.groupby("person_id")["state"].agg("".join)
    assert set(sequences.index) == set(infected)
    assert set(sequences) <= {"E", "EI", "EIR"}
    when = transitions.pivot(index="person_id", columns="state", values="time")
    assert (when["E"] <= when["I"]).all() and (when["I"] <= when["R"]).all()
    by_id = table.set_index("person_id")
    assert when["E"].equals(infections.set_index("person_id")["time"].reindex(when.index))
    for state, column in [("E", "infected_at"), ("I", "infectious_at"), ("R", "recovered_at")]:
        pd.testing.assert_series_equal(
            by_id.loc[when.index, column], when[state], check_names=False
        )
    assert (by_id["state"] == "R").sum() == when["R"].notna().sum()

    # each infector was infectious when they infected
    passed = infections.dropna(subset=["infector_id"])
    infector = when.loc[passed["infector_id"].astype(table["person_id"].dtype)]
    assert (infector["I"].to_numpy() <= passed["time"].to_numpy()).all()
    assert (passed["time"].to_numpy() < infector["R"].to_numpy()).all()

    # the curve counts everyone, every step, and agrees with the transitions
    states = curve[["S", "E", "I", "R"]]
    assert (states.sum(axis=1) == len(table)).all()
    assert curve["S"].is_monotonic_decreasing and curve["R"].is_monotonic_increasing
    assert (curve["step"] == np.arange(len(curve))).all()
    assert curve[["E", "I"]].iloc[-1].sum() == 0
    entered = {s: np.sort(when[s].dropna().to_numpy()) for s in "EIR"}
    before = {s: np.searchsorted(entered[s], curve["time"].to_numpy()) for s in "EIR"}
    expected = pd.DataFrame(
        {
            "S": len(table) - before["E"],
            "E": before["E"] - before["I"],
            "I": before["I"] - before["R"],
            "R": before["R"],
        }
    )
    # from the second step on (the initial cases are exposed at the first step's start)
    pd.testing.assert_frame_equal(states.iloc[1:], expected.iloc[1:], check_dtype=False)
    assert curve["E"].iloc[0] == (infections["setting"] == "seed").sum()


def test_metadata_links_the_logs_to_the_persons(tmp_path):
    network = simulate_epidemic(make_persons(3000, seed=12), seed=13)
    meta = network.metadata()
    meta.validate(network.all_tables())
    links = {fk.name: (fk.parent, fk.nullable) for fk in meta.foreign_keys}
    assert links == {
        "infections.person_id": ("persons", False),
        "infections.infector_id": ("persons", True),
        "transitions.person_id": ("persons", False),
    }
    assert meta.primary_keys["persons"] == ["person_id"]
    written = network.write(tmp_path)
    assert len(written) >= 4


def test_same_seed_same_result():
    persons = make_persons(3000, seed=9)
    before = persons.copy()
    runs = [simulate_epidemic(persons, seed=s) for s in (11, 11, 12)]
    assert persons.equals(before)  # the caller's frame is left alone
    for name, frame in runs[0].all_tables().items():
        pd.testing.assert_frame_equal(frame, runs[1].all_tables()[name])
    assert not runs[0].logs["infections"].equals(runs[2].logs["infections"])


def test_progress_and_the_days_limit():
    calls = []
    result = simulate_epidemic(
        make_persons(2000, seed=10), r0=3, days=10, step="12h", progress=lambda *a: calls.append(a)
    )
    assert result.steps == 20 and result.stopped is None
    assert calls[-1] == (20, 20)
    table = result.tables["persons"]
    assert {"S", "E", "I"} <= set(table["state"])
    # people still ill at the end: their future times are not shown
    assert table.loc[table["state"] == "E", "infectious_at"].isna().all()
    assert table.loc[table["state"] != "R", "recovered_at"].isna().all()


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("change", "kwargs", "error", "match"),
    [
        (lambda p: p.drop(columns="age"), {}, InvalidDataError, r"\['age'\] are missing"),
        (lambda p: p.assign(person_id=1), {}, InvalidDataError, "repeats values"),
        (lambda p: p.assign(age="old"), {}, InvalidDataError, "ages must be numbers"),
        (lambda p: p.assign(household_id=None), {}, InvalidDataError, "empty value"),
        (lambda p: p.assign(state="S"), {}, InvalidDataError, "overwritten"),
        (lambda p: p.to_dict(), {}, InvalidDataError, "DataFrame"),
        (None, {"beta": {"household": -0.1}}, InvalidParameterError, "rate must be a number"),
        (None, {"beta": {"pub": 0.1}}, InvalidParameterError, "unknown setting"),
        (None, {"r0": 2, "beta": {"community": 0.1}}, InvalidParameterError, "give one"),
        (None, {"r0": -1.0}, InvalidParameterError, "'r0' got -1.0"),
        (None, {"initial_infected": 501}, InvalidParameterError, "between 1 and 500"),
        (None, {"initial_infected": 0}, InvalidParameterError, "'initial_infected' got 0"),
        (None, {"infectious_days": 0}, InvalidParameterError, "infectious_days"),
        (None, {"days": 0}, InvalidParameterError, "'days' got 0"),
        (None, {"employment": 1.5}, InvalidParameterError, "employment"),
        (None, {"school_ages": (19, 5)}, InvalidParameterError, "school_ages"),
        (None, {"step": "0.5s"}, InvalidParameterError, "'step' got"),
        (None, {"step": "soon"}, InvalidParameterError, "'step' got"),
        (None, {"progress": 3}, InvalidParameterError, "progress"),
    ],
)
def test_bad_input_is_refused_with_what_is_allowed(change, kwargs, error, match):
    persons = make_persons(500)
    with pytest.raises(error, match=match):
        simulate_epidemic(persons if change is None else change(persons), **kwargs)
