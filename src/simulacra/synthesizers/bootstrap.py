"""``bootstrap``: resampled training rows, optionally perturbed (randomization)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulacra.processor import EncodedTable
from simulacra.synthesizers._marginals import fit_discrete, from_uniform
from simulacra.synthesizers.base import Param, Synthesizer


class BootstrapSynthesizer(Synthesizer):
    """Rows drawn with replacement from the training data, then perturbed.

    ``noise`` adds Gaussian noise of that fraction of each numeric column's
    standard deviation; ``swap_rate`` replaces that share of category cells
    with a draw from the column's marginal. With both at zero the output
    holds real rows (ids and PII regenerated): a randomization baseline, not a
    privacy mechanism, and the model file holds the encoded training rows.

    >>> import simulacra
    >>> df = pd.DataFrame({"x": np.arange(50.0), "c": ["a", "b"] * 25})
    >>> out = simulacra.create("bootstrap", seed=0).fit(df).sample(10)
    >>> bool(out["x"].isin(df["x"]).all())
    True
    """

    name = "bootstrap"
    guards_copies = False  # resampling real rows is the point
    description = "Resampled training rows with optional noise and category swaps."
    params = (
        Param(
            "noise",
            float,
            0.0,
            "Gaussian noise added to numeric cells, as a fraction of the column's std.",
            low=0.0,
            high=10.0,
        ),
        Param(
            "swap_rate",
            float,
            0.0,
            "Share of category cells replaced by a draw from the column's marginal.",
            low=0.0,
            high=1.0,
        ),
    )

    def _fit(self, encoded: EncodedTable, rng: np.random.Generator) -> None:
        cont = [c.name for c in encoded.of_kind("continuous")]
        disc = encoded.of_kind("discrete")
        self.continuous_ = (
            encoded.data[cont].to_numpy(dtype="float64").reshape(len(encoded.data), -1)
        )
        self.discrete_ = (
            encoded.data[[c.name for c in disc]]
            .to_numpy(dtype="int64")
            .reshape(len(encoded.data), -1)
        )
        self.std_ = self.continuous_.std(axis=0) if cont else np.zeros(0)
        self.marginals_ = [
            fit_discrete(encoded.data[c.name].to_numpy(), c.cardinality or 1) for c in disc
        ]

    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        rows = rng.integers(0, len(self.continuous_), n)
        cont = self.continuous_[rows]
        if self.noise > 0 and cont.size:
            cont = cont + rng.standard_normal(cont.shape) * (self.noise * self.std_)
        disc = self.discrete_[rows]
        if self.swap_rate > 0:
            for j, marginal in enumerate(self.marginals_):
                swap = rng.random(n) < self.swap_rate
                disc[swap, j] = from_uniform(marginal, rng.random(int(swap.sum())))
        cont_names = [c.name for c in self.columns_ if c.kind == "continuous"]
        disc_names = [c.name for c in self.columns_ if c.kind == "discrete"]
        out = {name: cont[:, j] for j, name in enumerate(cont_names)}
        out.update({name: disc[:, j] for j, name in enumerate(disc_names)})
        return pd.DataFrame(out)[[c.name for c in self.columns_]]
