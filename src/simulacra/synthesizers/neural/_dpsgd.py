"""DP-SGD for the torch families: Opacus's per-row clipping and noise, paid from the fit's budget.

:class:`DPSGD` is a mixin for a :class:`NeuralSynthesizer` whose network
Opacus can take (every trainable tensor in a layer that sees one row per
batch row, and a loss that is the mean of per-row losses): ``dp-vae`` is
``vae`` with it and ``dp-autoregressive`` is ``autoregressive`` with it, each
with its shared vectors moved into :class:`RowShared` layers; ``dp-diffusion``
is ``diffusion`` with a per-row loss, and ``dp-gan`` is ``gan`` with DP-SGD on
its critic alone (the generator never reads a row, it learns only from the
critic's scores; the critic's per-row gradients, gradient penalty included,
come from ``torch.func``, not from Opacus's hooks). A fit goes as
every differentially private family's does
(:class:`~simulacra.synthesizers._dp.DifferentiallyPrivate`): the row count,
and the bounds and categories the metadata does not declare, are released
first; what is left of the budget, ``(epsilon, delta)``, pays for training.
This module holds the mechanics (the mixin, the public codec, the layer and
the accounting); the families are in
:mod:`simulacra.synthesizers.neural.dp_neural`.

What the codec reads. The codec (how a table's columns become the network's
parts) is built by :func:`public_codec` from the public schema alone: it is
given the encoded columns' names, kinds and cardinalities, each continuous
column's public range in ``bounds_`` (declared, or released above) and
which columns hold whole numbers; it is given no rows. Then:

- a continuous column, shown as modes (``dp-vae``): its range cut into
  ``PUBLIC_MODES`` equal widths, each a Gaussian mode (centre mid-width,
  standard deviation half a width, equal weights), i.e. mode-specific
  normalisation with modes fixed in advance instead of fitted to the values;
- a continuous column, shown as bins (``dp-autoregressive``): ``bins``
  equal-width bins over its range (one per value for a short whole-number
  range), where ``autoregressive`` cuts at the rows' quantiles; each bin's
  position is the normal score of its middle under a uniform spread;
- a continuous column, shown as a normal score (``dp-diffusion``): the normal
  score of the value's place in its range, ``ndtri((x - low) / (high - low))``
  (:class:`PublicScores`), where ``diffusion`` ranks the rows among themselves;
- a discrete column (categories, gap indicators): its cardinality. At most
  ``category_cap`` codes get a part of their own, the first in code order
  (not the most frequent); the rest share one code and are drawn back
  uniformly. Real values beyond a public range fall in its end mode or bin.

Training (Abadi et al., 2016, as Opacus implements it):

- batches are Poisson samples: each row joins each step's batch with
  probability ``q = batch_size / n``, ``round(n / batch_size)`` steps an epoch
  (Opacus's ``UniformWithReplacementSampler``). ``n`` is the *released* row
  count, so the sample rate, the steps and the expected batch size are
  public; a batch that draws no row is a step of noise alone;
- each row's gradient is clipped to L2 norm ``max_grad_norm`` and Gaussian
  noise of standard deviation ``noise_multiplier * max_grad_norm`` is added to
  their sum (Opacus's ``GradSampleHooks`` and ``DPOptimizer``); Adam then
  steps on the noisy mean, which is post-processing;
- Opacus's RDP accountant counts the steps. Without a ``noise_multiplier`` the
  least noise is used with which all ``epochs`` fit what is left of the budget
  (Opacus's ``get_noise_multiplier``); with one, training stops before the
  step that would take the accountant's epsilon past what is left
  (``stop_reason_`` is then ``"privacy budget"``): the fit's ``epsilon`` is the
  most training may spend (a "max epsilon": there is no second parameter for
  it). One ledger entry records the epsilon the accountant reports for the
  steps taken, with the family's delta.

These are the pieces ``PrivacyEngine.make_private`` puts together, put
together here so that the sample rate comes from the released row count
(``make_private`` takes it from the real one) and the randomness from
generators of their own (outside its secure mode ``make_private`` samples
with the data loader's generator or torch's global one, which other code in
the process may seed, and adds noise with the global one).

Early stopping on a validation loss would read held-out rows, so a DP family
has no ``patience`` or ``validation``; the NaN check looks at the noisy
weights, not at the loss. The training loss reads the rows too: the progress
bar shows it, but the model keeps none (``loss_history()`` has NaN losses).

Randomness. The Poisson sampling and the gradient noise are drawn from
``torch.Generator`` objects seeded from the operating system's entropy
(``secrets``), never from ``seed``, so a DP fit cannot be repeated (the
noise must not be known). They are torch's ordinary generators (Mersenne
Twister on the CPU, Philox on CUDA), not cryptographically secure ones, and
the noise is not hardened against floating-point attacks: Opacus's
``secure_mode`` (which needs ``torchcsprng``) is not used. The guarantee is
the DP-SGD analysis under those generators; do not rely on it against an
adversary who can predict torch's generator state. ``seed`` still fixes the
initial weights and every draw when sampling, so a fitted model gives the
same rows for the same seed, before and after saving.
"""

