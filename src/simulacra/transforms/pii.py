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
import pyarrow as pa
import pyarrow.compute as pc

from simulacra import _strings
from simulacra.errors import InvalidDataError

POOL_SIZE = 4096


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
        self.date_format_: str | None = "%Y-%m-%d"  # dates of birth: text format (None: dates)
        self.birth_years_ = (1940, 2006)
        self._pools: dict[tuple[int, str], pa.StringArray] = {}

    def fit(self, values: pd.Series) -> Self:
        if self.kind in ("text", "free_text"):
            self.mean_chars_ = max(5, int(values.astype(str).str.len().mean()))
        if self.kind == "date_of_birth" and len(values):
            self._fit_dates(values)
        return self

    def _fit_dates(self, values: pd.Series) -> None:
        """The text format and the span of birth years (years only: no real date is kept)."""
        from simulacra._detect import _datetime_format

        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            self.date_format_, stamps = None, values
        else:
            text = values.astype(str)
            self.date_format_ = _datetime_format(text.iloc[:2000]) or "%Y-%m-%d"
            stamps = pd.to_datetime(text, format=self.date_format_, errors="coerce")
        years = stamps.dt.year.dropna()
        if len(years):
            self.birth_years_ = (int(years.min()), int(years.max()))

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

    def _pool(self, what: str, key: int) -> pa.StringArray:
        cached = self._pools.get((key, what))
        if cached is None:
            fake = self._faker(key)
            make = {
                "person_name": fake.name,
                "first_name": lambda: fake.first_name().lower().replace(" ", ""),
                "last_name": lambda: fake.last_name().lower().replace(" ", ""),
                "email_domain": fake.free_email_domain,
                "phone": fake.phone_number,
                "address": lambda: fake.address().replace("\n", ", "),
                "postcode": fake.postcode,
                "iban": fake.iban,
                "domain": fake.domain_name,
                "text": lambda: fake.text(max_nb_chars=max(self.mean_chars_, 5)),
            }[what]
            size = POOL_SIZE if what != "text" else 512
            cached = pa.array([make() for _ in range(size)], pa.string())
            if len(self._pools) > 16:  # one sampling run uses a handful of pools
                self._pools.clear()
            self._pools[(key, what)] = cached
        return cached

    def _take(self, what: str, n: int, rng: np.random.Generator, key: int) -> pa.StringArray:
        values = self._pool(what, key)
        return values.take(rng.integers(0, len(values), n))

    def _pick(self, what: str, n: int, rng: np.random.Generator, key: int) -> _strings.Part:
        part = _strings.pool(self._pool(what, key).to_pylist())  # a byte grid to edit in place
        return _strings.take(part, rng.integers(0, len(part[1]), n))

    def generate(
        self, n: int, *, start: int, rng: np.random.Generator, key: int, total: int
    ) -> pd.Series:
        """``n`` fake values; ``key`` seeds the value pools of one sampling run."""
        whole = {"person_name": "person_name", "address": "address", "text": "text"}
        whole["free_text"] = "text"
        if self.kind in whole:  # values used as they are: let Arrow pick them
            return _strings.to_series(self._take(whole[self.kind], n, rng, key))
        if self.kind == "email":
            number = pc.cast(pa.array(rng.integers(1, 1000, n)), pa.string())
            local = [
                self._take("first_name", n, rng, key),
                ".",
                self._take("last_name", n, rng, key),
            ]
            parts = [*local, number, "@", self._take("email_domain", n, rng, key), ""]
            return _strings.to_series(pc.binary_join_element_wise(*parts))
        if self.kind == "date_of_birth":
            return self._dates(n, rng)
        if self.kind == "iban":
            from simulacra.privacy.checksums import iban_fix

            ibans = _redraw_digits(self._pick("iban", n, rng, key), rng, keep=2)
            return _strings.to_series(
                pa.array(iban_fix(_strings.to_series(_strings.join([ibans]))))
            )
        if self.kind == "url":
            path = rng.integers(ord("a"), ord("z") + 1, size=(n, 8), dtype=np.uint8)
            head = _strings.literal("https://www.", n)
            domain = self._pick("domain", n, rng, key)
            tail = (path, np.full(n, 8, dtype=np.int64))
            return _strings.to_series(_strings.join([head, domain, _strings.literal("/", n), tail]))
        return _strings.to_series(_strings.join(self._parts(n, rng, key)))

    def _dates(self, n: int, rng: np.random.Generator) -> pd.Series:
        low, high = self.birth_years_
        start = np.datetime64(f"{low:04d}-01-01")
        days = (np.datetime64(f"{high + 1:04d}-01-01") - start).astype(np.int64)
        stamps = pd.Series(start + rng.integers(0, days, n).astype("timedelta64[D]"))
        if self.date_format_ is None:
            return stamps
        return stamps.dt.strftime(self.date_format_)

    def _parts(self, n: int, rng: np.random.Generator, key: int) -> list[_strings.Part]:
        kind, lit = self.kind, _strings.literal
        if kind == "phone":
            return [_redraw_digits(self._pick("phone", n, rng, key), rng, keep=3)]
        if kind == "postcode":
            return [_redraw_digits(self._pick("postcode", n, rng, key), rng, keep=0)]
        if kind == "credit_card":
            return [card_numbers(n, rng)]
        if kind == "national_id":
            area = rng.integers(1, 899, n)
            area[area >= 666] += 1  # US SSN areas 001-665 and 667-899
            group, serial = rng.integers(1, 100, n), rng.integers(1, 10_000, n)
            digits = _strings.digits
            return [digits(area, 3), lit("-", n), digits(group, 2), lit("-", n), digits(serial, 4)]
        if kind == "ip_address":
            octets = rng.integers(1, 255, size=(n, 4))
            parts = [_strings.number(octets[:, 0])]
            for j in range(1, 4):
                parts += [lit(".", n), _strings.number(octets[:, j])]
            return parts
        raise InvalidDataError(f"no generator for PII kind {kind!r}")

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"mean_chars": self.mean_chars_}
        if self.kind == "date_of_birth":
            state |= {"date_format": self.date_format_, "birth_years": list(self.birth_years_)}
        return state

    def set_state(self, state: dict[str, Any]) -> Self:
        self.mean_chars_ = int(state["mean_chars"])
        self.date_format_ = state.get("date_format", self.date_format_)
        low, high = state.get("birth_years", self.birth_years_)
        self.birth_years_ = (int(low), int(high))
        return self


def _redraw_digits(part: _strings.Part, rng: np.random.Generator, keep: int) -> _strings.Part:
    """Replace every digit after the first ``keep`` of each value with a random one."""
    grid, lengths = part
    grid = grid.copy()
    digit = (grid >= ord("0")) & (grid <= ord("9"))
    digit &= np.cumsum(digit, axis=1, dtype=np.uint8) > keep
    grid[digit] = rng.integers(ord("0"), ord("9") + 1, int(digit.sum()), dtype=np.uint8)
    return grid, lengths


def card_numbers(n: int, rng: np.random.Generator) -> _strings.Part:
    """16-digit numbers with a Visa-style prefix and a valid Luhn check digit."""
    body = rng.integers(0, 10, size=(n, 15))
    body[:, 0] = 4
    doubled = body[:, ::-1].copy()
    doubled[:, 0::2] *= 2
    doubled[doubled > 9] -= 9
    check = (10 - doubled.sum(axis=1) % 10) % 10
    grid = (np.concatenate([body, check[:, None]], axis=1) + ord("0")).astype(np.uint8)
    return grid, np.full(n, 16, dtype=np.int64)
