"""Text made from a regex-like pattern such as ``CUST-[0-9]{6}``, a whole column at a time.

The pattern language is a small, bounded subset of regular expressions:
literal characters (``\\`` escapes any of ``[](){}|?\\.``), classes ``[A-Z0-9_]``,
``\\d`` (digit), ``\\w`` (letter, digit or ``_``), ``\\l`` (lower-case letter),
``\\u`` (upper-case letter), ``.`` (letter or digit), groups with alternatives
``(EU|US)``, and counts ``{n}``, ``{m,n}`` and ``?``. Unbounded ``*`` and ``+``
are not allowed: a generator needs a longest value.

A pattern of fixed shape (no alternatives, no varying counts) can also make
*unique* values: row ``i`` maps through a keyed bijection onto the pattern's
values, so uniqueness holds across batches without remembering anything.

>>> p = Pattern("CUST-[0-9]{6}")
>>> p.generate(3, np.random.default_rng(0)).to_pylist()[0][:5]
'CUST-'
>>> p.capacity
1000000
>>> ids = p.unique(np.arange(1000), key=7)
>>> len(set(ids.to_pylist()))
1000
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from simulacra import _strings

__all__ = ["Pattern", "PatternError"]

Part = _strings.Part
_SPECIAL = set("[](){}|?\\.*+")
_CLASSES = {
    "d": string.digits,
    "w": string.ascii_letters + string.digits + "_",
    "l": string.ascii_lowercase,
    "u": string.ascii_uppercase,
}
_DOT = string.ascii_letters + string.digits
_MAX_COUNT = 1000
_BIJECTION = 2**31 - 1  # a prime; keeps a * i inside int64


class PatternError(ValueError):
    """The pattern text is not in the supported language; the message says where."""


@dataclass
class _Chars:
    alphabet: np.ndarray  # uint8 bytes to choose from


@dataclass
class _Repeat:
    node: _Node
    low: int
    high: int


@dataclass
class _Alt:
    branches: list[list[_Node]]


_Node = _Chars | _Repeat | _Alt


class Pattern:
    """A parsed pattern: ``generate`` random values, or ``unique`` ones for a fixed shape."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text:
            raise PatternError("a pattern must be non-empty text, e.g. 'CUST-[0-9]{6}'")
        self.text = text
        self._pos = 0
        self._nodes = self._sequence()
        if self._pos != len(text):
            self._fail("unmatched ')'")
        self._positions = _fixed_positions(self._nodes)

    @property
    def fixed(self) -> bool:
        """Whether every value has the same shape (needed for unique values)."""
        return self._positions is not None

    @property
    def capacity(self) -> int:
        """How many distinct values a fixed-shape pattern holds."""
        if self._positions is None:
            raise PatternError(f"pattern {self.text!r} has no fixed shape")
        return math.prod(len(a) for a in self._positions)

    # ---------------------------------------------------------------- parsing
    def _fail(self, what: str) -> None:
        raise PatternError(f"pattern {self.text!r}: {what} at position {self._pos + 1}")

    def _peek(self) -> str:
        return self.text[self._pos] if self._pos < len(self.text) else ""

    def _sequence(self) -> list[_Node]:
        nodes: list[_Node] = []
        while self._peek() not in ("", "|", ")"):
            nodes.append(self._counted(self._atom()))
        return nodes

    def _atom(self) -> _Node:
        ch = self._peek()
        self._pos += 1
        if ch == "(":
            branches = [self._sequence()]
            while self._peek() == "|":
                self._pos += 1
                branches.append(self._sequence())
            if self._peek() != ")":
                self._fail("'(' is never closed")
            self._pos += 1
            return _Alt(branches)
        if ch == "[":
            return _Chars(self._class())
        if ch == "\\":
            esc = self._peek()
            if not esc:
                self._fail("a pattern cannot end with '\\'")
            self._pos += 1
            return _chars(_CLASSES.get(esc, esc))
        if ch == ".":
            return _chars(_DOT)
        if ch in "*+":
            self._pos -= 1
            self._fail(f"unbounded '{ch}' is not allowed; give a count such as {{1,8}}")
        if ch in _SPECIAL:
            self._pos -= 1
            self._fail(f"{ch!r} must be escaped as '\\{ch}' to stand for itself")
        return _chars(ch)

    def _class(self) -> np.ndarray:
        chars: list[str] = []
        start = self._pos
        while self._peek() != "]":
            ch = self._peek()
            if not ch:
                self._pos = start - 1
                self._fail("'[' is never closed")
            self._pos += 1
            if ch == "\\" and self._peek():
                ch = self._peek()
                self._pos += 1
                if ch in _CLASSES:
                    chars += _CLASSES[ch]
                    continue
            if (
                self._peek() == "-"
                and self._pos + 1 < len(self.text)
                and self.text[self._pos + 1] not in "]"
            ):
                end = self.text[self._pos + 1]
                if ord(end) < ord(ch):
                    self._fail(f"range {ch}-{end} runs backwards")
                chars += [chr(c) for c in range(ord(ch), ord(end) + 1)]
                self._pos += 2
            else:
                chars.append(ch)
        self._pos += 1
        if not chars:
            self._fail("'[]' is an empty class")
        node = _chars("".join(dict.fromkeys(chars)))
        assert isinstance(node, _Chars)  # more than one char, so ASCII
        return node.alphabet

    def _counted(self, node: _Node) -> _Node:
        ch = self._peek()
        if ch == "?":
            self._pos += 1
            return _Repeat(node, 0, 1)
        if ch and ch in "*+":
            self._fail(f"unbounded '{ch}' is not allowed; give a count such as {{1,8}}")
        if ch != "{":
            return node
        end = self.text.find("}", self._pos)
        body = self.text[self._pos + 1 : end] if end > 0 else ""
        low_text, _, high_text = body.partition(",")
        if (
            end < 0
            or not low_text.strip().isdigit()
            or not (high_text.strip().isdigit() or "," not in body)
        ):
            self._fail("a count must look like {n} or {m,n}")
        low = int(low_text)
        high = int(high_text) if "," in body else low
        if high < low or high > _MAX_COUNT:
            self._fail(f"count {{{body}}} must have m <= n <= {_MAX_COUNT}")
        self._pos = end + 1
        return _Repeat(node, low, high)

    # ------------------------------------------------------------- generating
    def generate(self, n: int, rng: np.random.Generator) -> pa.Array:
        """``n`` random values (repeats possible)."""
        return _strings.join([_sequence(self._nodes, n, rng)])

    def unique(self, rows: np.ndarray, key: int) -> pa.Array:
        """The values of rows ``rows`` (0-based, < capacity): distinct rows, distinct values.

        Row ``i`` maps to the ``k``-th value through a keyed affine bijection
        ``k = (a i + b) mod M``, ``M = min(capacity, 2**31 - 1)``; the
        positions not needed to spell ``k`` are drawn from a keyed stream.
        """
        if self._positions is None:
            raise PatternError(
                f"pattern {self.text!r} cannot make unique values: it needs a fixed shape "
                "(no '|', '?' or {m,n})"
            )
        rows = np.asarray(rows, dtype=np.int64)
        size = min(self.capacity, _BIJECTION)
        rng = np.random.default_rng([key, 0x5EED])
        a = int(rng.integers(1, size)) if size > 1 else 1
        while math.gcd(a, size) != 1:
            a = int(rng.integers(1, size))
        b = int(rng.integers(0, size))
        k = (a * (rows % size) + b) % size
        grid = np.empty((len(rows), len(self._positions)), dtype=np.uint8)
        covered = 1
        for j in range(len(self._positions) - 1, -1, -1):
            alphabet = self._positions[j]
            if covered < size:
                grid[:, j] = alphabet[k % len(alphabet)]
                k //= len(alphabet)
                covered *= len(alphabet)
            else:  # spelled from the row alone, so any subset of rows gets the same values
                c, d = int(rng.integers(1, _BIJECTION)), int(rng.integers(0, _BIJECTION))
                grid[:, j] = alphabet[((c * (rows % _BIJECTION) + d) % _BIJECTION) % len(alphabet)]
        return _strings.join([(grid, np.full(len(rows), grid.shape[1], dtype=np.int64))])


