"""Validity: is every synthetic value well formed by the metadata's rules?

Per column, the share of (non-missing) synthetic values that are valid:

- type: numbers parse as numbers (whole numbers for integer columns), dates
  parse in the column's format, booleans are one of the two labels;
- bounds: numbers and dates within the declared min and max (the real range
  when none are declared);
- categories: labels the real data has, or the pooled rare label;
- keys: id columns (the primary key among them) hold no repeated value;
- constraints: per rule declared in the metadata, the share of synthetic rows
  that keep it (``unique`` over the whole synthetic table; the combinations a
  ``fixed_combinations`` rule allows are those of the real table).

The section score is the lowest of these shares: one broken column or rule is
enough to make a copy unusable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulacra.constraints import Constraint, constraint_set
from simulacra.evaluate.fidelity import as_labels, as_number
from simulacra.evaluate.report import Metric
from simulacra.metadata import Column, Metadata
from simulacra.transforms.categorical import RARE_LABEL

__all__ = ["validity_metrics"]


def validity_metrics(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    metadata: Metadata,
    *,
    whole: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> tuple[list[Metric], float]:
    """Every validity metric and the section score.

    ``whole`` holds the real and synthetic tables before any sampling of rows:
    constraints are measured on all of them when given.
    """
    metrics: list[Metric] = []
    for name, col in metadata.columns.items():
        values = synthetic[name][synthetic[name].notna()]
        if col.type in ("numerical", "datetime"):
            metrics += _numeric(name, col, real[name], values)
        elif col.type == "categorical":
            declared = as_labels(pd.Series(col.categories or [], dtype=object))
            seen = as_labels(real[name]).dropna()
            known = {*declared.dropna(), *seen, RARE_LABEL}
            labels = as_labels(values)
            ok = labels.isin(known).to_numpy()
            if col.tail_words:  # an open tail's new labels are made of the column's words
                ok = ok | _made_of(labels, set(seen.str.split().explode().dropna()))
            metrics.append(
                _share(
                    "known_category_share",
                    name,
                    ok,
                    "share of values that are categories of the real data (or, in an open "
                    "tail, made of its words)",
                )
            )
        elif col.type == "boolean":
            labels = {True, False, col.true_label, col.false_label} - {None}
            labels |= set(real[name].dropna())
            metrics.append(
                _share(
                    "type_valid_share",
                    name,
                    values.isin(list(labels)),
                    "share of values that are one of the column's two labels",
                )
            )
        elif col.type == "id":
            unique = values.nunique() / len(values) if len(values) else float("nan")
            metrics.append(
                Metric(
                    "key_uniqueness",
                    "validity",
                    float(unique),
                    True,
                    "share of distinct values among the key's values (1 = no repeats)",
                    (name,),
                )
            )
    metrics += constraint_metrics(*(whole or (real, synthetic)), metadata)
    scores = [m.value for m in metrics if not np.isnan(m.value)]
    return metrics, float(min(scores)) if scores else float("nan")


def constraint_metrics(
    real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Metadata
) -> list[Metric]:
    """Per declared constraint, the share of synthetic rows that keep it."""
    if not metadata.constraints:
        return []
    rules = constraint_set(metadata).fit(real)
    out = []
    for rule in rules.constraints:
        held = rule.holds(synthetic)
        value = float(held.mean()) if len(held) else float("nan")
        out.append(
            Metric(
                f"constraint: {rule.name}", "validity", value, True, _meaning(rule), rule.columns
            )
        )
    return out


def _meaning(rule: Constraint) -> str:
    if rule.spec.get("type") == "unique":
        return "share of synthetic rows whose values repeat no earlier row (over the whole table)"
    if rule.spec.get("type") == "fixed_combinations":
        return "share of synthetic rows whose combination of values the real data has"
    return (
        "share of synthetic rows that keep this rule of the metadata, declared or detected "
        "(missing cells count as kept)"
    )


def _numeric(name: str, col: Column, real: pd.Series, values: pd.Series) -> list[Metric]:
    number = as_number(values, col.format, col.type)
    parsed = number.notna()
    if col.type == "numerical" and col.integer:
        parsed &= np.isclose(number, np.round(number)) | number.isna()
    bounds = [col.min, col.max]
    known = as_number(real, col.format, col.type).dropna()
    for i, (declared, fallback) in enumerate(zip(bounds, (known.min(), known.max()), strict=True)):
        if declared is None:  # no real value either: nothing is out of bounds
            bounds[i] = fallback if pd.notna(fallback) else (-np.inf, np.inf)[i]
        elif col.type == "datetime":
            bounds[i] = as_number(pd.Series([pd.Timestamp(declared)]), None, "datetime")[0]
    inside = (number >= bounds[0]) & (number <= bounds[1])
    kind = "whole numbers" if col.integer else "numbers" if col.type == "numerical" else "dates"
    return [
        _share("type_valid_share", name, parsed, f"share of values that read as {kind}"),
        _share(
            "within_bounds_share",
            name,
            inside[parsed],
            "share of values within the declared (or real) minimum and maximum",
        ),
    ]


def _share(metric: str, name: str, valid: pd.Series | np.ndarray, meaning: str) -> Metric:
    value = float(valid.mean()) if len(valid) else float("nan")
    return Metric(metric, "validity", value, True, meaning, (name,))


def _made_of(labels: pd.Series, words: set[str]) -> np.ndarray:
    """Which labels (text, no gaps) consist only of ``words``."""
    split = labels.reset_index(drop=True).astype(str).str.split().explode()
    inside = split.isin(words) & split.notna()
    return inside.groupby(level=0).all().reindex(range(len(labels)), fill_value=False).to_numpy()
