"""The shared torch core: parameters, devices, seeding, the training loop, persistence.

A family subclasses :class:`NeuralSynthesizer` and writes four things: how its
numbers are encoded (``numbers``), its network (``_build``), its loss on a
batch (``_loss``) and how it generates parts (``_generate``). A family whose
training step is not one loss and one optimizer (a GAN) overrides ``_step``.
The loop owns epochs, batches, ``max_time``, early stopping on a held-out
validation loss, NaN losses, the progress bar and the loss history. DP-SGD
(``_dpsgd``) changes the codec, the batches, the optimizer, the NaN check and
when to stop through hooks (``_codec``, ``_epoch_batches``, ``_private``,
``_diverged``, ``_stop_reason``).

Randomness never touches torch's global generator: weights are initialised
and noise is drawn from ``torch.Generator`` objects seeded from the fit's or
the sampling block's ``numpy`` generator, so the same seed, data and device
give the same model and the same rows (DP-SGD's sampling and noise are the
exception: they are seeded from the operating system, never from ``seed``).
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from abc import abstractmethod
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from simulacra.conditions import Evidence
from simulacra.errors import InvalidDataError, InvalidParameterError, SimulacraError
from simulacra.persist import Weights
from simulacra.processor import EncodedTable
from simulacra.synthesizers._followers import (
    derived_columns,
    pin,
    rebuild,
    through_anchors,
    without,
)
from simulacra.synthesizers.base import Param, Synthesizer
from simulacra.synthesizers.neural._codec import QUANTILE_BINS, TableCodec

__all__ = ["MIN_ROWS", "NeuralSynthesizer", "TrainingWarning", "init_weights", "training_params"]

MIN_ROWS = 20
MIN_VALIDATION_ROWS = 10
SAMPLE_CHUNK = 65_536


class TrainingWarning(UserWarning):
    """Training stopped early for a reason the user should know (a NaN loss)."""


def training_params(
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    patience: int = 20,
    validation: float = 0.1,
) -> tuple[Param, ...]:
    """The parameters every neural family has, with the family's own defaults."""
    return (
        Param("epochs", int, epochs, "Passes over the training rows at most.", low=1),
        Param("batch_size", int, batch_size, "Rows per gradient step.", low=2),
        Param("learning_rate", float, learning_rate, "Adam's step size.", low=1e-7, high=1.0),
        Param(
            "max_time",
            float,
            None,
            "Seconds of training at most; training stops cleanly after the batch that "
            "spends them (None: no limit).",
            low=0.0,
            nullable=True,
        ),
        Param(
            "patience",
            int,
            patience,
            "Epochs without a better validation loss before training stops (0: never early).",
            low=0,
        ),
        Param(
            "validation",
            float,
            validation,
            "Share of rows held out for the validation loss that early stopping watches.",
            low=0.0,
            high=0.5,
        ),
        Param(
            "device",
            str,
            "auto",
            "Where to train: 'auto' (CUDA when present, else CPU), 'cpu', 'cuda' or 'cuda:N'.",
        ),
        Param("progress", bool, True, "Show a progress bar with the loss while training."),
    )


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; a clear error for a device that is not there."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InvalidParameterError(
            f"device {name!r} is not a device; use 'auto', 'cpu', 'cuda' or 'cuda:N'"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(
            f"device {name!r} asked for, but torch sees no CUDA GPU here; "
            "use device='auto' or 'cpu'"
        )
    if device.type not in ("cpu", "cuda"):
        raise InvalidParameterError(f"device {name!r}: only 'cpu' and 'cuda' are supported")
    return device


def torch_generator(rng: np.random.Generator, device: torch.device) -> torch.Generator:
    """A torch generator on ``device`` seeded from a numpy generator."""
    return torch.Generator(device=device).manual_seed(int(rng.integers(2**62)))


