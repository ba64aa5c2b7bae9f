"""Fake values (names, emails, phones, addresses, companies, IBANs...) without a call per row.

Faker makes a pool of a few hundred to a few thousand values once per
locale, provider and seed; rows pick from the pool by random index, and values are composed by
vectorized string operations: a full name is a first name and a last name,
an email is built from both and a domain, digits in phone numbers, streets
and IBANs are redrawn per row (IBAN check digits computed again), so values
rarely repeat although Faker is called only a few thousand times.

>>> pools = Pools(seed=0)
>>> emails = fake("email", 4, np.random.default_rng(0), pools, "en_US")
>>> all("@" in e for e in emails.to_pylist())
True
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulacra import _strings
from simulacra.transforms.pii import card_numbers

__all__ = ["PROVIDERS", "Pools", "fake", "locale_problem"]

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_FAMILY_FIRST = {"ja_JP", "zh_CN", "zh_TW", "ko_KR", "hu_HU", "vi_VN"}
_NO_SPACE = {"ja_JP", "zh_CN", "zh_TW"}

# Faker calls that fill a pool: the call, the pool size, and whether digits are redrawn per row
# (pools of slow calls are smaller; redrawn digits and composition keep values varied)
_POOLED: dict[str, tuple[Callable[[Any], str], int, bool]] = {
    "first_name": (lambda f: f.first_name(), 2048, False),
    "last_name": (lambda f: f.last_name(), 2048, False),
    "phone_number": (lambda f: f.phone_number(), 512, True),
    "street_address": (lambda f: f.street_address(), 1024, True),
    "address": (lambda f: f.address().replace("\n", ", "), 1024, True),
    "city": (lambda f: f.city(), 1024, False),
    "postcode": (lambda f: f.postcode(), 256, True),
    "country": (lambda f: f.country(), 512, False),
    "company": (lambda f: f.company(), 1024, False),
    "job": (lambda f: f.job(), 1024, False),
    "word": (lambda f: f.word(), 2048, False),
    "sentence": (lambda f: f.sentence(), 1024, False),
    "iban": (lambda f: f.iban(), 256, True),
}
_HIDDEN = {"email_domain": (lambda f: f.free_email_domain(), 256, False)}
PROVIDERS: dict[str, str] = {
    "name": "full name (first and last name, in the locale's order)",
    "first_name": "first name",
    "last_name": "last name",
    "email": "e-mail address made from a name, a number and a free-mail domain",
    "user_name": "user name made from a name and a number",
    "phone_number": "phone number in the locale's formats",
    "street_address": "house number and street",
    "address": "full postal address on one line",
    "city": "city",
    "postcode": "postal code",
    "country": "country name",
    "company": "company name",
    "job": "job title",
    "word": "a word",
    "sentence": "a short sentence",
    "iban": "IBAN of the locale's country, with valid check digits",
    "credit_card_number": "16-digit card number with a valid Luhn check digit",
    "uuid4": "random UUID (version 4)",
    "ipv4": "IPv4 address",
}


_SHARED: dict[tuple[int, float, str, str], pa.Array] = {}  # pools kept across runs (bounded)


def locale_problem(locale: str) -> str | None:
    """Why Faker cannot use ``locale`` (None when it can)."""
    from faker.config import AVAILABLE_LOCALES

    if locale in AVAILABLE_LOCALES:
        return None
    import difflib

    close = difflib.get_close_matches(locale, AVAILABLE_LOCALES, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "; use one such as 'en_US' or 'de_DE'"
    return f"locale {locale!r} is not known to Faker{hint}"


class Pools:
    """Faker value pools of one run, made on first use; ``seed`` makes them repeatable."""

    def __init__(self, seed: int, scale: float = 1.0) -> None:
        self.seed, self.scale = seed, scale
        self._pools: dict[tuple[str, str], pa.Array] = {}
        self._grids: dict[tuple[str, str], tuple[_strings.Part, np.ndarray]] = {}

    def get(self, what: str, locale: str) -> pa.Array:
        """The pool of ``what`` (a key of ``_POOLED``) in ``locale``, as an Arrow string array."""
        cached = self._pools.get((what, locale))
        shared = (self.seed, self.scale, what, locale)
        if cached is None and shared in _SHARED:  # made by an earlier run with the same seed
            cached = self._pools[(what, locale)] = _SHARED[shared]
        if cached is None:
            from faker import Faker

            fake = Faker(locale)
            digest = hashlib.blake2b(f"{self.seed}/{locale}/{what}".encode(), digest_size=8)
            fake.seed_instance(int.from_bytes(digest.digest(), "little"))
            make, size, _ = (_POOLED | _HIDDEN)[what]
            size = max(16, int(size * self.scale))
            cached = pa.array([make(fake) for _ in range(size)], pa.string())
            self._pools[(what, locale)] = cached
            if len(_SHARED) >= 64:
                _SHARED.pop(next(iter(_SHARED)))
            _SHARED[shared] = cached
        return cached

    def grid(self, what: str, locale: str, keep: int) -> tuple[_strings.Part, np.ndarray]:
        """A pool as a byte grid, and which of its digits to redraw (after the first ``keep``)."""
        key = (f"{what}/grid", locale)
        if key not in self._grids:
            part = _grid(self.get(what, locale))
            digit = (part[0] >= ord("0")) & (part[0] <= ord("9"))
            digit &= np.cumsum(digit, axis=1) > keep
            self._grids[key] = (part, digit)
        return self._grids[key]

    def ascii(self, what: str, locale: str) -> pa.Array:
        """A pool as lower-case ASCII letters only (for e-mail and user names)."""
        key = (f"{what}/ascii", locale)
        if key not in self._pools:
            names = self.get(what, locale).to_pylist()
            plain = [_plain(n) for n in names]
            if sum(map(bool, plain)) < len(plain) // 2:  # a script with no Latin spelling
                plain = [f"user{i}" for i in range(len(plain))]
            else:
                plain = [p or q for p, q in zip(plain, [x for x in plain if x] * 2, strict=False)]
            self._pools[key] = pa.array(plain, pa.string())
        return self._pools[key]


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and c.isalpha()).lower()


def fake(name: str, n: int, rng: np.random.Generator, pools: Pools, locale: str) -> pa.Array:
    """``n`` values of provider ``name`` (a key of :data:`PROVIDERS`) as Arrow strings."""
    if name in _POOLED:
        pool = pools.get(name, locale)
        index = rng.integers(0, len(pool), n)
        if not _POOLED[name][2]:
            return pool.take(index)
        grid, digits = pools.grid(name, locale, keep=3 if name == "phone_number" else 0)
        part = _redraw_digits(_strings.take(grid, index), _take_mask(digits, index), rng)
        if name == "iban":
            part = _iban_check(part)
        return _strings.join([part])
    if name == "name":
        first = _pick(pools.get("first_name", locale), n, rng)
        last = _pick(pools.get("last_name", locale), n, rng)
        sep = "" if locale in _NO_SPACE else " "
        pair = (last, first) if locale in _FAMILY_FIRST else (first, last)
        return pc.binary_join_element_wise(*pair, sep)
    if name in ("email", "user_name"):
        first = _pick(pools.ascii("first_name", locale), n, rng)
        last = _pick(pools.ascii("last_name", locale), n, rng)
        number = _strings.join([_strings.number(rng.integers(1, 100, n))])
        if name == "user_name":
            return pc.binary_join_element_wise(first, last, number, "")
        domain = _pick(pools.get("email_domain", locale), n, rng)
        return pc.binary_join_element_wise(first, ".", last, number, "@", domain, "")
    if name == "credit_card_number":
        return _strings.join([card_numbers(n, rng)])
    if name == "uuid4":
        return _uuid4(n, rng)
    if name == "ipv4":
        octets = rng.integers(1, 255, size=(n, 4))
        parts = [_strings.number(octets[:, 0])]
        for j in range(1, 4):
            parts += [_strings.literal(".", n), _strings.number(octets[:, j])]
        return _strings.join(parts)
    raise KeyError(name)


def _pick(pool: pa.Array, n: int, rng: np.random.Generator) -> pa.Array:
    return pool.take(rng.integers(0, len(pool), n))


def _grid(values: pa.Array) -> _strings.Part:
    """Arrow strings as a byte grid (rows padded with zeros) and their lengths."""
    values = values.cast(pa.string())
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[
        values.offset : values.offset + len(values) + 1
    ]
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
    lengths = np.diff(offsets).astype(np.int64)
    width = max(1, int(lengths.max(initial=0)))
    grid = np.zeros((len(values), width), dtype=np.uint8)
    inside = np.arange(width)[None, :] < lengths[:, None]
    grid[inside] = data[offsets[0] : offsets[-1]]
    return grid, lengths


def _take_mask(mask: np.ndarray, index: np.ndarray) -> np.ndarray:
    rows = np.ascontiguousarray(mask).view(f"V{mask.shape[1]}").ravel()
    return rows[index].view(bool).reshape(len(index), mask.shape[1])


def _redraw_digits(
    part: _strings.Part, digits: np.ndarray, rng: np.random.Generator
) -> _strings.Part:
    """Replace the bytes marked in ``digits`` with random digits."""
    grid, lengths = part
    fresh = rng.integers(ord("0"), ord("9") + 1, grid.shape, dtype=np.uint8)
    return np.where(digits, fresh, grid), lengths


def _iban_check(part: _strings.Part) -> _strings.Part:
    """Set the two check digits of each IBAN (ISO 13616: mod 97 of BBAN + country + 00 is 1)."""
    grid, lengths = part
    n, width = grid.shape
    remainder = np.zeros(n, dtype=np.int64)
    order = [*range(4, width), 0, 1]
    for j in order:
        ch = grid[:, j].astype(np.int64)
        inside = (j < lengths) if j >= 4 else np.ones(n, dtype=bool)
        letter = ch >= ord("A")
        value = np.where(letter, ch - ord("A") + 10, ch - ord("0"))
        shifted = np.where(letter, remainder * 100 + value, remainder * 10 + value) % 97
        remainder = np.where(inside, shifted, remainder)
    remainder = remainder * 100 % 97  # the "00" in place of the check digits
    check = 98 - remainder
    grid[:, 2] = check // 10 + ord("0")
    grid[:, 3] = check % 10 + ord("0")
    return grid, lengths


def _uuid4(n: int, rng: np.random.Generator) -> pa.Array:
    nibbles = rng.integers(0, 16, size=(n, 32), dtype=np.uint8)
    nibbles[:, 12] = 4  # version
    nibbles[:, 16] = 8 + (nibbles[:, 16] & 3)  # variant 10xx
    hexes = _HEX[nibbles]
    dash = np.full((n, 1), ord("-"), dtype=np.uint8)
    cuts = [hexes[:, :8], dash, hexes[:, 8:12], dash, hexes[:, 12:16], dash]
    grid = np.concatenate([*cuts, hexes[:, 16:20], dash, hexes[:, 20:]], axis=1)
    return _strings.join([(grid, np.full(n, 36, dtype=np.int64))])
