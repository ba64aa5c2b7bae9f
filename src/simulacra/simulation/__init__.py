"""Synthetic populations and agent-based models that write event logs.

- :func:`build_population`: households and persons whose joint attributes match
  given marginal tables (iterative proportional fitting, :func:`ipf`).
- :class:`Simulation`: a time-stepped engine; models are :class:`Rule` objects
  (or plain functions of the :class:`World`) acting on all agents at once.
- Shipped models: :func:`simulate_epidemic` (SEIR over households, schools,
  workplaces and the community) and :func:`simulate_transactions` (card
  purchases with daily and weekly seasonality, and labelled fraud).
- :func:`run_config`: a model, its parameters and population from a YAML file
  (``simulacra simulate``).

>>> from simulacra.simulation import build_population, simulate_epidemic
"""

from __future__ import annotations

from simulacra.simulation.config import MODELS, load_config, run_config
from simulacra.simulation.engine import Rule, Simulation, SimulationResult, World
from simulacra.simulation.epidemic import final_size, simulate_epidemic
from simulacra.simulation.ipf import IPFResult, integerise, ipf
from simulacra.simulation.population import COMPOSITIONS, Population, build_population
from simulacra.simulation.transactions import PATTERNS, simulate_transactions

__all__ = [
    "COMPOSITIONS",
    "MODELS",
    "PATTERNS",
    "IPFResult",
    "Population",
    "Rule",
    "Simulation",
    "SimulationResult",
    "World",
    "build_population",
    "final_size",
    "integerise",
    "ipf",
    "load_config",
    "run_config",
    "simulate_epidemic",
    "simulate_transactions",
]
