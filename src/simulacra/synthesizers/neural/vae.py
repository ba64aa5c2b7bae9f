"""``vae``: a tabular variational autoencoder in TVAE's line (Xu et al., 2019).

A row is its flat one-hot form (mode-specific normalisation for numbers, one
block per category, see ``_onehot``). An encoder maps it to the mean and log
variance of a Gaussian code; a decoder maps a code back to the row's slots,
with one learned noise scale per number slot. The loss is the reconstruction
(a Gaussian likelihood for numbers, cross-entropy for categories) weighted by
``loss_factor``, plus the KL divergence of the code from ``N(0, I)``.

Sampling draws codes from ``N(0, I)``, decodes them, adds each number slot's
learned noise to its mean (as TVAE does) and draws every category from its
softmax. Conditions fall back to the shared rejection sampler.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from simulacra.conditions import Evidence
from simulacra.synthesizers.base import Param
from simulacra.synthesizers.neural._core import NeuralSynthesizer, init_weights, training_params
from simulacra.synthesizers.neural._onehot import OneHot

SIGMA_RANGE = (0.01, 1.0)  # TVAE clamps each number slot's noise scale to this range


def _mlp(width_in: int, hidden: int, depth: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width_in, hidden), nn.ReLU()]
        width_in = hidden
    return nn.Sequential(*layers)


class VaeNetwork(nn.Module):
    """Encoder to ``(mu, logvar)``, decoder to raw slots, and each number slot's noise scale."""

    def __init__(self, width: int, numbers: int, hidden: int, depth: int, embedding: int) -> None:
        super().__init__()
        self.embedding = embedding
        self.encoder = _mlp(width, hidden, depth)
        self.mu = nn.Linear(hidden, embedding)
        self.logvar = nn.Linear(hidden, embedding)
        self.decoder = nn.Sequential(_mlp(embedding, hidden, depth), nn.Linear(hidden, width))
        self.sigma = nn.Parameter(torch.full((numbers,), 0.1))

    def encode(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(rows)
        return self.mu(hidden), self.logvar(hidden)


class VaeSynthesizer(NeuralSynthesizer):
    """Tabular variational autoencoder with mode-specific normalisation (TVAE's line).

    >>> import numpy as np, pandas as pd, simulacra
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)})
    >>> model = simulacra.create("vae", seed=0, epochs=3, progress=False)
    >>> model.fit(df).sample(5).shape
    (5, 2)
    """

    name = "vae"
    description = "Tabular variational autoencoder (TVAE's line): mode-normalised numbers."
    numbers = "modes"
    category_cap = 100
    quick_params: ClassVar[dict[str, Any]] = {
        "epochs": 20,
        "batch_size": 100,
        "learning_rate": 3e-3,
        "hidden": 32,
        "embedding_dim": 16,
        "progress": False,
    }
    params = (
        *training_params(epochs=300, batch_size=500, learning_rate=1e-3),
        Param("embedding_dim", int, 64, "Size of the latent code.", low=1),
        Param("hidden", int, 128, "Width of the encoder's and decoder's hidden layers.", low=4),
        Param("depth", int, 2, "Hidden layers in the encoder and in the decoder.", low=1, high=8),
        Param(
            "loss_factor",
            float,
            3.0,
            "Weight of the reconstruction loss against the KL term (TVAE's default: 2).",
            low=0.0,
        ),
        Param("weight_decay", float, 1e-5, "Adam's L2 penalty on the weights.", low=0.0),
    )

    def _build(self, generator: torch.Generator) -> nn.Module:
        layout = OneHot(self.codec_.parts)
        network = VaeNetwork(
            layout.width, len(layout.numbers), self.hidden, self.depth, self.embedding_dim
        )
        network.layout = layout  # plain attribute: not a weight, rebuilt from the codec
        return init_weights(network, generator)

    def _optimizers(self) -> list[torch.optim.Optimizer]:
        return [
            torch.optim.Adam(
                self.network_.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
            )
        ]

    def _loss(
        self, numbers: torch.Tensor, codes: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        network: VaeNetwork = self.network_
        layout: OneHot = network.layout
        mu, logvar = network.encode(layout.encode(numbers, codes))
        noise = torch.randn(mu.shape, generator=generator, device=mu.device)
        z = mu + noise * torch.exp(0.5 * logvar)
        raw = network.decoder(z)
        recon = layout.reconstruction(raw, numbers, codes, network.sigma)
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
        with torch.no_grad():
            self.network_.sigma.clamp_(*SIGMA_RANGE)
        return loss

    def _generate(
        self, n: int, generator: torch.Generator, evidence: Evidence | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        network: VaeNetwork = self.network_
        device = network.sigma.device
        z = torch.randn(n, network.embedding, generator=generator, device=device)
        return network.layout.draw(network.decoder(z), generator, network.sigma)
