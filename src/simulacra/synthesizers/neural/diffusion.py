"""``diffusion``: a tabular denoising diffusion model in the TabDDPM line, one network.

Numbers are normal scores (through each column's empirical CDF) under
Gaussian diffusion with a cosine schedule: at noise level ``t`` in (0, 1] a
score ``z`` becomes ``sqrt(a(t)) z + sqrt(1 - a(t)) e``. Categories (gaps
included, as ``#null`` parts) are under masked, absorbing-state diffusion: at
level ``t`` each cell is replaced by its column's "mask" token with chance
``t``. One residual MLP reads the noisy numbers, the embedded noisy codes
(mask tokens included) and a sinusoidal embedding of ``t``; it predicts the
numbers' velocity ``sqrt(a) e - sqrt(1 - a) z`` (steadier than the noise
when little signal is left) and each category's clean code. Training draws
one ``t`` per row (stratified over the batch); the loss is the velocity's
squared error plus each category's mean cross-entropy on its masked cells.

Sampling starts from pure noise and all-masked cells and walks ``steps``
levels down to 0: numbers by the ancestral (posterior) step from the
predicted clean scores, categories by unmasking each masked cell with chance
``(t - s) / t`` and drawing it from the predicted code. Conditions inpaint:
a category pinned to one code is known from the first step, a set of codes
restricts the draw when the cell is unmasked, and a number's range (or pinned
value) clamps its predicted clean score at every step, so that the noisy
state always stays consistent with the condition.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import special
from torch import nn

from simulacra.conditions import Evidence
from simulacra.synthesizers._marginals import cdf
from simulacra.synthesizers.base import Param
from simulacra.synthesizers.neural._core import NeuralSynthesizer, init_weights, training_params

EMBEDDING = 16  # width of each category's code vectors
TIME_FEATURES = 64  # sinusoidal features of the noise level
MIN_LEVEL = 1e-3  # lowest noise level trained on
CLEAN_LIMIT = 5.0  # predicted clean normal scores are clipped to +-this
COSINE_OFFSET = 0.008


def signal(t: torch.Tensor) -> torch.Tensor:
    """The cosine schedule's ``a(t)``: the share of a number's variance that is still signal."""
    f = torch.cos((t + COSINE_OFFSET) / (1 + COSINE_OFFSET) * math.pi / 2) ** 2
    f0 = math.cos(COSINE_OFFSET / (1 + COSINE_OFFSET) * math.pi / 2) ** 2
    return (f / f0).clamp(1e-5, 1.0)


class Block(nn.Module):
    """A pre-norm residual block, shifted by the noise level's embedding."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.inner = nn.Linear(hidden, 2 * hidden)
        self.time = nn.Linear(hidden, 2 * hidden)
        self.outer = nn.Linear(2 * hidden, hidden)

    def forward(self, h: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        return h + self.outer(F.silu(self.inner(self.norm(h)) + self.time(time)))


class Denoiser(nn.Module):
    """Noisy numbers, noisy codes and ``t`` in; predicted velocity and per-category logits out.

    ``t`` holds one level per row, or a single level that every row shares.
    """

    def __init__(self, numbers: int, cardinalities: list[int], hidden: int, depth: int) -> None:
        super().__init__()
        self.numbers, self.cardinalities = numbers, cardinalities
        width = [k + 1 for k in cardinalities]  # each category's codes and its mask token
        offsets = np.concatenate([[0], np.cumsum(width)[:-1]]).astype(np.int64)
        self.register_buffer("offsets", torch.from_numpy(offsets))
        self.codes = nn.Embedding(max(int(sum(width)), 1), EMBEDDING)
        self.project = nn.Linear(numbers + EMBEDDING * len(cardinalities), hidden)
        self.time = nn.Sequential(
            nn.Linear(TIME_FEATURES, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU()
        )
        self.blocks = nn.ModuleList(Block(hidden) for _ in range(depth))
        self.norm = nn.LayerNorm(hidden)
        self.out = nn.Linear(hidden, numbers + int(sum(cardinalities)))

    def forward(
        self, numbers: torch.Tensor, codes: torch.Tensor, t: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        half = TIME_FEATURES // 2
        freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device) / half)
        angles = 1000.0 * t[:, None] * freqs
        time = self.time(torch.cat([angles.sin(), angles.cos()], dim=1))
        embedded = self.codes(codes + self.offsets).flatten(1)
        h = self.project(torch.cat([numbers, embedded], dim=1)) + time
        for block in self.blocks:
            h = block(h, time)
        out = self.out(F.silu(self.norm(h)))
        logits = list(out[:, self.numbers :].split(self.cardinalities, dim=1))
        return out[:, : self.numbers], logits


class DiffusionSynthesizer(NeuralSynthesizer):
    """Gaussian diffusion for numbers, masked diffusion for categories (TabDDPM's line).

    >>> import numpy as np, pandas as pd, simulacra
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)})
    >>> model = simulacra.create("diffusion", seed=0, epochs=3, steps=10, progress=False)
    >>> model.fit(df).sample(5).shape
    (5, 2)
    """

    name = "diffusion"
    description = "Denoising diffusion: Gaussian for numbers, masked for categories; inpaints."
    numbers = "normal"
    category_cap = 500
    quick_params: ClassVar[dict[str, Any]] = {
        "epochs": 30,
        "batch_size": 256,
        "hidden": 64,
        "depth": 2,
        "steps": 20,
        "progress": False,
    }
    params = (
        *training_params(epochs=300, batch_size=1024, learning_rate=2e-3, patience=30),
        Param("hidden", int, 256, "Width of the denoising network's layers.", low=8),
        Param("depth", int, 3, "Residual blocks in the denoising network.", low=1, high=12),
        Param(
            "steps",
            int,
            25,
            "Denoising steps when sampling (more: slower and closer to the model).",
            low=1,
            high=2000,
        ),
        Param("weight_decay", float, 1e-5, "AdamW's weight decay.", low=0.0, high=1.0),
    )

    # ------------------------------------------------------------- training
    def _build(self, generator: torch.Generator) -> nn.Module:
        cards = [p.cardinality for p in self.codec_.category_parts]
        network = Denoiser(len(self.codec_.number_parts), cards, self.hidden, self.depth)
        init_weights(network, generator)
        with torch.no_grad():
            network.codes.weight.normal_(0.0, 1.0, generator=generator)
        return network

    def _optimizers(self) -> list[torch.optim.Optimizer]:
        return [
            torch.optim.AdamW(
                self.network_.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
            )
        ]

    def _loss(
        self, numbers: torch.Tensor, codes: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        t = self._levels(len(numbers), generator, numbers.device)
        squared, cross, masked = self._errors(numbers, codes, t, generator)
        total = squared.mean(0).sum()
        for j, ce in enumerate(cross):  # each part's cross-entropy on its masked cells
            total = total + (ce * masked[:, j]).sum() / masked[:, j].sum().clamp(min=1)
        return total / max(numbers.shape[1] + codes.shape[1], 1)

    def _levels(self, rows: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        """One noise level per row, stratified over the batch (one shared draw)."""
        u = torch.rand(1, generator=generator, device=device)
        return ((u + torch.arange(rows, device=device) / rows) % 1.0) * (1 - MIN_LEVEL) + MIN_LEVEL

    def _errors(
        self,
        numbers: torch.Tensor,
        codes: torch.Tensor,
        t: torch.Tensor,
        generator: torch.Generator,
    ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """Per row and part: the velocity's squared error ``(rows, numbers)``, each category's
        cross-entropy ``(rows,)`` and which cells were masked ``(rows, categories)``."""
        device = numbers.device
        a = signal(t)[:, None]
        noise = torch.randn(numbers.shape, generator=generator, device=device)
        noisy = a.sqrt() * numbers + (1 - a).sqrt() * noise
        masked = torch.rand(codes.shape, generator=generator, device=device) < t[:, None]
        tokens = torch.where(masked, self.network_.offsets.new_tensor(self._mask_codes()), codes)
        predicted, logits = self.network_(noisy, tokens, t)
        velocity = a.sqrt() * noise - (1 - a).sqrt() * numbers
        cross = [F.cross_entropy(p, codes[:, j], reduction="none") for j, p in enumerate(logits)]
        return (predicted - velocity) ** 2, cross, masked

    def _mask_codes(self) -> list[int]:
        return [p.cardinality for p in self.codec_.category_parts]

    # ------------------------------------------------------------- sampling
    def _generate(
        self, n: int, generator: torch.Generator, evidence: Evidence | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        network = self.network_
        device = network.offsets.device
        allowed, low, high = self._inpainting(evidence, n, device)
        mask = network.offsets.new_tensor(self._mask_codes()).expand(n, -1)
        codes = mask.clone()
        pinned = allowed.sum(-1) == 1 if allowed is not None else None
        if pinned is not None:  # a category with one allowed code is known from the start
            codes = torch.where(pinned, allowed.to(torch.long).argmax(-1), codes)
        numbers = torch.randn(n, network.numbers, generator=generator, device=device)
        levels = torch.linspace(1.0, 0.0, self.steps + 1, device=device)
        for t, s in zip(levels[:-1].tolist(), levels[1:].tolist(), strict=True):
            a_t, a_s = float(signal(torch.tensor(t))), float(signal(torch.tensor(s)))
            # one level for every row: its embedding is computed once and broadcast
            velocity, logits = network(numbers, codes, torch.full((1,), t, device=device))
            clean = math.sqrt(a_t) * numbers - math.sqrt(1 - a_t) * velocity
            clean = clean.clamp(-CLEAN_LIMIT, CLEAN_LIMIT)
            if low is not None:
                clean = torch.maximum(torch.minimum(clean, high), low)
            numbers = self._posterior(numbers, clean, a_t, a_s, s, generator)
            unmask = torch.rand(codes.shape, generator=generator, device=device) < (t - s) / t
            unmask &= codes == mask
            for j, part in enumerate(logits):
                if not unmask[:, j].any():
                    continue
                if allowed is not None:
                    part = part.masked_fill(~allowed[:, j, : part.shape[1]], -torch.inf)
                drawn = torch.multinomial(torch.softmax(part, -1), 1, generator=generator)[:, 0]
                codes[:, j] = torch.where(unmask[:, j], drawn, codes[:, j])
        return numbers, codes

    @staticmethod
    def _posterior(x, clean, a_t: float, a_s: float, s: float, generator) -> torch.Tensor:
        """A draw from ``q(x_s | x_t, x_0 = clean)``; the clean scores themselves at ``s = 0``."""
        if s <= 0.0:
            return clean
        step = a_t / a_s
        beta = 1 - step
        mean = (math.sqrt(a_s) * beta * clean + math.sqrt(step) * (1 - a_s) * x) / (1 - a_t)
        std = math.sqrt(beta * (1 - a_s) / (1 - a_t))
        return mean + std * torch.randn(x.shape, generator=generator, device=x.device)

    def _inpainting(self, evidence: Evidence | None, n: int, device: torch.device):
        """Allowed codes ``(n, parts, widest)`` and clean-score bounds ``(n, numbers)``."""
        if evidence is None:
            return None, None, None
        masks = self._masks(evidence)
        if masks is None:  # _sample_conditional has refused such evidence already
            raise ValueError("diffusion cannot inpaint this evidence")
        allowed = None
        cards = self._mask_codes()
        if masks:
            full = np.arange(max(cards) + 1) < np.asarray(cards)[:, None]
            full = np.repeat(full[None], n, axis=0)
            for j, mask in masks.items():
                full[:, j, : cards[j]] = mask
            allowed = torch.from_numpy(full).to(device)
        low, high = self._score_bounds(evidence)
        if low is not None:
            low, high = (torch.from_numpy(b.astype(np.float32)).to(device) for b in (low, high))
        return allowed, low, high

    def _masks(self, evidence: Evidence) -> dict[int, np.ndarray] | None:
        """Allowed capped codes per conditioned category part (``None``: cannot inpaint)."""
        masks = {}
        for j, part in enumerate(self.codec_.category_parts):
            if part.column not in evidence.allowed:
                continue
            encoder = self.codec_.encoders_[part.column]
            mask = encoder.allowed(np.asarray(evidence.allowed[part.column]))
            if mask is None or not mask.any(axis=1).all():
                return None
            masks[j] = mask
        return masks

    def _score_bounds(self, evidence: Evidence) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Each number part's range as normal scores (infinite where free)."""
        parts = self.codec_.number_parts
        if not any(p.column in evidence.bounds for p in parts):
            return None, None
        low = np.full((evidence.n, len(parts)), -np.inf)
        high = np.full((evidence.n, len(parts)), np.inf)
        for i, part in enumerate(parts):
            if part.column not in evidence.bounds:
                continue
            marginal = self.codec_.encoders_[part.column].marginal_
            for out, bound in zip((low, high), evidence.bounds[part.column], strict=True):
                bound = np.asarray(bound, dtype=np.float64)
                finite = np.isfinite(bound)
                u = np.clip(cdf(marginal, bound[finite]), 1e-6, 1 - 1e-6)
                out[finite, i] = special.ndtri(u)
        return low, high

    def _sample_conditional(
        self, n: int, rng: np.random.Generator, evidence: Evidence
    ) -> pd.DataFrame | None:
        if self._masks(evidence) is None:
            return None
        out = self._draw(n, rng, evidence)
        for name, (low, high) in evidence.bounds.items():  # the grid's rounding, no more
            out[name] = np.clip(out[name].to_numpy(dtype=np.float64), low, high)
        return out
