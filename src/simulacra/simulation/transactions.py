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
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import ClassVar

import numpy as np
import pandas as pd

from simulacra.errors import InvalidParameterError
from simulacra.simulation.engine import Rule, Simulation, SimulationResult, World
from simulacra.spec.seeds import stream

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

# category: (MCC, share of merchants, share of visits, median amount, spread (log sd), online share)
CATEGORIES: Mapping[str, tuple[str, float, float, float, float, float]] = MappingProxyType(
    {
        "grocery": ("5411", 0.16, 0.24, 38.0, 0.6, 0.05),
        "fuel": ("5541", 0.07, 0.09, 45.0, 0.35, 0.0),
        "restaurants": ("5812", 0.16, 0.14, 32.0, 0.5, 0.0),
        "fast_food": ("5814", 0.10, 0.13, 11.0, 0.4, 0.0),
        "pharmacy": ("5912", 0.06, 0.06, 19.0, 0.6, 0.1),
        "clothing": ("5651", 0.10, 0.06, 55.0, 0.7, 0.3),
        "entertainment": ("7832", 0.05, 0.04, 24.0, 0.4, 0.3),
        "electronics": ("5732", 0.05, 0.025, 140.0, 0.9, 0.4),
        "online_retail": ("5969", 0.10, 0.13, 42.0, 0.9, 1.0),
        "digital_goods": ("5815", 0.05, 0.06, 9.0, 0.6, 1.0),
        "travel": ("4722", 0.03, 0.015, 320.0, 0.8, 0.7),
        "jewelry": ("5944", 0.02, 0.01, 210.0, 0.8, 0.2),
    }
)
"""Merchant categories: MCC, shares of merchants and visits, median amount, spread, online share."""

_CITIES = ("Ashford", "Brightwater", "Cedar Falls", "Dunmore", "Eastbrook", "Fairhaven")
_CITIES += ("Glenrock", "Harborview", "Ironwood", "Juniper Bay")
_CITY_P = np.arange(1.0, len(_CITIES) + 1) ** -0.9
_CITY_P /= _CITY_P.sum()  # city sizes, Zipf-like
_REGIONS = ("North", "South", "West", "North", "East", "South", "West", "East", "North", "South")
# segment: (share of customers, activity factor, spend factor)
_SEGMENTS = {
    "student": (0.15, 1.1, 0.55),
    "standard": (0.60, 1.0, 1.0),
    "premium": (0.20, 1.15, 1.8),
    "business": (0.05, 1.4, 2.6),
}
_FAVOURITES = 8  # favourite merchants per customer, weighted 1/rank
_P_FAVOURITE, _P_LOCAL = 0.85, 0.09  # else a popular online merchant
_HOUR = 3600
_WINDOW = 7 * 24  # hours of purchases a merchant breach exposes
# mean transactions per case: 3 + 5 tests + 0.6 cash-outs; 2 + 2; 8 victims x 1.6
_MEAN_EVENTS = {"card_testing": 8.6, "account_takeover": 4.0, "merchant_compromise": 12.8}
_TEST_AMOUNTS = np.array([0.5, 1.0, 1.0, 1.5, 2.0])
_NIGHT = np.zeros(24)
_NIGHT[[23, 0, 1, 2, 3, 4]] = (0.5, 1.0, 1.0, 1.0, 1.0, 0.7)


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


# ----------------------------------------------------------------- agents
def _customers(n: int, per_day: float, start: pd.Timestamp, seed: int) -> pd.DataFrame:
    rng = stream(seed, "transactions", "customers")
    city = rng.choice(len(_CITIES), n, p=_CITY_P)
    share, act, spend = (np.array(v) for v in zip(*_SEGMENTS.values(), strict=True))
    segment = rng.choice(len(share), n, p=share)
    activity = per_day * act[segment] / (share @ act) * rng.gamma(4.0, 0.25, n)
    age = np.minimum(rng.exponential(4 * 365, n), 25 * 365).astype(np.int64) + 1
    opened = start.normalize().to_datetime64() - age.astype("timedelta64[D]")
    return pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1, dtype=np.int64),
            "city": np.array(_CITIES, dtype=object)[city],
            "region": np.array(_REGIONS, dtype=object)[city],
            "segment": np.array(list(_SEGMENTS), dtype=object)[segment],
            "activity": activity.round(3),
            "spend_level": np.maximum(spend[segment] * rng.lognormal(0, 0.35, n), 0.05).round(3),
            "opened": opened.astype("datetime64[ns]"),
        }
    )


