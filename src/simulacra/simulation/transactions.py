"""Economic transactions: customers buying from merchants, with labelled fraud.

:func:`simulate_transactions` runs an hourly agent-based model on the
:mod:`~simulacra.simulation.engine`: customers (with a city, a segment, an
activity level and a spend level) buy from merchants (with a category, an
MCC-like code, a city and an online flag) following daily and weekly
seasonality, and fraud rules inject labelled fraud cases (card testing,
account takeover, merchant compromise) into the same ``transactions`` log, so
a detector can be trained and checked on it.

>>> from simulacra.simulation.transactions import simulate_transactions
>>> result = simulate_transactions(customers=300, merchants=60, days=3, fraud_rate=0.05, seed=1)
>>> tx = result.logs["transactions"]
>>> list(tx.columns)  # doctest: +NORMALIZE_WHITESPACE
['transaction_id', 'time', 'customer_id', 'merchant_id', 'amount', 'channel',
 'is_fraud', 'fraud_pattern', 'fraud_case']
>>> sorted(tx["fraud_pattern"].dropna().unique())
['account_takeover', 'card_testing', 'merchant_compromise']
>>> result.metadata().validate(result.all_tables())  # every key links to its agent
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import time as _time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from simulacra.errors import InvalidParameterError
from simulacra.simulation._fraud import _FRAUD, _MEAN_EVENTS
from simulacra.simulation._market import (
    _KEYS,
    CATEGORIES,
    _customers,
    _Market,
    _merchants,
    _Purchases,
)
from simulacra.simulation.engine import Rule, Simulation, SimulationResult

__all__ = ["CATEGORIES", "HOURLY_PROFILE", "PATTERNS", "WEEKLY_PROFILE", "simulate_transactions"]

PATTERNS = ("card_testing", "account_takeover", "merchant_compromise")
"""The fraud patterns, in the order of their codes."""

HOURLY_PROFILE = (
    *(0.15, 0.08, 0.05, 0.04, 0.05, 0.12, 0.35, 0.75),  # night, then the morning rise
    *(1.0, 0.95, 1.0, 1.25, 1.6, 1.45, 1.05, 1.0),  # morning peak at 8, lunch peak at 12
    *(1.15, 1.5, 1.75, 1.6, 1.2, 0.8, 0.5, 0.3),  # evening peak at 18, then down
)
"""Relative purchase rate by hour of day, 0 to 23 (scaled to a mean of 1)."""

WEEKLY_PROFILE = (0.9, 0.92, 0.95, 1.0, 1.2, 1.35, 0.8)
"""Relative purchase rate by day of week, Monday to Sunday (scaled to a mean of 1)."""


def simulate_transactions(
    *,
    customers: int = 5000,
    merchants: int = 500,
    days: int = 30,
    start: str | pd.Timestamp = "2025-01-01",
    purchases_per_day: float = 1.5,
    fraud_rate: float = 0.005,
    patterns: Sequence[str] | Mapping[str, float] = PATTERNS,
    hourly: Sequence[float] | None = None,
    weekly: Sequence[float] | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Simulate card purchases of ``customers`` at ``merchants``, hour by hour, with fraud.

    Parameters
    ----------
    customers, merchants : int
        How many agents of each kind (1 or more).
    days : int
        Length of the run in days; a step is one hour.
    start : str or Timestamp
        Local time of the first step (time-zone naive).
    purchases_per_day : float
        Mean legitimate purchases per customer per day, over the week.
    fraud_rate : float
        Share of all transactions that are fraud, in [0, 1). The number of
        fraud cases is set so that the *expected* share is ``fraud_rate``:
        expected legitimate purchases L (from the customers' activity and the
        profiles over the run's calendar), fraud events F = L r / (1 - r),
        split between the patterns, divided by each pattern's mean events per
        case, and rounded at random to a whole number of cases.
    patterns : sequence of str, or mapping of str to float
        Fraud patterns to inject, among :data:`PATTERNS`; a mapping gives each
        pattern's share of fraud transactions (equal shares otherwise).
    hourly, weekly : sequence of float, optional
        Relative purchase rates by hour of day (24 values) and by day of week
        (7 values, Monday first); defaults :data:`HOURLY_PROFILE`, :data:`WEEKLY_PROFILE`.
    seed : int
        Seed of the run; the same arguments give the same tables.
    progress : callable, optional
        Called as ``progress(done_steps, total_steps)`` after each step.

    Returns
    -------
    SimulationResult
        ``tables``: ``customers`` (customer_id, city, region, segment, activity:
        expected purchases per day, spend_level: multiplier of merchants'
        typical amounts, opened) and ``merchants`` (merchant_id, category, mcc,
        city, online, typical_amount). ``logs``: ``transactions``
        (transaction_id, time, customer_id, merchant_id, amount, channel,
        is_fraud, fraud_pattern, fraud_case), sorted by time, and if a
        merchant was breached, ``breaches`` (fraud_case, time, merchant_id,
        victims). ``fraud_pattern`` and ``fraud_case`` are empty for legitimate
        purchases; all rows of a case share its ``fraud_case``.

    Raises
    ------
    InvalidParameterError
        If a parameter is out of range; the message names it and what is allowed.

    Notes
    -----
    Legitimate purchases: each hour a customer makes Poisson(activity / 24 x
    hourly[hour] x weekly[weekday]) purchases, 85% at one of their 8 favourite
    merchants (weighted 1/rank, drawn by power-law popularity, mostly in
    their city), else at a popular merchant in their city (9%) or online. Amounts
    are lognormal: the merchant's typical amount times the customer's spend
    level, with the category's spread. Fraud:

    * ``card_testing``: on one card, 3 to 20 online purchases under 3.00 at
      one merchant, seconds apart, then in 60% of cases a large online
      purchase within 20 minutes; at any hour.
    * ``account_takeover``: 2 to 8 purchases at night, 2.5 to 8 times the
      merchant's typical amount (more for customers who spend more than most),
      in electronics, jewelry or travel, in categories the customer has not
      used, online or in another city.
    * ``merchant_compromise``: a merchant is breached (logged in ``breaches``);
      several of the customers who bought there in the 7 days before see 1 to
      3 online or out-of-town purchases within 3 days; one case per breach.
    """
    began = _time.perf_counter()
    customers = _whole("customers", customers, 1)
    merchants = _whole("merchants", merchants, 1)
    days = _whole("days", days, 1)
    seed = _whole("seed", seed, 0)
    when = _start(start)
    purchases_per_day = _positive("purchases_per_day", purchases_per_day)
    rate = _number(fraud_rate)
    if rate is None or not 0 <= rate < 1:
        raise InvalidParameterError(
            f"fraud_rate={fraud_rate!r}: give the share of fraud transactions, in [0, 1)"
        )
    shares = _patterns(patterns, rate)
    hours = _profile("hourly", hourly, HOURLY_PROFILE, "hours of the day, 0 to 23")
    weekdays = _profile("weekly", weekly, WEEKLY_PROFILE, "days of the week, Monday first")
    if progress is not None and not callable(progress):
        raise InvalidParameterError(f"progress={progress!r}: give a function (done, total) or None")

    steps = days * 24
    people = _customers(customers, purchases_per_day, when, seed)
    shops = _merchants(merchants, seed)
    market = _Market(people, shops, (hours, weekdays), steps, seed, "merchant_compromise" in shares)
    clock = pd.date_range(when, periods=steps, freq="h")
    seasonal = (hours[clock.hour] * weekdays[clock.day_of_week]).sum()
    expected = people["activity"].sum() / 24 * seasonal
    fraud_events = expected * rate / (1 - rate)
    rules: list[Rule] = [
        _FRAUD[name](market, fraud_events * share / _MEAN_EVENTS[name])
        for name, share in shares.items()
    ]
    rules.append(_Purchases(market))  # last: fraud rules see the purchases before this hour
    sim = Simulation(
        {"customers": people, "merchants": shops},
        rules,
        steps=steps,
        start=when,
        step="1h",
        seed=seed,
        primary_keys={"customers": "customer_id", "merchants": "merchant_id"},
    )
    result = sim.run(progress)
    return _finish(result, began)


