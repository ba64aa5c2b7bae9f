"""The sampling loop behind ``Synthesizer.sample``: conditions, constraints, rejection.

A block of rows is drawn from the family (exactly conditioned when the family
can), decoded, repaired where a constraint allows it, and checked; rows that
miss their conditions or break a constraint are drawn again, up to a bound,
after which the error names the condition or rule that could not be met.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulacra.conditions import (
    Conditions,
    Evidence,
    check_not_twice,
    met,
    parse_conditions,
    rebalance_conditions,
)
from simulacra.errors import InvalidParameterError
from simulacra.processor import NULL_SUFFIX
from simulacra.synthesizers._copies import kept

if TYPE_CHECKING:
    from simulacra.synthesizers.base import Synthesizer

MAX_DRAWS_PER_ROW = 100  # rejection gives up after this many drawn rows per row asked for
MIN_CANDIDATES = 1_000
MAX_CANDIDATES = 262_144  # rows drawn at once when filling the rows still pending
SHARE_ROWS = 20_000  # rows drawn to read the model's category shares for rebalancing


@dataclass
class Plan:
    """One sampling run: its rows, conditions, constraints and running counts."""

    n: int
    conditions: Conditions | None
    constraints: Any | None  # a ConstraintSet with at least one rule, or None
    exact: bool  # the family may condition exactly on these columns
    state: dict | None = None  # uniqueness across batches
    guard: dict | None = None  # the model's copy guard, when it has one
    drawn: int = 0
    method: str = "direct"
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def plain(self) -> bool:
        return self.conditions is None and self.constraints is None and self.guard is None


def make_plan(
    model: Synthesizer,
    n: int | None,
    seed: int,
    conditions: dict | pd.DataFrame | None,
    rebalance: dict | None,
) -> Plan:
    """Check the request against the fitted model; clear errors before any row is drawn."""
    parsed = None
    if isinstance(conditions, dict) and not conditions:
        conditions = None  # no conditions: a plain sample, and said so in last_sample_info
    if conditions is not None:
        parsed, n = parse_conditions(conditions, model.metadata_, model.processor_, n)
    if n is None:
        raise InvalidParameterError("say how many rows to sample: sample(n)")
    if rebalance is not None:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3,)))
        columns = list(rebalance) if isinstance(rebalance, dict) else []
        if isinstance(conditions, pd.DataFrame):
            raise InvalidParameterError(
                "rebalance cannot be combined with a conditions table, whose rows each set "
                f"their own conditions; put {', '.join(map(repr, columns)) or 'the column'} "
                "in the table with the values you want per row, or give the conditions as a "
                "dict (the same for every row)"
            )
        check_not_twice(conditions or {}, columns)  # before the shares are read under them
        shares = category_shares(model, columns, conditions)
        table = rebalance_conditions(rebalance, model.metadata_, shares, n, rng)
        extra, _ = parse_conditions(table, model.metadata_, model.processor_, n)
        parsed = extra if parsed is None else parsed.combine(extra)
    constraints = getattr(model, "constraints_", None) or None
    if constraints is not None:
        _check_unique_room(model, n)
    exact = whole = False
    if parsed is not None:
        regrouped = _regrouped(model, parsed.evidence)
        if constraints is not None:
            _check_against_rules(model, parsed, conditions, regrouped)
        native = _native(model, regrouped)
        exact = _family_conditions(model, native)
        whole = len(native.columns) == len(regrouped.columns)
    plan = Plan(n, parsed, constraints, exact, guard=getattr(model, "copy_guard_", None))
    if constraints is not None:
        plan.state = constraints.new_run_state()
    if parsed is not None:
        plan.method = ("exact" if whole else "partly exact") if exact else "rejection"
    return plan


def _check_against_rules(
    model: Synthesizer,
    parsed: Conditions,
    conditions: dict | pd.DataFrame | None,
    regrouped: Evidence,
) -> None:
    """Conditions no row can meet under the rules are an error before any row is drawn:
    values a rule checks on its own (``end`` before ``start``, both given), and codes
    left for a group learned as one (a city and another country, two one-hot columns)."""
    from simulacra._rules import Unique

    rules = model.constraints_.constraints
    given = _pinned(conditions)
    for rule in rules:
        if isinstance(rule, Unique) or not set(rule.columns) <= set(given.columns):
            continue
        rows = given[list(rule.columns)].notna().all(axis=1).to_numpy()
        broken = rows.copy()
        if rows.any():
            try:
                broken[rows] = ~rule.holds(given[rows].reset_index(drop=True))
            except (ValueError, TypeError):  # cells the rule cannot read: left to sampling
                continue
        if broken.any():
            row = int(np.flatnonzero(broken)[0])
            raise InvalidParameterError(
                f"conditions {parsed.describe(row)} break the rule {rule.name!r}, which every "
                "sampled row keeps; change the conditions"
            )
    evidence = parsed.evidence
    for name, codes in regrouped.allowed.items():
        if name in evidence.allowed or codes.all(axis=1).all():
            continue
        empty = np.flatnonzero(~codes.any(axis=1))
        if len(empty):
            asked = {c.removesuffix(NULL_SUFFIX) for c in evidence.allowed}
            groups = _group_rules()
            near = [r for r in rules if asked & set(r.columns) and type(r) in groups]
            why = "; ".join(f"{r.name!r}: {groups[type(r)]}" for r in near)
            raise InvalidParameterError(
                f"conditions {parsed.describe(int(empty[0]))} cannot hold together under "
                f"the rule(s) on those columns ({why}); change the conditions"
            )


def _check_unique_room(model: Synthesizer, n: int) -> None:
    """A ``unique`` rule over columns with few values cannot give more rows than their
    combinations; say so before drawing (rows with a gap in such a column are free)."""
    from simulacra._rules import Unique

    for rule in model.constraints_.constraints:
        if not isinstance(rule, Unique):
            continue
        sizes = {name: _values_possible(model, name) for name in rule.columns}
        if any(size is None for size in sizes.values()):
            continue
        room = int(np.prod([float(size) for size in sizes.values()]))
        if room < n:
            each = ", ".join(
                f"{name}: {size:,} value{'s' * (size != 1)}" for name, size in sizes.items()
            )
            raise InvalidParameterError(
                f"the rule {rule.name!r} allows at most {room:,} different rows ({each}), "
                f"but {n:,} were asked for; sample at most {room:,} rows, or remove the rule "
                "from the metadata"
            )


def _values_possible(model: Synthesizer, name: str) -> int | None:
    """How many different values the model can give column ``name``: its categories (with
    ``(other)`` where rare ones were pooled), two for a flag, the steps of a bounded
    number; None when unbounded (an open tail, a gap, a free number)."""
    transform = model.processor_.transforms_.get(name)
    if transform is None or model.processor_.nullable_.get(name):
        return None
    if getattr(transform, "tail_", None):
        return None
    if transform.cardinality is not None:  # categories (and (other)), or a flag's two
        return transform.cardinality
    column = model.metadata_.columns[name]
    decimals = 0 if column.integer else column.decimals
    if column.type == "numerical" and None not in (column.min, column.max, decimals):
        if decimals <= 6:
            return round((float(column.max) - float(column.min)) * 10**decimals) + 1
    return None


def _group_rules() -> dict[type, str]:
    from simulacra._rules import FixedCombinations, OneHot

    return {
        FixedCombinations: "only combinations seen in training",
        OneHot: "exactly one column true",
    }


def _pinned(conditions: dict | pd.DataFrame | None) -> pd.DataFrame:
    """The single values conditions give, as rows of user-facing cells (empty: free)."""
    if isinstance(conditions, pd.DataFrame):
        return conditions.reset_index(drop=True)
    if not isinstance(conditions, dict):
        return pd.DataFrame(index=range(1))
    single = {
        k: [v]
        for k, v in conditions.items()
        if v is not None and not isinstance(v, tuple | list | set | frozenset | dict)
    }
    return pd.DataFrame(single, index=range(1))


def category_shares(
    model: Synthesizer, columns: list[str], conditions: dict | None = None
) -> dict[str, dict[Any, float]]:
    """Each category's share under the model (every known category, zero if never drawn),
    and a column that can be missing has the missing share under ``None``. Given
    ``conditions``, the shares among rows that meet them (the cities of one country)."""
    if conditions:
        try:
            decoded = model.sample(SHARE_ROWS, seed=0, conditions=conditions)
        except InvalidParameterError:
            raise InvalidParameterError(
                f"rebalance under conditions {conditions}: the categories' shares are read "
                f"among {SHARE_ROWS:,} rows that meet the conditions, and they are too rare "
                f"for {model.name} to draw that many; loosen the conditions, rebalance without "
                "them, or use a family that conditions exactly (copula, bayesnet, cart)"
            ) from None
    else:
        rng = np.random.default_rng(np.random.SeedSequence(0, spawn_key=(4,)))
        decoded = to_source(model, model._sample(SHARE_ROWS, rng), learned_only=True)
    out = {}
    for name in columns:
        transform = model.processor_.transforms_.get(name)
        if transform is None or transform.kind != "discrete":
            continue
        counts = decoded[name].value_counts(normalize=True, dropna=False)
        missing = float(decoded[name].isna().mean())
        if hasattr(transform, "categories_"):
            labels = list(transform.categories_)
        else:
            col = transform.column
            labels = [True, False] if col.true_label is None else [col.true_label, col.false_label]
        out[name] = {label: float(counts.get(label, 0.0)) for label in labels}
        if model.processor_.nullable_.get(name):
            out[name][None] = missing
    return out


def _conditions_natively(model: Synthesizer) -> bool:
    """Whether the family has conditional sampling of its own."""
    from simulacra.synthesizers.base import Synthesizer

    return type(model)._sample_conditional is not Synthesizer._sample_conditional


def _learned(model: Synthesizer, evidence: Evidence) -> Evidence:
    """The conditions on the columns the family learns as they are (a city's as its
    combination's); conditions on columns a rule rebuilds (a formula's total) are left
    to the check after drawing."""
    return _native(model, _regrouped(model, evidence))


def _regrouped(model: Synthesizer, evidence: Evidence) -> Evidence:
    """Conditions on a group the rules learn as one code, as conditions on that code."""
    constraints = getattr(model, "constraints_", None)
    return constraints.evidence(evidence) if constraints else evidence


def _native(model: Synthesizer, evidence: Evidence) -> Evidence:
    """The conditions on columns the family learns unchanged (not rebuilt by a rule)."""
    learned = {c.name for c in model.columns_}
    changed = set(getattr(model, "reparametrized_", []))
    native = {c for c in evidence.columns if c in learned and c not in changed}
    if len(native) == len(evidence.columns):
        return evidence
    allowed = {k: v for k, v in evidence.allowed.items() if k in native}
    bounds = {k: v for k, v in evidence.bounds.items() if k in native}
    return Evidence(evidence.n, allowed, bounds)


def _family_conditions(model: Synthesizer, evidence: Evidence) -> bool:
    """Whether the family draws rows meeting at least part of the conditions itself."""
    return _conditions_natively(model) and bool(evidence.columns)


def to_source(
    model: Synthesizer,
    encoded: pd.DataFrame,
    *,
    learned_only: bool = False,
    start: int = 0,
    rng: np.random.Generator | None = None,
    key: int = 0,
    total: int = 0,
) -> pd.DataFrame:
    """Model rows back to the source's columns, constraints filled in and repaired."""
    constraints = getattr(model, "constraints_", None) or None
    if constraints is not None:
        encoded = constraints.decode(encoded)
    decoded = model.processor_.decode(
        encoded,
        start=start,
        rng=rng if rng is not None else np.random.default_rng(0),
        key=key,
        total=total or len(encoded),
        learned_only=learned_only,
    )
    return constraints.repair(decoded) if constraints is not None else decoded


