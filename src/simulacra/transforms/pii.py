"""Regenerated personal data and free text, made with Faker; never learned.

Faker is slow one value at a time, so each run draws a pool of values once
(seeded) and rows pick from it; values that should rarely repeat (emails,
phones, card numbers, national ids, IPs) get their digits redrawn per row,
vectorized.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd

from simulacra.errors import InvalidDataError

POOL_SIZE = 4096
_DIGITS = np.array(list("0123456789"))


class PiiGenerator:
    """Fake values of one PII kind (or plain ``text``) in one locale.

    >>> gen = PiiGenerator("email", "en_US")
    >>> emails = gen.generate(3, start=0, rng=np.random.default_rng(0), key=1, total=3)
    >>> bool(emails.str.contains("@").all())
    True
    """

    def __init__(self, kind: str, locale: str | None = None) -> None:
        self.kind = kind
        self.locale = locale or "en_US"
        self.mean_chars_ = 80
        self._pools: dict[tuple[int, str], np.ndarray] = {}

    def fit(self, values: pd.Series) -> Self:
        if self.kind in ("text", "free_text"):
            self.mean_chars_ = max(5, int(values.astype(str).str.len().mean()))
        return self

    def _faker(self, key: int) -> Any:
        from faker import Faker

        try:
            fake = Faker(self.locale)
        except AttributeError:
            raise InvalidDataError(
                f"locale {self.locale!r} is not known to Faker; use one such as 'en_US' or 'de_DE'"
            ) from None
        fake.seed_instance(key)
        return fake

    def _pool(self, what: str, key: int) -> np.ndarray:
        cached = self._pools.get((key, what))
        if cached is None:
            fake = self._faker(key)
            make = {
                "person_name": fake.name,
                "first_name": fake.first_name,
                "last_name": fake.last_name,
                "domain": fake.free_email_domain,
                "phone": fake.phone_number,
                "address": lambda: fake.address().replace("\n", ", "),
                "text": lambda: fake.text(max_nb_chars=max(self.mean_chars_, 5)),
            }[what]
            size = POOL_SIZE if what != "text" else 512
            cached = np.array([make() for _ in range(size)], dtype=object)
            self._pools[(key, what)] = cached
        return cached

    def _pick(self, what: str, n: int, rng: np.random.Generator, key: int) -> pd.Series:
        pool = self._pool(what, key)
        return pd.Series(pool[rng.integers(0, len(pool), n)])

    def generate(
        self, n: int, *, start: int, rng: np.random.Generator, key: int, total: int
    ) -> pd.Series:
        kind = self.kind
        if kind == "email":
            first = self._pick("first_name", n, rng, key).str.lower()
            last = self._pick("last_name", n, rng, key).str.lower()
            number = pd.Series(rng.integers(1, 1000, n)).astype(str)
            domain = self._pick("domain", n, rng, key)
            return (first + "." + last + number + "@" + domain).str.replace(" ", "", regex=False)
        if kind == "phone":
            return _redraw_digits(self._pick("phone", n, rng, key), rng, keep=3)
        if kind in ("person_name", "address"):
            return self._pick(kind, n, rng, key)
        if kind in ("text", "free_text"):
            return self._pick("text", n, rng, key)
        if kind == "credit_card":
            return _card_numbers(n, rng)
        if kind == "national_id":
            return _ssns(n, rng)
        if kind == "ip_address":
            octets = rng.integers(1, 255, size=(n, 4)).astype(str)
            out = pd.Series(octets[:, 0], dtype=object)
            for j in range(1, 4):
                out = out + "." + octets[:, j]
            return out
        raise InvalidDataError(f"no generator for PII kind {kind!r}")

    def get_state(self) -> dict[str, Any]:
        return {"mean_chars": self.mean_chars_}

    def set_state(self, state: dict[str, Any]) -> Self:
        self.mean_chars_ = int(state["mean_chars"])
        return self


def _redraw_digits(values: pd.Series, rng: np.random.Generator, keep: int) -> pd.Series:
    """Replace every digit after the first ``keep`` with a random one."""
    width = int(values.str.len().max())
    grid = values.to_numpy(dtype=f"U{width}").view("U1").reshape(len(values), width).copy()
    digit = np.strings.isdigit(grid)
    digit &= np.cumsum(digit, axis=1) > keep
    grid[digit] = _DIGITS[rng.integers(0, 10, int(digit.sum()))]
    return pd.Series(np.ascontiguousarray(grid).view(f"U{width}").ravel(), dtype=object)


def _card_numbers(n: int, rng: np.random.Generator) -> pd.Series:
    """16-digit numbers with a test-range prefix and a valid Luhn check digit."""
    body = rng.integers(0, 10, size=(n, 15))
    body[:, 0] = 4  # Visa-style prefix
    doubled = body[:, ::-1].copy()
    doubled[:, 0::2] *= 2
    doubled[doubled > 9] -= 9
    check = (10 - doubled.sum(axis=1) % 10) % 10
    digits = np.concatenate([body, check[:, None]], axis=1)
    return pd.Series(np.ascontiguousarray(_DIGITS[digits]).view("U16").ravel(), dtype=object)


def _ssns(n: int, rng: np.random.Generator) -> pd.Series:
    """US SSNs in valid ranges (area 001-665, 667-899; group and serial non-zero)."""
    area = rng.integers(1, 899, n)
    area[area >= 666] += 1
    group = rng.integers(1, 100, n)
    serial = rng.integers(1, 10_000, n)
    return (
        pd.Series(area).astype(str).str.zfill(3)
        + "-"
        + pd.Series(group).astype(str).str.zfill(2)
        + "-"
        + pd.Series(serial).astype(str).str.zfill(4)
    )
