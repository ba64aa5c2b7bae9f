"""A time-stepped agent-based simulation engine, vectorized over agents.

Agents are rows of tables (``persons``, ``cards``...), their state is columns.
A model is a list of rules; each step, every rule acts on *all* agents at once
(numpy over columns, never a Python loop over agents) and writes what happened
to event logs: one row per event, with its time and the keys of the agents it
touches. The logs and the final agent tables come back as tables, with
multi-table metadata, so that ``simulacra.evaluate_multi`` and the
``db`` tools work on them.

A rule is a :class:`Rule` subclass or a plain function of the world:

>>> import pandas as pd
>>> from simulacra.simulation.engine import Simulation
>>> accounts = pd.DataFrame({"account_id": [1, 2, 3], "balance": [100.0, 50.0, 0.0]})
>>> def interest(world):
...     acc = world.tables["accounts"]
...     paid = acc["balance"].to_numpy() * 0.01
...     acc["balance"] += paid
...     world.emit("payments", account_id=acc["account_id"].to_numpy(), amount=paid)
>>> result = Simulation({"accounts": accounts}, [interest], steps=2, step="30D").run()
>>> result.tables["accounts"]["balance"].round(2).tolist()
[102.01, 51.0, 0.0]
>>> result.logs["payments"][["time", "account_id"]].head(2).to_dict("list")
{'time': [Timestamp('2025-01-01 00:00:00'), Timestamp('2025-01-01 00:00:00')], 'account_id': [1, 2]}

Randomness: ``world.rng`` is a stream of its own for each rule and step (keyed
by the rule's name and the step number from the run's seed), so a run repeats
exactly from its seed, and adding a rule leaves the draws of the others alone.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InvalidDataError, InvalidParameterError
from simulacra.spec.seeds import stream

__all__ = ["Rule", "Simulation", "SimulationResult", "World"]

StepProgress = Callable[[int, int], None]
_SECOND = 1_000_000_000


class Rule:
    """One behaviour of a model: override :meth:`step` (and :meth:`start` if needed).

    ``name`` keys the rule's random streams (defaults to the class name);
    ``keys`` declares, per event log the rule writes, which columns refer to
    which agent table's key, as ``{"infections": {"person_id": "persons.person_id"}}``.
    """

    name: str = ""
    keys: Mapping[str, Mapping[str, str]] = {}

    def start(self, world: World) -> None:
        """Called once before the first step (set up state columns here)."""

    def finish(self, world: World) -> None:
        """Called once after the last step (write final state columns here)."""

    def step(self, world: World) -> None:
        """Act on all agents for the step ``world.step`` (at ``world.time``)."""
        raise NotImplementedError(f"{type(self).__name__} must define step(world)")


class _FunctionRule(Rule):
    def __init__(self, function: Callable[[World], Any]) -> None:
        self.function = function
        self.name = getattr(function, "__name__", "rule")

    def step(self, world: World) -> None:
        self.function(world)


def _rule(rule: Rule | Callable[[World], Any]) -> Rule:
    if isinstance(rule, Rule):
        return rule
    if callable(rule):
        return _FunctionRule(rule)
    raise InvalidParameterError(
        f"a rule must be a simulacra.simulation.Rule or a function of the world; got {rule!r}"
    )


@dataclass
class World:
    """What a rule sees: the agent tables, the clock, a random stream, and the logs.

    ``tables`` are the run's own copies (a rule changes them in place);
    ``step`` counts from 0 up to ``steps`` (the most the run takes); ``time`` is
    the start of the step and ``dt`` its length.
    """

    tables: dict[str, pd.DataFrame]
    start: pd.Timestamp
    dt: pd.Timedelta
    seed: int
    steps: int
    step: int = 0
    _phase: str = "step"
    _rule: str = ""
    _rngs: dict[tuple[str, str, int], np.random.Generator] = field(default_factory=dict)
    _events: dict[str, list[dict[str, np.ndarray]]] = field(default_factory=dict)
    _stopped: str | None = None

    @property
    def time(self) -> pd.Timestamp:
        return self.start + self.step * self.dt

    @property
    def rng(self) -> np.random.Generator:
        """The random stream of the current rule at the current step (its own for start/finish)."""
        key = (self._rule, self._phase, self.step)
        if key not in self._rngs:
            self._rngs.clear()  # one rule at one step at a time: keep only the current stream
            parts = (self.step,) if self._phase == "step" else (self._phase,)
            self._rngs[key] = stream(self.seed, "rule", self._rule, *parts)
        return self._rngs[key]

    def times(self, offsets: np.ndarray) -> np.ndarray:
        """Timestamps inside this step, to the second: ``offsets`` are fractions in [0, 1)."""
        ns = (np.asarray(offsets, float) * self.dt.value).astype(np.int64)
        if self.dt.value >= _SECOND:
            ns -= ns % _SECOND
        return (self.time.value + ns).astype("datetime64[ns]")

    def emit(self, log: str, **columns: Any) -> None:
        """Append events to ``log``: one event per element of the array columns.

        Scalars are repeated. A ``time`` column may give each event its own time
        (see :meth:`times`); otherwise events take the step's start time.
        """
        arrays = {k: v for k, v in columns.items() if np.ndim(v) > 0}
        lengths = {k: len(v) for k, v in arrays.items()}
        if len(set(lengths.values())) > 1:
            raise InvalidDataError(
                f"rule {self._rule!r}: the columns of event log {log!r} have different "
                f"lengths {lengths}; give one value per event (or a scalar for all)"
            )
        n = next(iter(lengths.values()), 1)
        if n == 0:
            return
        start = np.full(n, self.time.value, dtype=np.int64).astype("datetime64[ns]")
        batch = {"time": start, "step": np.full(n, self.step, dtype=np.int64)}
        for name, value in columns.items():
            batch[name] = np.asarray(value) if np.ndim(value) > 0 else np.repeat(value, n)
        self._events.setdefault(log, []).append(batch)

    def stop(self, reason: str) -> None:
        """End the run after this step (``reason`` is kept in the result)."""
        self._stopped = reason


@dataclass
class SimulationResult:
    """The agent tables as the run left them, the event logs, and how the run went."""

    tables: dict[str, pd.DataFrame]
    logs: dict[str, pd.DataFrame]
    steps: int
    stopped: str | None
    seconds: float
    primary_keys: dict[str, list[str]]
    keys: dict[str, dict[str, str]]

    def all_tables(self) -> dict[str, pd.DataFrame]:
        """Agent tables then logs, one dict (names are unique by construction)."""
        return {**self.tables, **self.logs}

    def metadata(self) -> Any:
        """Multi-table metadata: agents' primary keys, and each log's keys to its agents."""
        from simulacra.relational._detect import detect_multi
        from simulacra.relational.metadata import ForeignKey

        tables = self.all_tables()
        foreign = [
            ForeignKey(
                log,
                (column,),
                *_parent(target, log, column),
                nullable=bool(tables[log][column].isna().any()),
            )
            for log, links in self.keys.items()
            if log in tables
            for column, target in links.items()
        ]
        # a column a short run left empty (no fraud yet) is typed by its dtype, not detected
        empty = {n: [c for c in df.columns if df[c].isna().all()] for n, df in tables.items()}
        seen = {n: df.drop(columns=empty[n]) for n, df in tables.items()}
        meta = detect_multi(seen, primary_keys=self.primary_keys, foreign_keys=foreign)
        for name, columns in empty.items():
            order = list(tables[name].columns)
            found = {**meta.tables[name].columns, **{c: _typed(tables[name][c]) for c in columns}}
            meta.tables[name].columns = {c: found[c] for c in order}
        return meta

    def write(
        self, dest: str | Path, *, format: str = "parquet", replace: bool = False
    ) -> list[str]:
        """Write every table to a folder (one file each) or a database URL."""
        from simulacra.relational.io import write_tables

        return write_tables(
            self.all_tables(), dest, metadata=self.metadata(), format=format, replace=replace
        )


def _typed(column: pd.Series) -> Any:
    from simulacra.metadata import Column

    if pd.api.types.is_bool_dtype(column.dtype):
        return Column("boolean")
    if pd.api.types.is_numeric_dtype(column.dtype):
        return Column("numerical")
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return Column("datetime")
    return Column("categorical", categories=[])


def _parent(target: str, log: str, column: str) -> tuple[tuple[str, ...], str]:
    table, sep, key = target.partition(".")
    if not sep or not table or not key:
        raise InvalidParameterError(
            f"event log {log!r}: key of column {column!r} is {target!r}; write it as table.column"
        )
    return table, (key,)


class Simulation:
    """Run ``rules`` over the agents in ``tables`` for ``steps`` steps of length ``step``.

    Parameters
    ----------
    tables : the agent tables (copied; the caller's frames are never changed).
    rules : :class:`Rule` objects or functions ``rule(world)``, run in order each step.
    steps : how many steps at most (a rule may end the run sooner with ``world.stop``).
    start : the time of the first step.
    step : the length of a step, as pandas reads it (``"1D"``, ``"1h"``, ``"15min"``).
    seed : the run's seed; same tables, rules and seed give the same result.
    primary_keys : each agent table's key column (``{"persons": "person_id"}``);
        tables not named get none.
    """

    def __init__(
        self,
        tables: Mapping[str, pd.DataFrame],
        rules: Sequence[Rule | Callable[[World], Any]],
        *,
        steps: int,
        start: str | pd.Timestamp = "2025-01-01",
        step: str | pd.Timedelta = "1D",
        seed: int = 0,
        primary_keys: Mapping[str, str] | None = None,
    ) -> None:
        if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
            raise InvalidParameterError(f"steps={steps!r}: give a whole number of steps, 1 or more")
        try:
            self.dt = pd.Timedelta(step)
            self.start = pd.Timestamp(start)
        except (ValueError, TypeError) as exc:
            raise InvalidParameterError(
                f"start={start!r}, step={step!r}: {exc}; use e.g. start='2025-01-01', step='1h'"
            ) from None
        if self.dt <= pd.Timedelta(0):
            raise InvalidParameterError(f"step={step!r}: a step must be longer than zero")
        self.tables = {name: df.copy() for name, df in tables.items()}
        self.rules = [_rule(r) for r in rules]
        names = [r.name or type(r).__name__ for r in self.rules]
        if len(set(names)) < len(names):
            raise InvalidParameterError(
                f"rules {names} share a name; give each rule its own name (it keys its randomness)"
            )
        self.steps = int(steps)
        self.seed = seed
        self.primary_keys = {t: [k] for t, k in (primary_keys or {}).items()}
        for table, key in self.primary_keys.items():
            if table not in self.tables or key[0] not in self.tables[table]:
                raise InvalidDataError(
                    f"primary key {table}.{key[0]} is not among the agent tables' columns"
                )

    def run(self, progress: StepProgress | None = None) -> SimulationResult:
        """Start every rule, then step until ``steps`` or a rule stops the run."""
        began = _time.perf_counter()
        world = World(self.tables, self.start, self.dt, self.seed, self.steps)
        self._each(world, "start")
        done = 0
        for t in range(self.steps):
            world.step = t
            self._each(world, "step")
            done = t + 1
            if progress is not None:
                progress(done, self.steps)
            if world._stopped is not None:
                break
        self._each(world, "finish")
        logs = {name: _concat(batches) for name, batches in world._events.items()}
        clash = sorted(set(logs) & set(world.tables))
        if clash:
            raise InvalidDataError(
                f"event logs {clash} have the names of agent tables; rename the logs"
            )
        keys: dict[str, dict[str, str]] = {}
        for rule in self.rules:
            for log, links in rule.keys.items():
                keys.setdefault(log, {}).update(links)
        return SimulationResult(
            tables=world.tables,
            logs=logs,
            steps=done,
            stopped=world._stopped,
            seconds=_time.perf_counter() - began,
            primary_keys=self.primary_keys,
            keys=keys,
        )

    def _each(self, world: World, phase: str) -> None:
        world._phase = phase
        for rule in self.rules:
            world._rule = rule.name or type(rule).__name__
            getattr(rule, phase)(world)


def _concat(batches: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    columns = list(dict.fromkeys(k for b in batches for k in b))
    missing = [c for c in columns if any(c not in b for b in batches)]
    if missing:
        raise InvalidDataError(
            f"event log columns {missing} are given in some steps and not others; "
            "emit the same columns every time"
        )
    return pd.DataFrame({c: np.concatenate([b[c] for b in batches]) for c in columns})
