"""Independent random streams for every table, column and block of a run.

A stream is ``SeedSequence(seed, spawn_key=...)``: the child that
``SeedSequence(seed).spawn`` would make, keyed by stable hashes of the table
and column *names* and the block number. So streams never overlap, any block
can be made on its own (in parallel, or again), and adding a column to a spec
leaves the values of the other columns as they were.

>>> a = stream(7, "customers", "age", 0).random()
>>> b = stream(7, "customers", "age", 0).random()
>>> a == b, a == stream(7, "customers", "age", 1).random()
(True, False)
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["key", "stream"]


def _part(part: str | int) -> int:
    if isinstance(part, int):
        return part
    return int.from_bytes(hashlib.blake2b(part.encode(), digest_size=8).digest(), "little")


def stream(seed: int, *parts: str | int) -> np.random.Generator:
    """The random stream for ``parts`` (names and block numbers) of run ``seed``."""
    sequence = np.random.SeedSequence(seed, spawn_key=tuple(_part(p) for p in parts))
    return np.random.Generator(np.random.PCG64(sequence))


def key(seed: int, *parts: str | int) -> int:
    """A 63-bit integer key for ``parts`` of run ``seed`` (for keyed bijections and pools)."""
    sequence = np.random.SeedSequence(seed, spawn_key=tuple(_part(p) for p in parts))
    return int(sequence.generate_state(2, np.uint64)[0] >> np.uint64(1))
