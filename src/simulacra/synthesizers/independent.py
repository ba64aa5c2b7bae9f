"""``independent``: every column drawn on its own from its learned marginal."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulacra.processor import EncodedTable
from simulacra.synthesizers._marginals import MARGINALS, columns_from_uniform, fit_marginal
from simulacra.synthesizers.base import Synthesizer


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
    params = (MARGINALS,)

    def _fit(self, encoded: EncodedTable, rng: np.random.Generator) -> None:
        self.marginals_ = [
            fit_marginal(c, encoded.data[c.name].to_numpy(), self.marginals, rng)
            for c in encoded.columns
        ]

    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        u = rng.random((n, len(self.columns_)))
        return columns_from_uniform(self.marginals_, u, [c.name for c in self.columns_])
