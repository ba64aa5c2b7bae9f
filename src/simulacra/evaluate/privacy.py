"""Privacy: does the synthetic table give away the training rows?

Rows are compared in a Gower-like space: numbers and dates scaled to [0, 1]
by the training data's range, categories one-hot at half weight (a mismatch
costs 1), a missing value its own dimension; the L1 distance divided by the
number of columns lies in [0, 1].

- exact copies: synthetic rows equal to a training row on every learned column
  (with a holdout, only those beyond the share of holdout rows equal to a
  training row count against the score: real rows of few distinct values
  repeat each other);
- near copies: synthetic rows closer to a training row than 95% of training
  rows are to their nearest other training row (a fresh sample from the
  training distribution has about 5% of those, the holdout's share where it
  has more; only the excess counts);
- NNDR: a synthetic row's distance to its nearest training row over the
  distance to the second nearest; near 0 when it sits on one particular record;
- with a holdout (real rows the model never saw): the share of synthetic rows
  closer to the training data than to the holdout (0.5 is ideal), and a
  membership-inference attack that guesses "was in training" for real rows
  close to a synthetic row (ROC AUC; 0.5 means the guess is blind);
- attribute inference, per sensitive column: an attacker who knows a person's
  other columns reads the sensitive one off the nearest synthetic row; the risk
  is how much better that works for training rows than for holdout rows;
- singling out: predicates made from synthetic rows (a few binned columns
  each) that match exactly one real person; the risk is how much more often
  they single out a training row than a holdout row.

Risks are scaled as Anonymeter does: (success on training rows - success on
holdout rows) / (1 - success on holdout rows), 0 = no advantage, 1 = total.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulacra.evaluate.fidelity import as_labels, as_number
from simulacra.evaluate.report import Metric
from simulacra.metadata import Column, Metadata

__all__ = ["MAX_PRIVACY_ROWS", "attack_metrics", "embed", "privacy_metrics"]

MAX_PRIVACY_ROWS = 5_000  # rows per table that distance metrics read (seeded sample)
NEAR_QUANTILE = 0.05
DCR_BINS = 20
SINGLING_OUT_COLUMNS = 4  # columns per singling-out predicate
SINGLING_OUT_TRIES = 25  # random column subsets tried
QUANTILE_BINS = 20  # numbers are cut at these many training quantiles for predicates
MISSING = "\0missing"  # the label of a missing value: one category of its own


def embed(
    frames: list[pd.DataFrame], metadata: Metadata, exclude: tuple[str, ...] = ()
) -> list[np.ndarray]:
    """The learned columns (less ``exclude``) of each frame as rows of the distance space.

    The first frame (the training data) sets the numeric scales and the known categories.
    """
    blocks: list[list[np.ndarray]] = [[] for _ in frames]
    learned = [(n, c) for n, c in metadata.columns.items() if c.modelled and n not in exclude]
    if not learned:
        return [np.zeros((len(f), 0)) for f in frames]
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
            labels = [_labels(f[name], col) for f in frames]
            known = pd.Index(pd.unique(labels[0]))
            for out, lab in zip(blocks, labels, strict=True):
                codes = known.get_indexer(lab)
                onehot = np.zeros((len(lab), len(known) + 1))
                onehot[np.arange(len(lab)), np.where(codes < 0, len(known), codes)] = 0.5
                out.append(onehot)
    return [np.hstack(b) / max(len(learned), 1) for b in blocks]


def _nearest(reference: np.ndarray, queries: np.ndarray, k: int = 1) -> np.ndarray:
    return _neighbours(reference, queries, k)[0]


def _neighbours(reference: np.ndarray, queries: np.ndarray, k: int = 1) -> tuple[np.ndarray, ...]:
    from sklearn.neighbors import NearestNeighbors  # scikit-learn: on first use

    index = NearestNeighbors(n_neighbors=k, metric="manhattan").fit(reference)
    return index.kneighbors(queries)


def _risk(members: float, outsiders: float) -> float:
    """The attacker's advantage on members over outsiders, scaled to what was left to gain."""
    if outsiders >= 1.0:
        return 0.0
    return float(np.clip((members - outsiders) / (1.0 - outsiders), 0.0, 1.0))


