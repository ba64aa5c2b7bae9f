"""A differential-privacy budget and the ledger of every spend against it.

Spends add up (sequential composition): a budget of epsilon 1 may pay for
epsilon 0.3 on a histogram and 0.7 on correlations, and nothing more. A spend
that would go past the budget raises :class:`~simulacra.errors.BudgetError`
before any noise is drawn. A budget saved as JSON follows one dataset across
releases, so a second fit on the same data cannot silently spend it again.

>>> budget = PrivacyBudget(1.0)
>>> budget.spend("age histogram", 0.3, mechanism="laplace")
>>> round(budget.remaining_epsilon, 2)
0.7
>>> budget.describe()
['epsilon 0.3 spent on age histogram (laplace)']
>>> budget.spend("everything else", 0.8)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
simulacra.errors.BudgetError: ... needs epsilon 0.8 but only 0.7 of 1 is left; ...
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from simulacra.errors import BudgetError, InputError, InvalidParameterError

__all__ = ["PrivacyBudget", "check_delta", "check_epsilon", "describe"]

_SLACK = 1e-9  # relative float slack when spends are compared with the total


def check_epsilon(epsilon: Any, where: str = "privacy budget") -> float:
    """``epsilon`` as a float; an error unless it is a finite number above 0."""
    ok = isinstance(epsilon, int | float) and not isinstance(epsilon, bool)
    if not ok or not (0 < epsilon < math.inf):
        raise InvalidParameterError(
            f"{where}: epsilon must be a finite number above 0, got {epsilon!r} "
            "(smaller is more private; 1 is a common choice)"
        )
    return float(epsilon)


def check_delta(delta: Any, rows: int | None = None, where: str = "privacy budget") -> float:
    """``delta`` as a float in [0, 1); below ``1 / rows`` when the row count is known."""
    ok = isinstance(delta, int | float) and not isinstance(delta, bool)
    if not ok or not (0 <= delta < 1):
        raise InvalidParameterError(f"{where}: delta must be a number in [0, 1), got {delta!r}")
    if rows is not None and delta > 0 and delta >= 1 / max(rows, 1):
        raise InvalidParameterError(
            f"{where}: delta {delta:g} is not below 1/n = 1/{rows} for a table of {rows} rows; "
            "a delta that large allows releasing a whole row. Use a delta well below 1/n "
            f"(for example {1 / (rows * math.sqrt(rows)):.3g}) or leave it out for the default"
        )
    return float(delta)


def describe(spends: list[dict[str, Any]]) -> list[str]:
    """Spends (``{"what", "epsilon", "delta", "mechanism"}``) in plain words."""
    out = []
    for s in spends:
        text = f"epsilon {s['epsilon']:.3g}"
        if s.get("delta"):
            text += f" and delta {s['delta']:.3g}"
        text += f" spent on {s['what']}"
        out.append(text + (f" ({s['mechanism']})" if s.get("mechanism") else ""))
    return out


class PrivacyBudget:
    """A total ``(epsilon, delta)`` and the spends recorded against it, in order."""

    def __init__(self, epsilon: float, delta: float = 0.0) -> None:
        self.epsilon = check_epsilon(epsilon)
        self.delta = check_delta(delta)
        self.spends: list[dict[str, Any]] = []

    @property
    def spent_epsilon(self) -> float:
        return math.fsum(s["epsilon"] for s in self.spends)

    @property
    def spent_delta(self) -> float:
        return math.fsum(s["delta"] for s in self.spends)

    @property
    def remaining_epsilon(self) -> float:
        return max(self.epsilon - self.spent_epsilon, 0.0)

    @property
    def remaining_delta(self) -> float:
        return max(self.delta - self.spent_delta, 0.0)

    def check(self, what: str, epsilon: float, delta: float = 0.0) -> None:
        """Raise BudgetError if ``(epsilon, delta)`` for ``what`` does not fit in what is left."""
        if epsilon > self.remaining_epsilon + _SLACK * self.epsilon:
            left = "nothing" if self.remaining_epsilon <= 0 else f"only {self.remaining_epsilon:g}"
            raise BudgetError(
                f"privacy budget: {what!r} needs epsilon {epsilon:g} but {left} of "
                f"{self.epsilon:g} is left; raise the budget or spend less"
            )
        if delta > self.remaining_delta + _SLACK * max(self.delta, 1e-300):
            raise BudgetError(
                f"privacy budget: {what!r} needs delta {delta:g} but only "
                f"{self.remaining_delta:g} of {self.delta:g} is left; raise the budget's delta "
                "or declare the columns' categories and bounds in the metadata"
            )

    def spend(self, what: str, epsilon: float, delta: float = 0.0, mechanism: str = "") -> None:
        """Record a spend; BudgetError (and nothing recorded) if it goes past the budget."""
        self.check(what, epsilon, delta)
        self.spends.append(
            {"what": what, "epsilon": float(epsilon), "delta": float(delta), "mechanism": mechanism}
        )

    def describe(self) -> list[str]:
        """Each spend in plain words."""
        return describe(self.spends)

    def to_dict(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, "delta": self.delta, "spends": list(self.spends)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "privacy budget") -> PrivacyBudget:
        try:
            budget = cls(data["epsilon"], data.get("delta", 0.0))
            for s in data.get("spends", []):
                budget.spends.append(
                    {
                        "what": str(s["what"]),
                        "epsilon": check_epsilon(s["epsilon"], where),
                        "delta": check_delta(s.get("delta", 0.0), where=where),
                        "mechanism": str(s.get("mechanism", "")),
                    }
                )
        except (KeyError, TypeError, AttributeError) as exc:
            raise InputError(
                f"{where}: expected {{'epsilon': ..., 'delta': ..., 'spends': [{{'what': ..., "
                f"'epsilon': ...}}]}}; {exc!r} is missing or malformed"
            ) from None
        return budget

    def save(self, path: str | Path) -> None:
        """Write the budget and its ledger as JSON (atomically)."""
        from simulacra.metadata import write_json

        write_json(self.to_dict(), path)

    @classmethod
    def load(cls, path: str | Path) -> PrivacyBudget:
        from simulacra.metadata import read_json

        if not Path(path).is_file():
            raise InputError(
                f"{path}: privacy budget file not found; create it first, e.g. "
                "`simulacra budget new budget.json --epsilon 3`"
            )
        data, where = read_json(Path(path))
        if not isinstance(data, dict):
            raise InputError(f"{where or path}: a privacy budget must be a JSON object")
        return cls.from_dict(data, where=str(where or path))

    def __repr__(self) -> str:
        return (
            f"PrivacyBudget(epsilon={self.epsilon:g}, delta={self.delta:g}, "
            f"spent=({self.spent_epsilon:g}, {self.spent_delta:g}))"
        )
