"""The DP-SGD families: ``dp-vae`` and ``dp-autoregressive``.

Each is a torch family with the :class:`~simulacra.synthesizers.neural._dpsgd.DPSGD`
mixin put first, and with the per-column vectors its network shares across
rows moved into :class:`~simulacra.synthesizers.neural._dpsgd.RowShared`
layers, so that Opacus has a per-row gradient for every trainable tensor.
What a fit reads, how training is made private and what the budget pays for
are the mixin's (see :mod:`simulacra.synthesizers.neural._dpsgd`); this
module holds only what differs from ``vae`` and ``autoregressive``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from scipy import special
from torch import nn

from simulacra.synthesizers._dp import BINS, DELTA, EPSILON
from simulacra.synthesizers.base import Param
from simulacra.synthesizers.neural._codec import QuantileBins
from simulacra.synthesizers.neural._core import init_weights, training_params
from simulacra.synthesizers.neural._dpsgd import (
    DPSGD,
    MAX_GRAD_NORM,
    NOISE_MULTIPLIER,
    PUBLIC_BINS,
    RowShared,
    dp_training_params,
)
from simulacra.synthesizers.neural._onehot import OneHot
from simulacra.synthesizers.neural.autoregressive import AnyOrderNetwork, AutoregressiveSynthesizer
from simulacra.synthesizers.neural.vae import SIGMA_RANGE, VaeNetwork, VaeSynthesizer, _mlp

__all__ = ["DPAutoregressiveSynthesizer", "DPVaeSynthesizer"]

# the budget and DP-SGD's training knobs, shared by both families (early stopping left out)
DPSGD_PARAMS = (
    EPSILON,
    DELTA,
    *dp_training_params(epochs=30, batch_size=500, learning_rate=1e-2),
    MAX_GRAD_NORM,
    NOISE_MULTIPLIER,
)

_SHARED = ("slope", "unknown", "target")  # the autoregressive network's per-column vectors
_TRAINING = {p.name for p in training_params(epochs=1, batch_size=2, learning_rate=1e-3)}


def _smaller(params: tuple[Param, ...], **defaults: Any) -> tuple[Param, ...]:
    """A family's own parameters (not the training ones), some with smaller defaults.

    Under DP-SGD the same noise is spread over every weight, so a smaller
    network than the family's usually learns more from the same budget.
    """
    own = (p for p in params if p.name not in _TRAINING)
    return tuple(dataclasses.replace(p, default=defaults.get(p.name, p.default)) for p in own)


# ------------------------------------------------------------------ dp-vae
class DPVaeNetwork(nn.Module):
    """``vae``'s network with each number slot's noise scale in a :class:`RowShared` layer."""

    encode = VaeNetwork.encode

    def __init__(self, width: int, numbers: int, hidden: int, depth: int, embedding: int) -> None:
        super().__init__()
        self.embedding = embedding
        self.encoder = _mlp(width, hidden, depth)
        self.mu = nn.Linear(hidden, embedding)
        self.logvar = nn.Linear(hidden, embedding)
        self.decoder = nn.Sequential(_mlp(embedding, hidden, depth), nn.Linear(hidden, width))
        self.scale = RowShared(torch.full((numbers,), 0.1))

    @property
    def sigma(self) -> nn.Parameter:
        """Each number slot's noise scale (what ``vae`` samples with)."""
        return self.scale.value


class DPVaeSynthesizer(DPSGD, VaeSynthesizer):
    """``vae`` trained with DP-SGD through Opacus: the fit is (epsilon, delta)-DP.

    The network, loss and sampling are ``vae``'s; the codec is public
    (equal-width modes over each number's public range) and training is
    DP-SGD with Poisson batches, per-row clipping and Gaussian noise, stopped
    before the budget is passed (see :mod:`simulacra.synthesizers.neural._dpsgd`
    for what is read and the limits of the noise's generator). Conditions fall
    back to the shared rejection sampler, as for ``vae``.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(["a", "b"], 400)})
    >>> model = DPVaeSynthesizer(epsilon=5.0, seed=0, epochs=2, hidden=16, progress=False)
    >>> model.fit(df).sample(5).shape
    (5, 2)
    >>> model.privacy_ledger()[-1]["what"].startswith("network training (DP-SGD")
    True
    """

    name = "dp-vae"
    description = "Tabular VAE trained with DP-SGD (Opacus): differential privacy."
    quick_params: ClassVar[dict[str, Any]] = {
        "epsilon": 50.0,
        "epochs": 20,
        "batch_size": 100,
        "learning_rate": 1e-2,
        "hidden": 32,
        "embedding_dim": 16,
        "progress": False,
    }
    params = (
        *DPSGD_PARAMS,
        *_smaller(VaeSynthesizer.params, hidden=64, embedding_dim=16),
    )

    def _build(self, generator: torch.Generator) -> nn.Module:
        layout = OneHot(self.codec_.parts)
        network = DPVaeNetwork(
            layout.width, len(layout.numbers), self.hidden, self.depth, self.embedding_dim
        )
        network.layout = layout  # plain attribute: not a weight, rebuilt from the codec
        return init_weights(network, generator)

    def _loss(
        self, numbers: torch.Tensor, codes: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """``vae``'s loss, with the noise scales taken per row from their layer."""
        network: DPVaeNetwork = self.network_
        layout: OneHot = network.layout
        mu, logvar = network.encode(layout.encode(numbers, codes))
        noise = torch.randn(mu.shape, generator=generator, device=mu.device)
        raw = network.decoder(mu + noise * torch.exp(0.5 * logvar))
        recon = _reconstruction(layout, raw, numbers, codes, network.scale(raw))
        kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp()) / len(mu)
        return self.loss_factor * recon + kl

    def _step(
        self,
        numbers: torch.Tensor,
        codes: torch.Tensor,
        optimizers: list[torch.optim.Optimizer],
        generator: torch.Generator,
    ) -> float:
        loss = super()._step(numbers, codes, optimizers, generator)
        with torch.no_grad():  # vae's clamp, also after a noise-only step
            self.network_.sigma.clamp_(*SIGMA_RANGE)
        return loss