def privacy_metrics(
    train: np.ndarray,
    synthetic: np.ndarray,
    holdout: np.ndarray | None,
    members: np.ndarray | None = None,
) -> tuple[list[Metric], list[float], dict[str, object]]:
    """Every distance-based privacy metric, the score parts and the DCR histograms.

    Copies and distances read all of ``train``; the comparisons with the holdout
    read ``members``, training rows as many as the holdout's (all of ``train``
    when not given), so that neither side is nearer for being bigger.
    """
    two = _nearest(train, synthetic, k=min(2, len(train)))
    to_train = two[:, 0]
    second = two[:, -1]
    nndr = np.divide(to_train, second, out=np.zeros_like(to_train), where=second > 0)
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
        Metric(
            "median_nndr",
            "privacy",
            float(np.median(nndr)),
            True,
            "typical ratio of a synthetic row's distance to its nearest training row over "
            "its distance to the second nearest (near 0 = it sits on one record)",
        ),
    ]
    # Only copies beyond what real rows show count: a fresh sample from the training
    # distribution has about NEAR_QUANTILE near copies and, where real rows repeat each other
    # (few distinct values), unseen real rows equal training rows too (the holdout's share).
    repeats, close = 0.0, NEAR_QUANTILE
    if holdout is not None:
        unseen = _nearest(train, holdout)[:, 0]
        repeats = float(np.mean(unseen <= 1e-12))
        close = max(NEAR_QUANTILE, float(np.mean(unseen <= threshold)))
    parts = [1.0 - _risk(exact, repeats), 1.0 - _risk(near, close)]
    to_members = to_train
    if holdout is not None:
        metrics.insert(
            1,
            Metric(
                "holdout_copy_share",
                "privacy",
                repeats,
                False,
                "share of holdout rows equal to a training row: how often real rows repeat "
                "each other (exact copies up to this share are no leak)",
            ),
        )
        members = train if members is None else members
        to_members = _nearest(members, synthetic)[:, 0]
        to_holdout = _nearest(holdout, synthetic)[:, 0]
        closer = float(np.mean(to_members < to_holdout) + 0.5 * np.mean(to_members == to_holdout))
        insiders = _nearest(synthetic, members)[:, 0]
        outsiders = _nearest(synthetic, holdout)[:, 0]
        truth = np.r_[np.ones(len(insiders)), np.zeros(len(outsiders))]
        from sklearn.metrics import roc_auc_score

        auc = float(roc_auc_score(truth, -np.r_[insiders, outsiders]))
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
    top = max(float(to_members.max()), float(to_holdout.max()) if holdout is not None else 0.0)
    edges = np.linspace(0.0, top or 1.0, DCR_BINS + 1)
    figure = {
        "edges": edges,
        "train": np.histogram(to_members, bins=edges)[0] / len(to_members),
        "holdout": np.histogram(to_holdout, bins=edges)[0] / len(to_holdout)
        if holdout is not None
        else None,
    }
    return metrics, parts, figure