def _merchants(n: int, seed: int) -> pd.DataFrame:
    rng = stream(seed, "transactions", "merchants")
    mcc, share, _, median, _, online = (np.array(v) for v in zip(*CATEGORIES.values(), strict=True))
    category = rng.choice(len(share), n, p=share / share.sum())
    return pd.DataFrame(
        {
            "merchant_id": np.arange(1, n + 1, dtype=np.int64),
            "category": np.array(list(CATEGORIES), dtype=object)[category],
            "mcc": mcc.astype(object)[category],
            "city": np.array(_CITIES, dtype=object)[rng.choice(len(_CITIES), n, p=_CITY_P)],
            "online": rng.random(n) < online[category],
            "typical_amount": (median[category] * rng.lognormal(0, 0.3, n)).round(2),
        }
    )


class _Picker:
    """Draw items by weight within a group (a city), all draws at once.

    Items are sorted by group; item j's key is its group number plus its
    cumulative weight share within the group, so a draw for group g is a
    ``searchsorted`` of g + u. A group with no weight draws from ``fallback``
    (uniformly from all items if there is none).
    """

    def __init__(
        self,
        weights: np.ndarray,
        groups: np.ndarray | None = None,
        fallback: _Picker | None = None,
        n_groups: int = 1,
    ) -> None:
        weights = np.asarray(weights, float)
        groups = np.zeros(len(weights), np.int64) if groups is None else np.asarray(groups)
        self.order = np.argsort(groups, kind="stable")
        w, g = weights[self.order], groups[self.order]
        self.totals = np.bincount(g, weights=w, minlength=n_groups)
        total = self.totals[g]
        within = np.cumsum(w) - (np.cumsum(self.totals) - self.totals)[g]
        self.key = g + np.divide(within, total, out=np.zeros_like(within), where=total > 0)
        last = np.r_[g[1:] != g[:-1], True] & (total > 0)
        self.key[last] = g[last] + 1.0
        self.fallback = fallback

    def draw(
        self, rng: np.random.Generator, groups: np.ndarray | None = None, n: int = 0
    ) -> np.ndarray:
        """One item per entry of ``groups`` (or ``n`` items of group 0)."""
        groups = np.zeros(n, np.int64) if groups is None else np.asarray(groups, np.int64)
        at = np.searchsorted(self.key, groups + (1.0 - rng.random(len(groups))), side="left")
        out = self.order[np.minimum(at, len(self.order) - 1)]
        empty = self.totals[groups] <= 0
        if empty.any():
            k = int(empty.sum())
            fallback = self.fallback
            out[empty] = (
                fallback.draw(rng, n=k) if fallback else rng.integers(len(self.order), size=k)
            )
        return out


