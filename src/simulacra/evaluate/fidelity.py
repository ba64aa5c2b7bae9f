"""Fidelity: do columns, pairs and triples of columns look like the real ones?

Column shapes use the KS complement (numbers, dates) and the total-variation
complement (categories), as SDMetrics defines them; pair trends use the
correlation similarity of two numbers and the contingency similarity of
anything else, numbers cut into 10 bins on the real data's range. The
fidelity score is the mean of the column-shape and pair-trend means.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulacra._datetimes import parse_datetimes
from simulacra.evaluate.report import Metric
from simulacra.metadata import Metadata

__all__ = ["Prepared", "fidelity_figures", "fidelity_metrics", "prepare"]

BINS = 10
MAX_TRIPLES = 50
PLOT_BINS = 20
PLOT_LABELS = 12  # categories drawn per column; the rest share one bar
MAX_HEATMAP_COLUMNS = 25


@dataclass
class Prepared:
    """One column of both tables: numbers (floats, NaN = missing) or text labels (None)."""

    name: str
    numeric: bool
    real: pd.Series
    synthetic: pd.Series
    kind: str = "categorical"  # the column type: numerical, datetime, categorical, boolean


def prepare(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Metadata) -> list[Prepared]:
    """The columns that fidelity compares: learned ones, read the way their type says."""
    out = []
    for name, col in metadata.columns.items():
        if not col.modelled:
            continue
        if col.type in ("numerical", "datetime"):
            pair = [as_number(df[name], col.format, col.type) for df in (real, synthetic)]
            out.append(Prepared(name, True, *pair, kind=col.type))
        else:
            pair = [as_labels(df[name]) for df in (real, synthetic)]
            out.append(Prepared(name, False, *pair, kind=col.type))
    return out


def as_number(values: pd.Series, fmt: str | None, kind: str) -> pd.Series:
    if kind == "numerical":
        return pd.to_numeric(values, errors="coerce").astype("float64").reset_index(drop=True)
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        # in UTC: mixed offsets (+01:00 / +02:00 across DST) are one time line
        values = parse_datetimes(values.astype(object), fmt, errors="coerce", utc=True)
    if values.dt.tz is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    seconds = values.astype("datetime64[ns]").astype("int64") / 1e9
    return seconds.where(values.notna()).reset_index(drop=True)


def as_labels(values: pd.Series) -> pd.Series:
    """Values as text labels (``None`` = missing), numbers by value: 3 and 3.0 are one label."""
    values = values.reset_index(drop=True)
    kind = values.dtype.kind
    if kind in "iuf" or (kind == "O" and pd.api.types.infer_dtype(values) in _NUMERIC):
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        whole = (numbers == np.round(numbers)).to_numpy()
        text = numbers.astype(str).to_numpy(dtype=object)
        text[whole] = numbers[whole].astype("int64").astype(str).to_numpy()
        return pd.Series(text, dtype=object).where(numbers.notna().to_numpy(), None)
    text = values.astype(object).where(values.notna(), None).map(str, na_action="ignore")
    return text.where(text.notna(), None)


_NUMERIC = ("integer", "floating", "mixed-integer-float", "decimal")


# ------------------------------------------------------------------ per column
def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """1 minus the two-sample Kolmogorov-Smirnov statistic (missing values dropped)."""
    a, b = np.sort(real[~np.isnan(real)]), np.sort(synthetic[~np.isnan(synthetic)])
    if not len(a) or not len(b):
        return float("nan")
    points = np.concatenate([a, b])
    gap = np.abs(
        np.searchsorted(a, points, "right") / len(a) - np.searchsorted(b, points, "right") / len(b)
    )
    return float(1.0 - gap.max())


def tv_complement(real: pd.Series, synthetic: pd.Series) -> float:
    """1 minus the total variation distance of the category shares (missing values dropped)."""
    p = real.dropna().value_counts(normalize=True)
    q = synthetic.dropna().value_counts(normalize=True)
    if p.empty or q.empty:
        return float("nan")
    p, q = p.align(q, fill_value=0.0)
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def range_coverage(real: np.ndarray, synthetic: np.ndarray) -> float:
    """The share of the real range that the synthetic values span."""
    r, s = real[~np.isnan(real)], synthetic[~np.isnan(synthetic)]
    if not len(r) or not len(s) or r.max() == r.min():
        return float("nan")
    lo, hi = r.min(), r.max()
    missed = max(0.0, s.min() - lo) + max(0.0, hi - s.max())
    return float(max(0.0, 1.0 - missed / (hi - lo)))


def category_coverage(real: pd.Series, synthetic: pd.Series) -> float:
    """The share of real categories that appear in the synthetic data."""
    seen = set(real.dropna())
    return float(len(seen & set(synthetic.dropna())) / len(seen)) if seen else float("nan")


# ------------------------------------------------------------------- per pair
def _codes(col: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Both sides as integer cells: numbers in 10 bins of the real range, labels as codes."""
    if col.numeric:
        real, synth = col.real.to_numpy(), col.synthetic.to_numpy()
        present = real[~np.isnan(real)]
        edges = np.histogram_bin_edges(present, bins=BINS) if len(present) else np.array([0.0, 1.0])
        edges[0], edges[-1] = -np.inf, np.inf
        # missing values get a cell of their own, as the real data has them
        return tuple(np.where(np.isnan(v), -1, np.digitize(v, edges)) for v in (real, synth))
    labels = pd.concat([col.real, col.synthetic], ignore_index=True)
    codes, _ = pd.factorize(labels, use_na_sentinel=True)
    return codes[: len(col.real)], codes[len(col.real) :]


