"""Relationships between tables: children per parent, trends across a link, integrity.

Per foreign key, measured on the real and on the synthetic database alike:

- cardinality: how many child rows refer to each parent row (parents with
  none included), compared as the KS complement of the two count
  distributions, with the mean, the largest count and the share of childless
  parents beside it;
- inter-table trends: each parent column against each child aggregate (the
  count of children and the mean of each numeric child column per parent
  row). A numeric parent column is compared by its Pearson correlation with
  the aggregate, scored ``1 - |real - synthetic| / 2`` as single-table
  correlation similarity; a category column by its correlation ratio (eta,
  adjusted for the number of levels, in [0, 1]), scored ``1 - |real - synthetic|``;
- integrity: rows whose link points at no parent row (orphans), empty links
  in a foreign key that is not nullable, and missing or repeated primary keys.

Everything is vectorized: a link is the position of the parent row of every
child row (``-1`` for an empty link or an orphan), found with one index
look-up; aggregates are ``bincount`` sums over those positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulacra.evaluate.fidelity import as_labels, as_number, ks_complement
from simulacra.evaluate.report import Metric

if TYPE_CHECKING:
    from simulacra.metadata import Metadata
    from simulacra.relational.metadata import ForeignKey, MultiTableMetadata

__all__ = ["Link", "integrity_checks", "link", "relationship_metrics"]

MAX_TREND_COLUMNS = 20  # parent columns, and numeric child columns, compared per relationship
MAX_LEVELS = 20  # levels of a parent category column kept; the rarer ones share one level
WORST_PAIRS = 5  # worst trend pairs listed per relationship
PLOT_BINS = 12  # bars of the children-per-parent chart
_TREND_TYPES = ("numerical", "datetime", "categorical", "boolean")


@dataclass
class Link:
    """One foreign key read on one database."""

    positions: np.ndarray  # per child row: the parent row's position; -1 empty or orphan
    empty: np.ndarray  # per child row: some link column is empty
    counts: np.ndarray  # per parent row: how many child rows refer to it

    @property
    def orphans(self) -> int:
        return int(((self.positions < 0) & ~self.empty).sum())


def link(child: pd.DataFrame, parent: pd.DataFrame, fk: ForeignKey) -> Link:
    """Every child row's parent row (the first one, should the parent's key repeat)."""
    cols, pcols = list(fk.columns), list(fk.parent_columns)
    pairs = [_comparable(child[c], parent[p]) for c, p in zip(cols, pcols, strict=True)]
    if len(pairs) == 1:
        keys, wanted = pd.Index(pairs[0][1]), pd.Index(pairs[0][0])
    else:
        keys = pd.MultiIndex.from_arrays([p for _, p in pairs])
        wanted = pd.MultiIndex.from_arrays([c for c, _ in pairs])
    first = ~keys.duplicated()
    found = keys[first].get_indexer(wanted)
    positions = np.where(found >= 0, np.flatnonzero(first)[np.maximum(found, 0)], -1)
    empty = child[cols].isna().any(axis=1).to_numpy()
    positions[empty] = -1
    counts = np.bincount(positions[positions >= 0], minlength=len(parent))
    return Link(positions, empty, counts)


def _comparable(a: pd.Series, b: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Both sides of a key in one dtype: whole numbers, floats or text."""
    numeric = pd.api.types.is_numeric_dtype
    if numeric(a.dtype) and numeric(b.dtype):
        whole = all(pd.api.types.is_integer_dtype(s.dtype) and not s.hasnans for s in (a, b))
        kind = "int64" if whole else "float64"  # int64 keeps keys above 2**53 apart
        return a.astype(kind), b.astype(kind)
    return a.astype("string"), b.astype("string")


# --------------------------------------------------------------- cardinality
def cardinality(real: np.ndarray, synthetic: np.ndarray) -> tuple[float, dict[str, Any]]:
    """The KS complement of children-per-parent counts, their numbers and histogram."""
    score = ks_complement(real.astype("float64"), synthetic.astype("float64"))
    stats = {"real": _count_stats(real), "synthetic": _count_stats(synthetic)}
    return score, {**stats, "histogram": _count_histogram(real, synthetic)}


