"""``independent``: every column drawn on its own from its learned marginal."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulacra.processor import EncodedTable
from simulacra.synthesizers._marginals import fit_continuous, fit_discrete, from_uniform
from simulacra.synthesizers.base import Param, Synthesizer


class IndependentSynthesizer(Synthesizer):
    """Per-column marginals and nothing else: the baseline every other family must beat.

    Column shapes come back; relationships between columns do not. Useful as a
    privacy-safe floor and to measure what a joint model adds.

    >>> import simulacra
    >>> df = pd.DataFrame({"x": np.arange(100.0), "c": ["a", "b"] * 50})
    >>> out = simulacra.create("independent", seed=1).fit(df).sample(5)
    >>> out.shape
    (5, 2)
    """

    name = "independent"
    description = "Each column drawn on its own from its learned marginal."
    params = (
        Param(
            "marginals",
            str,
            "empirical",
            "How numeric columns are modelled: 'empirical' quantiles or the best 'parametric' "
            "distribution.",
            choices=("empirical", "parametric"),
        ),
    )

    def _fit(self, encoded: EncodedTable, rng: np.random.Generator) -> None:
        self.marginals_ = [
            fit_discrete(encoded.data[c.name].to_numpy(), c.cardinality or 1)
            if c.kind == "discrete"
            else fit_continuous(encoded.data[c.name].to_numpy(), self.marginals, rng)
            for c in encoded.columns
        ]

    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        u = rng.random((n, len(self.columns_)))
        return pd.DataFrame(
            {
                c.name: from_uniform(m, u[:, j])
                for j, (c, m) in enumerate(zip(self.columns_, self.marginals_, strict=True))
            }
        )
