"""What the differentially private families share: the budget, private domains, binning.

A DP family spends its whole ``epsilon`` (and ``delta``) in ``fit`` and
records every spend in ``ledger_``; sampling reads only the model, so it
spends nothing. Nothing about the data is read for free: the row count, the
bounds of numbers and dates and the categories of text columns are released
privately unless the metadata given to ``fit`` declares them. Metadata that
``fit`` detects itself is used for column types only; its ranges and
categories come from the data and are thrown away. Gaps are always
modelled, since whether a column has any is itself a fact about the data,
and ids and PII are regenerated without looking at the real values.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from simulacra.errors import InvalidDataError, InvalidParameterError
from simulacra.metadata import Column, Metadata
from simulacra.privacy.budget import PrivacyBudget, check_delta, check_epsilon
from simulacra.processor import EncodedColumn, EncodedTable, Processor
from simulacra.synthesizers.base import Param
from simulacra.transforms import generator_for, transform_for

__all__ = ["BINS", "DELTA", "EPSILON", "DifferentiallyPrivate", "bin_codes", "public_edges"]

EPSILON = Param(
    "epsilon",
    float,
    1.0,
    "Differential-privacy budget of the whole fit (smaller is more private; sampling is free).",
    low=0.0,
    open_low=True,
)
DELTA = Param(
    "delta",
    float,
    None,
    "Chance the epsilon guarantee may fail; below 1/n. Default 1/(m*sqrt(m)), m the released "
    "(noisy) row count plus five times its noise scale, never the exact count (at most what a "
    "shared budget has left). 0 needs every categorical column's categories declared.",
    low=0.0,
    high=1.0,
    nullable=True,
    open_high=True,
)
BINS = Param(
    "bins",
    int,
    10,
    "Equal-width bins per numeric or date column between its public bounds (a whole-number "
    "column with a short range gets one bin per value). Fewer bins, less noise per cell.",
    low=2,
    high=200,
)

ROWS_SHARE = 0.02  # of epsilon: the row count
DOMAIN_SHARE = 0.2  # of epsilon: bounds and categories the metadata does not declare
COUNT_MARGIN = 5.0  # Laplace scales added to the released row count for the default delta
DOMAIN_DELTA_SHARE = 0.5  # of delta: category discovery (the rest is the family's)
MAX_ROWS = 2**31  # the structure scores' sensitivity assumes at most this many rows
# bucket edges for private bounds, not read from the data: 0 and +-{1, 2, 5} x 10^k ...
_STEPS = np.outer([1.0, 2.0, 5.0], 10.0 ** np.arange(-4, 13)).ravel()
NUMBER_EDGES = np.unique(np.concatenate([-_STEPS, [0.0], _STEPS]))
# ... and New Year's days from 1800 to 2200, as seconds since 1970
DATE_EDGES = pd.date_range("1800", "2200", freq="YS").as_unit("s").asi8.astype(np.float64)


class DifferentiallyPrivate:
    """Mixin for a Synthesizer family whose fit is (epsilon, delta)-differentially private.

    Put it first in the bases; the family's ``_fit`` spends what is left in
    ``self.fit_budget`` after the shared releases, and finds each continuous
    column's public range in ``self.bounds_``.
    """

    deterministic_fit: ClassVar[bool] = False  # OpenDP's noise is not seeded, by design
    guards_copies: ClassVar[bool] = False  # training rows' hashes would be an unpaid release
    detects_formulas: ClassVar[bool] = False  # a sum found in the rows would be a free release
    reparametrizes_rules: ClassVar[bool] = False  # a rule's gap would need its own private range

    def _checked_params(self) -> dict[str, Any]:
        params = super()._checked_params()  # type: ignore[misc]
        check_epsilon(params["epsilon"], where=self.name)  # type: ignore[attr-defined]
        if params["delta"] is not None:
            check_delta(params["delta"], where=self.name)  # type: ignore[attr-defined]
        return params

    def fit(
        self,
        data: pd.DataFrame | str | Path,
        metadata: Metadata | str | Path | None = None,
        *,
        budget: PrivacyBudget | None = None,
    ) -> Self:
        """Learn from ``data`` with differential privacy; ``budget`` pays for the fit.

        A ``budget`` (one dataset's total, kept across releases) is checked
        before the data is read and charged the fit's spends once it is done.
        """
        params = self._checked_params()
        what = f"{self.name} fit"  # type: ignore[attr-defined]
        self._delta_cap = 1.0
        if budget is not None:
            budget.check(what, params["epsilon"], params["delta"] or 0.0)
            self._delta_cap = budget.remaining_delta  # the default delta must fit in it
        super().fit(data, metadata)  # type: ignore[misc]
        self.n_training_rows_ = self.noisy_rows_
        if budget is not None:
            budget.spend(
                what,
                self.fit_budget.spent_epsilon,
                self.fit_budget.spent_delta,
                mechanism="sequential composition of the fit's releases",
            )
        return self

    def privacy_ledger(self) -> list[dict[str, Any]]:
        """Every spend of the fit, in order: ``{"what", "epsilon", "delta", "mechanism"}``."""
        self._check_fitted()  # type: ignore[attr-defined]
        return [dict(s) for s in self.ledger_]

    # ----------------------------------------------------------- preprocessing
    def _default_delta(self, rows: int) -> float:
        """A delta read from the released (noisy) row count, never the exact one: the
        ledger shows delta, and 1/(n*sqrt(n)) would give n back."""
        name = self.name  # type: ignore[attr-defined]
        # an upper bound on n from the release (its Laplace scale is public): below it with
        # chance e^-5 / 2, so the default stays below 1/n without reading n
        m = self.noisy_rows_ + COUNT_MARGIN / (ROWS_SHARE * self.epsilon)
        delta = min(1.0 / (m * math.sqrt(m)), getattr(self, "_delta_cap", 1.0))
        if delta > 0 and delta >= 1 / max(rows, 1):
            raise InvalidParameterError(
                f"{name}: the default delta, 1/(m*sqrt(m)) for the released row count's bound "
                f"m = {m:.0f}, is not below 1/n for these {rows} rows (the count's noise is "
                "large next to so few rows); give delta explicitly, well below 1/n, or raise "
                "epsilon"
            )
        return delta

    def _preprocess(
        self, meta: Metadata, frame: pd.DataFrame, rng: np.random.Generator, *, declared: bool
    ) -> tuple[Metadata, Processor]:
        name = self.name  # type: ignore[attr-defined]
        if learned := [c for c in meta.constraints if c.get("type") == "fixed_combinations"]:
            columns = ", ".join(str(c.get("columns")) for c in learned)
            raise InvalidDataError(
                f"{name}: a fixed_combinations constraint ({columns}) keeps the combinations "
                "the training rows hold, which differential privacy cannot read for free; "
                "remove it from the metadata, or use a family without DP"
            )
        rows = len(frame)
        if rows > MAX_ROWS:
            raise InvalidDataError(f"{name}: at most {MAX_ROWS} rows can be fitted, got {rows}")
        given = None if self.delta is None else check_delta(self.delta, rows, where=name)
        self.fit_budget = PrivacyBudget(self.epsilon, 0.0)  # its delta follows the count
        from simulacra.privacy import mechanisms

        noisy = mechanisms.laplace_counts(
            np.array([rows]), 1, ROWS_SHARE * self.epsilon, self.fit_budget, "the row count"
        )
        self.noisy_rows_ = max(int(noisy[0]), 1)
        self.fit_budget.delta = self._default_delta(rows) if given is None else given
        public, released = _public_metadata(meta, frame, self.fit_budget, declared, name)
        self.ledger_ = self.fit_budget.spends  # the same list: later spends show up in it
        processor = _private_processor(public, frame, released)
        self.metadata_ = public  # the families bin by it in _fit
        self.bounds_ = _encoded_bounds(public)
        return public, processor


def _public_metadata(
    meta: Metadata, frame: pd.DataFrame, budget: PrivacyBudget, declared: bool, family: str
) -> tuple[Metadata, set[str]]:
    """``meta`` with every range and category list declared or released privately.

    Also returns the columns whose categories were released (not declared).
    """
    from simulacra.privacy import mechanisms

    def known(col: Column, attr: str) -> bool:
        return declared and getattr(col, attr) is not None

    todo: list[tuple[str, str]] = []  # (column, "bounds" | "categories")
    for name, col in meta.columns.items():
        if not col.modelled:
            continue
        if col.type in ("numerical", "datetime") and not (known(col, "min") and known(col, "max")):
            todo.append((name, "bounds"))
        if col.type == "categorical" and not known(col, "categories"):
            todo.append((name, "categories"))
        elif col.type == "categorical" and not col.categories:
            raise InvalidDataError(
                f"{family}: column {name!r} declares no categories (detection writes [] when "
                "every value is held by fewer than 5 rows), and a DP family draws only "
                'declared ones; declare them, or give the column type "text" so that its '
                "values are made up, not learned"
            )
    cats = [n for n, what in todo if what == "categories"]
    if cats and budget.delta == 0:
        raise InvalidParameterError(
            f"{family}: with delta 0 the categories of {cats} cannot be learned privately; "
            'declare them in the metadata ("categories": [...]) or give a delta above 0'
        )
    eps = DOMAIN_SHARE * budget.epsilon / max(len(todo), 1)
    delta = DOMAIN_DELTA_SHARE * budget.delta / max(len(cats), 1)
    columns = dict(meta.columns)
    for name, what in todo:
        col, values = columns[name], frame[name].dropna()
        if what == "categories":
            counts = values.astype(str).value_counts()
            keys = mechanisms.released_categories(
                counts.to_dict(), eps, delta, budget, f"the categories of {name!r}"
            )
            if not keys:
                raise InvalidDataError(
                    f"{family}: no category of column {name!r} stands out of the noise at "
                    f"epsilon {eps:.3g} on {len(frame)} rows; declare its categories in the "
                    "metadata, or raise epsilon"
                )
            originals = dict(zip(values.astype(str), values, strict=True))
            columns[name] = dataclasses.replace(
                col, categories=_sorted([originals[k] for k in keys])
            )
            continue
        is_date = col.type == "datetime"
        if is_date:
            encoded = transform_for(col).fit(values).encode(values) if len(values) else []
        else:
            encoded = pd.to_numeric(values).to_numpy(np.float64)
        low, high = (getattr(col, b) if known(col, b) else None for b in ("min", "max"))
        found = mechanisms.bounds(
            encoded, DATE_EDGES if is_date else NUMBER_EDGES, eps, budget, f"the range of {name!r}"
        )
        if found is None:
            raise InvalidDataError(
                f"{family}: the range of column {name!r} cannot be learned privately with "
                f"epsilon {eps:.3g} on {len(frame)} rows (no value bucket stands out of the "
                f"noise); declare its min and max in the metadata, or raise epsilon"
            )
        lo, hi = found
        if is_date:
            lo, hi = (pd.Timestamp(int(v), unit="s").isoformat() for v in (lo, hi))
        elif col.integer:
            lo, hi = math.floor(lo), math.ceil(hi)
        low = lo if low is None else low
        high = hi if high is None else high
        if _before(high, low):  # one end declared, the other released beyond it
            low, high = (low, low) if known(col, "min") else (high, high)
        columns[name] = dataclasses.replace(col, min=low, max=high)
    return dataclasses.replace(meta, columns=columns), set(cats)


def _before(a: Any, b: Any) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return pd.Timestamp(a) < pd.Timestamp(b)
    return a < b


def _sorted(values: list[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _private_processor(meta: Metadata, frame: pd.DataFrame, released: set[str]) -> Processor:
    """A processor whose transforms know only ``meta`` (public) and never the rows."""
    proc = Processor(meta)
    for name, col in meta.columns.items():
        if not col.modelled:
            proc.generators_[name] = generator_for(col)  # defaults, not fitted to real values
            proc.nullable_[name], proc.null_share_[name] = False, 0.0
            continue
        transform = transform_for(col)
        if col.type == "categorical":
            transform.fit(pd.Series(col.categories, dtype=object))
            transform.has_other_ = name in released  # values outside a released list
        elif col.type == "datetime":
            transform.fit(frame[name].dropna().head(1))  # the time zone: part of the schema
        proc.transforms_[name] = transform
        proc.nullable_[name] = True
    return proc


def _encoded_bounds(meta: Metadata) -> dict[str, tuple[float, float]]:
    """Each number's or date's public range, in encoded units (dates: seconds since 1970)."""
    out = {}
    for name, col in meta.columns.items():
        if col.modelled and col.type == "numerical":
            out[name] = (float(col.min), float(col.max))
        elif col.modelled and col.type == "datetime":
            low, high = _seconds(pd.Series([col.min, col.max]))
            out[name] = (float(low), float(high))
    return out


def _seconds(values: pd.Series) -> np.ndarray:
    """Datetimes (or their text) as seconds since 1970, UTC."""
    stamps = pd.to_datetime(values, format="mixed", utc=True)
    return stamps.dt.tz_localize(None).astype("datetime64[ns]").astype("int64").to_numpy() / 1e9


def public_edges(low: float, high: float, bins: int, integer: bool) -> np.ndarray:
    """Bin edges over a public range: ``bins`` equal widths, or one bin per whole number
    when a whole-number column's range holds no more values than that."""
    if integer and high - low + 1 <= bins:
        return np.arange(math.floor(low) - 0.5, math.ceil(high) + 1.0, 1.0)
    return np.linspace(low, high if high > low else low + 1.0, bins + 1)


def bin_codes(
    values: np.ndarray, column: EncodedColumn, bounds: tuple[float, float] | None, bins: int,
    integer: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:  # fmt: skip
    """Codes for one encoded column, and for a continuous one its bin edges.

    Continuous values are clipped to ``bounds`` and cut into ``bins`` equal
    widths (a whole-number column with a short range gets one bin per
    number). Codes beyond a discrete column's cardinality (a value outside
    declared categories) come back as ``cardinality``, the "missing" code.
    """
    if column.kind == "discrete":
        card = int(column.cardinality or 1)
        codes = np.asarray(values, dtype=np.int64)
        return np.where((codes < 0) | (codes >= card), card, codes), None
    low, high = bounds if bounds is not None else (0.0, 1.0)
    edges = public_edges(low, high, bins, integer)
    x = np.clip(np.asarray(values, dtype=np.float64), edges[0], edges[-1])
    codes = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    return codes.astype(np.int64), edges


def node_codes(
    encoded: EncodedTable, nodes: list[str], bounds: dict[str, tuple[float, float]], bins: int,
    metadata: Metadata,
) -> tuple[np.ndarray, list[int], dict[str, np.ndarray]]:  # fmt: skip
    """Codes ``(nodes, rows)``: each column's bins or categories, then "missing" as the last code.

    Returns the codes, the codes per node and each continuous node's bin edges.
    """
    kinds = {c.name: c for c in encoded.columns}
    codes = np.empty((len(nodes), len(encoded.data)), dtype=np.int64)
    cards, edges = [], {}
    for j, name in enumerate(nodes):
        col = kinds[name]
        integer = bool(getattr(metadata.columns.get(col.source), "integer", False))
        code, cut = bin_codes(encoded.data[name].to_numpy(), col, bounds.get(name), bins, integer)
        card = int(col.cardinality or 1) if cut is None else len(cut) - 1
        if cut is not None:
            edges[name] = cut
        missing = encoded.filled(name)
        if missing is not None:
            code = np.where(missing, card, code)
        codes[j] = code
        cards.append(card + 1)
    return codes, cards, edges
