"""An SEIR epidemic over a contact network of households, schools and workplaces.

Each person is Susceptible, Exposed (infected, not yet infectious), Infectious
or Recovered. A susceptible person meets the infectious people of four
settings: their household, their school (ages 5 to 18 by default), their
workplace (a share of ages 19 to 65) and the whole population (the community,
well mixed). Over a step, their hazard is

    h = sum over settings s of beta_s * (infectious time in my group) / (group size - 1)
        + beta_community * (infectious time in the population) / N

(rates per day; "infectious time" sums, over the infectious people, the days of
the step they were infectious). They are infected with probability
``1 - exp(-h)``, in a setting drawn in proportion to its part of ``h``, by an
infector drawn among that setting's infectious people in proportion to their
infectious time, at a moment when that infector was infectious. Latent and
infectious periods are drawn at infection (gamma, mean ``latent_days`` and
``infectious_days``, shape ``period_shape``), so state changes happen at their
own times, to the second, not on step boundaries.

The run writes three event logs beside the ``persons`` table (which keeps its
columns and gains ``school_id``, ``workplace_id``, ``state``, ``infected_at``,
``infectious_at`` and ``recovered_at``): ``infections`` (time, person_id,
infector_id, empty for the initial cases, setting), ``transitions`` (time,
person_id, state E, I or R) and ``epidemic_curve`` (S, E, I, R counts at the
start of each step). ``result.metadata()`` links both person columns of the
logs to ``persons.person_id``.

With the community alone, the model is the textbook well-mixed SEIR with
``R0 = beta_community * infectious_days``, whose final size solves
``z = 1 - exp(-R0 z)`` (:func:`final_size`):

>>> import numpy as np
>>> import pandas as pd
>>> from simulacra.simulation.epidemic import final_size, simulate_epidemic
>>> n = 5000
>>> persons = pd.DataFrame({
...     "person_id": np.arange(n),
...     "household_id": np.arange(n) // 3,
...     "age": np.random.default_rng(0).integers(0, 90, n),
... })
>>> result = simulate_epidemic(persons, r0=2.0, initial_infected=10, seed=1)
>>> attack = result.tables["persons"]["infected_at"].notna().mean()
>>> round(final_size(2.0), 3), bool(abs(attack - final_size(2.0)) < 0.03)
(0.797, True)
>>> sorted(result.logs), result.stopped
(['epidemic_curve', 'infections', 'transitions'], 'no one is exposed or infectious')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from simulacra.errors import InvalidDataError, InvalidParameterError
from simulacra.simulation.engine import Rule, Simulation, SimulationResult, World
from simulacra.spec.seeds import stream
from simulacra.synthesizers.base import Param

__all__ = [
    "DEFAULT_BETA",
    "PARAMS",
    "SETTINGS",
    "assign_contact_groups",
    "final_size",
    "simulate_epidemic",
]

SETTINGS = ("household", "school", "workplace", "community")
DEFAULT_BETA: Mapping[str, float] = MappingProxyType(
    {"household": 0.25, "school": 0.15, "workplace": 0.1, "community": 0.1}
)  # about half of a population of typical households catches it (community R0 alone: 0.5)
PARAMS = (
    Param("days", int, 365, "Longest run in days; it ends sooner once no one is infected.", low=1),
    Param(
        "r0",
        float,
        None,
        "Basic reproduction number of the community layer: beta_community = r0 / "
        "infectious_days. Alone (no beta), the model is the well-mixed textbook SEIR.",
        low=0.0,
        nullable=True,
    ),
    Param("latent_days", float, 3.0, "Mean latent period in days (0 gives SIR).", low=0.0),
    Param("infectious_days", float, 5.0, "Mean infectious period in days.", low=0.01),
    Param(
        "period_shape",
        float,
        2.0,
        "Gamma shape of both periods (Erlang when whole; 1 is exponential as in the ODEs).",
        low=0.1,
    ),
    Param("initial_infected", int, 10, "People infected (exposed) at the start.", low=1),
    Param("school_size", int, 500, "Pupils per school, on average.", low=1),
    Param("workplace_size", int, 20, "Workers per workplace, on average.", low=1),
    Param("employment", float, 0.7, "Share of working-age people with a workplace.", 0.0, 1.0),
    Param("seed", int, 0, "Seed of every random draw of the run.", low=0),
)
_CHECK = {p.name: p for p in PARAMS}
_WHERE = "simulate_epidemic"
_DAY = 86_400  # seconds: every time inside the model is whole seconds since the start
_NS = 1_000_000_000
_NEVER = np.iinfo(np.int64).max // 4
_S, _E, _I, _R = 0, 1, 2, 3
_STATES = np.array(["S", "E", "I", "R"], dtype=object)
_OUTPUT = ("state", "infected_at", "infectious_at", "recovered_at")


def final_size(r0: float) -> float:
    """Share of a large well-mixed population ever infected: the root of ``z = 1 - exp(-r0 z)``.

    It holds for SIR and SEIR alike, whatever the distribution of the periods;
    ``r0 <= 1`` gives 0 (no major outbreak).

    >>> round(final_size(2.0), 4), round(final_size(1.5), 4), final_size(0.8)
    (0.7968, 0.5828, 0.0)
    """
    r0 = _CHECK["r0"].check(r0, "final_size")
    if r0 is None:
        raise InvalidParameterError("final_size: parameter 'r0' got None; it must be a number")
    if r0 <= 1.0:
        return 0.0
    # z(1 - r0) + (r0 z)^2 / 2 bounds z - 1 + exp(-r0 z) from above, so it is < 0 here
    low = (r0 - 1.0) / r0**2
    return float(brentq(lambda z: z - 1.0 + math.exp(-r0 * z), low, 1.0, xtol=1e-12))


def assign_contact_groups(
    persons: pd.DataFrame,
    *,
    school_ages: tuple[float, float] = (5, 19),
    school_size: int = 500,
    workplace_ages: tuple[float, float] = (19, 66),
    employment: float = 0.7,
    workplace_size: int = 20,
    seed: int = 0,
) -> pd.DataFrame:
    """A copy of ``persons`` with ``school_id`` and ``workplace_id`` columns (empty for none).

    Parameters
    ----------
    persons : DataFrame with ``household_id`` and ``age``.
    school_ages, workplace_ages : ages ``[low, high)`` that go to school, or may work.
    school_size, workplace_size : people per school and per workplace, on average
        (groups are filled evenly: ``round(n / size)`` groups, at least one).
    employment : share of working-age people given a workplace, drawn at random.
    seed : seed of the draws (who works, and where).

    Returns
    -------
    DataFrame
        The rows of ``persons`` in their order; the ids are nullable integers from 0.
        Pupils are taken in household order, so siblings share a school; workers
        are spread at random.

    >>> people = pd.DataFrame({"household_id": [1, 1, 2, 2], "age": [40, 9, 35, 12]})
    >>> groups = assign_contact_groups(people, school_size=2, employment=1.0)
    >>> groups["school_id"].tolist(), groups["workplace_id"].tolist()
    ([<NA>, 0, <NA>, 0], [0, <NA>, 0, <NA>])
    """
    _check_persons(persons, ("household_id", "age"))
    for name, value in (("school_size", school_size), ("workplace_size", workplace_size)):
        _CHECK[name].check(value, "assign_contact_groups")
    _CHECK["employment"].check(employment, "assign_contact_groups")
    _CHECK["seed"].check(seed, "assign_contact_groups")
    school_low, school_high = _ages("school_ages", school_ages, "assign_contact_groups")
    work_low, work_high = _ages("workplace_ages", workplace_ages, "assign_contact_groups")
    out = persons.copy()
    age = out["age"].to_numpy(dtype=float)
    household = pd.factorize(out["household_id"])[0]
    pupils = np.flatnonzero((age >= school_low) & (age < school_high))
    pupils = pupils[np.argsort(household[pupils], kind="stable")]
    rng = stream(seed, "epidemic", "workplaces")
    workers = np.flatnonzero((age >= work_low) & (age < work_high))
    workers = rng.permutation(workers[rng.random(workers.size) < employment])
    for column, members, size in (
        ("school_id", pupils, school_size),
        ("workplace_id", workers, workplace_size),
    ):
        ids = np.full(len(out), -1, dtype=np.int64)
        groups = max(1, round(members.size / size))
        ids[members] = np.arange(members.size) * groups // max(members.size, 1)
        out[column] = pd.arrays.IntegerArray(np.maximum(ids, 0), ids < 0)
    return out


def simulate_epidemic(
    persons: pd.DataFrame,
    *,
    days: int = 365,
    r0: float | None = None,
    beta: Mapping[str, float] | None = None,
    latent_days: float = 3.0,
    infectious_days: float = 5.0,
    period_shape: float = 2.0,
    initial_infected: int = 10,
    school_ages: tuple[float, float] = (5, 19),
    school_size: int = 500,
    workplace_ages: tuple[float, float] = (19, 66),
    employment: float = 0.7,
    workplace_size: int = 20,
    start: str | pd.Timestamp = "2025-01-01",
    step: str | pd.Timedelta = "1D",
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Run an SEIR epidemic over ``persons``: households, schools, workplaces, community.

    Parameters
    ----------
    persons : DataFrame with a unique ``person_id``, a ``household_id`` and a numeric
        ``age``; other columns are kept. ``school_id`` / ``workplace_id`` columns,
        when present, are used as they are (empty for none) instead of being drawn.
    days : the longest run; it stops sooner once no one is exposed or infectious.
    r0 : basic reproduction number of the community layer, ``beta["community"] =
        r0 / infectious_days``. Given alone it is the well-mixed textbook SEIR
        (the other settings off); with ``beta`` it sets only the community part.
    beta : transmission rate per day of each setting, ``{"household": ..., "school":
        ..., "workplace": ..., "community": ...}``; missing settings are 0. A group
        setting's rate is the hazard of a susceptible whose group members are all
        infectious (divided by group size - 1, so adding members thins each contact);
        the community's is divided by N, so ``R0 = beta * infectious_days`` there.
        Default (neither ``r0`` nor ``beta``): :data:`DEFAULT_BETA`.
    latent_days, infectious_days : mean periods, in days.
    period_shape : gamma shape of both periods (2 by default; 1 is exponential).
    initial_infected : people picked at random and exposed at ``start``.
    school_ages, school_size, workplace_ages, employment, workplace_size : how
        :func:`assign_contact_groups` draws schools and workplaces.
    start, step : time of the first step and length of a step (``"1D"``, ``"6h"``).
    seed : seed of every draw; the same inputs and seed give the same result.
    progress : called as ``progress(steps_done, steps)`` after each step.

    Returns
    -------
    SimulationResult
        ``tables["persons"]`` with the final ``state`` (S, E, I, R), the contact
        groups and the times of infection, infectiousness and recovery (empty when
        not reached); ``logs["infections"]``, ``logs["transitions"]`` and
        ``logs["epidemic_curve"]``.

    Examples
    --------
    On a synthetic population (:func:`simulacra.simulation.build_population`),
    with every setting at its default rate:

    >>> from simulacra.simulation import build_population
    >>> population = build_population(
    ...     {"size": {1: 300, 2: 350, 3: 150, 4: 150, 5: 50}},
    ...     {"age_band": {"0-4": 6, "5-18": 16, "19-64": 58, "65+": 20}},
    ...     seed=1,
    ... )
    >>> result = simulate_epidemic(population.persons, seed=3)
    >>> sorted(set(result.logs["infections"]["setting"]))
    ['community', 'household', 'school', 'seed', 'workplace']
    >>> curve = result.logs["epidemic_curve"]
    >>> bool((curve[["S", "E", "I", "R"]].sum(axis=1) == len(population.persons)).all())
    True
    """
    values = {
        "days": days,
        "r0": r0,
        "latent_days": latent_days,
        "infectious_days": infectious_days,
        "period_shape": period_shape,
        "initial_infected": initial_infected,
        "school_size": school_size,
        "workplace_size": workplace_size,
        "employment": employment,
        "seed": seed,
    }
    checked = {name: _CHECK[name].check(value, _WHERE) for name, value in values.items()}
    rates = _rates(beta, checked["r0"], checked["infectious_days"])
    _ages("school_ages", school_ages, _WHERE)
    _ages("workplace_ages", workplace_ages, _WHERE)
    if progress is not None and not callable(progress):
        raise InvalidParameterError(
            f"{_WHERE}: parameter 'progress' got {progress!r}; give a function or None"
        )
    dt = _step_seconds(step)
    _check_persons(persons, ("person_id", "household_id", "age"), unique="person_id")
    if checked["initial_infected"] > len(persons):
        raise InvalidParameterError(
            f"{_WHERE}: parameter 'initial_infected' got {initial_infected!r}, but persons "
            f"has {len(persons)} rows; it must be between 1 and {len(persons)}"
        )
    table = persons.copy()
    missing = [c for c in ("school_id", "workplace_id") if c not in table.columns]
    if missing:
        drawn = assign_contact_groups(
            table[["household_id", "age"]],
            school_ages=school_ages,
            school_size=school_size,
            workplace_ages=workplace_ages,
            employment=employment,
            workplace_size=workplace_size,
            seed=checked["seed"],
        )
        for column in missing:
            table[column] = drawn[column].array
    epidemic = _Epidemic(
        person_id=table["person_id"].to_numpy(),
        groups=[_groups(table[f"{s}_id"], rates[s]) for s in SETTINGS[:-1]],
        beta=np.array([rates[s] for s in SETTINGS]),
        latent_days=checked["latent_days"],
        infectious_days=checked["infectious_days"],
        shape=checked["period_shape"],
        initial=checked["initial_infected"],
        dt=dt,
        steps=-(-checked["days"] * _DAY // dt),
    )
    simulation = Simulation(
        {"persons": table},
        [_Curve(epidemic), _Transmission(epidemic), _Progression(epidemic)],
        steps=epidemic.steps,
        start=start,
        step=pd.Timedelta(seconds=dt),
        seed=checked["seed"],
        primary_keys={"persons": "person_id"},
    )
    result = simulation.run(progress)
    infections = result.logs["infections"]
    infections["infector_id"] = _like(infections["infector_id"], table["person_id"])
    return result


# ------------------------------------------------------------------ the model
@dataclass
class _Epidemic:
    """State shared by the rules of one run: arrays over persons, times in seconds."""

    person_id: np.ndarray
    # per group setting: each person's group as a slot (0: none), and each slot's hazard
    # per second of one member's infectiousness: beta / (group size - 1), 0 for slot 0
    groups: list[tuple[np.ndarray, np.ndarray]]
    beta: np.ndarray  # per setting, per day
    latent_days: float
    infectious_days: float
    shape: float
    initial: int
    dt: int
    steps: int
    state: np.ndarray = field(init=False)
    infected: np.ndarray = field(init=False)
    infectious: np.ndarray = field(init=False)
    recovered: np.ndarray = field(init=False)
    new: np.ndarray = field(init=False)  # people infected this step, for the transitions

    def reset(self) -> None:
        n = len(self.person_id)
        self.state = np.zeros(n, dtype=np.int8)
        self.infected, self.infectious, self.recovered = (
            np.full(n, _NEVER, dtype=np.int64) for _ in range(3)
        )
        self.new = np.zeros(0, dtype=np.int64)

    def infect(self, who: np.ndarray, when: np.ndarray, rng: np.random.Generator) -> None:
        """Expose ``who`` at ``when`` and draw when they become infectious and recover."""
        latent = _gamma(rng, self.latent_days, self.shape, who.size)
        infectious = np.maximum(_gamma(rng, self.infectious_days, self.shape, who.size), 1)
        self.state[who] = _E
        self.infected[who] = when
        self.infectious[who] = when + latent
        self.recovered[who] = when + latent + infectious
        self.new = np.concatenate([self.new, who])


class _Curve(Rule):
    """Counts S, E, I, R at the start of each step; ends the run when no one is infected."""

    name = "epidemic_curve"

    def __init__(self, epidemic: _Epidemic) -> None:
        self.epidemic = epidemic

    def step(self, world: World) -> None:
        s, e, i, r = np.bincount(self.epidemic.state, minlength=4).tolist()
        world.emit("epidemic_curve", S=s, E=e, I=i, R=r)
        if e + i == 0:
            world.stop("no one is exposed or infectious")


class _Transmission(Rule):
    """Seeds the initial cases, then infects susceptibles from every setting each step."""

    name = "transmission"
    keys = MappingProxyType(
        {"infections": {"person_id": "persons.person_id", "infector_id": "persons.person_id"}}
    )

    def __init__(self, epidemic: _Epidemic) -> None:
        self.epidemic = epidemic

    def start(self, world: World) -> None:
        ep = self.epidemic
        ep.reset()
        rng = world.rng
        seeds = np.sort(rng.choice(len(ep.person_id), ep.initial, replace=False))
        ep.infect(seeds, np.zeros(seeds.size, dtype=np.int64), rng)
        world.emit(
            "infections",
            time=_stamp(world, ep.infected[seeds]),
            person_id=ep.person_id[seeds],
            infector_id=np.full(seeds.size, None, dtype=object),
            setting="seed",
        )

    def step(self, world: World) -> None:
        ep = self.epidemic
        t0 = world.step * ep.dt
        t1 = t0 + ep.dt
        exposure = np.minimum(ep.recovered, t1) - np.maximum(ep.infectious, t0)
        active = np.flatnonzero(exposure > 0)  # infectious during part of this step
        susceptible = np.flatnonzero(ep.state == _S)
        if active.size == 0 or susceptible.size == 0:
            return
        weight = exposure[active]  # seconds
        hazard = np.zeros((len(SETTINGS), susceptible.size))
        for s, (slot, rate) in enumerate(ep.groups):
            if ep.beta[s] > 0:
                load = np.bincount(slot[active], weights=weight, minlength=rate.size)
                hazard[s] = load[slot[susceptible]] * rate[slot[susceptible]]
        hazard[-1] = ep.beta[-1] * weight.sum() / ep.person_id.size / _DAY
        hazard = hazard.T
        rng = world.rng
        hit = rng.random(susceptible.size) < -np.expm1(-hazard.sum(axis=1))
        who, parts = susceptible[hit], hazard[hit]
        if who.size == 0:
            return
        cumulative = np.cumsum(parts, axis=1)
        draw = rng.random(who.size) * cumulative[:, -1]
        last = len(SETTINGS) - 1 - np.argmax(parts[:, ::-1] > 0, axis=1)
        setting = np.minimum((cumulative <= draw[:, None]).sum(axis=1), last)
        pick = rng.random(who.size)
        infector = np.empty(who.size, dtype=np.int64)
        for s in range(len(SETTINGS)):
            rows = np.flatnonzero(setting == s)
            if rows.size == 0:
                continue
            if s < len(ep.groups):
                slot = ep.groups[s][0]
                member = slot[active] > 0
                among, own, target = active[member], slot[active][member], slot[who[rows]]
                infector[rows] = _pick(among, own, weight[member], target, pick[rows])
            else:
                zeros = np.zeros(active.size, dtype=np.int64)
                target = np.zeros(rows.size, dtype=np.int64)
                infector[rows] = _pick(active, zeros, weight, target, pick[rows])
        low = np.maximum(ep.infectious[infector], t0)
        high = np.minimum(ep.recovered[infector], t1)
        when = rng.integers(low, high)  # while the infector was infectious
        order = np.argsort(when, kind="stable")
        who, when, infector, setting = who[order], when[order], infector[order], setting[order]
        ep.infect(who, when, rng)
        world.emit(
            "infections",
            time=_stamp(world, when),
            person_id=ep.person_id[who],
            infector_id=ep.person_id[infector],
            setting=np.asarray(SETTINGS, dtype=object)[setting],
        )


class _Progression(Rule):
    """Moves people E -> I -> R at their drawn times; logs every state change."""

    name = "progression"
    keys = MappingProxyType({"transitions": {"person_id": "persons.person_id"}})

    def __init__(self, epidemic: _Epidemic) -> None:
        self.epidemic = epidemic

    def step(self, world: World) -> None:
        ep = self.epidemic
        t1 = (world.step + 1) * ep.dt
        onset = np.flatnonzero((ep.state == _E) & (ep.infectious < t1))
        ep.state[onset] = _I
        healed = np.flatnonzero((ep.state == _I) & (ep.recovered < t1))
        ep.state[healed] = _R
        who = np.concatenate([ep.new, onset, healed])
        when = np.concatenate([ep.infected[ep.new], ep.infectious[onset], ep.recovered[healed]])
        state = np.repeat(_STATES[1:], [ep.new.size, onset.size, healed.size])
        order = np.argsort(when, kind="stable")  # E, I, R of one person stay in that order
        world.emit(
            "transitions",
            time=_stamp(world, when[order]),
            person_id=ep.person_id[who[order]],
            state=state[order],
        )
        ep.new = np.zeros(0, dtype=np.int64)

    def finish(self, world: World) -> None:
        """The persons table shows each person's state and times at the end of the run."""
        ep = self.epidemic
        t1 = (world.step + 1) * ep.dt
        persons = world.tables["persons"]
        persons["state"] = _STATES[ep.state]
        for column, times in zip(
            _OUTPUT[1:], (ep.infected, ep.infectious, ep.recovered), strict=True
        ):
            persons[column] = _stamp(world, np.where(times < t1, times, _NEVER))


# ------------------------------------------------------------------- helpers
def _pick(
    among: np.ndarray, group: np.ndarray, weight: np.ndarray, target: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """For each target group, one of ``among`` in that group, drawn in proportion to weight.

    ``weight`` are whole seconds, so the cumulative sums are exact; each target
    group has a positive total (a hazard from it is why we are here).
    """
    order = np.argsort(group, kind="stable")
    group, weight, among = group[order], weight[order], among[order]
    cumulative = np.cumsum(weight)
    first = np.searchsorted(group, target, side="left")
    last = np.searchsorted(group, target, side="right") - 1
    base = np.where(first > 0, cumulative[first - 1], 0)
    total = cumulative[last] - base
    point = base + np.minimum((u * total).astype(np.int64), total - 1)
    return among[np.clip(np.searchsorted(cumulative, point, side="right"), first, last)]


def _gamma(rng: np.random.Generator, mean: float, shape: float, n: int) -> np.ndarray:
    return np.rint(rng.gamma(shape, mean / shape, n) * _DAY).astype(np.int64)


def _stamp(world: World, seconds: np.ndarray) -> np.ndarray:
    """Timestamps of times in seconds from the start (empty for never)."""
    never = seconds >= _NEVER
    ns = world.start.value + np.where(never, 0, seconds).astype(np.int64) * _NS
    return np.where(never, np.iinfo(np.int64).min, ns).view("datetime64[ns]")


def _groups(column: pd.Series, beta: float) -> tuple[np.ndarray, np.ndarray]:
    slot = pd.factorize(column)[0].astype(np.int64) + 1  # empty -> slot 0
    size = np.bincount(slot)
    rate = beta / np.maximum(size - 1, 1) / _DAY
    rate[0] = 0.0
    return slot, rate


def _like(values: pd.Series, key: pd.Series) -> pd.Series:
    """Infector ids in the dtype of ``person_id``, nullable (the initial cases have none)."""
    if pd.api.types.is_integer_dtype(key.dtype):
        return values.astype("Int64")
    if pd.api.types.is_float_dtype(key.dtype):
        return values.astype(float)
    return values


def _rates(beta: Mapping[str, float] | None, r0: float | None, days: float) -> dict[str, float]:
    if beta is None:
        rates = {s: 0.0 for s in SETTINGS} if r0 is not None else dict(DEFAULT_BETA)
    elif not isinstance(beta, Mapping):
        raise InvalidParameterError(
            f"{_WHERE}: parameter 'beta' got {beta!r}; give a mapping of settings "
            f"{list(SETTINGS)} to rates per day"
        )
    else:
        unknown = sorted(set(beta) - set(SETTINGS))
        if unknown:
            raise InvalidParameterError(
                f"{_WHERE}: parameter 'beta' has unknown setting(s) {unknown}; "
                f"the settings are {list(SETTINGS)}"
            )
        rates = {s: 0.0 for s in SETTINGS}
        for setting, rate in beta.items():
            ok = isinstance(rate, int | float | np.integer | np.floating)
            if not ok or isinstance(rate, bool) or not math.isfinite(rate) or rate < 0:
                raise InvalidParameterError(
                    f"{_WHERE}: parameter 'beta' got {rate!r} for {setting!r}; "
                    "a rate must be a number >= 0 (per day)"
                )
            rates[setting] = float(rate)
        if r0 is not None and "community" in beta:
            raise InvalidParameterError(
                f"{_WHERE}: r0={r0!r} and beta['community']={beta['community']!r} both set "
                "the community rate; give one of them"
            )
    if r0 is not None:
        rates["community"] = r0 / days
    return rates


def _ages(name: str, ages: Any, where: str) -> tuple[float, float]:
    try:
        low, high = (float(a) for a in ages)
        ok = math.isfinite(low) and math.isfinite(high) and 0 <= low < high
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InvalidParameterError(
            f"{where}: parameter {name!r} got {ages!r}; give ages (low, high) with "
            "0 <= low < high, meaning low <= age < high"
        )
    return low, high


def _step_seconds(step: str | pd.Timedelta) -> int:
    try:
        dt = pd.Timedelta(step)
    except (TypeError, ValueError):
        dt = pd.NaT
    if pd.isna(dt) or dt.value < _NS or dt.value % _NS:
        raise InvalidParameterError(
            f"{_WHERE}: parameter 'step' got {step!r}; give a whole number of seconds, "
            "1 or more, as pandas reads it ('1D', '6h', '30min')"
        )
    return dt.value // _NS


def _check_persons(persons: Any, required: tuple[str, ...], unique: str | None = None) -> None:
    if not isinstance(persons, pd.DataFrame):
        raise InvalidDataError(f"persons must be a pandas DataFrame; got {type(persons).__name__}")
    problems = []
    if len(persons) == 0:
        problems.append("it has no rows; give at least one person")
    missing = [c for c in required if c not in persons.columns]
    if missing:
        problems.append(f"column(s) {missing} are missing; it needs {list(required)}")
    for column in (c for c in required if c in persons.columns):
        nulls = int(persons[column].isna().sum())
        if nulls:
            problems.append(f"column {column!r} has {nulls} empty value(s); fill them")
    if "age" in persons.columns and not pd.api.types.is_numeric_dtype(persons["age"].dtype):
        problems.append(f"column 'age' is {persons['age'].dtype}; ages must be numbers (years)")
    if unique in persons.columns and persons[unique].duplicated().any():
        repeats = persons.loc[persons[unique].duplicated(), unique].head(3).tolist()
        problems.append(f"column {unique!r} repeats values (e.g. {repeats}); ids must be unique")
    if unique is not None:
        taken = [c for c in _OUTPUT if c in persons.columns]
        if taken:
            problems.append(f"column(s) {taken} would be overwritten by the run; rename them")
    if problems:
        raise InvalidDataError(problems, where="persons")
