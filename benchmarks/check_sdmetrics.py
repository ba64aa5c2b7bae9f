"""Cross-check simulacra's fidelity scores against SDMetrics on the same data.

SDMetrics pins pandas < 3, so this runs in the peers' environment:

    /tmp/bench-venv/bin/python benchmarks/check_sdmetrics.py

It prints, per column and per pair, both scores and the largest gap.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import simulacra


def _columns(real: pd.DataFrame, synth: pd.DataFrame, meta: simulacra.Metadata) -> list[dict]:
    """Each learned column of both tables as SDMetrics reads it: numbers, or labels."""
    out = []
    for df in (real, synth):
        cols = {}
        for name, col in meta.columns.items():
            if col.type == "numerical":
                cols[name] = df[name].astype(float)
            elif col.type == "datetime":
                cols[name] = pd.to_numeric(pd.to_datetime(df[name], format=col.format))
            elif col.modelled:
                cols[name] = df[name].astype(object).where(df[name].notna(), None)
        out.append(cols)
    return out


def _theirs(metric, real: dict, synth: dict, numeric: set[str]) -> float | None:
    from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity
    from sdmetrics.single_column import KSComplement, TVComplement

    cols = list(metric.columns)
    pair = [pd.DataFrame({c: side[c] for c in cols}) for side in (real, synth)]
    if metric.name == "ks_complement":
        return KSComplement.compute(real[cols[0]], synth[cols[0]])
    if metric.name == "tv_complement":
        return TVComplement.compute(real[cols[0]], synth[cols[0]])
    if metric.name == "correlation_similarity":
        return CorrelationSimilarity.compute(*pair)
    if metric.name == "contingency_similarity":
        continuous = [c for c in cols if c in numeric]
        return ContingencySimilarity.compute(*pair, continuous_column_names=continuous)
    return None


def main() -> None:
    warnings.simplefilter("ignore")
    real = simulacra.datasets.load_customers()
    meta = simulacra.Metadata.detect(real)
    numeric = {n for n, c in meta.columns.items() if c.type in ("numerical", "datetime")}
    gaps = []
    for family in ("independent", "copula", "bootstrap"):
        synth = simulacra.create(family, seed=0).fit(real).sample(2000)
        ours = simulacra.evaluate(real, synth, metadata=meta)
        real_cols, synth_cols = _columns(real, synth, meta)
        for metric in ours.metrics:
            theirs = _theirs(metric, real_cols, synth_cols, numeric)
            if theirs is not None:
                gaps.append((abs(metric.value - theirs), family, metric, theirs))
    gaps.sort(key=lambda g: -g[0])
    for gap, family, metric, theirs in gaps[:5]:
        print(
            f"gap {gap:.4f}  {family} {metric.name} {metric.columns}  "
            f"simulacra {metric.value:.4f}  sdmetrics {theirs:.4f}"
        )
    print(
        f"compared {len(gaps)} scores; largest gap {gaps[0][0]:.5f}; "
        f"mean gap {np.mean([g[0] for g in gaps]):.6f}"
    )


if __name__ == "__main__":
    main()
