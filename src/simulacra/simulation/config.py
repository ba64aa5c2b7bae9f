"""A simulation written down: which model, its parameters, its population, its seed.

A config file (YAML or JSON) names a shipped model and its parameters, and for
a model that runs over people, the marginal tables of the population to build
(:func:`~simulacra.simulation.build_population`). ``simulacra simulate`` reads
one and writes every table of the run, agents and event logs, to a folder.

.. code-block:: yaml

    model: transactions
    seed: 7
    parameters: {customers: 2000, merchants: 200, days: 14, fraud_rate: 0.01}

Two-way population tables are keyed by both dimensions, ``"type, size"``.

>>> from simulacra.simulation.config import run_config
>>> result = run_config({"model": "transactions", "seed": 1,
...                      "parameters": {"customers": 50, "merchants": 10, "days": 2}})
>>> sorted(result.all_tables())
['customers', 'merchants', 'transactions']
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulacra.errors import InvalidParameterError
from simulacra.simulation.engine import SimulationResult, StepProgress
from simulacra.spec.load import Problems, _close, parse

__all__ = ["MODELS", "SimulationConfig", "load_config", "run_config"]

# name -> (function, whether it runs over a population of persons)
MODELS: Mapping[str, tuple[str, bool]] = {
    "epidemic": ("simulacra.simulation.epidemic:simulate_epidemic", True),
    "transactions": ("simulacra.simulation.transactions:simulate_transactions", False),
}
_KEYS = ("model", "seed", "population", "parameters")
_POPULATION = ("household_marginals", "person_marginals")
_RUN_OWN = ("persons", "seed", "progress")  # given by the run, never by the config


@dataclass
class SimulationConfig:
    """A checked config: the model's name, its keyword parameters, the population, the seed."""

    model: str
    parameters: dict[str, Any] = field(default_factory=dict)
    population: dict[str, Any] | None = None
    seed: int = 0

    def function(self) -> Callable[..., SimulationResult]:
        return _function(self.model)


def _function(model: str) -> Callable[..., Any]:
    module, _, name = MODELS[model][0].partition(":")
    return getattr(importlib.import_module(module), name)


def _options(function: Callable[..., Any], skip: tuple[str, ...]) -> list[str]:
    return [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in skip
    ]


def load_config(config: str | Path | Mapping[str, Any]) -> SimulationConfig:
    """Read and check a config (a YAML or JSON file, or the same as a dict).

    Every problem (unknown keys and models, with the nearest known name) is
    listed in one :class:`~simulacra.errors.SpecError`, each with its line.
    Parameter values are checked by the model when it runs.
    """
    source = parse(dict(config) if isinstance(config, Mapping) else config, "simulation config")
    problems = Problems(source)
    data = source.data
    if not isinstance(data, dict):
        problems.add((), f"a simulation config must be a mapping with 'model' ({_models()})")
        problems.raise_if_any()
    for key in data:
        if key not in _KEYS:
            problems.add((key,), f"unknown key {key!r}{_close(str(key), list(_KEYS), show=True)}")
    model = data.get("model")
    if model is None:
        problems.add((), f"needs 'model': one of {_models()}")
    elif model not in MODELS:
        problems.add(
            ("model",), f"model {model!r} is not known{_close(str(model), list(MODELS), show=True)}"
        )
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problems.add(("seed",), f"seed must be a whole number, 0 or more, got {seed!r}")
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict):
        problems.add(("parameters",), f"must be a mapping name -> value, got {parameters!r}")
        parameters = {}
    population = data.get("population")
    if model in MODELS:
        allowed = _options(_function(model), _RUN_OWN)
        for name in parameters:
            if name not in allowed:
                problems.add(
                    ("parameters", name),
                    f"model {model!r} has no parameter {name!r}"
                    f"{_close(str(name), allowed, show=True)}",
                )
        needs_people = MODELS[model][1]
        if needs_people and not isinstance(population, dict):
            problems.add(
                ("population",) if population is not None else (),
                f"model {model!r} runs over people: give 'population' with "
                f"{' and '.join(_POPULATION)} (and n_households)",
            )
        elif not needs_people and population is not None:
            problems.add(
                ("population",), f"model {model!r} makes its own agents; drop 'population'"
            )
        elif needs_people:
            _check_population(population, problems)
    problems.raise_if_any()
    return SimulationConfig(
        model=model,
        parameters=dict(parameters),
        population=_tables(population) if isinstance(population, dict) else None,
        seed=seed,
    )


def _check_population(population: dict[str, Any], problems: Problems) -> None:
    from simulacra.simulation.population import build_population

    allowed = [*_POPULATION, *_options(build_population, ("seed",))]
    for name in population:
        if name not in allowed:
            problems.add(
                ("population", name),
                f"unknown key {name!r}{_close(str(name), allowed, show=True)}",
            )
    for name in _POPULATION:
        if not isinstance(population.get(name), dict):
            problems.add(("population",), f"needs {name!r}: a mapping of marginal tables")


def _tables(population: dict[str, Any]) -> dict[str, Any]:
    """Two-way tables keyed ``"type, size"`` as the tuple keys that ipf reads."""
    out = dict(population)
    for name in _POPULATION:
        out[name] = {
            tuple(k.strip() for k in key.split(","))
            if isinstance(key, str) and "," in key
            else key: table
            for key, table in population[name].items()
        }
    return out


def _models() -> str:
    return ", ".join(MODELS)


def run_config(
    config: SimulationConfig | str | Path | Mapping[str, Any],
    *,
    seed: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    progress: StepProgress | None = None,
) -> SimulationResult:
    """Build the population (if the model needs one) and run the model.

    ``seed`` replaces the config's; ``overrides`` replace parameters (checked
    like the config's own). For a population model the result also holds the
    ``households`` table, and ``persons.household_id`` links to it.
    """
    if not isinstance(config, SimulationConfig):
        config = load_config(config)
    allowed = _options(config.function(), _RUN_OWN)
    for name in overrides or {}:
        if name not in allowed:
            raise InvalidParameterError(
                f"model {config.model!r} has no parameter {name!r}"
                f"{_close(str(name), allowed, show=True)}"
            )
    parameters = {**config.parameters, **(overrides or {})}
    run_seed = config.seed if seed is None else seed
    function = config.function()
    if config.population is None:
        return function(**parameters, seed=run_seed, progress=progress)
    from simulacra.simulation.population import build_population

    people = dict(config.population)
    population = build_population(
        people.pop("household_marginals"), people.pop("person_marginals"), **people, seed=run_seed
    )
    result = function(population.persons, **parameters, seed=run_seed, progress=progress)
    result.tables = {"households": population.households, **result.tables}
    result.primary_keys = {"households": ["household_id"], **result.primary_keys}
    result.keys = {"persons": {"household_id": "households.household_id"}, **result.keys}
    return result