def attack_metrics(
    frames: list[pd.DataFrame], metadata: Metadata, sensitive: list[str], rng: np.random.Generator
) -> tuple[list[Metric], list[float]]:
    """Attribute-inference and singling-out attacks (training, synthetic, holdout frames).

    Without a holdout only the attacks' raw success on training rows is reported.
    """
    train, synth, hold = frames[0], frames[1], frames[2] if len(frames) > 2 else None
    metrics, parts = [], []
    for column in sensitive:
        embedded = embed(frames, metadata, exclude=(column,))
        if embedded[0].shape[1] == 0:
            continue
        labels = [_labels(f[column], metadata.columns[column]) for f in frames]
        _, nearest = _neighbours(embedded[1], np.vstack([embedded[0], *embedded[2:]]))
        guesses = labels[1].to_numpy()[nearest[:, 0]]
        right = guesses == np.concatenate(
            [labels[0].to_numpy(), *(lab.to_numpy() for lab in labels[2:])]
        )
        on_train = float(right[: len(train)].mean())
        metrics.append(
            Metric(
                "attribute_inference_accuracy",
                "privacy",
                on_train,
                False,
                "share of training rows whose sensitive value an attacker reads off the "
                "nearest synthetic row, knowing their other columns",
                (column,),
            )
        )
        if hold is not None:
            risk = _risk(on_train, float(right[len(train) :].mean()))
            metrics.append(
                Metric(
                    "attribute_inference_risk",
                    "privacy",
                    risk,
                    False,
                    "how much better that attack works on training rows than on holdout "
                    "rows (0 = no better: the copy teaches the population, not the people)",
                    (column,),
                )
            )
            parts.append(1.0 - risk)
    cells = _cells(frames, metadata)
    if cells.shape[1] >= 2:
        unique = _singling_out(cells, len(train), len(synth), rng)
        metrics.append(
            Metric(
                "singling_out_rate",
                "privacy",
                unique[0],
                False,
                f"share of predicates on {SINGLING_OUT_COLUMNS} binned columns, read off "
                "synthetic rows, that match exactly one training row",
            )
        )
        if hold is not None:
            risk = _risk(unique[0], unique[1])
            metrics.append(
                Metric(
                    "singling_out_risk",
                    "privacy",
                    risk,
                    False,
                    "how much more often those predicates single out a training row than "
                    "a holdout row (0 = no more often)",
                )
            )
            parts.append(1.0 - risk)
    return metrics, parts


def _labels(values: pd.Series, col: Column) -> pd.Series:
    """Values as comparable text: numbers by value (3 and 3.0 alike), missing as one label."""
    if col.type in ("numerical", "datetime"):
        values = as_number(values, col.format, col.type)
    return as_labels(values).fillna(MISSING)


def _cells(frames: list[pd.DataFrame], metadata: Metadata) -> np.ndarray:
    """Every learned column of every frame (stacked) as integer cells: numbers in
    training quantile bins, labels as codes, missing values a cell of their own."""
    out = []
    for name, col in metadata.columns.items():
        if not col.modelled:
            continue
        if col.type in ("numerical", "datetime"):
            values = np.concatenate(
                [as_number(f[name], col.format, col.type).to_numpy() for f in frames]
            )
            base = values[: len(frames[0])]
            base = base[~np.isnan(base)]
            cuts = (
                np.unique(np.quantile(base, np.linspace(0, 1, QUANTILE_BINS + 1)[1:-1]))
                if len(base)
                else []
            )
            out.append(np.where(np.isnan(values), -1, np.searchsorted(cuts, values, "right")))
        else:
            labels = pd.concat([as_labels(f[name]) for f in frames], ignore_index=True)
            out.append(pd.factorize(labels, use_na_sentinel=True)[0])
    return np.column_stack(out) if out else np.empty((0, 0), dtype=int)


def _singling_out(
    cells: np.ndarray, n_train: int, n_synth: int, rng: np.random.Generator
) -> tuple[float, float]:
    """How often predicates from synthetic rows match exactly one training (holdout) row."""
    train = cells[:n_train]
    synth = cells[n_train : n_train + n_synth]
    hold = cells[n_train + n_synth :]
    width = min(SINGLING_OUT_COLUMNS, cells.shape[1])
    rates = np.zeros((SINGLING_OUT_TRIES, 2))
    for t in range(SINGLING_OUT_TRIES):
        pick = np.sort(rng.choice(cells.shape[1], width, replace=False))
        keys = [_row_hash(part[:, pick]) for part in (train, synth, hold)]
        for j, reference in enumerate((keys[0], keys[2])):
            if not len(reference):
                continue
            values, counts = np.unique(reference, return_counts=True)
            where = np.searchsorted(values, keys[1]).clip(0, len(values) - 1)
            hits = (values[where] == keys[1]) & (counts[where] == 1)
            rates[t, j] = hits.mean()
    return float(rates[:, 0].mean()), float(rates[:, 1].mean())


def _row_hash(block: np.ndarray) -> np.ndarray:
    return pd.util.hash_pandas_object(pd.DataFrame(block), index=False).to_numpy()