from __future__ import annotations

import math
import secrets
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from opacus.accountants import RDPAccountant
from opacus.accountants.analysis import rdp as rdp_analysis
from opacus.accountants.utils import get_noise_multiplier
from opacus.grad_sample import GradSampleHooks, register_grad_sampler
from opacus.optimizers import DPOptimizer
from opacus.utils.uniform_sampler import UniformWithReplacementSampler
from scipy import special
from torch import nn

from simulacra.errors import InvalidParameterError
from simulacra.processor import NULL_SUFFIX, EncodedColumn, EncodedTable
from simulacra.synthesizers._dp import DifferentiallyPrivate, public_edges
from simulacra.synthesizers._marginals import cdf
from simulacra.synthesizers.base import Param
from simulacra.synthesizers.neural._codec import (
    Capped,
    ModeNormal,
    NormalScores,
    QuantileBins,
    TableCodec,
)
from simulacra.synthesizers.neural._core import training_params

__all__ = [
    "DPSGD",
    "MAX_GRAD_NORM",
    "NOISE_MULTIPLIER",
    "PUBLIC_BINS",
    "PUBLIC_MODES",
    "PublicScores",
    "RowShared",
    "dp_training_params",
    "public_codec",
]

PUBLIC_MODES = 10  # equal-width modes per continuous column, over its public range
PUBLIC_BINS = 20  # equal-width bins per continuous column, where a family shows numbers as bins
# RDP orders the accountant tries: Opacus's range, thinned where the orders are slow to
# evaluate (fractional ones below 2) and widened to 1024 for tighter bounds at large noise
ALPHAS = [1.25, 1.5, 1.75, 2.25, 2.5, 2.75, 3.5, 4.5, 5.5, *range(2, 65)]
ALPHAS += [80, 96, 128, 192, 256, 384, 512, 1024]
# a few of them for calibrating the noise: fewer orders can only overstate epsilon, so the
# noise found with them is enough under ALPHAS too (and at most a little more than needed)
CALIBRATION_ALPHAS = [1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 96, 128]
CALIBRATION_ALPHAS += [192, 256, 512]
_OPTIMAL_ORDER = "Optimal order is the"  # Opacus: the best order is at an end of ALPHAS
_BACKWARD_HOOK = "Full backward hook is firing when gradients are computed with respect to module"
_NOT_PRIVATE = ("patience", "validation")  # training params that would read held-out rows

MAX_GRAD_NORM = Param(
    "max_grad_norm",
    float,
    1.0,
    "DP-SGD's clipping bound: each row's gradient is scaled down to L2 norm at most this "
    "before the noise is added.",
    low=1e-6,
)
NOISE_MULTIPLIER = Param(
    "noise_multiplier",
    float,
    None,
    "DP-SGD's noise, as a multiple of max_grad_norm. None: the least noise with which all "
    "epochs fit the budget. A number: that noise, and training stops early, before the step "
    "that would spend more than the budget (epsilon works as a max epsilon).",
    low=0.01,
    nullable=True,
)


def dp_training_params(*, epochs: int, batch_size: int, learning_rate: float) -> tuple[Param, ...]:
    """The neural training parameters, less early stopping (it reads held-out rows)."""
    params = training_params(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate)
    return tuple(p for p in params if p.name not in _NOT_PRIVATE)


