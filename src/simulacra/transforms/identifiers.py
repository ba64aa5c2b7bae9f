"""Regenerated keys: unique, in the source's format, unrelated to the real ones.

A pattern is literal text with tokens: ``{int}`` (consecutive integers after the
largest real one, so none is real),
``{uuid}``, and ``{digits:N}``, ``{upper:N}``, ``{lower:N}``, ``{alnum:N}``
(N characters of that class). A run that needs more ids than the pattern holds lengthens its first
run of characters (``{digits:5}`` becomes six digits). Row ``i`` of a run gets a value
through a keyed bijection of ``i``, so ids stay unique across batches without
remembering what was handed out. The index is not a real id's, but a patterned id
can spell a real one by chance, at about the share of the pattern's values the
real ids take up (the real ids are not kept, so they cannot be avoided).
"""

from __future__ import annotations

import math
import re
from typing import Any, Self

import numpy as np
import pandas as pd

from simulacra import _strings
from simulacra.errors import InvalidDataError

_ALPHABETS = {
    "digits": "0123456789",
    "upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "lower": "abcdefghijklmnopqrstuvwxyz",
    "alnum": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
}
_TOKEN = re.compile(r"\{(digits|upper|lower|alnum):(\d+)\}|\{(int|uuid)\}|\{\{|\}\}|[^{}]+")
_MAX_BIJECTION = 2**31  # keeps a * i inside int64
_HEX = np.frombuffer("".join(f"{i:02x}" for i in range(256)).encode(), np.uint8).reshape(256, 2)


def parse_pattern(pattern: str) -> list[tuple[str, Any]]:
    """Split a pattern into ('lit', text), ('class', alphabet) per char, or a whole token."""
    parts: list[tuple[str, Any]] = []
    pos = 0
    for m in _TOKEN.finditer(pattern):
        if m.start() != pos:
            break
        pos = m.end()
        if m.group(1):
            parts += [("class", _ALPHABETS[m.group(1)])] * int(m.group(2))
        elif m.group(3):
            parts.append((m.group(3), None))
        else:
            text = m.group(0)[0] if m.group(0) in ("{{", "}}") else m.group(0)
            parts += [("lit", ch) for ch in text]
    whole = {p[0] for p in parts} & {"int", "uuid"}
    if pos != len(pattern) or (whole and len(parts) != 1):
        raise InvalidDataError(
            f"id pattern {pattern!r} is not valid; use literal text with {{digits:N}}, "
            "{upper:N}, {lower:N} or {alnum:N}, or exactly {int} or {uuid}"
        )
    return parts


class IdGenerator:
    """Makes unique ids in the column's pattern.

    >>> gen = IdGenerator("CUST-{digits:4}")
    >>> ids = gen.generate(5, start=0, rng=np.random.default_rng(0), key=7, total=5)
    >>> bool(ids.str.match(r"^CUST-\\d{4}$").all()), ids.is_unique
    (True, True)
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.parts = parse_pattern(pattern)
        self.start_ = 1

    def fit(self, values: pd.Series) -> Self:
        if self.parts[0][0] == "int":  # after the largest real id: no real one is made again
            self.start_ = int(pd.to_numeric(values).max()) + 1
        return self

    @property
    def capacity(self) -> int | None:
        radices = [len(a) for kind, a in self.parts if kind == "class"]
        return math.prod(radices) if radices else None

    def generate(
        self, n: int, *, start: int, rng: np.random.Generator, key: int, total: int
    ) -> pd.Series:
        """Rows ``start .. start+n`` of a run of ``total`` rows keyed by ``key``."""
        kind = self.parts[0][0]
        if kind == "int":
            return pd.Series(np.arange(start, start + n, dtype="int64") + self.start_)
        if kind == "uuid":
            return _uuids(n, rng)
        return self._from_template(n, start, rng, key, total)

    def _widened(self, total: int) -> list[tuple[str, Any]]:
        """The pattern's parts, with its first run of characters lengthened until ``total`` fit."""
        parts = list(self.parts)
        capacity = self.capacity or 1
        first = next(i for i, (kind, _) in enumerate(parts) if kind == "class")
        while capacity < total:
            parts.insert(first, parts[first])
            capacity *= len(parts[first][1])
        return parts

    def _from_template(
        self, n: int, start: int, rng: np.random.Generator, key: int, total: int
    ) -> pd.Series:
        if not any(kind == "class" for kind, _ in self.parts):
            raise InvalidDataError(f"id pattern {self.pattern!r} has no variable part")
        parts = self._widened(total)
        capacity = math.prod(len(a) for kind, a in parts if kind == "class")
        modulus = min(capacity, _MAX_BIJECTION)
        if total > modulus:
            raise InvalidDataError(
                f"at most {modulus:,} unique ids can be made in one run, but {total:,} rows "
                "were asked for; sample in several runs with different seeds"
            )
        index = _bijection(np.arange(start, start + n, dtype="int64"), modulus, key)
        columns: list[np.ndarray] = []  # byte columns, right to left
        # Fill classes from the right with the mixed-radix digits of the index;
        # positions beyond the bijection's range get random characters.
        remaining = modulus
        for kind, value in reversed(parts):
            if kind == "lit":
                columns += [np.full(n, byte, dtype=np.uint8) for byte in value.encode()[::-1]]
                continue
            alphabet = np.frombuffer(value.encode(), dtype=np.uint8)
            if remaining > 1:
                columns.append(alphabet[index % len(alphabet)])
                index = index // len(alphabet)
                remaining = -(-remaining // len(alphabet))
            else:
                columns.append(alphabet[rng.integers(0, len(alphabet), n)])
        grid = np.stack(columns[::-1], axis=1)
        width = np.full(n, grid.shape[1], dtype=np.int64)
        return _strings.to_series(_strings.join([(grid, width)]))

    def get_state(self) -> dict[str, Any]:
        return {"start": self.start_}

    def set_state(self, state: dict[str, Any]) -> Self:
        self.start_ = int(state["start"])
        return self


def _bijection(i: np.ndarray, modulus: int, key: int) -> np.ndarray:
    """A keyed permutation of ``0 .. modulus-1`` (affine map with a coprime multiplier)."""
    keyed = np.random.default_rng(key)
    a = int(keyed.integers(1, max(2, modulus)))
    while math.gcd(a, modulus) != 1:
        a += 1
    b = int(keyed.integers(0, modulus))
    return (i * a + b) % modulus


def _uuids(n: int, rng: np.random.Generator) -> pd.Series:
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexed = _HEX[raw].reshape(n, 32)
    dash = np.full((n, 1), ord("-"), dtype=np.uint8)
    grid = np.concatenate(
        [
            hexed[:, :8],
            dash,
            hexed[:, 8:12],
            dash,
            hexed[:, 12:16],
            dash,
            hexed[:, 16:20],
            dash,
            hexed[:, 20:],
        ],
        axis=1,
    )
    return _strings.to_series(_strings.join([(grid, np.full(n, 36, dtype=np.int64))]))
