"""The peers' side of bench_simulation.py, run in the peer environment (Mesa, ipfn).

Usage (one JSON line on stdout):

    python simulation_peers.py mesa N SEED         # well-mixed SEIR in Mesa
    python simulation_peers.py ipfn PROBLEM.npz FIT.npy REPEAT

The Mesa model is written as Mesa's tutorials write one: a ``Person`` agent
with a ``step`` method, a ``Model`` that activates every agent once a day in
random order (``agents.shuffle_do("step")``) and a ``DataCollector`` for the
S, E, I, R counts. The parameters are those of simulacra's
``simulate_epidemic(persons, r0=...)``: R0 = beta x mean infectious period,
gamma latent and infectious periods (means 3 and 5 days, shape 2), 10 initial
cases exposed on day 0; a susceptible is infected on a day with probability
``1 - exp(-beta I / N)``, I counted at the start of the day.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

S, E, I, R = 0, 1, 2, 3  # noqa: E741 (the epidemic's letters)


def mesa_seir(n: int, seed: int, days: int = 365) -> dict:
    import mesa

    class Person(mesa.Agent):
        def __init__(self, model: SEIR) -> None:
            super().__init__(model)
            self.state = S
            self.days_left = 0
            self.infected_on: int | None = None

        def expose(self) -> None:
            m = self.model
            self.state, self.infected_on = E, m.steps
            self.days_left = m.period(m.latent)
            m.counts[S] -= 1
            m.counts[E] += 1

        def step(self) -> None:
            m = self.model
            if self.state == S:
                if m.random.random() < m.p_infect:
                    self.expose()
            elif self.state == E:
                self.days_left -= 1
                if self.days_left <= 0:
                    self.state, self.days_left = I, m.period(m.infectious)
                    m.counts[E] -= 1
                    m.counts[I] += 1
            elif self.state == I:
                self.days_left -= 1
                if self.days_left <= 0:
                    self.state = R
                    m.counts[I] -= 1
                    m.counts[R] += 1

    class SEIR(mesa.Model):
        def __init__(
            self,
            n: int,
            r0: float = 2.0,
            latent: float = 3.0,
            infectious: float = 5.0,
            shape: float = 2.0,
            initial: int = 10,
            seed: int = 0,
        ) -> None:
            super().__init__(seed=seed)
            self.n, self.beta, self.shape = n, r0 / infectious, shape
            self.latent, self.infectious = latent, infectious
            self.counts = [n, 0, 0, 0]
            self.p_infect = 0.0
            Person.create_agents(self, n)
            for agent in self.random.sample(list(self.agents), initial):
                agent.expose()
            self.datacollector = mesa.DataCollector(
                model_reporters={k: (lambda m, i=i: m.counts[i]) for i, k in enumerate("SEIR")}
            )

        def period(self, mean: float) -> int:
            """Whole days (at least 1) of a gamma period with this mean."""
            return max(1, round(self.random.gammavariate(self.shape, mean / self.shape)))

        def step(self) -> None:
            self.datacollector.collect(self)
            self.p_infect = -math.expm1(-self.beta * self.counts[I] / self.n)
            self.agents.shuffle_do("step")
            if self.counts[E] + self.counts[I] == 0:
                self.running = False

    start = time.perf_counter()
    model = SEIR(n, seed=seed)
    built = time.perf_counter() - start
    while model.running and model.steps < days:
        model.step()
    seconds = time.perf_counter() - start
    infected = sum(a.infected_on is not None for a in model.agents)
    return {
        "n": n,
        "seed": seed,
        "seconds": seconds,
        "setup_seconds": built,
        "days": model.steps,
        "attack_rate": infected / n,
        "peak_rss_mib": peak_rss_mib(),
    }


def ipfn_fit(problem: str, out: str, repeat: int) -> dict:
    """Fit the seed of ``problem`` to its marginals with ipfn; the best of ``repeat`` runs."""
    from ipfn import ipfn

    data = np.load(problem)
    axes = [[int(a) for a in data[f"axes{k}"]] for k in range(int(data["count"]))]
    margins = [data[f"margin{k}"] for k in range(len(axes))]
    best = math.inf
    for _ in range(repeat):
        seed = data["seed"].copy()  # ipfn scales the array it is given in place
        targets = [m.copy() for m in margins]
        fitter = ipfn.ipfn(
            seed,
            targets,
            axes,
            convergence_rate=float(data["rel_tol"]),
            rate_tolerance=0.0,  # stop on convergence_rate alone, as simulacra stops on tol
            max_iteration=int(data["max_iter"]),
            verbose=2,
        )
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # it prints its stopping reason
            fit, converged, history = fitter.iteration()
        best = min(best, time.perf_counter() - start)
    np.save(out, fit)
    return {"seconds": best, "iterations": len(history), "converged": bool(converged)}


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    kind, *args = sys.argv[1:]
    if kind == "mesa":
        print(json.dumps(mesa_seir(int(args[0]), int(args[1]))))
    elif kind == "ipfn":
        print(json.dumps(ipfn_fit(args[0], args[1], int(args[2]))))
    else:
        raise SystemExit(f"unknown peer {kind!r}: give mesa or ipfn")


if __name__ == "__main__":
    main()
