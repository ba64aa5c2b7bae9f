"""``gan``: a conditional tabular GAN in CTGAN's line (Xu et al., 2019).

Rows are flat one-hot rows (mode-specific normalisation for numbers, one block
per category, see ``_onehot``). The generator reads noise and a *conditional
vector*, a one-hot choice of one category of one discrete column (the modes of
numbers are not conditioned on), through residual blocks; its category blocks
pass through a Gumbel-softmax. The critic reads ``pac`` rows at once
(PacGAN) with their conditional vectors and is trained with a Wasserstein loss
and a gradient penalty; the generator also pays the cross-entropy of the
conditioned block against the asked category.

Training by sampling: each real row of a batch picks a discrete column at
random and offers its own category as the condition, and the batch is then
redrawn with weights that turn the categories' frequencies into their
log-frequencies, so that (in expectation) a column is chosen uniformly, a
category by log-frequency, and a real row that has it, as CTGAN does.

The loss history shows the critic's estimate of the Wasserstein distance
between real and generated rows (no validation rows are held out by default,
and early stopping is off: a GAN's losses do not say when it is done).

A GAN's generator does not settle: from one step to the next it swings around
the data (a category's share of the rows moves 10 to 25 points between fits of
Wage that stop at different steps). Rows are drawn from an exponential moving
average of the generator's weights over the last few hundred steps instead of
its last weights (``average``; Yazici et al., 2019), which sits in the middle
of the swing.

Sampling draws conditional vectors from the categories' learned shares.
Conditions on one discrete column are native: each row asks the generator for
a category drawn from its allowed ones by learned share, and keeps it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from simulacra.conditions import Evidence
from simulacra.errors import InvalidParameterError
from simulacra.processor import NULL_SUFFIX, EncodedTable
from simulacra.synthesizers.base import Param
from simulacra.synthesizers.neural._codec import Capped
from simulacra.synthesizers.neural._core import NeuralSynthesizer, init_weights, training_params
from simulacra.synthesizers.neural._onehot import OneHot

TAU = 0.2  # Gumbel-softmax temperature of the generator's category blocks
PENALTY = 10.0  # weight of the gradient penalty
BETAS = (0.5, 0.9)
DROPOUT = 0.5  # the critic's dropout, drawn from the training generator


class Residual(nn.Module):
    """Linear, batch norm, ReLU; the input is passed on beside the output (CTGAN's block).

    ``norm`` replaces the batch norm (``dp-gan`` normalises each row on its own).
    """

    def __init__(self, width_in: int, width_out: int, norm: type[nn.Module] = nn.BatchNorm1d):
        super().__init__()
        self.fc = nn.Linear(width_in, width_out)
        self.bn = norm(width_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(self.bn(self.fc(x))), x], dim=1)


class GanNetwork(nn.Module):
    """The generator (noise + conditional vector -> raw slots) and the packed critic."""

    def __init__(
        self,
        width: int,
        cond: int,
        embedding: int,
        hidden: int,
        depth: int,
        pac: int,
        norm: type[nn.Module] = nn.BatchNorm1d,
    ):
        super().__init__()
        self.embedding, self.pac = embedding, pac
        blocks, size = [], embedding + cond
        for _ in range(depth):
            blocks.append(Residual(size, hidden, norm))
            size += hidden
        self.generator = nn.Sequential(*blocks, nn.Linear(size, width))
        size = (width + cond) * pac
        self.critic = nn.ModuleList()
        for _ in range(depth):
            self.critic.append(nn.Linear(size, hidden))
            size = hidden
        self.score = nn.Linear(size, 1)

    def judge(self, rows: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """The critic's score of each pack of ``pac`` rows (with dropout given a generator)."""
        if generator is None:
            return self(rows)
        return self(rows, self.dropout(len(rows) // self.pac, generator, rows.device))

    def dropout(
        self, packs: int, generator: torch.Generator, device: torch.device
    ) -> list[torch.Tensor]:
        """The critic's dropout masks (which units to keep) for ``packs`` packs, one per layer."""
        return [
            torch.rand(packs, layer.out_features, generator=generator, device=device) >= DROPOUT
            for layer in self.critic
        ]

    def forward(self, rows: torch.Tensor, keep: list[torch.Tensor] | None = None) -> torch.Tensor:
        """The critic's score, with the dropout masks ``keep`` if given (calling the network
        scores rows, so that ``torch.func`` can call the critic with other weights)."""
        x = rows.reshape(-1, rows.shape[1] * self.pac)
        for i, layer in enumerate(self.critic):
            x = nn.functional.leaky_relu(layer(x), 0.2)
            if keep is not None:
                x = x * keep[i] / (1 - DROPOUT)
        return self.score(x)


class GanSynthesizer(NeuralSynthesizer):
    """Conditional tabular GAN with a packed, gradient-penalised critic (CTGAN's line).

    >>> import numpy as np, pandas as pd, simulacra
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)})
    >>> model = simulacra.create("gan", seed=0, epochs=3, progress=False)
    >>> model.fit(df).sample(5, conditions={"c": "a"})["c"].tolist()
    ['a', 'a', 'a', 'a', 'a']
    """

    name = "gan"
    description = (
        "Conditional tabular GAN (CTGAN's line): mode-normalised numbers, native conditions."
    )
    numbers = "modes"
    category_cap = 100
    generator_norm: ClassVar[type[nn.Module]] = nn.BatchNorm1d
    quick_params: ClassVar[dict[str, Any]] = {
        "epochs": 20,
        "batch_size": 100,
        "learning_rate": 2e-3,
        "hidden": 32,
        "embedding_dim": 16,
        "progress": False,
    }
    params = (
        *training_params(
            epochs=300, batch_size=500, learning_rate=2e-4, patience=0, validation=0.0
        ),
        Param("embedding_dim", int, 128, "Size of the generator's noise input.", low=1),
        Param("hidden", int, 256, "Width of the generator's and critic's layers.", low=4),
        Param("depth", int, 2, "Residual blocks in the generator, layers in the critic.", low=1),
        Param(
            "pac", int, 10, "Rows the critic judges at once (PacGAN); divides batch_size.", low=1
        ),
        Param("weight_decay", float, 1e-6, "Adam's L2 penalty on the weights.", low=0.0),
        Param(
            "average",
            float,
            0.995,
            "Decay of the moving average of the generator's weights that rows are drawn "
            "from (0: its last weights).",
            low=0.0,
            high=0.9999,
        ),
    )

    def _checked_params(self) -> dict[str, Any]:
        params = super()._checked_params()
        pac = params.get("pac", self.pac)  # dp-gan has no pac parameter: it judges single rows
        if params["batch_size"] % pac:
            raise InvalidParameterError(
                f"gan: batch_size={params['batch_size']} is not a multiple of pac={pac}; "
                "the critic judges rows in packs of pac, so make batch_size a multiple of it"
            )
        return params

    # ------------------------------------------------------------- conditional vector
    def _discrete(self) -> list[int]:
        """Category parts of discrete columns (modes of numbers are not conditioned on)."""
        encoders = self.codec_.encoders_
        return [
            j
            for j, p in enumerate(self.codec_.category_parts)
            if isinstance(encoders[p.column], Capped)
        ]

    def _prepare(self, numbers: np.ndarray, codes: np.ndarray) -> None:
        """Each conditioned category's share and log-frequency share, blocks end to end."""
        parts = self.codec_.category_parts
        self._keep_shares(
            [np.bincount(codes[:, j], minlength=parts[j].cardinality) for j in self._discrete()]
        )

    def _keep_shares(self, counts: list[np.ndarray]) -> None:
        """The shares from each conditioned part's category counts (none of them all zero)."""
        shares, logs = [], []
        for count in counts:
            shares.append(count / count.sum())
            log = np.log1p(count)
            logs.append(log / log.sum())
        self.cond_share_ = np.concatenate(shares) if shares else np.zeros(0)
        self.cond_log_share_ = np.concatenate(logs) if logs else np.zeros(0)

    def _cond_layout(self) -> tuple[list[int], np.ndarray]:
        """The conditioned parts and where each one's block starts (kept by the network)."""
        return self.network_.cond

    def _conditioned(self) -> tuple[list[int], np.ndarray]:
        parts = self._discrete()
        widths = [self.codec_.category_parts[j].cardinality for j in parts]
        return parts, np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)

    def _cond_vector(self, block: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        _, starts = self._cond_layout()
        cond = torch.zeros(len(block), int(starts[-1]), device=block.device)
        if len(starts) > 1:
            where = torch.from_numpy(starts[:-1]).to(block.device)[block] + code
            cond[torch.arange(len(block), device=block.device), where] = 1.0
        return cond

    def _free_conditions(
        self,
        n: int,
        generator: torch.Generator,
        device: torch.device,
        shares: np.ndarray | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A conditioned part chosen uniformly per row and its category by learned share
        (or by ``shares``, blocks end to end)."""
        shares = self.cond_share_ if shares is None else shares
        parts, starts = self._cond_layout()
        block = torch.randint(max(len(parts), 1), (n,), generator=generator, device=device)
        code = torch.zeros(n, dtype=torch.long, device=device)
        for b in range(len(parts)):
            rows = block == b
            if rows.any():
                share = torch.from_numpy(shares[starts[b] : starts[b + 1]]).to(device)
                drawn = torch.multinomial(share.float(), int(rows.sum()), True, generator=generator)
                code[rows] = drawn
        return block, code

    # ------------------------------------------------------------- network and training
    def _build(self, generator: torch.Generator) -> nn.Module:
        layout = OneHot(self.codec_.parts)
        _, starts = self._conditioned()
        sizes = (layout.width, int(starts[-1]), self.embedding_dim, self.hidden, self.depth)
        network = GanNetwork(*sizes, self.pac, self.generator_norm)
        network.layout = layout  # plain attributes: not weights, rebuilt from the codec
        network.cond = self._conditioned()
        return init_weights(network, generator)

    def _optimizers(self) -> list[torch.optim.Optimizer]:
        net: GanNetwork = self.network_
        critic = [*net.critic.parameters(), *net.score.parameters()]
        return [
            torch.optim.Adam(
                params, lr=self.learning_rate, betas=BETAS, weight_decay=self.weight_decay
            )
            for params in (net.generator.parameters(), critic)
        ]

    def _batch(
        self, numbers: torch.Tensor, codes: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, ...]:
        """Training by sampling within the batch: real rows, their conditions, fresh noise."""
        device, rows = codes.device, len(codes)
        size = -(-rows // self.pac) * self.pac
        parts, starts = self._cond_layout()
        if parts:
            block = torch.randint(len(parts), (rows,), generator=generator, device=device)
            code = codes[:, parts].gather(1, block[:, None])[:, 0]
            flat = torch.from_numpy(starts[:-1]).to(device)[block] + code
            share = torch.from_numpy(self.cond_share_).to(device)[flat]
            weight = torch.from_numpy(self.cond_log_share_).to(device)[flat] / share
        else:
            block = code = torch.zeros(rows, dtype=torch.long, device=device)
            weight = torch.ones(rows, device=device)
        pick = torch.multinomial(weight.float(), size, replacement=True, generator=generator)
        real = self.network_.layout.encode(numbers[pick], codes[pick])
        noise = torch.randn(size, self.embedding_dim, generator=generator, device=device)
        return real, block[pick], code[pick], noise

    def _fake(
        self, noise: torch.Tensor, cond: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raw = self.network_.generator(torch.cat([noise, cond], dim=1))
        return raw, self.network_.layout.activate(raw, generator, TAU)

    def _critic_inputs(
        self, numbers: torch.Tensor, codes: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, ...]:
        """Real rows and as many generated ones, each beside its condition; and the conditions."""
        real, block, code, noise = self._batch(numbers, codes, generator)
        cond = self._cond_vector(block, code)
        with torch.no_grad():
            _, fake = self._fake(noise, cond, generator)
        return torch.cat([real, cond], 1), torch.cat([fake, cond], 1), block, code

    def _critic_step(
        self,
        real: torch.Tensor,
        fake: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """One step of the critic's Wasserstein loss with its gradient penalty; the estimate."""
        net: GanNetwork = self.network_
        distance = net.judge(real, generator).mean() - net.judge(fake, generator).mean()
        penalty = self._penalty(real, fake, generator)
        optimizer.zero_grad(set_to_none=True)
        (penalty - distance).backward()
        optimizer.step()
        return distance

    def _generator_conditions(
        self, block: torch.Tensor, code: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The conditions the generator trains on: the critic's (``dp-gan`` draws its own)."""
        return block, code

    def _step(
        self,
        numbers: torch.Tensor,
        codes: torch.Tensor,
        optimizers: list[torch.optim.Optimizer],
        generator: torch.Generator,
    ) -> float:
        """One critic update, then one generator update; returns the critic's estimate."""
        opt_g, opt_c = optimizers
        net: GanNetwork = self.network_
        real_in, fake_in, block, code = self._critic_inputs(numbers, codes, generator)
        distance = self._critic_step(real_in, fake_in, opt_c, generator)

        block, code = self._generator_conditions(block, code, generator)
        cond = self._cond_vector(block, code)
        noise = torch.randn(len(block), self.embedding_dim, generator=generator, device=cond.device)
        raw, fake = self._fake(noise, cond, generator)
        chosen = net.layout.block_loss(raw, _category_index(self._cond_layout()[0], block), code)
        loss_g = -net.judge(torch.cat([fake, cond], 1), generator).mean() + chosen
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if not torch.isfinite(loss_g):
            return float("nan")
        self._average_generator()
        return float(distance.detach())

    def _average_generator(self) -> None:
        """Move the generator's running average towards its weights (and norm statistics).

        The decay warms up as ``(1 + t) / (10 + t)`` so that the first steps'
        weights, far from the data, fade quickly.
        """
        if not self.average:
            return
        weights = self.network_.generator.state_dict()  # detached tensors
        self._averaged_steps += 1
        if self._averaged is None:
            self._averaged = {k: v.clone() for k, v in weights.items()}
            return
        t = self._averaged_steps
        decay = min(self.average, (1 + t) / (10 + t))
        for name, value in weights.items():
            if value.dtype.is_floating_point:
                self._averaged[name].lerp_(value, 1 - decay)
            else:  # batch norm's step count
                self._averaged[name].copy_(value)

    def _fit(self, encoded: EncodedTable, rng: np.random.Generator) -> None:
        self._averaged, self._averaged_steps = None, 0
        super()._fit(encoded, rng)
        averaged, self._averaged = self._averaged, None
        if averaged is not None and self.stop_reason_ != "nan loss":
            self.network_.generator.load_state_dict(averaged)

    def _penalty(
        self, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """WGAN-GP: the critic's gradient norm per pack held near 1 between real and fake."""
        pac, width = self.pac, real.shape[1]
        alpha = torch.rand(len(real) // pac, 1, 1, generator=generator, device=real.device)
        alpha = alpha.expand(-1, pac, width).reshape(-1, width)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        score = self.network_.judge(mixed, generator)
        (grad,) = torch.autograd.grad(score.sum(), mixed, create_graph=True)
        return PENALTY * ((grad.reshape(-1, pac * width).norm(2, dim=1) - 1) ** 2).mean()

    def _loss(
        self, numbers: torch.Tensor, codes: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """The critic's Wasserstein estimate between these rows and generated ones."""
        net: GanNetwork = self.network_
        real, block, code, noise = self._batch(numbers, codes, generator)
        cond = self._cond_vector(block, code)
        _, fake = self._fake(noise, cond, generator)
        real_in, fake_in = torch.cat([real, cond], 1), torch.cat([fake, cond], 1)
        return net.judge(real_in, None).mean() - net.judge(fake_in, None).mean()

    # ------------------------------------------------------------- sampling
    def _generate(
        self, n: int, generator: torch.Generator, evidence: Evidence | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        net: GanNetwork = self.network_
        device = net.score.weight.device
        asked = self._asked(evidence) if evidence is not None else None
        block, code = self._free_conditions(n, generator, device)
        forced: list[tuple[int, torch.Tensor]] = []
        for j, mask in (asked or {}).items():
            share = torch.from_numpy(self._shares(j)).to(device)
            allowed = torch.from_numpy(np.ascontiguousarray(mask)).to(device)
            drawn = torch.multinomial((share + 1e-9) * allowed, 1, generator=generator)[:, 0]
            forced.append((j, drawn))
        if forced:  # the column itself, not its gap indicator, is the condition
            j, drawn = forced[0]
            block, code = torch.full_like(block, self._cond_layout()[0].index(j)), drawn
        noise = torch.randn(n, net.embedding, generator=generator, device=device)
        raw = net.generator(torch.cat([noise, self._cond_vector(block, code)], dim=1))
        numbers, codes = net.layout.draw(raw, generator)
        for j, drawn in forced:
            codes[:, j] = drawn
        return numbers, codes

    def _shares(self, j: int) -> np.ndarray:
        parts, starts = self._cond_layout()
        b = parts.index(j)
        return self.cond_share_[starts[b] : starts[b + 1]].astype(np.float32)

    def _asked(self, evidence: Evidence) -> dict[int, np.ndarray] | None:
        """Capped masks of the conditioned parts, the column's own first, or ``None`` when
        the evidence holds no discrete column or more than one (and its gap indicator).

        Ranges are left to the base, which keeps the drawn rows that fall inside
        them: a category drawn natively still spares rejection its share.
        """
        index = {p.column: j for j, p in enumerate(self.codec_.category_parts)}
        discrete = set(self._cond_layout()[0])
        asked = {}
        for name, mask in evidence.allowed.items():
            mask = np.asarray(mask)
            if mask.all():
                continue
            j = index.get(name)
            capped = self.codec_.encoders_[name].allowed(mask) if j in discrete else None
            if capped is None or not capped.any(axis=1).all():
                return None
            asked[j] = capped
        names = sorted((self.codec_.category_parts[j].column for j in asked), key=len)
        if not names or len(names) > 2 or (len(names) == 2 and names[1] != names[0] + NULL_SUFFIX):
            return None
        return {index[name]: asked[index[name]] for name in names}

    def _sample_conditional(
        self, n: int, rng: np.random.Generator, evidence: Evidence
    ) -> pd.DataFrame | None:
        if self._asked(evidence) is None:
            return None
        return self._draw(n, rng, evidence)


def _category_index(parts: list[int], block: torch.Tensor) -> torch.Tensor:
    """Conditional-vector block numbers as category-part numbers (the layout's blocks)."""
    if not parts:
        return block
    return torch.tensor(parts, device=block.device)[block]