# ----------------------------------------------------------------- validation
def _whole(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InvalidParameterError(f"{name}={value!r}: give a whole number, {minimum} or more")
    return int(value)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return None
    return float(value) if math.isfinite(value) else None


def _positive(name: str, value: object) -> float:
    number = _number(value)
    if number is None or number <= 0:
        raise InvalidParameterError(f"{name}={value!r}: give a number above 0")
    return number


def _start(start: object) -> pd.Timestamp:
    try:
        when = pd.Timestamp(start)
    except (ValueError, TypeError):
        when = None
    if when is None or pd.isna(when) or when.tz is not None:
        raise InvalidParameterError(
            f"start={start!r}: give a time-zone naive local time, e.g. '2025-01-01'"
        )
    return when


def _patterns(patterns: object, fraud_rate: float) -> dict[str, float]:
    if isinstance(patterns, str):
        patterns = (patterns,)
    if isinstance(patterns, Mapping):
        items = list(patterns.items())
    elif isinstance(patterns, Sequence | set | frozenset):
        items = [(p, 1.0) for p in patterns]
    else:
        raise InvalidParameterError(
            f"patterns={patterns!r}: give fraud pattern names, or a mapping name -> share; "
            f"choose from {', '.join(PATTERNS)}"
        )
    shares: dict[str, float] = {}
    for name, share in items:
        if name not in PATTERNS:
            close = difflib.get_close_matches(str(name), PATTERNS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InvalidParameterError(
                f"patterns: unknown fraud pattern {name!r}; {hint}choose from {', '.join(PATTERNS)}"
            )
        if name in shares:
            raise InvalidParameterError(
                f"patterns: {name!r} is given twice; name each pattern once"
            )
        weight = _number(share)
        if weight is None or weight < 0:
            raise InvalidParameterError(
                f"patterns: the share of {name!r} is {share!r}; give a number, 0 or more"
            )
        shares[name] = weight
    total = sum(shares.values())
    if fraud_rate > 0 and total <= 0:
        raise InvalidParameterError(
            f"patterns={patterns!r}: fraud_rate={fraud_rate!r} needs at least one fraud pattern "
            f"with a share above 0 (among {', '.join(PATTERNS)}), or set fraud_rate=0"
        )
    if fraud_rate == 0:
        return {}
    return {name: share / total for name, share in shares.items() if share > 0}


def _profile(name: str, value: object, default: tuple[float, ...], what: str) -> np.ndarray:
    length = len(default)
    try:
        weights = np.asarray(default if value is None else value, dtype=float)
    except (TypeError, ValueError):
        weights = np.array([np.nan])
    if weights.shape != (length,) or not np.isfinite(weights).all() or (weights < 0).any():
        raise InvalidParameterError(
            f"{name}={value!r}: give {length} relative rates, 0 or more, one for each of the {what}"
        )
    if weights.sum() <= 0:
        raise InvalidParameterError(f"{name}={value!r}: the rates are all 0; give some above 0")
    return weights * length / weights.sum()


# ----------------------------------------------------------------- results
def _finish(result: SimulationResult, began: float) -> SimulationResult:
    """Sort the log by time, number transactions and cases, decode labels."""
    empty = {
        "time": np.zeros(0, "datetime64[ns]"),
        "customer_id": np.zeros(0, np.int64),
        "merchant_id": np.zeros(0, np.int64),
        "amount": np.zeros(0),
        "channel": np.zeros(0, bool),
        "fraud_pattern": np.zeros(0, np.int8),
        "fraud_case": np.zeros(0, np.int64),
    }
    raw = result.logs.get("transactions", pd.DataFrame(empty))
    raw = raw.iloc[np.argsort(raw["time"].to_numpy(), kind="stable")]
    code = raw["fraud_pattern"].to_numpy(np.int64)
    fraud = code > 0
    case_ids, uniques = pd.factorize(raw["fraud_case"].to_numpy()[fraud])
    renumber = dict(zip(uniques.tolist(), range(1, len(uniques) + 1), strict=True))
    case = np.zeros(len(raw), np.int64)
    case[fraud] = case_ids + 1
    transactions = pd.DataFrame(
        {
            "transaction_id": np.arange(1, len(raw) + 1, dtype=np.int64),
            "time": raw["time"].to_numpy(),
            "customer_id": raw["customer_id"].to_numpy(np.int64),
            "merchant_id": raw["merchant_id"].to_numpy(np.int64),
            "amount": raw["amount"].to_numpy(float),
            "channel": pd.Categorical.from_codes(
                raw["channel"].to_numpy(bool).astype(np.int8), ["in_store", "online"]
            ),
            "is_fraud": fraud,
            "fraud_pattern": pd.Categorical.from_codes(code - 1, list(PATTERNS)),
            "fraud_case": pd.arrays.IntegerArray(case, ~fraud),
        }
    )
    logs = {"transactions": transactions}
    primary = {**result.primary_keys, "transactions": ["transaction_id"]}
    keys = {"transactions": dict(_KEYS)}
    log = result.logs.get("breaches")
    if log is not None:  # like the engine, no log without events
        logs["breaches"] = pd.DataFrame(
            {
                "fraud_case": np.array([renumber[c] for c in log["fraud_case"]], np.int64),
                "time": log["time"].to_numpy(),
                "merchant_id": log["merchant_id"].to_numpy(np.int64),
                "victims": log["victims"].to_numpy(np.int64),
            }
        )
        primary["breaches"] = ["fraud_case"]
        keys["breaches"] = {"merchant_id": "merchants.merchant_id"}
    seconds = _time.perf_counter() - began  # the whole call, set-up and finish included
    return dataclasses.replace(result, logs=logs, primary_keys=primary, keys=keys, seconds=seconds)