def _count_stats(counts: np.ndarray) -> dict[str, Any]:
    if not len(counts):
        return {"parents": 0, "children": 0, "mean": None, "max": None, "zero_share": None}
    return {
        "parents": len(counts),
        "children": int(counts.sum()),
        "mean": float(counts.mean()),
        "max": int(counts.max()),
        "zero_share": float((counts == 0).mean()),
    }


def _count_histogram(real: np.ndarray, synthetic: np.ndarray) -> dict[str, Any]:
    """Shares of parents per count (or per run of counts), the last bar open-ended."""
    both = np.concatenate([real, synthetic])
    if not len(both):
        return {"labels": [], "real": [], "synthetic": []}
    highest = int(both.max())
    cap = min(max(int(np.quantile(real if len(real) else both, 0.99)), 1), max(highest, 1))
    width = math.ceil((cap + 1) / PLOT_BINS)  # counts per bar; from cap on, one last bar
    starts = np.arange(0, cap + 1, width)
    labels = [str(s) if width == 1 else f"{s}–{s + width - 1}" for s in starts[:-1]]
    labels.append(f"{starts[-1]}+" if highest > starts[-1] else str(starts[-1]))
    shares = []
    for counts in (real, synthetic):
        bins = np.minimum(counts // width, len(starts) - 1)
        hist = np.bincount(bins, minlength=len(starts))
        shares.append(hist / max(len(counts), 1))
    return {"labels": labels, "real": shares[0], "synthetic": shares[1]}


# -------------------------------------------------------------------- trends
def _parent_columns(meta: Metadata, keys: set[str]) -> list[str]:
    return [n for n, c in meta.columns.items() if c.type in _TREND_TYPES and n not in keys]


def _child_columns(meta: Metadata, keys: set[str]) -> list[str]:
    kinds = ("numerical", "datetime")
    return [n for n, c in meta.columns.items() if c.type in kinds and n not in keys]


def _aggregates(
    child: pd.DataFrame, meta: Metadata, columns: list[str], found: Link, n_parents: int
) -> dict[str, np.ndarray]:
    """Per parent row: its count of children and the mean of each numeric child column."""
    linked = found.positions >= 0
    where = found.positions[linked]
    out = {"count": found.counts.astype("float64")}
    for name in columns:
        col = meta.columns[name]
        values = as_number(child[name], col.format, col.type).to_numpy()[linked]
        ok = ~np.isnan(values)
        sums = np.bincount(where[ok], weights=values[ok], minlength=n_parents)
        seen = np.bincount(where[ok], minlength=n_parents)
        out[f"mean {name}"] = np.where(seen > 0, sums / np.maximum(seen, 1), np.nan)
    return out


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    both = ~np.isnan(x) & ~np.isnan(y)
    if both.sum() < 3:
        return float("nan")
    a, b = x[both] - x[both].mean(), y[both] - y[both].mean()
    scale = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    if not scale > 0 or not math.isfinite(scale):
        return float("nan")
    return float(np.clip((a * b).sum() / scale, -1.0, 1.0))


def _correlation_ratio(codes: np.ndarray, y: np.ndarray) -> float:
    """Eta: the share of ``y``'s spread its groups explain, adjusted for their number."""
    ok = ~np.isnan(y)
    groups, values = codes[ok], y[ok]
    n = len(values)
    sizes = np.bincount(groups)
    k = int((sizes > 0).sum())
    if n - k < 2 or k < 2:
        return float("nan")
    total = float(((values - values.mean()) ** 2).sum())
    if not total > 0:
        return float("nan")
    sums = np.bincount(groups, weights=values)
    filled = sizes > 0
    between = float((sums[filled] ** 2 / sizes[filled]).sum() - values.sum() ** 2 / n)
    explained = 1.0 - (1.0 - between / total) * (n - 1) / (n - k)
    return float(math.sqrt(min(max(explained, 0.0), 1.0)))


def _parent_values(
    real: pd.Series, synthetic: pd.Series, meta: Metadata, name: str
) -> tuple[bool, np.ndarray, np.ndarray]:
    """A parent column on both sides: numbers, or level codes of the real data's levels."""
    col = meta.columns[name]
    if col.type in ("numerical", "datetime"):
        pair = [as_number(s, col.format, col.type).to_numpy() for s in (real, synthetic)]
        return True, pair[0], pair[1]
    labels = [as_labels(s).fillna("(missing)") for s in (real, synthetic)]
    kept = labels[0].value_counts().index[: MAX_LEVELS - 1]
    code_of = {label: i for i, label in enumerate(kept)}
    codes = [
        lab.map(code_of).fillna(len(kept)).to_numpy(dtype="int64") for lab in labels
    ]  # the rest pooled as one last level
    return False, codes[0], codes[1]


def trends(
    fk: ForeignKey,
    meta: MultiTableMetadata,
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    links: tuple[Link, Link],
    notes: list[str],
) -> list[dict[str, Any]]:
    """Every parent column against every child aggregate, real and synthetic, scored."""
    parent_meta, child_meta = meta.tables[fk.parent], meta.tables[fk.table]
    both = [set(real[t].columns) & set(synthetic[t].columns) for t in (fk.parent, fk.table)]
    columns = [c for c in _parent_columns(parent_meta, meta.keys_of(fk.parent)) if c in both[0]]
    children = [c for c in _child_columns(child_meta, meta.keys_of(fk.table)) if c in both[1]]
    if len(columns) > MAX_TREND_COLUMNS or len(children) > MAX_TREND_COLUMNS:
        notes.append(
            f"{fk.name}: inter-table trends read the first {MAX_TREND_COLUMNS} parent and "
            f"numeric child columns (of {len(columns)} and {len(children)})"
        )
        columns, children = columns[:MAX_TREND_COLUMNS], children[:MAX_TREND_COLUMNS]
    sides = []
    for tables, found in zip((real, synthetic), links, strict=True):
        n = len(tables[fk.parent])
        sides.append(_aggregates(tables[fk.table], child_meta, children, found, n))
    out = []
    for name in columns:
        numeric, *values = _parent_values(
            real[fk.parent][name], synthetic[fk.parent][name], parent_meta, name
        )
        measure = _pearson if numeric else _correlation_ratio
        for aggregate in sides[0]:
            r, s = (measure(v, side[aggregate]) for v, side in zip(values, sides, strict=True))
            gap = abs(r - s)
            out.append(
                {
                    "parent_column": name,
                    "child_aggregate": _aggregate_label(fk, aggregate),
                    "measure": "pearson" if numeric else "correlation_ratio",
                    "real": r,
                    "synthetic": s,
                    "score": float(1.0 - gap / 2.0) if numeric else float(1.0 - gap),
                }
            )
    return out


def _aggregate_label(fk: ForeignKey, aggregate: str) -> str:
    if aggregate == "count":
        return f"count of {fk.table} rows"
    return f"mean {fk.table}.{aggregate.removeprefix('mean ')}"


# ------------------------------------------------------------------- section
def relationship_metrics(
    fk: ForeignKey,
    meta: MultiTableMetadata,
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    links: tuple[Link, Link],
    notes: list[str],
) -> tuple[list[Metric], dict[str, Any]]:
    """One relationship's metrics and the data behind its table, chart and worst pairs.

    ``links`` is the foreign key read on the real and on the synthetic tables.
    """
    names = tuple(f"{fk.table}.{c}" for c in fk.columns)
    score, shape = cardinality(links[0].counts, links[1].counts)
    pairs = trends(fk, meta, real, synthetic, links, notes)
    scored = [p for p in pairs if not math.isnan(p["score"])]
    trend = float(np.mean([p["score"] for p in scored])) if scored else float("nan")
    metrics = [
        Metric(
            "cardinality_similarity",
            "cardinality",
            score,
            True,
            "1 - largest gap between the real and synthetic CDFs of children per parent "
            "row (parents with none included)",
            names,
        ),
        Metric(
            "inter_table_trend_similarity",
            "inter_table_trends",
            trend,
            True,
            "mean over parent column × child aggregate (count, means) of 1 - the gap between "
            "real and synthetic correlations (halved for Pearson's, which spans -1 to 1)",
            names,
        ),
    ]
    data = {
        "name": fk.name,
        "table": fk.table,
        "columns": list(fk.columns),
        "parent": fk.parent,
        "parent_columns": list(fk.parent_columns),
        "nullable": fk.nullable,
        "cardinality": score,
        "inter_table_trends": trend,
        "children_per_parent": shape,
        "empty_links": {"real": int(links[0].empty.sum()), "synthetic": int(links[1].empty.sum())},
        "orphans": {"real": links[0].orphans, "synthetic": links[1].orphans},
        "trends": pairs,
        "worst_trends": sorted(scored, key=lambda p: p["score"])[:WORST_PAIRS],
    }
    return metrics, data


def integrity_checks(
    meta: MultiTableMetadata,
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    links: list[tuple[Link, Link]],
) -> tuple[list[Metric], list[dict[str, Any]], float]:
    """Key checks counted on both databases; metrics and the score are the synthetic one's.

    ``links`` holds every foreign key read on both sides, in the metadata's
    order. The score is 1 when every check passes, else the lowest share of a
    table's rows that pass a check.
    """
    checks = []
    for table, key in meta.primary_keys.items():
        if not key:
            continue
        counts = [_key_faults(t[table], key) for t in (real, synthetic)]
        for i, (check, meaning) in enumerate(
            (
                ("primary_key_missing", "rows whose primary key has an empty value"),
                ("primary_key_duplicates", "rows whose primary key repeats an earlier row's"),
            )
        ):
            checks.append(_check(check, meaning, table, key, counts[0][i], counts[1][i], synthetic))
    for fk, pair in zip(meta.foreign_keys, links, strict=True):
        checks.append(
            _check(
                "orphan_rows",
                f"rows whose link to {fk.parent} points at no {fk.parent} row",
                fk.table,
                fk.columns,
                pair[0].orphans,
                pair[1].orphans,
                synthetic,
            )
        )
        if not fk.nullable:
            checks.append(
                _check(
                    "empty_links",
                    f"rows with an empty link to {fk.parent}, which is not nullable",
                    fk.table,
                    fk.columns,
                    int(pair[0].empty.sum()),
                    int(pair[1].empty.sum()),
                    synthetic,
                )
            )
    metrics = [
        Metric(
            c["check"],
            "integrity",
            float(c["synthetic"]),
            False,
            c["meaning"],
            tuple(f"{c['table']}.{n}" for n in c["columns"]),
            high=float("inf"),
        )
        for c in checks
    ]
    shares = [1.0 - c["synthetic"] / c["rows"] for c in checks if c["rows"]]
    score = 1.0 if all(c["passed"] for c in checks) else min(shares, default=0.0)
    return metrics, checks, float(score)


def _key_faults(df: pd.DataFrame, key: list[str]) -> tuple[int, int]:
    empty = df[key].isna().any(axis=1)
    repeated = df.loc[~empty, key].duplicated()
    return int(empty.sum()), int(repeated.sum())


def _check(
    check: str,
    meaning: str,
    table: str,
    columns: Any,
    real: int,
    synth: int,
    synthetic: dict[str, pd.DataFrame],
) -> dict[str, Any]:
    return {
        "check": check,
        "meaning": meaning,
        "table": table,
        "columns": list(columns),
        "real": real,
        "synthetic": synth,
        "rows": len(synthetic[table]),
        "passed": synth == 0,
    }