def draw_block(model: Synthesizer, plan: Plan, start: int, rows: int, rng: np.random.Generator):
    """Encoded model rows ``start .. start + rows`` of the run, every one acceptable."""
    if plan.plain:
        plan.drawn += rows
        return model._sample(rows, rng)
    evidence = (
        plan.conditions.evidence.take(slice(start, start + rows)) if plan.conditions else None
    )
    out = _candidates(model, plan, rows, rng, evidence)
    ok, decoded = _acceptable(model, plan, out, evidence, rng)
    _remember(plan, decoded[ok])
    pending = np.flatnonzero(~ok)
    rate = ok.mean() if rows else 1.0
    while len(pending):
        if plan.drawn > MAX_DRAWS_PER_ROW * plan.n + MIN_CANDIDATES:
            raise _too_rare(model, plan, out, start, pending)
        if plan.exact:
            pending, rate = _redraw(model, plan, out, pending, rng, evidence, rate)
            continue
        pending = _reject(model, plan, out, pending, rng, evidence)
    return out


def _redraw(model, plan: Plan, out: pd.DataFrame, pending: np.ndarray, rng, evidence, rate):
    """Draw each pending row's conditions again, several candidates apiece when few
    meet them (a family may meet some conditions natively and leave ranges to this
    check), and keep each row's first good candidate; the rows still pending and the
    rate seen."""
    copies = int(np.clip(np.ceil(1.5 / max(rate, 1e-3)), 1, max(1, MAX_CANDIDATES // len(pending))))
    rows = np.repeat(pending, copies)
    sub = evidence.take(rows)
    fresh = _candidates(model, plan, len(rows), rng, sub)
    good, decoded = _acceptable(model, plan, fresh, sub, rng)
    per_row = good.reshape(len(pending), copies)
    found = per_row.any(axis=1)
    pick = np.flatnonzero(found) * copies + per_row[found].argmax(axis=1)
    out.iloc[pending[found]] = fresh.iloc[pick].to_numpy()
    _remember(plan, decoded.iloc[pick])
    return pending[~found], float(good.mean())


def _candidates(model, plan: Plan, rows: int, rng, evidence: Evidence | None) -> pd.DataFrame:
    plan.drawn += rows
    if plan.exact and evidence is not None:
        drawn = model._sample_conditional(rows, rng, _learned(model, evidence))
        if drawn is not None:
            return drawn
        plan.exact, plan.method = False, "rejection"
    return model._sample(rows, rng)


def _acceptable(
    model, plan: Plan, encoded: pd.DataFrame, evidence: Evidence | None, rng
) -> tuple[np.ndarray, pd.DataFrame]:
    """Which rows meet their conditions, every constraint and the copy guard, and the
    decoded rows."""
    decoded = to_source(model, encoded, learned_only=True)
    ok = _guarded(plan, decoded, rng)
    if evidence is not None:
        ok &= met(evidence, decoded, model.processor_)
    if plan.constraints is not None:
        ok &= plan.constraints.holds(decoded, plan.state)
    return ok, decoded


def _guarded(plan: Plan, decoded: pd.DataFrame, rng) -> np.ndarray:
    """Rows the copy guard lets through (all of them without a guard)."""
    if plan.guard is None:
        return np.ones(len(decoded), dtype=bool)
    return kept(plan.guard, decoded, rng)


def _remember(plan: Plan, decoded: pd.DataFrame) -> None:
    if plan.constraints is not None and len(decoded):
        plan.constraints.remember(decoded, plan.state)


def _reject(model, plan: Plan, out: pd.DataFrame, pending: np.ndarray, rng, evidence) -> np.ndarray:
    """Fill pending rows from unconditional draws that meet each row's conditions."""
    rate = len(out) / max(plan.drawn, 1)
    size = int(np.clip(len(pending) / max(rate, 0.01) * 1.2, MIN_CANDIDATES, MAX_CANDIDATES))
    plan.drawn += size
    fresh = model._sample(size, rng)
    decoded = to_source(model, fresh, learned_only=True)
    holds = _guarded(plan, decoded, rng)
    if plan.constraints is not None:
        holds &= plan.constraints.holds(decoded, plan.state)
    groups = evidence.take(pending).patterns() if evidence is not None else np.zeros(len(pending))
    free = holds.copy()
    still = []
    for group in np.unique(groups):
        rows = pending[groups == group]
        ok = free.copy()
        if evidence is not None:
            ok &= met(evidence.take(rows[:1]).broadcast(size), decoded, model.processor_)
        chosen = np.flatnonzero(ok)[: len(rows)]
        out.iloc[rows[: len(chosen)]] = fresh.iloc[chosen].to_numpy()
        free[chosen] = False
        _remember(plan, decoded.iloc[chosen])
        still.append(rows[len(chosen) :])
    return np.concatenate(still) if still else pending[:0]


def _too_rare(model, plan: Plan, out: pd.DataFrame, start: int, pending: np.ndarray):
    parts = []
    if plan.conditions is not None:
        parts.append(f"conditions {plan.conditions.describe(start + int(pending[0]))}")
    if plan.constraints is not None:
        parts += _rules_in_the_way(model, plan, out, start, pending)
    what = " ".join(parts) or "the request"
    asked = set(plan.conditions.evidence.columns) if plan.conditions is not None else set()
    rebuilt = sorted(asked & set(getattr(model, "reparametrized_", [])))
    if plan.conditions is None:
        hint = "check that the rules can hold together and that the training data meets them"
    elif rebuilt:
        hint = (
            f"a rule rebuilds {', '.join(map(repr, rebuilt))} from other columns (a formula, "
            "or the gap of an inequality), so conditions on them are met by drawing again; "
            'loosen them, or give an inequality "redraw": true in the metadata (the model '
            "then keeps the later column as it is and draws rows out of order again)"
        )
    elif model.name == "cart" and plan.method == "rejection":
        hint = "loosen the conditions, or put the conditioned columns first in visit_order"
    elif _conditions_natively(model):
        hint = "loosen the conditions"
    else:
        hint = (
            "loosen the conditions, or use a family that conditions exactly (copula, bayesnet, "
            "or cart with the conditioned columns first in visit_order)"
        )
    if plan.guard is not None and plan.conditions is not None:
        hint += (
            " (the copy guard also draws again rows that repeat a one-of-a-kind training "
            "row; fit with guard_copies=False if the conditions ask for such rows)"
        )
    return InvalidParameterError(
        f"{model.name}: {what} could not be met: {plan.drawn:,} rows drawn for {plan.n:,} asked "
        f"({len(pending):,} of them still unmet); too rare to sample this way; {hint}"
    )


def _rules_in_the_way(model, plan: Plan, out: pd.DataFrame, start: int, pending: np.ndarray):
    """The rules the unmet rows break where they meet their conditions, or else the rules
    on the conditioned columns (which may forbid the conditions outright)."""
    decoded = to_source(model, out.iloc[pending], learned_only=True)
    rows = np.ones(len(decoded), dtype=bool)
    if plan.conditions is not None:
        rows = met(plan.conditions.evidence.take(start + pending), decoded, model.processor_)
    failing = plan.constraints.failures(decoded[rows], plan.state) if rows.any() else {}
    broken = [name for name, count in failing.items() if count]
    if broken:
        return [f"{'with ' if plan.conditions else ''}constraint(s) {', '.join(broken)}"]
    if plan.conditions is None:
        return []
    asked = {c.removesuffix(NULL_SUFFIX) for c in plan.conditions.evidence.columns}
    near = [r.name for r in plan.constraints.constraints if asked & set(r.columns)]
    return [f"(under the rule(s) on those columns: {', '.join(near)})"] if near else []
