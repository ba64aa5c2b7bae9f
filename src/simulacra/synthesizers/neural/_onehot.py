"""One flat row of a table's parts, as the ``gan`` and ``vae`` families see it.

CTGAN and TVAE read and write a row as one vector: a number part is one slot
(an offset in ``[-1, 1]``, through ``tanh`` on the way out), a category part a
one-hot block of its codes (softmax on the way out). The blocks follow the
codec's part order, so a mode-normalised column is its offset then its mode.
Every block is at most the codec's category cap wide, so the row's width
never grows with a column's number of levels.

Every random draw takes a ``torch.Generator``; nothing touches torch's global
generator (``F.gumbel_softmax`` does, so Gumbel noise is drawn here).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from simulacra.synthesizers.neural._codec import Part

__all__ = ["OneHot", "gumbel"]

TINY = 1e-20


def gumbel(shape: torch.Size, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Standard Gumbel noise drawn from ``generator``."""
    u = torch.rand(shape, generator=generator, device=device)
    return -torch.log(-torch.log(u + TINY) + TINY)


class OneHot:
    """The layout of the flat row: where each number slot and each category block sits.

    >>> from simulacra.synthesizers.neural._codec import Part
    >>> layout = OneHot([Part("x", "number"), Part("x", "category", 3), Part("c", "category", 2)])
    >>> layout.width, layout.numbers, layout.blocks
    (6, [0], [(1, 3), (4, 2)])
    """

    def __init__(self, parts: list[Part]) -> None:
        self.numbers: list[int] = []  # slot of each number part, in order
        self.blocks: list[tuple[int, int]] = []  # (start, width) of each category part
        self.segments: list[tuple[int, int, bool]] = []  # (start, width, is_block) in order
        width = 0
        for part in parts:
            if part.kind == "number":
                self.numbers.append(width)
                self.segments.append((width, 1, False))
                width += 1
            else:
                self.blocks.append((width, part.cardinality))
                self.segments.append((width, part.cardinality, True))
                width += part.cardinality
        self.width = width

    def encode(self, numbers: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Parts as flat rows: numbers in their slots, each code as a one in its block."""
        out = torch.zeros(len(codes), self.width, device=codes.device)
        if self.numbers:
            out[:, self.numbers] = numbers.float()
        if self.blocks:
            starts = torch.tensor([s for s, _ in self.blocks], device=codes.device)
            out.scatter_(1, codes + starts, 1.0)
        return out

    def activate(
        self, raw: torch.Tensor, generator: torch.Generator | None = None, tau: float = 1.0
    ) -> torch.Tensor:
        """``tanh`` on number slots; softmax on each block, Gumbel-softmax given a generator."""
        pieces = []
        for start, width, is_block in self.segments:
            piece = raw[:, start : start + width]
            if not is_block:
                pieces.append(torch.tanh(piece))
            elif generator is None:
                pieces.append(torch.softmax(piece, dim=1))
            else:
                noise = gumbel(piece.shape, generator, piece.device)
                pieces.append(torch.softmax((piece + noise) / tau, dim=1))
        return torch.cat(pieces, dim=1) if pieces else raw

    def reconstruction(
        self,
        raw: torch.Tensor,
        numbers: torch.Tensor,
        codes: torch.Tensor,
        sigma: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Per-row mean of the summed loss over parts: cross-entropy for blocks; for numbers a
        Gaussian negative log-likelihood of ``tanh(raw)`` with scale ``sigma`` (TVAE's), or
        half the squared error without one."""
        rows = len(raw)
        total = raw.new_zeros(())
        if self.numbers:
            error = (numbers.float() - torch.tanh(raw[:, self.numbers])) ** 2
            if sigma is None:
                total = total + error.sum() / 2
            else:
                total = total + (error / (2 * sigma**2)).sum() + rows * torch.log(sigma).sum()
        for j, (start, width) in enumerate(self.blocks):
            logits = raw[:, start : start + width]
            total = total + F.cross_entropy(logits, codes[:, j], reduction="sum")
        return total / rows

    def block_loss(
        self, raw: torch.Tensor, block: torch.Tensor, code: torch.Tensor
    ) -> torch.Tensor:
        """Mean cross-entropy of each row's own block ``block[i]`` against ``code[i]``."""
        total = raw.new_zeros(())
        for j, (start, width) in enumerate(self.blocks):
            rows = block == j
            if rows.any():
                logits = raw[rows, start : start + width]
                total = total + F.cross_entropy(logits, code[rows], reduction="sum")
        return total / max(len(raw), 1)

    def draw(
        self, raw: torch.Tensor, generator: torch.Generator, sigma: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Parts from network output: numbers ``tanh(raw)`` (plus noise of scale ``sigma``,
        clipped to ``[-1, 1]``), each code drawn from its block's softmax."""
        device = raw.device
        numbers = torch.tanh(raw[:, self.numbers])
        if sigma is not None and self.numbers:
            noise = torch.randn(numbers.shape, generator=generator, device=device)
            numbers = (numbers + sigma * noise).clamp(-1.0, 1.0)
        codes = torch.zeros(len(raw), len(self.blocks), dtype=torch.long, device=device)
        for j, (start, width) in enumerate(self.blocks):
            logits = raw[:, start : start + width]
            codes[:, j] = torch.argmax(logits + gumbel(logits.shape, generator, device), dim=1)
        return numbers, codes
