"""ML utility: does a model trained on the copy work on real data?

Train on synthetic, test on the real holdout (TSTR), next to train on real,
test on the same holdout (TRTR). A category or boolean target is a
classification (ROC AUC for two classes, accuracy for more); a numeric one a
regression (R²). The score is how much of TRTR's gain over a blind guess
(chance AUC, the majority class, the mean) TSTR keeps, from 0 to 1. Permutation
importances of both models on the holdout are compared by rank correlation:
does the copy teach the same features?
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulacra.evaluate._matrix import model_matrix
from simulacra.evaluate.report import Metric
from simulacra.metadata import Metadata

__all__ = ["MAX_UTILITY_ROWS", "Predictions", "utility_metrics"]

MAX_UTILITY_ROWS = 20_000  # rows each model trains on (seeded sample)


@dataclass
class Predictions:
    """Both models' predictions on the holdout rows they were scored on (for fairness)."""

    holdout: pd.DataFrame
    truth: np.ndarray
    trtr: np.ndarray
    tstr: np.ndarray
    classify: bool


def utility_metrics(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    metadata: Metadata,
    target: str,
    seed: int,
) -> tuple[list[Metric], float, Predictions]:
    """TSTR next to TRTR for ``target``, importance agreement, the section score, and
    both models' predictions on the holdout."""
    features = [n for n, c in metadata.columns.items() if c.modelled and n != target]
    kind = metadata.columns[target].type
    classify = kind in ("categorical", "boolean")
    frames = []
    for frame in (train, synthetic, holdout):
        frame = frame[frame[target].notna()]
        if len(frame) > MAX_UTILITY_ROWS:
            frame = frame.sample(MAX_UTILITY_ROWS, random_state=seed)
        frames.append(frame.reset_index(drop=True))
    xs, categorical = model_matrix(frames, metadata, features)
    ys = _targets(frames, target, classify, metadata)
    measure = (
        "roc_auc" if classify and len(np.unique(ys[2])) == 2 else ("accuracy" if classify else "r2")
    )
    results, predicted = {}, {}
    for name, x, y in (("trtr", xs[0], ys[0]), ("tstr", xs[1], ys[1])):
        model = _model(classify, categorical, seed).fit(x, y)
        results[name] = (
            _score(model, xs[2], ys[2], measure),
            _importance(model, xs[2], ys[2], measure, seed),
        )
        predicted[name] = model.predict(xs[2])
    (trtr, imp_real), (tstr, imp_synth) = results["trtr"], results["tstr"]
    from scipy.stats import spearmanr  # scipy.stats and scikit-learn: on first use

    if len(features) < 2:
        agreement = 1.0
    elif np.ptp(imp_real) == 0 or np.ptp(imp_synth) == 0:  # a model that learned nothing
        agreement = float("nan")
    else:
        agreement = float(spearmanr(imp_real, imp_synth).statistic)
    label = {"roc_auc": "ROC AUC", "accuracy": "accuracy", "r2": "R²"}[measure]
    names = (target,)
    metrics = [
        Metric(
            "tstr",
            "utility",
            tstr,
            True,
            f"{label} on the real holdout of a model trained on the synthetic data",
            names,
            low=-1.0 if measure == "r2" else 0.0,
        ),
        Metric(
            "trtr",
            "utility",
            trtr,
            True,
            f"{label} on the real holdout of a model trained on the real data",
            names,
            low=-1.0 if measure == "r2" else 0.0,
        ),
        Metric(
            "feature_importance_agreement",
            "utility",
            agreement,
            True,
            "rank correlation of the two models' permutation importances",
            names,
            low=-1.0,
        ),
    ]
    floor = {  # what a blind guess scores: chance, the majority class, the mean
        "roc_auc": 0.5,
        "accuracy": float(pd.Series(ys[2]).value_counts(normalize=True).max()),
        "r2": 0.0,
    }[measure]
    ratio = (tstr - floor) / (trtr - floor) if trtr > floor else float("nan")
    predictions = Predictions(frames[2], ys[2], predicted["trtr"], predicted["tstr"], classify)
    return metrics, float(np.clip(ratio, 0.0, 1.0)), predictions


def _targets(frames: list[pd.DataFrame], target: str, classify: bool, meta: Metadata) -> list:
    if not classify:
        (a, b, c), _ = model_matrix(frames, meta, [target])
        return [f[target].to_numpy() for f in (a, b, c)]
    return [f[target].astype(str).to_numpy() for f in frames]


def _model(classify: bool, categorical: np.ndarray, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
    return cls(max_iter=100, categorical_features=categorical, random_state=seed)


def _score(model, x: pd.DataFrame, y: np.ndarray, measure: str) -> float:
    from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

    if measure == "r2":
        return float(r2_score(y, model.predict(x)))
    if measure == "accuracy":
        return float(accuracy_score(y, model.predict(x)))
    positive = sorted(np.unique(y))[-1]
    if positive not in model.classes_:  # the training data never showed this class
        return 0.5
    column = list(model.classes_).index(positive)
    return float(roc_auc_score(y == positive, model.predict_proba(x)[:, column]))


def _importance(model, x: pd.DataFrame, y: np.ndarray, measure: str, seed: int) -> np.ndarray:
    from sklearn.inspection import permutation_importance

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = permutation_importance(
            model, x, y, scoring=measure, n_repeats=3, random_state=seed
        )
    return result.importances_mean