class _Market:
    """What the rules share: the agents as arrays, merchant pickers, favourites, history."""

    def __init__(
        self,
        people: pd.DataFrame,
        shops: pd.DataFrame,
        season: tuple[np.ndarray, np.ndarray],
        steps: int,
        seed: int,
        keep_history: bool,
    ) -> None:
        names, cities = list(CATEGORIES), {c: i for i, c in enumerate(_CITIES)}
        self.hourly, self.weekly = season
        self.steps = steps
        self.customer_id = people["customer_id"].to_numpy(np.int64)
        self.city = people["city"].map(cities).to_numpy(np.int64)
        self.activity = people["activity"].to_numpy(float)
        self.spend = people["spend_level"].to_numpy(float)
        self.merchant_id = shops["merchant_id"].to_numpy(np.int64)
        self.category = shops["category"].map(names.index).to_numpy(np.int64)
        self.bit = (1 << self.category).astype(np.uint16)
        self.online = shops["online"].to_numpy(bool)
        self.shop_city = shops["city"].map(cities).to_numpy(np.int64)
        self.typical = shops["typical_amount"].to_numpy(float)
        _, _, visits, _, spread, _ = (np.array(v) for v in zip(*CATEGORIES.values(), strict=True))
        self.sigma = spread[self.category]

        rng = stream(seed, "transactions", "favourites")
        raw = rng.pareto(1.2, len(shops)) + 1.0  # power-law (Zipf-like) popularity
        by_category = np.bincount(self.category, raw, len(names))[self.category]
        popularity = visits[self.category] * raw / by_category
        anywhere = _Picker(popularity)
        self.web = _Picker(popularity * self.online, fallback=anywhere)
        self.local = _Picker(popularity * ~self.online, self.shop_city, anywhere, len(_CITIES))

        def pool(*kinds: str, web_only: bool = False) -> _Picker:
            keep = np.isin(self.category, [names.index(k) for k in kinds])
            return _Picker(popularity * keep * (self.online if web_only else 1), fallback=anywhere)

        self.pools = {
            "tester": pool("digital_goods", "online_retail", web_only=True),
            "cashout": pool("electronics", "jewelry", "online_retail", web_only=True),
            "takeover": pool("electronics", "jewelry", "travel"),
            "resale": pool("electronics", "clothing", "online_retail", "jewelry", "digital_goods"),
        }
        source = rng.random((len(people), _FAVOURITES))  # 70% local, 20% online, 10% anywhere
        near, far = source < 0.7, (source >= 0.7) & (source < 0.9)
        self.favourites = np.empty(source.shape, np.int64)
        self.favourites[near] = self.local.draw(
            rng, np.broadcast_to(self.city[:, None], source.shape)[near]
        )
        self.favourites[far] = self.web.draw(rng, n=int(far.sum()))
        self.favourites[~near & ~far] = anywhere.draw(rng, n=int((~near & ~far).sum()))
        # categories a customer uses: their favourites', then each purchase's
        self.usual = np.bitwise_or.reduce(self.bit[self.favourites], axis=1).astype(np.uint16)
        # (customers, merchants) of each of the last hours, and purchases per merchant in them
        self.history: deque[tuple[np.ndarray, np.ndarray]] | None = (
            deque(maxlen=_WINDOW) if keep_history else None
        )
        self.visits = np.zeros(len(shops), np.int64)

    def emit(
        self,
        world: World,
        seconds: np.ndarray,
        customer: np.ndarray,
        merchant: np.ndarray,
        amount: np.ndarray,
        pattern: int = 0,
        case: np.ndarray | int = 0,
    ) -> None:
        """Log purchases ``seconds`` after the step's start (0 to 3599)."""
        world.emit(
            "transactions",
            time=world.times((np.floor(seconds) + 0.5) / _HOUR),
            customer_id=self.customer_id[customer],
            merchant_id=self.merchant_id[merchant],
            amount=np.round(amount, 2),
            channel=self.online[merchant],
            fraud_pattern=np.full(len(customer), pattern, np.int8),
            fraud_case=np.broadcast_to(np.asarray(case, np.int64), len(customer)),
        )


_KEYS = {"customer_id": "customers.customer_id", "merchant_id": "merchants.merchant_id"}


# ----------------------------------------------------------------- rules
class _Purchases(Rule):
    """Legitimate purchases: Poisson counts per customer, seasonal rates, favourite merchants.

    Customer i buys Poisson(activity_i x season / 24) times an hour; drawn as the
    same thing, a Poisson total shared out in proportion to activity, so a step
    costs the purchases it makes, not the number of customers.
    """

    name = "purchases"
    keys: ClassVar = {"transactions": _KEYS}

    def __init__(self, market: _Market) -> None:
        self.market = market
        ranks = 1.0 / np.arange(1, _FAVOURITES + 1)
        self.rank_p = ranks / ranks.sum()
        self.cumulative = np.cumsum(market.activity)

    def step(self, world: World) -> None:
        mk, rng, now = self.market, world.rng, world.time
        total = self.cumulative[-1]
        n = rng.poisson(total * mk.hourly[now.hour] * mk.weekly[now.day_of_week] / 24)
        customer = np.searchsorted(self.cumulative, rng.random(n) * total, side="right")
        u = rng.random(n)
        merchant = np.empty(n, np.int64)
        fav = u < _P_FAVOURITE
        rank = rng.choice(_FAVOURITES, size=int(fav.sum()), p=self.rank_p)
        merchant[fav] = mk.favourites[customer[fav], rank]
        local = ~fav & (u < _P_FAVOURITE + _P_LOCAL)
        merchant[local] = mk.local.draw(rng, mk.city[customer[local]])
        web = ~fav & ~local
        merchant[web] = mk.web.draw(rng, n=int(web.sum()))
        noise = np.exp(mk.sigma[merchant] * rng.standard_normal(n))
        amount = np.maximum(mk.typical[merchant] * mk.spend[customer] * noise, 1.0)
        mk.emit(world, rng.random(n) * _HOUR, customer, merchant, amount)
        np.bitwise_or.at(mk.usual, customer, mk.bit[merchant])
        if mk.history is not None:  # the last week's purchases, for merchant breaches
            if len(mk.history) == mk.history.maxlen:
                mk.visits -= np.bincount(mk.history[0][1], minlength=len(mk.visits))
            mk.history.append((customer, merchant))
            mk.visits += np.bincount(merchant, minlength=len(mk.visits))