def _chars(text: str) -> _Node:
    """One character from ``text``; a literal outside ASCII becomes its UTF-8 bytes in a row."""
    raw = text.encode("utf-8")
    if len(raw) == len(text):
        return _Chars(np.frombuffer(raw, dtype=np.uint8).copy())
    if len(text) == 1:
        return _Alt([[_Chars(np.array([b], dtype=np.uint8)) for b in raw]])
    raise PatternError(f"classes may hold only ASCII characters, got {text!r}")


def _fixed_positions(nodes: list[_Node]) -> list[np.ndarray] | None:
    """One alphabet per character position, or None if the shape varies."""
    out: list[np.ndarray] = []
    for node in nodes:
        inner: list[np.ndarray] | None = None
        if isinstance(node, _Chars):
            inner = [node.alphabet]
        elif isinstance(node, _Repeat) and node.low == node.high:
            inner = _fixed_positions([node.node])
            inner = None if inner is None else inner * node.low
        elif isinstance(node, _Alt) and len(node.branches) == 1:
            inner = _fixed_positions(node.branches[0])
        if inner is None:
            return None
        out += inner
    return out


def _node(node: _Node, n: int, rng: np.random.Generator) -> Part:
    if isinstance(node, _Chars):
        if len(node.alphabet) == 1:
            return np.broadcast_to(node.alphabet, (n, 1)), np.ones(n, dtype=np.int64)
        grid = node.alphabet[rng.integers(0, len(node.alphabet), n)][:, None]
        return grid, np.ones(n, dtype=np.int64)
    if isinstance(node, _Repeat):
        if isinstance(node.node, _Chars):  # the common case: one draw for the whole grid
            alphabet = node.node.alphabet
            grid = alphabet[rng.integers(0, len(alphabet), (n, node.high))]
            if node.low == node.high:
                return grid, np.full(n, node.high, dtype=np.int64)
            return grid, rng.integers(node.low, node.high + 1, n)
        count = rng.integers(node.low, node.high + 1, n)
        parts = []
        for j in range(node.high):
            grid, lengths = _node(node.node, n, rng)
            parts.append((grid, np.where(count > j, lengths, 0)))
        return _pack(parts, n)
    choice = rng.integers(0, len(node.branches), n)
    made = [_sequence(b, int((choice == i).sum()), rng) for i, b in enumerate(node.branches)]
    width = max(g.shape[1] for g, _ in made)
    grid = np.zeros((n, width), dtype=np.uint8)
    lengths = np.zeros(n, dtype=np.int64)
    for i, (g, lens) in enumerate(made):
        rows = np.flatnonzero(choice == i)
        grid[rows, : g.shape[1]] = g
        lengths[rows] = lens
    return grid, lengths


def _sequence(nodes: list[_Node], n: int, rng: np.random.Generator) -> Part:
    if not nodes:
        return np.zeros((n, 0), dtype=np.uint8), np.zeros(n, dtype=np.int64)
    return _pack([_node(node, n, rng) for node in nodes], n)


def _pack(parts: list[Part], n: int) -> Part:
    """Parts of varying lengths joined into one left-aligned grid."""
    if all((lens == g.shape[1]).all() for g, lens in parts):
        return _strings.side_by_side(parts)
    grid = np.concatenate([np.broadcast_to(g, (n, g.shape[1])) for g, _ in parts], axis=1)
    keep = np.concatenate(
        [np.arange(g.shape[1])[None, :] < lens[:, None] for g, lens in parts], axis=1
    )
    lengths = keep.sum(axis=1)
    out = np.zeros((n, max(1, int(lengths.max(initial=0)))), dtype=np.uint8)
    rows = np.nonzero(keep)[0]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    out[rows, np.arange(len(rows)) - starts[rows]] = grid[keep]
    return out, lengths
