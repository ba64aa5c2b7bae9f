"""The transactions model's market: customers, merchants, merchant choice, purchases.

Shared by :mod:`~simulacra.simulation.transactions` (which builds it and runs
the rules) and :mod:`~simulacra.simulation._fraud` (whose rules reuse its
merchant pickers and purchase history).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

import numpy as np
import pandas as pd

from simulacra.simulation.engine import Rule, World
from simulacra.spec.seeds import stream

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