def _reconstruction(
    layout: OneHot,
    raw: torch.Tensor,
    numbers: torch.Tensor,
    codes: torch.Tensor,
    sigma: torch.Tensor,
) -> torch.Tensor:
    """``OneHot.reconstruction`` with ``sigma`` given per row, ``(rows, number slots)``."""
    total = raw.new_zeros(())
    if layout.numbers:
        error = (numbers.float() - torch.tanh(raw[:, layout.numbers])) ** 2
        total = total + (error / (2 * sigma**2) + torch.log(sigma)).sum()
    else:
        total = total + sigma.sum()  # no slots: keeps the (empty) layer in the backward pass
    for j, (start, width) in enumerate(layout.blocks):
        logits = raw[:, start : start + width]
        total = total + F.cross_entropy(logits, codes[:, j], reduction="sum")
    return total / len(raw)


# ------------------------------------------------------------------ dp-autoregressive
class DPAnyOrderNetwork(AnyOrderNetwork):
    """``autoregressive``'s network with its per-column vectors in :class:`RowShared` layers.

    ``slope``, ``unknown`` and ``target`` are the same for every row; here each
    lives in a layer so that Opacus has a per-row gradient for it, and training
    (``known``, ``loss``) reads them per row. Sampling reads them as
    ``autoregressive`` does, through the properties of the same names.
    """

    def __init__(
        self, cardinalities: list[int], positions: list[np.ndarray], hidden: int, depth: int
    ) -> None:
        super().__init__(cardinalities, positions, hidden, depth)
        for name in _SHARED:
            self.add_module(name + "_rows", RowShared(self._parameters.pop(name).detach()))

    slope = property(lambda self: self.slope_rows.value)
    unknown = property(lambda self: self.unknown_rows.value)
    target = property(lambda self: self.target_rows.value)

    def known(self, codes: torch.Tensor) -> torch.Tensor:
        flat = codes + self.offsets
        slope, unknown = self.slope_rows(codes), self.unknown_rows(codes)
        return self.values(flat) + self.position[flat][..., None] * slope - unknown

    def loss(self, codes: torch.Tensor, before: torch.Tensor, targets: list[int]) -> torch.Tensor:
        inputs = torch.einsum("btk,bkh->bth", before, self.known(codes))
        shared = self.unknown_rows(codes).sum(1, keepdim=True) + self.target_rows(codes)[:, targets]
        hidden = self.trunk(inputs + shared)
        total = hidden.new_zeros(())
        for t, j in enumerate(targets):
            total = total + F.cross_entropy(self.head(hidden[:, t], j), codes[:, j])
        return total * (len(self.heads) / len(targets))


class DPAutoregressiveSynthesizer(DPSGD, AutoregressiveSynthesizer):
    """``autoregressive`` trained with DP-SGD through Opacus: the fit is (epsilon, delta)-DP.

    The network, loss, sampling and exact conditioning on any subset of
    columns are ``autoregressive``'s; numbers are cut into ``bins`` equal-width
    bins between their public bounds (one per value for a short whole-number
    range) instead of quantile bins, and each bin's position is the normal
    score of its middle under a uniform spread, not of the rows' shares.
    Training is DP-SGD, stopped before the budget is passed (see
    :mod:`simulacra.synthesizers.neural._dpsgd`).

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(["a", "b"], 400)})
    >>> model = DPAutoregressiveSynthesizer(epsilon=5.0, seed=0, epochs=2, progress=False)
    >>> model.fit(df).sample(5, conditions={"c": "a"})["c"].tolist()
    ['a', 'a', 'a', 'a', 'a']
    """

    name = "dp-autoregressive"
    description = (
        "Any-order autoregressive network trained with DP-SGD (Opacus): differential privacy."
    )
    quick_params: ClassVar[dict[str, Any]] = {
        "epsilon": 50.0,
        "epochs": 20,
        "batch_size": 100,
        "learning_rate": 1e-2,
        "hidden": 32,
        "progress": False,
    }
    params = (
        *DPSGD_PARAMS,
        dataclasses.replace(
            BINS,  # its own default; no cells to add noise to, so no word on noise per cell
            default=PUBLIC_BINS,
            help="Equal-width bins per numeric or date column between its public bounds (a "
            "whole-number column with a short range gets one bin per value).",
        ),
        *_smaller(AutoregressiveSynthesizer.params, hidden=64),
    )

    def _prepare(self, numbers: np.ndarray, codes: np.ndarray) -> None:
        """Each bin's position: the normal score of its middle share under a uniform spread."""
        self.positions_ = []
        for part in self.codec_.parts:
            encoder = self.codec_.encoders_[part.column]
            if not isinstance(encoder, QuantileBins):
                self.positions_.append(np.zeros(0))
                continue
            width = encoder.width  # bins in value order; a "missing" code after them
            position = np.full(part.cardinality, np.nan)
            position[:width] = special.ndtri((np.arange(width) + 0.5) / width)
            self.positions_.append(position)

    def _build(self, generator: torch.Generator) -> nn.Module:
        cards = [p.cardinality for p in self.codec_.parts]
        positions = [np.asarray(p, dtype=np.float64) for p in self.positions_]
        network = DPAnyOrderNetwork(cards, positions, self.hidden, self.depth)
        init_weights(network, generator)
        with torch.no_grad():
            network.values.weight.normal_(0.0, 0.1, generator=generator)
        return network
