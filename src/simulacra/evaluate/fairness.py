"""Fairness: does the copy keep every sensitive group, and teach models no less fair?

For each sensitive column (sex, race, ...):

- representation: each group's share of the real and the synthetic rows, and
  their total-variation complement;
- with a target and a holdout, the TRTR and TSTR models of the utility section
  are compared group by group on the holdout. For a classification:
  demographic parity difference (the largest gap between groups in the rate
  of predicting a class) and equalized-odds difference (the largest gap in
  true- or false-positive rate), one class against the rest, the worst class
  counting. For a regression: the largest gap between groups in the mean
  prediction and in the mean absolute error, as shares of the target's range.

A synthetic copy should not make a model less fair than the real data does:
the score is 1 minus the largest amount by which a TSTR gap exceeds the TRTR
gap, and no higher than the representation similarity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulacra.evaluate.fidelity import as_labels
from simulacra.evaluate.report import Metric
from simulacra.evaluate.utility import Predictions

__all__ = ["MAX_GROUPS", "MIN_GROUP_ROWS", "fairness_metrics", "group_labels"]

MAX_GROUPS = 50  # levels a sensitive column may have
MIN_GROUP_ROWS = 10  # holdout rows a group needs before its rates are compared
MISSING = "(missing)"


def group_labels(values: pd.Series) -> pd.Series:
    """A sensitive column's values as group names (missing values are a group too)."""
    return as_labels(values).fillna(MISSING)


def fairness_metrics(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    sensitive: list[str],
    predictions: Predictions | None,
) -> tuple[list[Metric], float, list[dict[str, object]]]:
    """Every fairness metric, the section score, and the representation figures."""
    metrics: list[Metric] = []
    parts: list[float] = []
    figures = []
    for column in sensitive:
        real_share = group_labels(real[column]).value_counts(normalize=True)
        synth_share = group_labels(synthetic[column]).value_counts(normalize=True)
        p, q = real_share.align(synth_share, fill_value=0.0)
        similarity = float(1.0 - 0.5 * np.abs(p - q).sum())
        metrics.append(
            Metric(
                "representation_similarity",
                "fairness",
                similarity,
                True,
                "1 - total variation distance between the groups' real and synthetic shares",
                (column,),
            )
        )
        parts.append(similarity)
        order = p.sort_values(ascending=False).index
        figures.append(
            {
                "column": column,
                "labels": list(order),
                "real": p[order].to_numpy(),
                "synthetic": q[order].to_numpy(),
            }
        )
        for group in order:
            metrics.append(
                Metric(
                    "group_share_difference",
                    "fairness",
                    float(abs(q[group] - p[group])),
                    False,
                    "how far the group's synthetic share is from its real share",
                    (column,),
                    group=str(group),
                )
            )
        if predictions is not None:
            found, excess = _model_gaps(column, predictions)
            metrics += found
            parts += [1.0 - e for e in excess]
    return metrics, float(min(parts)) if parts else float("nan"), figures


def _model_gaps(column: str, pred: Predictions) -> tuple[list[Metric], list[float]]:
    """Group gaps of the TRTR and TSTR models, and how far each TSTR gap exceeds TRTR's."""
    groups = group_labels(pred.holdout[column])
    sizes = groups.value_counts()
    kept = sizes.index[sizes >= MIN_GROUP_ROWS]
    if len(kept) < 2:
        return [], []
    mask = groups.isin(kept).to_numpy()
    codes, names = pd.factorize(groups[mask])
    truth = pred.truth[mask]
    rates = {
        model: _group_rates(truth, getattr(pred, model)[mask], codes, pred.classify)
        for model in ("trtr", "tstr")
    }
    metrics, excess = [], []
    gap_names = (
        [
            ("demographic_parity_difference", "rate of predicting a class"),
            ("equalized_odds_difference", "true- or false-positive rate"),
        ]
        if pred.classify
        else [
            ("mean_prediction_gap", "mean prediction, as a share of the target's range"),
            ("error_gap", "mean absolute error, as a share of the target's range"),
        ]
    )
    for i, (name, what) in enumerate(gap_names):
        gaps = {model: rates[model][0][i] for model in rates}
        for model, gap in gaps.items():
            trained_on = "real" if model == "trtr" else "synthetic"
            metrics.append(
                Metric(
                    f"{name}_{model}",
                    "fairness",
                    gap,
                    False,
                    f"largest gap between groups in the {what}, for the model trained on "
                    f"{trained_on} data",
                    (column,),
                )
            )
        excess.append(max(0.0, gaps["tstr"] - gaps["trtr"]))
    per_group = "selection_rate" if pred.classify else "mean_prediction"
    for model in rates:
        for code, value in enumerate(rates[model][1]):
            metrics.append(
                Metric(
                    f"{per_group}_{model}",
                    "fairness",
                    float(value),
                    True,
                    "share of the group's holdout rows predicted as the (last) positive class"
                    if pred.classify
                    else "the group's mean prediction, as a share of the target's range",
                    (column,),
                    group=str(names[code]),
                )
            )
    return metrics, excess


def _group_rates(
    truth: np.ndarray, predicted: np.ndarray, codes: np.ndarray, classify: bool
) -> tuple[tuple[float, float], np.ndarray]:
    """(parity gap, odds or error gap) and a per-group rate for one model's predictions."""
    n = codes.max() + 1
    size = np.bincount(codes, minlength=n)
    if not classify:
        low, span = float(truth.min()), float(np.ptp(truth)) or 1.0
        # predictions outside the target's range count as its ends: shares stay in [0, 1]
        scaled = np.clip((predicted - low) / span, 0.0, 1.0)
        mean = np.bincount(codes, scaled, n) / size
        error = np.bincount(codes, np.abs(scaled - (truth - low) / span), n) / size
        return (float(np.ptp(mean)), float(np.ptp(error))), mean
    classes = np.unique(truth)
    if len(classes) == 2:
        classes = classes[1:]  # one class of two says it all
    parity, odds, rate = 0.0, 0.0, np.zeros(n)
    for cls in classes:
        chosen = predicted == cls
        is_cls = truth == cls
        selection = np.bincount(codes, chosen, n) / size
        parity = max(parity, float(np.ptp(selection)))
        for condition in (is_cls, ~is_cls):  # true-positive, then false-positive rates
            count = np.bincount(codes, condition, n)
            ok = count > 0
            if ok.sum() >= 2:
                hits = np.bincount(codes, chosen & condition, n)[ok] / count[ok]
                odds = max(odds, float(np.ptp(hits)))
        rate = selection if cls == classes[-1] else rate
    return (parity, odds), rate