def init_weights(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Every parameter initialised from ``generator`` (torch's default, uniform in ±1/√fan_in)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() >= 2:
                bound = 1.0 / math.sqrt(p.shape[-1])
                p.uniform_(-bound, bound, generator=generator)
            elif name.endswith("bias"):
                p.uniform_(-0.01, 0.01, generator=generator)
            else:  # norm scales and the like keep their defaults
                continue
    return module


class NeuralSynthesizer(Synthesizer):
    """Base of the torch families; see the module docstring for what a family writes."""

    numbers: ClassVar[str] = "modes"  # how the codec shows numbers: modes, normal or bins
    category_cap: ClassVar[int] = 100
    fold_nulls: ClassVar[bool] = False  # gaps as a "missing" code of their column (bins only)
    learns_derived: ClassVar[bool] = True  # DP families: False (a function read off the rows)

    def _checked_params(self) -> dict[str, Any]:
        params = super()._checked_params()
        if params["max_time"] is not None and params["max_time"] <= 0:
            raise InvalidParameterError(
                f"{self.name}: max_time={params['max_time']!r} leaves no time to train; give "
                "a number of seconds above 0, or None for no limit"
            )
        resolve_device(params["device"])
        return params

    # ------------------------------------------------------------- hooks
    @abstractmethod
    def _build(self, generator: torch.Generator) -> nn.Module:
        """The network for ``self.codec_``, its weights drawn from ``generator``."""

    @abstractmethod
    def _loss(
        self, numbers: torch.Tensor, codes: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """The training loss of one batch (also the validation loss, without gradients)."""

    @abstractmethod
    def _generate(
        self, n: int, generator: torch.Generator, evidence: Evidence | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` rows of parts: numbers (float) and codes (int), meeting ``evidence`` if given."""

    def _prepare(self, numbers: np.ndarray, codes: np.ndarray) -> None:
        """Learn what ``_build`` needs from the encoded training parts (``*_`` attributes)."""

    def _optimizers(self) -> list[torch.optim.Optimizer]:
        return [torch.optim.Adam(self.network_.parameters(), lr=self.learning_rate)]

    def _step(
        self,
        numbers: torch.Tensor,
        codes: torch.Tensor,
        optimizers: list[torch.optim.Optimizer],
        generator: torch.Generator,
    ) -> float:
        """One gradient step on a batch; returns its loss."""
        (optimizer,) = optimizers
        loss = self._loss(numbers, codes, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    def _private(
        self, optimizers: list[torch.optim.Optimizer], rows: int
    ) -> list[torch.optim.Optimizer]:
        """Hook for differentially private training (DP-SGD): wraps the optimizers.

        ``_dpsgd.DPSGD`` replaces this with Opacus's per-sample clipping and
        noise; by default training is not private and the optimizers pass through.
        """
        return optimizers

    def _codec(self, encoded: EncodedTable, rng: np.random.Generator) -> TableCodec:
        """The codec of the network's parts, learned from the encoded training table."""
        bins = self._number_bins(len(encoded.data))
        codec = TableCodec(self.numbers, self.category_cap, bins, self.fold_nulls)
        return codec.fit(encoded.data, encoded.columns, rng)

    def _number_bins(self, rows: int) -> int:
        """Quantile bins per number for a table of ``rows`` rows (where numbers are bins)."""
        return QUANTILE_BINS

    def _epoch_batches(
        self, rows: np.ndarray, size: int, rng: np.random.Generator
    ) -> Iterator[np.ndarray]:
        """One epoch's batches of ``rows`` (DP-SGD draws them by Poisson sampling instead)."""
        return _batches(rows, size, rng)

    def _diverged(self, loss: float) -> bool:
        """Whether training must stop after a step with this loss (DP-SGD reads the weights)."""
        return not math.isfinite(loss)

    def _stop_reason(self) -> str | None:
        """Why training must stop after this epoch (a spent privacy budget), or ``None``."""
        return None

    # ------------------------------------------------------------- fit
    def _check_rows(self, encoded: EncodedTable) -> None:
        """Refuse a table too small to train on (DP-SGD does not: see its override)."""
        rows = len(encoded.data)
        if rows < MIN_ROWS:
            raise InvalidDataError(
                f"{self.name} needs at least {MIN_ROWS} rows to train, got {rows}; give more "
                "rows or use a family that fits small tables (cart, copula, bayesnet)"
            )

    def _fit(self, encoded: EncodedTable, rng: np.random.Generator) -> None:
        self._check_rows(encoded)
        self.device_ = str(resolve_device(self.device))
        device = torch.device(self.device_)
        # an exact function of another number (wage of logwage) is rebuilt, not learned
        self.derived_ = derived_columns(encoded, rng) if self.learns_derived else {}
        encoded = without(encoded, self.derived_)
        self.codec_ = self._codec(encoded, rng)
        numbers, codes = self.codec_.encode(encoded.data, rng)
        self._prepare(numbers, codes)
        self.network_ = self._build(torch_generator(rng, torch.device("cpu"))).to(device)
        self.history_ = _train(self, numbers, codes, rng, device)

    def loss_history(self) -> pd.DataFrame:
        """One row per epoch: training loss, validation loss, seconds since training began."""
        self._check_fitted()
        return pd.DataFrame({k: np.asarray(v) for k, v in self.history_.items()})

    # ------------------------------------------------------------- sample
    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        return self._draw(n, rng, None)

    def _draw(self, n: int, rng: np.random.Generator, evidence: Evidence | None) -> pd.DataFrame:
        derived = getattr(self, "derived_", {})  # models saved before derived columns have none
        pinned: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if evidence is not None and derived:  # a range on a derived column holds its anchor
            evidence, pinned = through_anchors(derived, evidence)
        device = torch.device(self.device_)
        generator = torch_generator(rng, device)
        numbers, codes = [], []
        self.network_.eval()
        with torch.no_grad():
            for start in range(0, n, SAMPLE_CHUNK):
                rows = min(SAMPLE_CHUNK, n - start)
                part = evidence.take(slice(start, start + rows)) if evidence else None
                num, cod = self._generate(rows, generator, part)
                numbers.append(num.float().cpu().numpy())
                codes.append(cod.long().cpu().numpy())
        bounds = evidence.bounds if evidence else None
        out = self.codec_.decode(np.concatenate(numbers), np.concatenate(codes), rng, bounds)
        for name, state in derived.items():
            out[name] = rebuild(state, out[state["anchor"]].to_numpy(np.float64), np.zeros(n))
        return pin(out, pinned)[[c.name for c in self.columns_]]

    # ------------------------------------------------------------- persistence
    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        network = state.pop("network_")
        state["codec_"] = self.codec_.get_state()
        state["weights_"] = Weights(
            {k: v.detach().cpu().numpy() for k, v in network.state_dict().items()}
        )
        return dict(sorted(state.items()))  # a loaded model saves the same bytes

    def set_state(self, state: dict[str, Any]) -> None:
        state = dict(state)
        weights, codec = state.pop("weights_"), state.pop("codec_")
        super().set_state(state)
        self.codec_ = TableCodec.from_state(codec)
        self.device_ = str(resolve_device("auto" if self.device == "auto" else "cpu"))
        network = self._build(torch.Generator().manual_seed(0))
        network.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()})
        self.network_ = network.to(torch.device(self.device_))


def _train(
    model: NeuralSynthesizer,
    numbers: np.ndarray,
    codes: np.ndarray,
    rng: np.random.Generator,
    device: torch.device,
) -> dict[str, list[float]]:
    """The loop every family shares; returns the loss history."""
    rows = len(numbers)
    order = rng.permutation(rows)
    n_val = int(rows * model.validation)
    if n_val < MIN_VALIDATION_ROWS:
        n_val = 0
    val, train = order[:n_val], order[n_val:]
    num = torch.from_numpy(numbers).to(device)
    cod = torch.from_numpy(codes).to(device)
    generator = torch_generator(rng, device)
    batch = min(model.batch_size, len(train))
    optimizers = model._private(model._optimizers(), len(train))
    history: dict[str, list[float]] = {
        "epoch": [],
        "loss": [],
        "validation_loss": [],
        "seconds": [],
    }
    best, best_state, waited = math.inf, None, 0
    good_state = copy.deepcopy(model.network_.state_dict())
    started = time.perf_counter()
    out_of_time, reason = False, "epochs"
    with _progress_bar(model.progress, model.name, model.epochs) as advance:
        for epoch in range(model.epochs):
            model.network_.train()
            losses = []
            for idx in model._epoch_batches(train, batch, rng):
                index = torch.from_numpy(idx).to(device)
                loss = model._step(num[index], cod[index], optimizers, generator)
                if model._diverged(loss):
                    return _stopped_on_nan(model, history, good_state, epoch)
                losses.append(loss)
                if model.max_time is not None and time.perf_counter() - started > model.max_time:
                    out_of_time = True
                    break
            val_loss = _validation_loss(model, num, cod, val, batch, device, rng)
            seconds = time.perf_counter() - started
            history["epoch"].append(epoch + 1)
            history["loss"].append(float(np.mean(losses)))
            history["validation_loss"].append(val_loss)
            history["seconds"].append(seconds)
            advance(epoch + 1, float(np.mean(losses)), val_loss)
            good_state = copy.deepcopy(model.network_.state_dict())
            if math.isfinite(val_loss) and val_loss < best:
                best, best_state, waited = val_loss, good_state, 0
            elif math.isfinite(val_loss):
                waited += 1
            if out_of_time:
                reason = "max_time"
                break
            stop = model._stop_reason()
            if stop is not None:
                reason = stop
                break
            if model.patience and waited >= model.patience:
                reason = "early stopping"
                break
    if best_state is not None:
        model.network_.load_state_dict(best_state)
    model.stop_reason_ = reason
    return history


def _batches(index: np.ndarray, size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Shuffled batches of ``size`` rows; a last batch too small to learn from is dropped."""
    shuffled = index[rng.permutation(len(index))]
    for start in range(0, len(shuffled), size):
        part = shuffled[start : start + size]
        if len(part) >= 2 or start == 0:
            yield part


def _validation_loss(model, num, cod, val, batch, device, rng) -> float:
    if not len(val):
        return math.nan
    model.network_.eval()
    generator = torch_generator(np.random.default_rng(0), device)  # the same noise each epoch
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(val), batch):
            index = torch.from_numpy(val[start : start + batch]).to(device)
            loss = model._loss(num[index], cod[index], generator)
            total += float(loss) * len(index)
    return total / len(val)


def _stopped_on_nan(model, history, good_state, epoch) -> dict[str, list[float]]:
    if not history["epoch"]:
        raise SimulacraError(
            f"{model.name}: the training loss became NaN in the first epoch, so there are no "
            "good weights to keep; lower learning_rate (now "
            f"{model.learning_rate}) or check the data for extreme values"
        )
    model.network_.load_state_dict(good_state)
    model.stop_reason_ = "nan loss"
    warnings.warn(
        f"{model.name}: the training loss became NaN in epoch {epoch + 1}; training stopped "
        f"and the weights of epoch {history['epoch'][-1]} were kept. A lower learning_rate "
        f"(now {model.learning_rate}) usually helps.",
        TrainingWarning,
        stacklevel=4,
    )
    return history


class _NoBar:
    def __enter__(self) -> Callable[[int, float, float], None]:
        return lambda *args: None

    def __exit__(self, *exc: object) -> None:
        return None


def _progress_bar(show: bool, name: str, epochs: int) -> Any:
    if not show:
        return _NoBar()
    from contextlib import contextmanager

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    @contextmanager
    def bar() -> Iterator[Callable[[int, float, float], None]]:
        progress = Progress(
            TextColumn(f"training {name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            console=Console(stderr=True),
            transient=True,
        )
        with progress:
            task = progress.add_task("fit", total=epochs, loss="-")

            def advance(epoch: int, loss: float, val: float) -> None:
                text = f"{loss:.4f}" + ("" if math.isnan(val) else f" (validation {val:.4f})")
                progress.update(task, completed=epoch, loss=text)

            yield advance

    return bar()
