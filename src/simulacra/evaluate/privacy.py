"""Privacy: does the synthetic table give away the training rows?

Rows are compared in a Gower-like space: numbers and dates scaled to [0, 1]
by the training data's range, categories one-hot at half weight (a mismatch
costs 1), a missing value its own dimension; the L1 distance divided by the
number of columns lies in [0, 1].

- exact copies: synthetic rows equal to a training row on every learned column;
- near copies: synthetic rows closer to a training row than 95% of training
  rows are to their nearest other training row (a fresh sample from the
  training distribution has about 5% of those; only the excess counts);
- with a holdout (real rows the model never saw): the share of synthetic rows
  closer to the training data than to the holdout (0.5 is ideal), and a
  membership-inference attack that guesses "was in training" for real rows
  close to a synthetic row (ROC AUC; 0.5 means the guess is blind).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from simulacra.evaluate.fidelity import as_number
from simulacra.evaluate.report import Metric
from simulacra.metadata import Metadata

__all__ = ["MAX_PRIVACY_ROWS", "embed", "privacy_metrics"]

MAX_PRIVACY_ROWS = 5_000  # rows per table that distance metrics read (seeded sample)
NEAR_QUANTILE = 0.05


def embed(frames: list[pd.DataFrame], metadata: Metadata) -> list[np.ndarray]:
    """The learned columns of each frame as rows of the distance space.

    The first frame (the training data) sets the numeric scales and the known categories.
    """
    blocks: list[list[np.ndarray]] = [[] for _ in frames]
    learned = [(n, c) for n, c in metadata.columns.items() if c.modelled]
    for name, col in learned:
        if col.type in ("numerical", "datetime"):
            values = [as_number(f[name], col.format, col.type).to_numpy() for f in frames]
            base = values[0][~np.isnan(values[0])]
            lo, span = (base.min(), np.ptp(base) or 1.0) if len(base) else (0.0, 1.0)
            for out, v in zip(blocks, values, strict=True):
                missing = np.isnan(v)
                out.append(np.where(missing, 0.0, np.clip((v - lo) / span, -1, 2))[:, None])
                out.append(missing[:, None].astype(float))
        else:
            labels = [
                f[name].astype(object).where(f[name].notna(), None).map(_text) for f in frames
            ]
            known = pd.Index(pd.unique(labels[0]))
            for out, lab in zip(blocks, labels, strict=True):
                codes = known.get_indexer(lab)
                onehot = np.zeros((len(lab), len(known) + 1))
                onehot[np.arange(len(lab)), np.where(codes < 0, len(known), codes)] = 0.5
                out.append(onehot)
    return [np.hstack(b) / max(len(learned), 1) for b in blocks]


def _text(value: object) -> str:
    return "\0missing" if value is None else str(value)


def _nearest(reference: np.ndarray, queries: np.ndarray, k: int = 1) -> np.ndarray:
    index = NearestNeighbors(n_neighbors=k, metric="manhattan").fit(reference)
    distances, _ = index.kneighbors(queries)
    return distances


def privacy_metrics(
    train: np.ndarray, synthetic: np.ndarray, holdout: np.ndarray | None
) -> tuple[list[Metric], float]:
    """Every privacy metric on embedded rows, and the section score (1 = no sign of leakage)."""
    to_train = _nearest(train, synthetic)[:, 0]
    exact = float(np.mean(to_train <= 1e-12))
    within_train = _nearest(train, train, k=2)[:, 1]
    threshold = float(np.quantile(within_train, NEAR_QUANTILE))
    near = float(np.mean(to_train <= threshold))
    metrics = [
        Metric(
            "exact_copy_share",
            "privacy",
            exact,
            False,
            "share of synthetic rows equal to a training row",
        ),
        Metric(
            "near_copy_share",
            "privacy",
            near,
            False,
            "share of synthetic rows closer to a training row than 95% of training rows "
            "are to each other",
        ),
        Metric(
            "median_distance_to_closest_record",
            "privacy",
            float(np.median(to_train)),
            True,
            "typical distance from a synthetic row to its nearest training row (0..1)",
        ),
    ]
    # A fresh sample from the training distribution has about NEAR_QUANTILE near copies.
    parts = [1.0 - exact, 1.0 - max(0.0, near - NEAR_QUANTILE) / (1.0 - NEAR_QUANTILE)]
    if holdout is not None:
        to_holdout = _nearest(holdout, synthetic)[:, 0]
        closer = float(np.mean(to_train < to_holdout) + 0.5 * np.mean(to_train == to_holdout))
        members = _nearest(synthetic, train)[:, 0]
        outsiders = _nearest(synthetic, holdout)[:, 0]
        truth = np.r_[np.ones(len(members)), np.zeros(len(outsiders))]
        auc = float(roc_auc_score(truth, -np.r_[members, outsiders]))
        metrics += [
            Metric(
                "share_closer_to_train",
                "privacy",
                closer,
                False,
                "share of synthetic rows nearer the training data than the holdout "
                "(0.5 is ideal: the copy is no closer to what it learned from)",
            ),
            Metric(
                "membership_inference_auc",
                "privacy",
                auc,
                False,
                "ROC AUC of guessing training membership from distance to the copy "
                "(0.5 = blind guess, 1 = every member exposed)",
            ),
        ]
        parts += [1.0 - 2 * max(0.0, closer - 0.5), 1.0 - 2 * max(0.0, auc - 0.5)]
    return metrics, float(min(parts))