def joint_tv_complement(real_cells: list[np.ndarray], synth_cells: list[np.ndarray]) -> float:
    """1 minus the total variation distance of the joint shares of several binned columns."""

    def shares(cells: list[np.ndarray]) -> pd.Series:
        return pd.DataFrame(np.column_stack(cells)).value_counts(normalize=True)

    p, q = shares(real_cells).align(shares(synth_cells), fill_value=0.0)
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def correlation_similarity(a: Prepared, b: Prepared) -> float:
    """1 - |real Pearson correlation - synthetic correlation| / 2, on rows with both values."""

    def corr(x: pd.Series, y: pd.Series) -> float:
        both = x.notna() & y.notna()
        if both.sum() < 3 or x[both].std() == 0 or y[both].std() == 0:
            return float("nan")
        return float(np.corrcoef(x[both], y[both])[0, 1])

    gap = abs(corr(a.real, b.real) - corr(a.synthetic, b.synthetic))
    return float(1.0 - gap / 2.0)


# -------------------------------------------------------------------- section
def fidelity_metrics(
    columns: list[Prepared], rng: np.random.Generator
) -> tuple[list[Metric], float]:
    """Every fidelity metric, and the section score."""
    metrics: list[Metric] = []
    shapes = []
    for col in columns:
        names = (col.name,)
        if col.numeric:
            real, synth = col.real.to_numpy(), col.synthetic.to_numpy()
            shape = Metric(
                "ks_complement",
                "fidelity",
                ks_complement(real, synth),
                True,
                "1 - largest gap between the real and synthetic CDFs",
                names,
            )
            coverage = Metric(
                "range_coverage",
                "fidelity",
                range_coverage(real, synth),
                True,
                "share of the real range the synthetic values span",
                names,
            )
        else:
            shape = Metric(
                "tv_complement",
                "fidelity",
                tv_complement(col.real, col.synthetic),
                True,
                "1 - total variation distance of category shares",
                names,
            )
            coverage = Metric(
                "category_coverage",
                "fidelity",
                category_coverage(col.real, col.synthetic),
                True,
                "share of real categories present in the synthetic data",
                names,
            )
        null_gap = abs(col.real.isna().mean() - col.synthetic.isna().mean())
        metrics += [
            shape,
            coverage,
            Metric(
                "missing_share_difference",
                "fidelity",
                float(null_gap),
                False,
                "difference in the share of missing values",
                names,
            ),
        ]
        shapes.append(shape.value)

    cells = {c.name: _codes(c) for c in columns}
    trends = []
    for a, b in itertools.combinations(columns, 2):
        names = (a.name, b.name)
        if a.numeric and b.numeric:
            metric = Metric(
                "correlation_similarity",
                "fidelity",
                correlation_similarity(a, b),
                True,
                "1 - half the gap between real and synthetic correlations",
                names,
            )
        else:
            value = joint_tv_complement(
                [cells[a.name][0], cells[b.name][0]], [cells[a.name][1], cells[b.name][1]]
            )
            metric = Metric(
                "contingency_similarity",
                "fidelity",
                value,
                True,
                "1 - total variation distance of the pair's joint shares",
                names,
            )
        metrics.append(metric)
        trends.append(metric.value)

    triples = list(itertools.combinations(columns, 3))
    if len(triples) > MAX_TRIPLES:
        pick = rng.choice(len(triples), MAX_TRIPLES, replace=False)
        triples = [triples[i] for i in sorted(pick)]
    for triple in triples:
        value = joint_tv_complement(
            [cells[c.name][0] for c in triple], [cells[c.name][1] for c in triple]
        )
        metrics.append(
            Metric(
                "three_way_similarity",
                "fidelity",
                value,
                True,
                "1 - total variation distance of three binned columns' joint shares",
                tuple(c.name for c in triple),
            )
        )

    parts = [np.nanmean(x) for x in (shapes, trends) if len(x) and not np.all(np.isnan(x))]
    score = float(np.mean(parts)) if parts else float("nan")
    metrics.append(
        Metric(
            "column_shapes",
            "fidelity",
            _mean(shapes),
            True,
            "mean column shape score (KS / TV complements)",
        )
    )
    metrics.append(
        Metric(
            "column_pair_trends",
            "fidelity",
            _mean(trends),
            True,
            "mean pair trend score (correlation / contingency similarity)",
        )
    )
    return metrics, score


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not np.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


