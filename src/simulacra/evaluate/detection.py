"""Detection: can a classifier tell synthetic rows from real ones?

A gradient-boosted classifier (scikit-learn's histogram GBM, which takes
missing values and categories natively) is cross-validated on real vs
synthetic rows in equal numbers; its ROC AUC is 0.5 when the two are
indistinguishable and 1 when every row gives itself away. Permutation
importance on a held-out split names the columns that give the copy away.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from simulacra.evaluate._matrix import model_matrix
from simulacra.evaluate.report import Metric
from simulacra.metadata import Metadata

__all__ = ["MAX_DETECTION_ROWS", "detection_metrics"]

MAX_DETECTION_ROWS = 5_000  # rows of each table the classifier sees (seeded sample)
TOP_COLUMNS = 5


def _auc(x: pd.DataFrame, y: np.ndarray, categorical: np.ndarray, seed: int, folds: int) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier  # scikit-learn: on first use
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    model = HistGradientBoostingClassifier(
        max_iter=100, categorical_features=categorical, random_state=seed
    )
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(np.mean(cross_val_score(model, x, y, cv=cv, scoring="roc_auc")))


def _telling_columns(
    x: pd.DataFrame, y: np.ndarray, categorical: np.ndarray, seed: int
) -> list[tuple[str, float]]:
    """The columns whose shuffling costs a classifier fitted on 70% the most AUC on the rest."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import train_test_split

    fit_x, test_x, fit_y, test_y = train_test_split(
        x, y, test_size=0.3, stratify=y, random_state=seed
    )
    model = HistGradientBoostingClassifier(
        max_iter=100, categorical_features=categorical, random_state=seed
    ).fit(fit_x, fit_y)
    result = permutation_importance(
        model, test_x, test_y, scoring="roc_auc", n_repeats=3, random_state=seed
    )
    ranked = sorted(zip(x.columns, result.importances_mean, strict=True), key=lambda kv: -kv[1])
    return [(name, float(max(drop, 0.0))) for name, drop in ranked[:TOP_COLUMNS]]


def detection_metrics(
    real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Metadata, seed: int
) -> tuple[list[Metric], float]:
    """The classifier's AUC on all columns, the most telling columns, and the section score."""
    learned = [n for n, c in metadata.columns.items() if c.modelled]
    if not learned:
        return [], float("nan")
    rows = min(len(real), len(synthetic), MAX_DETECTION_ROWS)
    sides = [f.sample(rows, random_state=seed).reset_index(drop=True) for f in (real, synthetic)]
    (real_x, synth_x), categorical = model_matrix(sides, metadata, learned)
    x = pd.concat([real_x, synth_x], ignore_index=True)
    y = np.r_[np.zeros(rows), np.ones(rows)]
    folds = int(min(5, max(2, rows // 10)))
    auc = _auc(x, y, categorical, seed, folds)
    metrics = [
        Metric(
            "detection_auc",
            "detection",
            auc,
            False,
            "ROC AUC of a classifier telling synthetic rows from real ones "
            "(0.5 = indistinguishable, 1 = every row gives itself away)",
        ),
    ]
    for name, drop in _telling_columns(x, y, categorical, seed):
        metrics.append(
            Metric(
                "detection_importance",
                "detection",
                drop,
                False,
                "how much the classifier's AUC falls when this column is "
                "shuffled (the columns that give the copy away most)",
                (name,),
                high=0.5,
            )
        )
    return metrics, 1.0 - 2.0 * max(0.0, auc - 0.5)