class _Fraud(Rule):
    """Fraud cases of one pattern: their start steps are planned, their events queued.

    ``start`` draws how many cases (the expected number, rounded at random)
    and at which steps (by the pattern's hour-of-day weights); at a case's
    step, :meth:`_cases` makes all its events, possibly hours or days ahead,
    and each step logs the events that fall in it.
    """

    code = 0
    hours: ClassVar = np.ones(24)
    keys: ClassVar = {"transactions": _KEYS}

    def __init__(self, market: _Market, cases: float) -> None:
        self.market = market
        self.cases = cases
        self.new = np.zeros(market.steps, np.int64)  # cases starting at each step
        self.made = 0
        self.queue: list[dict[str, np.ndarray]] = []

    def window(self, steps: int) -> tuple[int, int]:
        """First and past-last step at which a case may start."""
        return 0, steps

    def start(self, world: World) -> None:
        # world.rng in start() is the stream of step 0: plan on a stream of its own
        rng = stream(world.seed, "rule", self.name, "plan")
        steps = self.market.steps
        n = int(self.cases) + int(rng.random() < self.cases % 1)
        lo, hi = self.window(steps)
        weights = self.hours[(world.start.hour + np.arange(lo, hi)) % 24]
        self.new = np.zeros(steps, np.int64)
        if n and hi > lo and weights.sum() > 0:
            at = rng.choice(np.arange(lo, hi), size=n, p=weights / weights.sum())
            self.new = np.bincount(at, minlength=steps)
        self.made = 0
        self.queue = []

    def step(self, world: World) -> None:
        k = int(self.new[world.step])
        if k:
            ids = (self.made + np.arange(k, dtype=np.int64)) * 8 + self.code
            self.made += k
            events = self._cases(world, world.rng, ids)
            events["seconds"] = events["seconds"] + world.step * _HOUR
            self.queue.append(events)
        if not self.queue:
            return
        pending = {c: np.concatenate([q[c] for q in self.queue]) for c in self.queue[0]}
        due = pending["seconds"] < (world.step + 1) * _HOUR
        self.queue = [{c: v[~due] for c, v in pending.items()}]
        self.market.emit(
            world,
            pending["seconds"][due] - world.step * _HOUR,
            pending["customer"][due],
            pending["merchant"][due],
            pending["amount"][due],
            self.code,
            pending["case"][due],
        )

    def horizon(self, world: World) -> float:
        """Seconds from this step's start to the end of the run."""
        return (self.market.steps - world.step) * _HOUR - 1.0

    def _cases(self, world: World, rng: np.random.Generator, ids: np.ndarray) -> dict:
        raise NotImplementedError

    def _elsewhere(
        self, rng: np.random.Generator, pool: str, customer: np.ndarray, new: bool = False
    ) -> np.ndarray:
        """Merchants of ``pool`` online or in another city (in ``new`` categories for them)."""
        mk, picker = self.market, self.market.pools[pool]
        merchant = picker.draw(rng, n=len(customer))
        for _ in range(30):  # redraw the misfits; a few may stay if nothing fits
            bad = ~mk.online[merchant] & (mk.shop_city[merchant] == mk.city[customer])
            if new:
                bad |= (mk.usual[customer] & mk.bit[merchant]) != 0
            if not bad.any():
                break
            merchant[bad] = picker.draw(rng, n=int(bad.sum()))
        return merchant


