"""The transactions model's fraud rules: card testing, account takeover, merchant compromise.

Each pattern is a :class:`~simulacra.simulation.engine.Rule` that plans its
cases at the start of the run and logs each case's events into the market's
``transactions`` log as they fall due.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from simulacra.simulation._market import _HOUR, _KEYS, _Market
from simulacra.simulation.engine import Rule, World
from simulacra.spec.seeds import stream

# mean transactions per case: 3 + 5 tests + 0.6 cash-outs; 2 + 2; 8 victims x 1.6
_MEAN_EVENTS = {"card_testing": 8.6, "account_takeover": 4.0, "merchant_compromise": 12.8}
_TEST_AMOUNTS = np.array([0.5, 1.0, 1.0, 1.5, 2.0])
_NIGHT = np.zeros(24)
_NIGHT[[23, 0, 1, 2, 3, 4]] = (0.5, 1.0, 1.0, 1.0, 1.0, 0.7)


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
