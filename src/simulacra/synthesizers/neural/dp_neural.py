"""The DP-SGD families: ``dp-vae``, ``dp-autoregressive``, ``dp-diffusion`` and ``dp-gan``.

Each is a torch family with the :class:`~simulacra.synthesizers.neural._dpsgd.DPSGD`
mixin put first, changed where a row's gradient would not be its own: the
per-column vectors ``vae`` and ``autoregressive`` share across rows move into
:class:`~simulacra.synthesizers.neural._dpsgd.RowShared` layers, ``diffusion``'s
loss becomes a mean of per-row losses, and ``gan`` trains only its critic with
DP-SGD, on single rows. What a fit reads, how training is made private and
what the budget pays for are the mixin's (see
:mod:`simulacra.synthesizers.neural._dpsgd`); this module holds only what
differs from the non-private families.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from scipy import special
from torch import nn
from torch.func import functional_call, grad, vmap

from simulacra.processor import EncodedTable
from simulacra.synthesizers._dp import BINS, DELTA, EPSILON
from simulacra.synthesizers.base import Param
from simulacra.synthesizers.neural._codec import QuantileBins
from simulacra.synthesizers.neural._core import init_weights, torch_generator, training_params
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
from simulacra.synthesizers.neural.diffusion import MIN_LEVEL, DiffusionSynthesizer
from simulacra.synthesizers.neural.gan import PENALTY, GanNetwork, GanSynthesizer
from simulacra.synthesizers.neural.vae import SIGMA_RANGE, VaeNetwork, VaeSynthesizer, _mlp

__all__ = [
    "DPAutoregressiveSynthesizer",
    "DPDiffusionSynthesizer",
    "DPGanSynthesizer",
    "DPVaeSynthesizer",
]

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
MASKED_SHARE = (1 + MIN_LEVEL) / 2  # dp-diffusion: the expected share of masked cells
CALIBRATION_ROWS = 10_000  # dp-gan: generated rows that set the sampling shares


def _defaults(params: tuple[Param, ...], **defaults: Any) -> tuple[Param, ...]:
    """``params`` with some defaults replaced."""
    return tuple(dataclasses.replace(p, default=defaults.get(p.name, p.default)) for p in params)


def _smaller(
    params: tuple[Param, ...], drop: tuple[str, ...] = (), **defaults: Any
) -> tuple[Param, ...]:
    """A family's own parameters (not the training ones, nor ``drop``), some with smaller defaults.

    Under DP-SGD the same noise is spread over every weight, so a smaller
    network than the family's usually learns more from the same budget.
    """
    own = tuple(p for p in params if p.name not in _TRAINING and p.name not in drop)
    return _defaults(own, **defaults)


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
        *_smaller(VaeSynthesizer.params, hidden=64, embedding_dim=16, loss_factor=2.0),
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
    random_order_share: ClassVar[float] = 0.5  # as its DP tests' spreads were measured
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
        *_smaller(AutoregressiveSynthesizer.params, drop=("bins",), hidden=64),
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


# ------------------------------------------------------------------ dp-diffusion
class DPDiffusionSynthesizer(DPSGD, DiffusionSynthesizer):
    """``diffusion`` trained with DP-SGD through Opacus: the fit is (epsilon, delta)-DP.

    The denoiser, sampling and inpainting are ``diffusion``'s. What changes
    makes each row's gradient its own: a number's normal score is that of its
    place in its public range, not its rank among the rows (see
    :class:`~simulacra.synthesizers.neural._dpsgd.PublicScores`); each row
    draws its own noise level (``diffusion`` spreads one draw over the batch,
    which ties a row's level to the batch's size); and a category's
    cross-entropy on its masked cells is divided by the expected share of
    masked cells, not by the batch's count of them. The loss is then the mean
    of per-row losses, and training is DP-SGD, stopped before the budget is
    passed (see :mod:`simulacra.synthesizers.neural._dpsgd`).

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(["a", "b"], 400)})
    >>> model = DPDiffusionSynthesizer(epsilon=5.0, seed=0, epochs=2, steps=5, progress=False)
    >>> model.fit(df).sample(5, conditions={"c": "a"})["c"].tolist()
    ['a', 'a', 'a', 'a', 'a']
    """

    name = "dp-diffusion"
    description = (
        "Denoising diffusion trained with DP-SGD (Opacus): differential privacy; inpaints."
    )
    quick_params: ClassVar[dict[str, Any]] = {
        "epsilon": 50.0,
        "epochs": 20,
        "batch_size": 200,
        "learning_rate": 1e-2,
        "max_grad_norm": 5.0,  # rows' gradients are 1 to 3 long: clipping at 1 drops rare codes
        "hidden": 32,
        "depth": 1,
        "steps": 10,
        "progress": False,
    }
    params = (*DPSGD_PARAMS, *_smaller(DiffusionSynthesizer.params, hidden=64, depth=2))

    def _levels(self, rows: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        """One noise level per row, each drawn on its own."""
        return torch.rand(rows, generator=generator, device=device) * (1 - MIN_LEVEL) + MIN_LEVEL

    def _loss(
        self, numbers: torch.Tensor, codes: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """``diffusion``'s loss as a mean over rows of each row's own loss."""
        t = self._levels(len(numbers), generator, numbers.device)
        squared, cross, masked = self._errors(numbers, codes, t, generator)
        per_row = squared.sum(1)
        for j, ce in enumerate(cross):
            per_row = per_row + ce * masked[:, j] / MASKED_SHARE
        return per_row.mean() / max(numbers.shape[1] + codes.shape[1], 1)


# ------------------------------------------------------------------ dp-gan
class DPGanSynthesizer(DPSGD, GanSynthesizer):
    """``gan`` with its critic trained by DP-SGD through Opacus: the fit is (epsilon, delta)-DP.

    Only the critic reads rows, so only its gradients are clipped per row and
    noised (Opacus's ``DPOptimizer``, accounted as for every DP-SGD family);
    the generator learns from the critic's scores of generated rows alone,
    which is post-processing (as in DPGAN and DP-CTGAN). The critic's loss is
    ``gan``'s, a Wasserstein estimate with a gradient penalty, and so that
    each row's gradient is its own:

    - the critic judges single rows (PacGAN's packs put several rows in one
      gradient), so row ``i``'s term involves its real row, one generated
      partner made with the same condition, and their mix for the penalty;
    - the penalty is the gradient of the critic's input gradient, a second
      backward pass that Opacus's per-row hooks do not see, so each row's
      gradient comes from ``torch.func`` (``vmap`` of ``grad`` over the rows,
      penalty included), checked against the batch loss's gradient in the
      tests, and is handed to the ``DPOptimizer`` to clip and noise;
    - the generator normalises each row on its own (a layer norm where
      ``gan`` has a batch norm, whose statistics would let one real row's
      condition move every generated partner in its batch);
    - no category frequencies are read for free. ``gan`` learns the
      categories' shares from the rows (its conditions in training and when
      sampling) and redraws each batch by them, which mixes rows. Here each
      conditioned column's category counts are released once with discrete
      Laplace noise (``count_share`` of what the metadata leaves of the
      budget; one row moves one count per column), and the shares come from
      them: the generator trains on conditions drawn by their
      log-frequencies, as in ``gan``. Each real row, taken once, offers its
      own category of a column chosen uniformly (a function of that row
      alone, inside its clipped gradient).

    Sampling asks each row for a category of one column, as ``gan`` does, by
    shares calibrated after training so that every conditioned column comes
    out in its released shares (:meth:`_calibrated_shares`; post-processing).
    Conditions on one discrete column are native, as in ``gan``.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(["a", "b"], 400)})
    >>> model = DPGanSynthesizer(epsilon=5.0, seed=0, epochs=2, hidden=16, progress=False)
    >>> model.fit(df).sample(5, conditions={"c": "a"})["c"].tolist()
    ['a', 'a', 'a', 'a', 'a']
    >>> counts, critic = (s["what"] for s in model.privacy_ledger()[-2:])
    >>> counts, critic.startswith("critic training (DP-SGD")
    ('the category counts of the conditioned columns', True)
    """

    name = "dp-gan"
    description = "Conditional tabular GAN with a DP-SGD critic (Opacus): differential privacy."
    pac: ClassVar[int] = 1  # no pac parameter: a pack would put rows together in one gradient
    generator_norm: ClassVar[type[nn.Module]] = nn.LayerNorm
    trained_part = "critic"
    quick_params: ClassVar[dict[str, Any]] = {
        "epsilon": 50.0,
        "epochs": 40,
        "batch_size": 100,
        "learning_rate": 2e-3,
        "hidden": 32,
        "embedding_dim": 16,
        "progress": False,
    }
    params = (
        *_defaults(DPSGD_PARAMS, learning_rate=2e-3),  # gan's quick rate: GANs need small steps
        Param(
            "count_share",
            float,
            0.1,
            "Share of the budget left after the metadata that releases the category counts the "
            "generator is conditioned on (the rest trains the critic).",
            low=0.01,
            high=0.5,
        ),
        # the last weights, as bench_dp.py measured it (an average would be post-processing)
        *_smaller(GanSynthesizer.params, drop=("pac",), hidden=64, embedding_dim=32, average=0.0),
    )

    def _private_part(
        self, optimizers: list[torch.optim.Optimizer]
    ) -> tuple[nn.Module | None, int]:
        """The critic's optimizer (``gan``'s second); its per-row gradients are written here."""
        return None, 1

    # ------------------------------------------------------------- conditions
    def _prepare(self, numbers: np.ndarray, codes: np.ndarray) -> None:
        """The conditioned categories' shares, from counts released with discrete Laplace noise."""
        from simulacra.privacy import mechanisms

        parts, cards = self._discrete(), [p.cardinality for p in self.codec_.category_parts]
        blocks = []
        if parts:
            counts = np.concatenate([np.bincount(codes[:, j], minlength=cards[j]) for j in parts])
            epsilon = self.count_share * self.fit_budget.remaining_epsilon
            what = "the category counts of the conditioned columns"
            noisy = mechanisms.laplace_counts(counts, len(parts), epsilon, self.fit_budget, what)
            cuts = np.cumsum([cards[j] for j in parts])[:-1]
            blocks = np.split(np.maximum(noisy, 0).astype(np.float64), cuts)
        self._keep_shares([b if b.sum() > 0 else np.ones(len(b)) for b in blocks])

    def _batch(
        self, numbers: torch.Tensor, codes: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, ...]:
        """Each real row once, with its own category of a column chosen uniformly, and noise."""
        device, rows = codes.device, len(codes)
        parts, _ = self._cond_layout()
        block = torch.randint(max(len(parts), 1), (rows,), generator=generator, device=device)
        code = codes[:, parts].gather(1, block[:, None])[:, 0] if parts else torch.zeros_like(block)
        real = self.network_.layout.encode(numbers, codes)
        noise = torch.randn(rows, self.embedding_dim, generator=generator, device=device)
        return real, block, code, noise

    def _generator_conditions(
        self, block: torch.Tensor, code: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Conditions by the released log-frequencies, as many as a batch's expected (public)
        size, drawn apart from the critic's (which came from real rows)."""
        size = min(self.batch_size, self.noisy_rows_)
        return self._free_conditions(size, generator, block.device, self.cond_log_share_)

    def _free_conditions(
        self,
        n: int,
        generator: torch.Generator,
        device: torch.device,
        shares: np.ndarray | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``gan``'s, by the calibrated sampling shares unless told otherwise."""
        shares = self.sample_share_ if shares is None else shares
        return super()._free_conditions(n, generator, device, shares)

    def _fit(self, encoded: EncodedTable, rng: np.random.Generator) -> None:
        super()._fit(encoded, rng)
        device = torch.device(self.device_)
        self.sample_share_ = self._calibrated_shares(torch_generator(rng, device), device)

    def _calibrated_shares(self, generator: torch.Generator, device: torch.device) -> np.ndarray:
        """Sampling shares with which each conditioned column comes out in its released shares.

        A row asks for one of the ``k`` conditioned columns, so a column's
        share in the output mixes the asked share (on ``1/k`` of the rows) and
        the generator's own share on the others, which a GAN pulls towards the
        common categories (a column's gaps, say). The asked share is set to
        ``k * released - (k - 1) * own`` (at least 0, rescaled), with ``own``
        measured on ``CALIBRATION_ROWS`` generated rows: post-processing of the
        model and the released counts.
        """
        parts, starts = self._cond_layout()
        released = self.cond_share_
        if len(parts) < 2:
            return released
        net: GanNetwork = self.network_
        net.eval()
        with torch.no_grad():
            block, code = super()._free_conditions(CALIBRATION_ROWS, generator, device, released)
            noise = torch.randn(CALIBRATION_ROWS, net.embedding, generator=generator, device=device)
            raw = net.generator(torch.cat([noise, self._cond_vector(block, code)], dim=1))
            _, codes = net.layout.draw(raw, generator)
        block, codes = block.cpu().numpy(), codes.cpu().numpy()
        shares = []
        for b, j in enumerate(parts):
            share = released[starts[b] : starts[b + 1]]
            free = codes[block != b, j]
            own = np.bincount(free, minlength=len(share)) / max(len(free), 1)
            asked = np.maximum(len(parts) * share - (len(parts) - 1) * own, 0.0)
            shares.append(asked / asked.sum() if asked.sum() > 0 else share)
        return np.concatenate(shares)

    # ------------------------------------------------------------- the critic
    def _critic_step(
        self,
        real: torch.Tensor,
        fake: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """One DP-SGD step of ``gan``'s critic loss, from each row's own gradient."""
        gradients, distance = self._row_gradients(real, fake, generator)
        optimizer.zero_grad(set_to_none=True)
        for name, weight in self._critic_weights().items():
            weight.grad_sample = gradients[name]
        optimizer.step()
        return distance.mean()

    def _critic_weights(self) -> dict[str, nn.Parameter]:
        critic = ("critic.", "score.")
        return {n: p for n, p in self.network_.named_parameters() if n.startswith(critic)}

    def _row_gradients(
        self, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Each row's gradient of the critic's loss for each critic weight, and its distance.

        Row ``i``'s loss is ``PENALTY * (|grad D(m)| - 1)**2 - (D(r) - D(f))``
        for its real row ``r``, generated partner ``f`` and their mix ``m``,
        with dropout masks and mixing weight drawn as ``gan`` draws them for
        the batch, whose loss's gradient is then the rows' mean.
        """
        net: GanNetwork = self.network_
        rows, device = len(real), real.device
        keep_real = net.dropout(rows, generator, device)
        keep_fake = net.dropout(rows, generator, device)
        alpha = torch.rand(rows, 1, generator=generator, device=device)
        keep_mixed = net.dropout(rows, generator, device)
        weights = {n: p.detach() for n, p in self._critic_weights().items()}

        def score(w: dict, row: torch.Tensor, keep: list[torch.Tensor]) -> torch.Tensor:
            return functional_call(net, w, (row[None], [k[None] for k in keep]))[0, 0]

        def loss(w, r, f, a, kr, kf, km) -> tuple[torch.Tensor, torch.Tensor]:
            distance = score(w, r, kr) - score(w, f, kf)
            slope = grad(score, argnums=1)(w, a * r + (1 - a) * f, km)
            return PENALTY * (slope.norm() - 1) ** 2 - distance, distance

        per_row = vmap(grad(loss, has_aux=True), in_dims=(None, 0, 0, 0, 0, 0, 0))
        return per_row(weights, real, fake, alpha, keep_real, keep_fake, keep_mixed)