# ------------------------------------------------------------------ the codec
def public_codec(
    columns: list[EncodedColumn],
    bounds: dict[str, tuple[float, float]],
    *,
    numbers: str = "modes",
    cap: int = 100,
    modes: int = PUBLIC_MODES,
    bins: int = PUBLIC_BINS,
    fold_nulls: bool = False,
    integers: frozenset[str] = frozenset(),
) -> TableCodec:
    """A codec from the schema alone: it is given no rows, so it reads none.

    ``columns`` are the private processor's encoded columns (names, kinds and
    cardinalities, from the public metadata), ``bounds`` each continuous
    column's public range and ``integers`` the whole-number columns. Numbers
    are shown as ``"modes"`` (fixed equal-width modes), ``"bins"``
    (equal-width bins) or ``"normal"`` (normal scores of the place in the
    range); see the module docstring for what each column becomes.
    """
    if numbers not in ("modes", "bins", "normal"):
        raise ValueError(f"a public codec shows numbers as modes, bins or normal, not {numbers!r}")
    codec = TableCodec(numbers, cap=cap, bins=bins, fold_nulls=fold_nulls)
    codec.columns_ = [(c.name, c.kind, int(c.cardinality or 1)) for c in columns]
    names = {c.name for c in columns}
    codec.folded_ = {
        c.name: c.name + NULL_SUFFIX
        for c in columns
        if fold_nulls and c.name + NULL_SUFFIX in names
    }
    codec.encoders_ = {}
    for name, kind, card in codec._learned():
        low, high = (float(b) for b in bounds.get(name, (0.0, 1.0)))
        if kind == "discrete":
            codec.encoders_[name] = _public_capped(card, cap)
        elif numbers == "bins":
            codec.encoders_[name] = _public_bins(low, high, bins, name in integers)
        elif numbers == "normal":
            codec.encoders_[name] = PublicScores.from_state({"grid": np.array([low, high])})
        else:
            codec.encoders_[name] = _public_modes(low, high, modes)
    return codec