# -------------------------------------------------------------------- figures
def fidelity_figures(columns: list[Prepared]) -> dict[str, object]:
    """The data behind the fidelity plots: a histogram per column, correlation matrices."""
    figures: dict[str, object] = {"distributions": [_distribution(c) for c in columns]}
    numeric = [c for c in columns if c.numeric][:MAX_HEATMAP_COLUMNS]
    if len(numeric) >= 2:
        figures["correlation"] = {
            "columns": [c.name for c in numeric],
            "real": _correlations([c.real for c in numeric]),
            "synthetic": _correlations([c.synthetic for c in numeric]),
        }
    return figures


def _distribution(col: Prepared) -> dict[str, object]:
    """Shares of real and synthetic values per bin (numbers) or per label (categories)."""
    if col.numeric:
        real, synth = col.real.to_numpy(), col.synthetic.to_numpy()
        present = np.concatenate([real[~np.isnan(real)], synth[~np.isnan(synth)]])
        edges = np.histogram_bin_edges(present if len(present) else [0.0, 1.0], bins=PLOT_BINS)
        shares = []
        for values in (real, synth):
            counts, _ = np.histogram(values[~np.isnan(values)], bins=edges)
            shares.append(counts / max(counts.sum(), 1))
        kind = "datetime" if col.kind == "datetime" else "numeric"
        return {
            "column": col.name,
            "kind": kind,
            "edges": edges,
            "real": shares[0],
            "synthetic": shares[1],
        }
    real = col.real.fillna("(missing)").value_counts(normalize=True)
    synth = col.synthetic.fillna("(missing)").value_counts(normalize=True)
    labels = list(real.index[:PLOT_LABELS])
    rest = [label for label in real.index.union(synth.index) if label not in labels]
    real_shares = [float(real.get(label, 0.0)) for label in labels]
    synth_shares = [float(synth.get(label, 0.0)) for label in labels]
    if rest:
        labels.append(f"{len(rest)} more")
        real_shares.append(float(real.reindex(rest).fillna(0.0).sum()))
        synth_shares.append(float(synth.reindex(rest).fillna(0.0).sum()))
    return {
        "column": col.name,
        "kind": "categorical",
        "labels": labels,
        "real": real_shares,
        "synthetic": synth_shares,
    }


def _correlations(series: list[pd.Series]) -> np.ndarray:
    """Pairwise-complete Pearson correlations (NaN where a column is constant)."""
    return pd.concat(series, axis=1, ignore_index=True).corr().to_numpy()