def _within(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Running sums of ``values`` restarting at each group of ``counts`` consecutive items."""
    total = np.r_[0.0, np.cumsum(values)]
    starts = np.cumsum(counts) - counts
    return total[1:] - np.repeat(total[starts], counts)


def _log_uniform(rng: np.random.Generator, low: float, high: float, n: int) -> np.ndarray:
    return np.exp(rng.uniform(np.log(low), np.log(high), n))


class _CardTesting(_Fraud):
    name, code = "card_testing", 1

    def _cases(self, world: World, rng: np.random.Generator, ids: np.ndarray) -> dict:
        mk, k = self.market, len(ids)
        tests = np.minimum(3 + rng.poisson(5, k), 20)
        follow = rng.random(k) < 0.6
        card = rng.integers(len(mk.customer_id), size=k)
        shop = mk.pools["tester"].draw(rng, n=k)
        case = np.repeat(np.arange(k), tests)
        elapsed = _within(rng.uniform(5, 90, len(case)), tests)
        last = elapsed[np.cumsum(tests) - 1]
        big = np.flatnonzero(follow)
        big_at = last[big] + rng.uniform(120, 1200, len(big))
        span = last.copy()
        span[big] = big_at
        begin = rng.random(k) * (_HOUR - 1 - span)  # the whole case within this hour
        amount = np.where(
            rng.random(len(case)) < 0.4,
            rng.choice(_TEST_AMOUNTS, len(case)),
            rng.uniform(0.1, 2.99, len(case)),
        )
        big_shop = mk.pools["cashout"].draw(rng, n=len(big))
        big_amount = mk.typical[big_shop] * _log_uniform(rng, 3, 8, len(big))
        return {
            "seconds": np.r_[begin[case] + elapsed, begin[big] + big_at],
            "customer": np.r_[card[case], card[big]],
            "merchant": np.r_[shop[case], big_shop],
            "amount": np.r_[amount, big_amount],
            "case": np.r_[ids[case], ids[big]],
        }


class _AccountTakeover(_Fraud):
    name, code, hours = "account_takeover", 2, _NIGHT

    def _cases(self, world: World, rng: np.random.Generator, ids: np.ndarray) -> dict:
        mk, k = self.market, len(ids)
        n = len(mk.customer_id)
        victim = rng.choice(n, size=k, replace=k > n)
        count = np.minimum(2 + rng.poisson(2, k), 8)
        case = np.repeat(np.arange(k), count)
        customer = victim[case]
        merchant = self._elsewhere(rng, "takeover", customer, new=True)
        gaps = np.clip(rng.exponential(900, len(case)), 60, 2400)
        gaps[np.cumsum(count) - count] = rng.uniform(0, _HOUR - 1, k)
        scale = np.maximum(mk.spend[customer], 1.0) * _log_uniform(rng, 2.5, 8, len(case))
        return {
            "seconds": np.minimum(_within(gaps, count), self.horizon(world)),
            "customer": customer,
            "merchant": merchant,
            "amount": mk.typical[merchant] * scale,
            "case": ids[case],
        }


class _MerchantCompromise(_Fraud):
    name, code = "merchant_compromise", 3
    keys: ClassVar = {"transactions": _KEYS, "breaches": {"merchant_id": "merchants.merchant_id"}}

    def window(self, steps: int) -> tuple[int, int]:
        return min(2 * 24, steps // 3), steps - 1  # after some history, before the last hour

    def _cases(self, world: World, rng: np.random.Generator, ids: np.ndarray) -> dict:
        mk = self.market
        m = len(mk.merchant_id)
        visits = mk.visits  # purchases in the last week up to this hour (rules run first)
        victims, cases, shops = [], [], []
        pairs = list(mk.history or ()) if len(ids) else []  # a breach this hour: its buyers
        buyers = np.concatenate([c for c, _ in pairs]) if pairs else np.zeros(0, np.int64)
        bought_at = np.concatenate([s for _, s in pairs]) if pairs else np.zeros(0, np.int64)
        for case in ids:  # a breach or two per step at most
            need = 3 + rng.poisson(5)
            if not visits.any():
                break
            weight = visits * (visits >= need) if (visits >= need).any() else visits
            shop = rng.choice(m, p=weight / weight.sum())
            pool = np.unique(buyers[bought_at == shop])
            chosen = rng.choice(pool, min(need, len(pool)), replace=False)
            victims.append(chosen.astype(np.int64))
            cases.append(np.full(len(chosen), case))
            shops.append(shop)
        if shops:
            world.emit(
                "breaches",
                merchant_id=mk.merchant_id[np.array(shops)],
                fraud_case=np.array([c[0] for c in cases], np.int64),
                victims=np.array([len(v) for v in victims], np.int64),
            )
        victim = np.concatenate(victims) if victims else np.zeros(0, np.int64)
        count = 1 + rng.binomial(2, 0.3, len(victim))
        event = np.repeat(np.arange(len(victim)), count)
        horizon = self.horizon(world)
        gaps = np.clip(rng.exponential(1800, len(event)), 60, 7200)
        gaps[np.cumsum(count) - count] = rng.uniform(_HOUR, min(72 * _HOUR, horizon), len(victim))
        customer = victim[event]
        merchant = self._elsewhere(rng, "resale", customer)
        return {
            "seconds": np.minimum(_within(gaps, count), horizon),
            "customer": customer,
            "merchant": merchant,
            "amount": mk.typical[merchant] * _log_uniform(rng, 1.5, 5, len(event)),
            "case": np.concatenate(cases)[event] if cases else np.zeros(0, np.int64),
        }


_FRAUD: dict[str, type[_Fraud]] = {
    "card_testing": _CardTesting,
    "account_takeover": _AccountTakeover,
    "merchant_compromise": _MerchantCompromise,
}


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