class PublicScores(NormalScores):
    """Normal scores of a value's place in its public range ``[low, high]`` (the grid).

    ``NormalScores`` ranks the rows among themselves, so a row's score moves
    with every other row; here a row's score is its own, ``ndtri((x - low) /
    (high - low))`` (a value beyond the range scores as its end), which keeps
    a row's gradient its own. Decoding is ``NormalScores``'s on the two-point
    grid, and so is the saved state: a loaded model's codec holds a plain
    ``NormalScores``, which only decodes.
    """

    def encode(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        low, high = self.marginal_["grid"][[0, -1]]
        share = cdf(self.marginal_, x) if high > low else np.full(len(x), 0.5)
        return special.ndtri(np.clip(share, 1e-6, 1 - 1e-6))


def _public_bins(low: float, high: float, bins: int, integer: bool) -> QuantileBins:
    """Equal-width bins over ``[low, high]``; one per whole number when that is fewer."""
    edges = public_edges(low, high, bins, integer)
    return QuantileBins.from_state({"bins": bins, "points": np.zeros(0), "edges": edges})


def _public_modes(low: float, high: float, modes: int) -> ModeNormal:
    """Equal-width Gaussian modes over ``[low, high]``, equally weighted."""
    if not high > low:
        means, stds = np.array([low]), np.array([1.0])
    else:
        width = (high - low) / modes
        means = low + (np.arange(modes) + 0.5) * width
        stds = np.full(modes, width / 2)
    weights = np.full(len(means), 1.0 / len(means))
    return ModeNormal.from_state({"means": means, "stds": stds, "weights": weights})


def _public_capped(cardinality: int, cap: int) -> Capped:
    """Every code its own part, or (above ``cap``) the first ``cap - 1`` and a uniform pool."""
    if cardinality <= cap:
        keep, rest = np.arange(cardinality), np.zeros(0, np.int64)
    else:
        keep, rest = np.arange(cap - 1), np.arange(cap - 1, cardinality)
    probs = np.full(len(rest), 1.0 / len(rest)) if len(rest) else np.zeros(0)
    state = {"cap": cap, "keep": keep, "rest": rest, "rest_probs": probs}
    return Capped.from_state({**state, "cardinality": cardinality})


# ------------------------------------------------------------------ layers
class RowShared(nn.Module):
    """A learned tensor that is the same for every row, as a layer Opacus can clip per row.

    ``forward(rows)`` repeats the tensor once per row of ``rows``; a row's
    gradient for it is that row's part of the backward pass. A network keeps
    such tensors in these layers (not as bare parameters) so that every
    trainable tensor has per-row gradients.
    """

    def __init__(self, value: torch.Tensor) -> None:
        super().__init__()
        self.value = nn.Parameter(value)

    def __call__(self, rows: torch.Tensor) -> torch.Tensor:
        # only the row count is read: detached, so that torch's backward hook (Opacus's
        # per-row gradient) fires on the output instead of waiting for the input's gradient
        return super().__call__(rows.detach())

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return self.value.expand(len(rows), *self.value.shape)


@register_grad_sampler(RowShared)
def _row_shared_grad_sample(
    layer: RowShared, activations: list[torch.Tensor], backprops: torch.Tensor
) -> dict[nn.Parameter, torch.Tensor]:
    return {layer.value: backprops}


# ------------------------------------------------------------------ the mixin
@dataclass
class _Run:
    """One DP-SGD training run: what Opacus holds and what the accounting needs."""

    hooks: GradSampleHooks | None  # None: the family writes the per-row gradients itself
    accountant: RDPAccountant
    sampling: torch.Generator
    noise_multiplier: float
    sample_rate: float
    delta: float
    per_epoch: int
    planned: int
    allowed: int
    index: int  # of the optimizer DP-SGD wraps

    @property
    def taken(self) -> int:
        return sum(int(steps) for _, _, steps in self.accountant.history)


class DPSGD(DifferentiallyPrivate):
    """Mixin: train a :class:`NeuralSynthesizer` with DP-SGD through Opacus.

    Put it first in the bases, before the family: ``class DPVae(DPSGD,
    VaeSynthesizer)``. Its ``params`` need ``EPSILON``, ``DELTA``,
    ``dp_training_params(...)``, ``MAX_GRAD_NORM`` and ``NOISE_MULTIPLIER``.
    The family's network must keep every trainable tensor in a layer Opacus
    supports (``nn.Linear``, ``nn.Embedding``, :class:`RowShared`, ...), with no
    buffers beside trainable tensors, and its loss must be the mean of per-row
    losses. A family with one optimizer trains its whole network so; one with
    more names the optimizer of the part that reads the rows
    (:meth:`_private_part`), and the rest must learn only from that part's
    outputs (``dp-gan``'s generator). A family whose per-row gradients
    Opacus's hooks cannot compute (a loss with a second backward pass, such as
    a gradient penalty) names no module and writes each weight's
    ``grad_sample`` itself before the private optimizer steps. The codec is
    :func:`public_codec`, so the family shows numbers as ``"modes"``,
    ``"bins"`` or ``"normal"``; a family whose ``_prepare`` learns from the
    encoded rows needs a public one (the mixin's learns nothing).
    """

    patience: ClassVar[int] = 0  # no early stopping: it reads held-out rows
    validation: ClassVar[float] = 0.0
    public_modes: ClassVar[int] = PUBLIC_MODES
    trained_part: ClassVar[str] = "network"  # what the ledger says DP-SGD trained
    learns_derived: ClassVar[bool] = False  # a function read off the rows is not private

    def _checked_params(self) -> dict[str, Any]:
        params = super()._checked_params()
        if params["delta"] == 0:
            raise InvalidParameterError(
                f"{self.name}: DP-SGD's Gaussian noise needs a delta above 0; leave delta "
                "out for the default, or give one below 1/n"
            )
        return params

    # ---------------------------------------------------------- public codec
    def _codec(self, encoded: EncodedTable, rng: np.random.Generator) -> TableCodec:
        """:func:`public_codec`: the encoded columns' kinds and the public bounds, no rows."""
        columns = self.metadata_.columns  # the public metadata (set by _preprocess)
        integers = frozenset(
            c.name for c in encoded.columns if getattr(columns.get(c.source), "integer", False)
        )
        return public_codec(
            encoded.columns,
            self.bounds_,
            numbers=self.numbers,
            cap=self.category_cap,
            modes=self.public_modes,
            bins=getattr(self, "bins", PUBLIC_BINS),
            fold_nulls=self.fold_nulls,
            integers=integers,
        )

    def _prepare(self, numbers: np.ndarray, codes: np.ndarray) -> None:
        """Nothing is learned from the encoded rows before training (a family's own
        ``_prepare`` would read them; a DP family that needs one writes a public one)."""

    # ---------------------------------------------------------- training
    def _private_part(
        self, optimizers: list[torch.optim.Optimizer]
    ) -> tuple[nn.Module | None, int]:
        """The module whose per-row gradients Opacus's hooks compute, and the index of the
        optimizer whose steps are clipped and noised.

        The whole network and its one optimizer. A family that trains with
        more optimizers names the one that reads the rows; with no module
        (``dp-gan``'s critic) the family writes the per-row gradients itself.
        """
        if len(optimizers) != 1:
            raise NotImplementedError(
                f"{self.name}: {len(optimizers)} optimizers; name the module DP-SGD trains "
                "and its optimizer in _private_part"
            )
        return self.network_, 0

    def _private(
        self, optimizers: list[torch.optim.Optimizer], rows: int
    ) -> list[torch.optim.Optimizer]:
        """Opacus's per-row gradients, clipping and noise around the private part's optimizer."""
        module, index = self._private_part(optimizers)
        public_rows = self.noisy_rows_  # released: the sample rate reads no real count
        batch = min(self.batch_size, public_rows)
        sample_rate = batch / public_rows
        per_epoch = max(1, round(public_rows / batch))
        planned = self.epochs * per_epoch
        epsilon = self.fit_budget.remaining_epsilon
        delta = self.fit_budget.remaining_delta
        sigma = self.noise_multiplier
        if sigma is None:
            sigma = _calibrated_noise(self.name, epsilon, delta, sample_rate, planned)
        allowed = _steps_within(sigma, sample_rate, delta, epsilon, planned)
        if allowed == 0:
            raise InvalidParameterError(
                f"{self.name}: epsilon {epsilon:.3g} (what is left for training) does not pay for "
                f"one DP-SGD step with noise_multiplier {sigma:g}; raise epsilon or "
                "noise_multiplier, or leave noise_multiplier out to have it chosen"
            )
        device = next(self.network_.parameters()).device
        hooks = None
        if module is not None:
            hooks = GradSampleHooks(module, batch_first=True, loss_reduction="mean")
        optimizer = DPOptimizer(
            optimizers[index],
            noise_multiplier=sigma,
            max_grad_norm=self.max_grad_norm,
            expected_batch_size=batch,
            loss_reduction="mean",
            generator=_entropy_generator(device),
        )
        accountant = RDPAccountant()
        optimizer.attach_step_hook(accountant.get_optimizer_hook_fn(sample_rate=sample_rate))
        self._dpsgd = _Run(
            hooks=hooks,
            accountant=accountant,
            sampling=_entropy_generator(torch.device("cpu")),
            noise_multiplier=float(sigma),
            sample_rate=sample_rate,
            delta=delta,
            per_epoch=per_epoch,
            planned=planned,
            allowed=allowed,
            index=index,
        )
        return [*optimizers[:index], optimizer, *optimizers[index + 1 :]]

    def _epoch_batches(
        self, rows: np.ndarray, size: int, rng: np.random.Generator
    ) -> Iterator[np.ndarray]:
        """Poisson batches while the budget lasts (unseeded: the sampling is part of privacy)."""
        run = self._dpsgd
        sampler = UniformWithReplacementSampler(
            num_samples=len(rows),
            sample_rate=run.sample_rate,
            generator=run.sampling,
            steps=run.per_epoch,
        )
        for picked in sampler:
            if run.taken >= run.allowed:
                return
            yield rows[np.asarray(picked, dtype=np.int64)]

    def _step(
        self,
        numbers: torch.Tensor,
        codes: torch.Tensor,
        optimizers: list[torch.optim.Optimizer],
        generator: torch.Generator,
    ) -> float:
        if len(numbers):
            with warnings.catch_warnings():
                # torch says so whenever a hooked layer's input needs no gradient (the rows)
                warnings.filterwarnings("ignore", _BACKWARD_HOOK, UserWarning)
                return super()._step(numbers, codes, optimizers, generator)  # type: ignore[misc]
        # Poisson sampling picked no row: the step is the noise alone, as the accounting assumes
        # (a family's other optimizers, dp-gan's generator, skip it)
        optimizer = optimizers[self._dpsgd.index]
        optimizer.zero_grad(set_to_none=True)
        for p in optimizer.params:
            p.grad_sample = p.new_zeros((0, *p.shape))
        optimizer.step()
        return math.nan

    def _diverged(self, loss: float) -> bool:
        """Whether the noisy weights went NaN (the loss reads the rows, so it may not decide)."""
        return not all(bool(torch.isfinite(p).all()) for p in self.network_.parameters())

    def _stop_reason(self) -> str | None:
        run = self._dpsgd
        return "privacy budget" if run.allowed < run.planned and run.taken >= run.allowed else None

    def _check_rows(self, encoded: EncodedTable) -> None:
        """No refusal: whether a table is too small would itself be a release of its size
        (and the released count is too noisy to judge by); DP-SGD's noise covers any size."""

    def _fit(self, encoded: EncodedTable, rng: np.random.Generator) -> None:
        try:
            super()._fit(encoded, rng)  # type: ignore[misc]
        finally:
            run = self.__dict__.pop("_dpsgd", None)
            if run is not None and run.hooks is not None:
                run.hooks.cleanup()
        steps = run.taken
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", _OPTIMAL_ORDER, UserWarning)
            spent = run.accountant.get_epsilon(delta=run.delta, alphas=ALPHAS)
        mechanism = (
            f"DP-SGD (Opacus), noise multiplier {run.noise_multiplier:.4g}, "
            f"clip {self.max_grad_norm:g}, Poisson sample rate {run.sample_rate:.4g}, "
            "RDP accountant"
        )
        self.fit_budget.spend(
            f"{self.trained_part} training (DP-SGD, {steps} steps)",
            spent,
            run.delta,
            mechanism=mechanism,
        )
        self.noise_multiplier_ = run.noise_multiplier
        self.dp_steps_ = steps
        self.history_["loss"] = [math.nan] * len(self.history_["loss"])  # it read the rows


def _entropy_generator(device: torch.device) -> torch.Generator:
    """A torch generator seeded from the operating system's entropy, never from ``seed``."""
    return torch.Generator(device=device).manual_seed(secrets.randbits(63))


def _rdp_per_step(sigma: float, sample_rate: float) -> np.ndarray:
    """Opacus's RDP of one Poisson-sampled Gaussian step, at each order in ``ALPHAS``."""
    return np.asarray(
        rdp_analysis.compute_rdp(q=sample_rate, noise_multiplier=sigma, steps=1, orders=ALPHAS)
    )


def _epsilon(per_step: np.ndarray, steps: int, delta: float) -> float:
    """Epsilon after ``steps`` such steps (RDP adds up over steps), as Opacus converts it."""
    if steps <= 0:
        return 0.0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _OPTIMAL_ORDER, UserWarning)
        eps, _ = rdp_analysis.get_privacy_spent(orders=ALPHAS, rdp=steps * per_step, delta=delta)
    return float(eps)


