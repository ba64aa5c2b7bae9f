"""``autoregressive``: one network that draws a row column by column, in any order.

Every column is a category (numbers through quantile bins with frequent values
as bins of their own). Column ``k``'s value enters the network as a learned
vector ``G_k[x_k]``; a column not yet drawn enters as its own "unknown" vector
``u_k``. The prediction of column ``j`` reads the sum of what is known before
it, a vector naming ``j``, and a shared multilayer perceptron, and ends in
``j``'s own softmax head.

Training draws, for each row, either the table's column order or a random one,
and scores every column given the columns before it in that order, all in one
pass. So one model samples freely in the table's order, and conditionally on
any subset of columns by drawing those first (exactly: a masked softmax for
categories and bins, then the draw within the allowed part of a bin).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from scipy import special
from torch import nn

from simulacra.conditions import Evidence
from simulacra.synthesizers.base import Param
from simulacra.synthesizers.neural._codec import QuantileBins
from simulacra.synthesizers.neural._core import NeuralSynthesizer, init_weights, training_params

MAX_TARGETS = 16  # columns scored per batch (a random subset on wide tables: same expectation)


ROWS_PER_BIN = 4  # a small table's numbers get one bin per this many rows at most
MIN_BINS = 10


class AnyOrderNetwork(nn.Module):
    """Per-column value vectors, a shared trunk, and one softmax head per column.

    A binned number also has each bin's position (its normal score): the
    position scales a learned vector on the way in, and a Gaussian bump over
    the positions, centred and widened by the network, adds to the bins'
    logits on the way out, so that neighbouring bins share what they learn.
    """

    def __init__(
        self, cardinalities: list[int], positions: list[np.ndarray], hidden: int, depth: int
    ) -> None:
        super().__init__()
        self.cardinalities = cardinalities
        self.numeric = [len(p) > 0 for p in positions]
        self.bins = [int(np.isfinite(p).sum()) for p in positions]  # a "missing" code is NaN
        columns = len(cardinalities)
        offsets = np.concatenate([[0], np.cumsum(cardinalities)[:-1]]).astype(np.int64)
        flat = np.concatenate(
            [
                np.nan_to_num(p) if len(p) else np.zeros(k)
                for p, k in zip(positions, cardinalities, strict=True)
            ]
        )
        self.register_buffer("offsets", torch.from_numpy(offsets))
        self.register_buffer("position", torch.from_numpy(flat.astype(np.float32)))
        self.values = nn.Embedding(int(sum(cardinalities)), hidden)
        self.slope = nn.Parameter(torch.zeros(columns, hidden))
        self.unknown = nn.Parameter(torch.zeros(columns, hidden))
        self.target = nn.Parameter(torch.zeros(columns, hidden))
        self.trunk = nn.Sequential(
            *[m for _ in range(depth) for m in (nn.ReLU(), nn.Linear(hidden, hidden))], nn.ReLU()
        )
        self.heads = nn.ModuleList(
            nn.Linear(hidden, k + 2 * numeric)
            for k, numeric in zip(cardinalities, self.numeric, strict=True)
        )

    def known(self, codes: torch.Tensor) -> torch.Tensor:
        """``G_k[x_k] - u_k`` for every row and column: what knowing ``x_k`` adds."""
        flat = codes + self.offsets
        return self.values(flat) + self.position[flat][..., None] * self.slope - self.unknown

    def known_one(self, code: torch.Tensor, column: int) -> torch.Tensor:
        """What knowing column ``column``'s value adds, for one column's codes."""
        flat = code + self.offsets[column]
        slope = self.position[flat][:, None] * self.slope[column]
        return self.values(flat) + slope - self.unknown[column]

    def head(self, hidden: torch.Tensor, column: int) -> torch.Tensor:
        out = self.heads[column](hidden)
        if not self.numeric[column]:
            return out
        k, bins, start = self.cardinalities[column], self.bins[column], int(self.offsets[column])
        position = self.position[start : start + bins]
        centre, log_width = out[:, k : k + 1], out[:, k + 1 :].clamp(-4.0, 2.0)
        bump = 0.5 * ((position - centre) / log_width.exp()) ** 2
        return torch.cat([out[:, :bins] - bump, out[:, bins:k]], dim=1)  # no bump on "missing"

    def loss(self, codes: torch.Tensor, before: torch.Tensor, targets: list[int]) -> torch.Tensor:
        """Summed cross-entropy of the ``targets`` columns (mean over rows), scaled to all columns.

        ``before[b, t, k]`` says whether column ``k`` comes before target ``targets[t]`` in
        row ``b``'s order.
        """
        inputs = torch.einsum("btk,bkh->bth", before, self.known(codes))
        hidden = self.trunk(inputs + self.unknown.sum(0) + self.target[targets])
        total = hidden.new_zeros(())
        for t, j in enumerate(targets):
            total = total + F.cross_entropy(self.head(hidden[:, t], j), codes[:, j])
        return total * (len(self.heads) / len(targets))

    def logits(self, state: torch.Tensor, column: int) -> torch.Tensor:
        """Column ``column``'s logits given ``state``, the sum of known columns' vectors."""
        hidden = self.trunk(state + self.unknown.sum(0) + self.target[column])
        return self.head(hidden, column)


class AutoregressiveSynthesizer(NeuralSynthesizer):
    """Any-order autoregressive network over binned columns (TabularARGN's line).

    >>> import numpy as np, pandas as pd, simulacra
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)})
    >>> model = simulacra.create("autoregressive", seed=0, epochs=3, progress=False)
    >>> model.fit(df).sample(5).shape
    (5, 2)
    """

    name = "autoregressive"
    description = "Any-order autoregressive network: column by column, conditions on any subset."
    numbers = "bins"
    category_cap = 1000
    fold_nulls = True
    random_order_share: ClassVar[float] = 0.25  # training rows scored in a random column order
    quick_params: ClassVar[dict[str, Any]] = {
        "epochs": 20,
        "batch_size": 100,
        "hidden": 32,
        "progress": False,
    }
    params = (
        *training_params(epochs=200, batch_size=512, learning_rate=2e-3, patience=8),
        Param("hidden", int, 128, "Width of the network's vectors and layers.", low=8),
        Param("depth", int, 2, "Hidden layers in the shared trunk.", low=1, high=8),
        Param(
            "bins",
            int,
            160,
            "Quantile bins per numeric or date column at most (values many rows share are "
            f"bins of their own; a table gets no more than one per {ROWS_PER_BIN} rows); a "
            "value is drawn uniformly within its bin.",
            low=2,
        ),
    )

    def _number_bins(self, rows: int) -> int:
        """``bins``, fewer for a small table: a bin of a few rows would be learned from too
        few examples and would pin its draws near them."""
        return min(self.bins, max(MIN_BINS, rows // ROWS_PER_BIN))

    def _prepare(self, numbers: np.ndarray, codes: np.ndarray) -> None:
        """Each bin's position: the normal score of its middle share, bins in value order."""
        self.positions_ = []
        for j, part in enumerate(self.codec_.parts):
            encoder = self.codec_.encoders_[part.column]
            if not isinstance(encoder, QuantileBins):
                self.positions_.append(np.zeros(0))
                continue
            low, high = encoder.bounds()
            counts = np.bincount(codes[:, j], minlength=part.cardinality)[: len(low)]
            share = counts / max(counts.sum(), 1)
            order = np.lexsort((high, low))
            middle = np.cumsum(share[order]) - share[order] / 2
            position = np.full(part.cardinality, np.nan)  # a "missing" code has no position
            position[order] = special.ndtri(np.clip(middle, 1e-4, 1 - 1e-4))
            self.positions_.append(position)

    def _build(self, generator: torch.Generator) -> nn.Module:
        cards = [p.cardinality for p in self.codec_.parts]
        positions = [np.asarray(p, dtype=np.float64) for p in self.positions_]
        network = AnyOrderNetwork(cards, positions, self.hidden, self.depth)
        init_weights(network, generator)
        with torch.no_grad():
            network.values.weight.normal_(0.0, 0.1, generator=generator)
        return network

    def _loss(
        self, numbers: torch.Tensor, codes: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        rows, columns = codes.shape
        keys = torch.rand(rows, columns, generator=generator, device=codes.device)
        in_order = torch.rand(rows, 1, generator=generator, device=codes.device)
        natural = torch.arange(columns, device=codes.device, dtype=keys.dtype) / columns
        keys = torch.where(in_order < self.random_order_share, keys, natural.expand(rows, -1))
        targets = torch.randperm(columns, generator=generator, device=codes.device)
        targets = targets[:MAX_TARGETS].sort().values
        before = (keys[:, None, :] < keys[:, targets, None]).to(torch.float32)
        return self.network_.loss(codes, before, targets.tolist())

    def _generate(
        self, n: int, generator: torch.Generator, evidence: Evidence | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        network = self.network_
        device = network.unknown.device
        masks = self._masks(evidence) if evidence is not None else {}
        columns = len(network.cardinalities)
        order = [j for j in range(columns) if j in masks] + [
            j for j in range(columns) if j not in masks
        ]
        codes = torch.zeros(n, columns, dtype=torch.long, device=device)
        state = torch.zeros(n, network.unknown.shape[1], device=device)
        for j in order:
            logits = network.logits(state, j)
            if j in masks:
                allowed = torch.from_numpy(np.ascontiguousarray(masks[j])).to(device)
                logits = logits.masked_fill(~allowed, -torch.inf)
            drawn = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)[:, 0]
            codes[:, j] = drawn
            state = state + network.known_one(drawn, j)
        return torch.zeros(n, 0, device=device), codes

    def _masks(self, evidence: Evidence) -> dict[int, np.ndarray] | None:
        """Allowed codes per conditioned column, by part index (``None``: cannot condition)."""
        codec, masks = self.codec_, {}
        for j, part in enumerate(codec.parts):
            name, encoder = part.column, codec.encoders_[part.column]
            value = None
            if name in evidence.allowed:
                value = encoder.allowed(np.asarray(evidence.allowed[name]))
                if value is None:  # a condition on some of a pooled category's levels
                    return None
            elif name in evidence.bounds:
                low, high = evidence.bounds[name]
                value = encoder.allowed(np.asarray(low), np.asarray(high))
            gap = evidence.allowed.get(codec.folded_.get(name, ""))
            if value is None and gap is None:
                continue
            if value is None:
                value = np.ones((evidence.n, encoder.width), dtype=bool)
            if name in codec.folded_:
                missing = np.ones(evidence.n, dtype=bool) if gap is None else gap[:, 1]
                value = value & (True if gap is None else gap[:, :1])
                value = np.concatenate([value, missing[:, None]], axis=1)
            if not value.any(axis=1).all():
                return None
            masks[j] = value
        return masks

    def _sample_conditional(self, n: int, rng: np.random.Generator, evidence: Evidence):
        if self._masks(evidence) is None:
            return None
        return self._draw(n, rng, evidence)
