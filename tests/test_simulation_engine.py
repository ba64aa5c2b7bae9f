"""The agent-based engine: rules over all agents, seeded streams, event logs, keys."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import InvalidDataError, InvalidParameterError
from simulacra.simulation.engine import Rule, Simulation, World


class Infect(Rule):
    """Each step a random share of the well become ill, and say so."""

    name = "infect"

    def __init__(self, p: float) -> None:
        self.p = p
        self.keys = {"illnesses": {"person_id": "persons.person_id"}}

    def start(self, world: World) -> None:
        world.tables["persons"]["ill"] = False

    def step(self, world: World) -> None:
        persons = world.tables["persons"]
        well = ~persons["ill"].to_numpy()
        hit = well & (world.rng.random(len(persons)) < self.p)
        persons.loc[hit, "ill"] = True
        world.emit(
            "illnesses",
            person_id=persons["person_id"].to_numpy()[hit],
            time=world.times(world.rng.random(int(hit.sum()))),
            cause="random",
        )
        if persons["ill"].all():
            world.stop("everyone is ill")


def _persons(n: int = 2_000) -> pd.DataFrame:
    return pd.DataFrame({"person_id": np.arange(1, n + 1), "age": np.arange(n) % 90})


def _run(seed: int = 3, rules: list | None = None, steps: int = 30) -> object:
    return Simulation(
        {"persons": _persons()},
        rules or [Infect(0.1)],
        steps=steps,
        step="1D",
        start="2025-03-01",
        seed=seed,
        primary_keys={"persons": "person_id"},
    ).run()


def test_a_rule_acts_on_all_agents_and_the_logs_say_so():
    result = _run()
    log = result.logs["illnesses"]
    assert list(log.columns) == ["time", "step", "person_id", "cause"]
    # one event per person who fell ill, none twice; the agent table agrees
    assert log["person_id"].is_unique
    assert set(log["person_id"]) == set(
        result.tables["persons"].loc[result.tables["persons"]["ill"], "person_id"]
    )
    # each step's events fall inside that step, and the share hit per step is p
    start = pd.Timestamp("2025-03-01") + pd.to_timedelta(log["step"], unit="D")
    assert ((log["time"] >= start) & (log["time"] < start + pd.Timedelta("1D"))).all()
    first = (log["step"] == 0).sum()
    assert abs(first / 2_000 - 0.1) < 4 * np.sqrt(0.1 * 0.9 / 2_000)


def test_the_caller_tables_are_left_as_they_were():
    persons = _persons(10)
    before = persons.copy()
    Simulation({"persons": persons}, [Infect(0.5)], steps=3).run()
    pd.testing.assert_frame_equal(persons, before)


def test_same_seed_same_run_and_a_new_rule_leaves_the_others_draws_alone():
    a, b, c = _run(3), _run(3), _run(4)
    pd.testing.assert_frame_equal(a.logs["illnesses"], b.logs["illnesses"])
    assert not a.logs["illnesses"].equals(c.logs["illnesses"])

    def census(world: World) -> None:
        world.emit(
            "census", ill=int(world.tables["persons"]["ill"].sum()), noise=world.rng.random()
        )

    with_census = _run(3, rules=[Infect(0.1), census])
    pd.testing.assert_frame_equal(a.logs["illnesses"], with_census.logs["illnesses"])
    assert len(with_census.logs["census"]) == with_census.steps


def test_a_rule_can_end_the_run():
    result = _run(rules=[Infect(0.6)], steps=200)
    assert result.stopped == "everyone is ill"
    assert result.steps < 200
    assert result.tables["persons"]["ill"].all()


def test_logs_come_with_keys_that_join(tmp_path):
    result = _run()
    meta = result.metadata()
    assert [fk.name for fk in meta.foreign_keys] == ["illnesses.person_id"]
    assert meta.primary_keys["persons"] == ["person_id"]
    meta.validate(result.all_tables())
    paths = result.write(tmp_path / "out", format="csv")
    back = pd.read_csv(tmp_path / "out" / "illnesses.csv")
    assert len(back) == len(result.logs["illnesses"])
    assert sorted(p.rsplit("/", 1)[-1] for p in paths) == ["illnesses.csv", "persons.csv"]


def test_progress_is_reported_each_step():
    seen: list[tuple[int, int]] = []
    Simulation({"persons": _persons(5)}, [Infect(0.0)], steps=4).run(
        progress=lambda done, total: seen.append((done, total))
    )
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": 0}, "steps=0"),
        ({"steps": 5, "step": "-1D"}, "longer than zero"),
        ({"steps": 5, "step": "fortnightly"}, "step='fortnightly'"),
        ({"steps": 5, "primary_keys": {"persons": "id"}}, "persons.id"),
    ],
)
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(
        InvalidParameterError if "primary_keys" not in kwargs else InvalidDataError, match=match
    ):
        Simulation({"persons": _persons(5)}, [Infect(0.1)], **kwargs)


def test_bad_rules_and_events_are_named():
    with pytest.raises(InvalidParameterError, match="share a name"):
        Simulation({"persons": _persons(5)}, [Infect(0.1), Infect(0.2)], steps=1)
    with pytest.raises(InvalidParameterError, match="a function of the world"):
        Simulation({"persons": _persons(5)}, ["infect"], steps=1)

    def ragged(world: World) -> None:
        world.emit("bad", a=np.arange(3), b=np.arange(2))

    with pytest.raises(InvalidDataError, match=r"rule 'ragged'.*'bad'.*different lengths"):
        Simulation({"persons": _persons(5)}, [ragged], steps=1).run()

    def shadow(world: World) -> None:
        world.emit("persons", x=1)

    with pytest.raises(InvalidDataError, match="names of agent tables"):
        Simulation({"persons": _persons(5)}, [shadow], steps=1).run()

    class Bare(Rule):
        pass

    with pytest.raises(NotImplementedError, match="Bare must define step"):
        Simulation({"persons": _persons(5)}, [Bare()], steps=1).run()


def test_a_rule_draws_on_one_stream_per_step_with_its_own_for_start_and_finish():
    draws: dict[str, list[float]] = {"start": [], "step": [], "finish": []}

    class Draw(Rule):
        name = "draw"

        def start(self, world: World) -> None:
            draws["start"].append(world.rng.random())

        def step(self, world: World) -> None:
            draws["step"] += [world.rng.random(), world.rng.random()]

        def finish(self, world: World) -> None:
            draws["finish"].append(world.rng.random())
            world.tables["persons"]["done"] = True

    result = Simulation({"persons": _persons(3)}, [Draw()], steps=2).run()
    first, second, third, _ = draws["step"]
    assert first != second  # a second read goes on along the stream, it does not restart
    assert len({draws["start"][0], first, third, draws["finish"][0]}) == 4
    assert result.tables["persons"]["done"].all()


def test_a_key_with_gaps_is_a_nullable_link():
    def refer(world: World) -> None:
        world.emit("referrals", person_id=[1, 2], referrer_id=pd.array([pd.NA, 1], "Int64"))

    result = Simulation(
        {"persons": _persons(3)},
        [refer],
        steps=1,
        primary_keys={"persons": "person_id"},
    ).run()
    result.keys["referrals"] = {
        "person_id": "persons.person_id",
        "referrer_id": "persons.person_id",
    }
    links = {fk.columns[0]: fk.nullable for fk in result.metadata().foreign_keys}
    assert links == {"person_id": False, "referrer_id": True}


def test_a_column_a_short_run_left_empty_is_typed_by_its_dtype():
    def quiet_day(world: World) -> None:
        world.emit(
            "alarms",
            person_id=[1, 2],
            level=np.array([np.nan, np.nan]),
            note=np.array([None, None], dtype=object),
        )

    result = Simulation(
        {"persons": _persons(3)}, [quiet_day], steps=1, primary_keys={"persons": "person_id"}
    ).run()
    result.keys["alarms"] = {"person_id": "persons.person_id"}
    meta = result.metadata()
    columns = meta.tables["alarms"].columns
    assert list(columns) == ["time", "step", "person_id", "level", "note"]
    assert (columns["level"].type, columns["note"].type) == ("numerical", "categorical")
    meta.validate(result.all_tables())