def _steps_within(sigma: float, sample_rate: float, delta: float, epsilon: float, most: int) -> int:
    """The most steps, up to ``most``, whose epsilon stays within ``epsilon``."""
    per_step = _rdp_per_step(sigma, sample_rate)
    if _epsilon(per_step, most, delta) <= epsilon:
        return most
    low, high = 0, most  # eps(low) <= epsilon < eps(high)
    while high - low > 1:
        mid = (low + high) // 2
        if _epsilon(per_step, mid, delta) <= epsilon:
            low = mid
        else:
            high = mid
    return low


def _calibrated_noise(
    name: str, epsilon: float, delta: float, sample_rate: float, steps: int
) -> float:
    """The least noise multiplier (to 1%, on ``CALIBRATION_ALPHAS``) for ``steps`` steps."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", _OPTIMAL_ORDER, UserWarning)
            return float(
                get_noise_multiplier(
                    target_epsilon=epsilon,
                    target_delta=delta,
                    sample_rate=sample_rate,
                    steps=steps,
                    accountant="rdp",
                    epsilon_tolerance=0.01 * epsilon,
                    alphas=CALIBRATION_ALPHAS,
                )
            )
    except ValueError:  # Opacus: "The privacy budget is too low."
        raise InvalidParameterError(
            f"{name}: epsilon {epsilon:.3g} (what is left for training) is too small for "
            f"{steps} DP-SGD steps at any usable noise; raise epsilon, or train fewer epochs or "
            "with a larger batch_size"
        ) from None
