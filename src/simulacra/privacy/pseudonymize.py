"""Keyed pseudonyms: the same real value becomes the same fake value everywhere.

Each distinct value is hashed once with HMAC-SHA256 under the user's secret;
the 32 digest bytes pick entries of Faker-built pools (names, street
addresses, web domains) and supply fresh digits and letters. Structured values
keep their source's format and stay valid: card numbers pass Luhn, IBANs
mod 97, SSNs/BSNs/DNIs their national rules. Rows then take their value's
pseudonym by index, so the work is one HMAC per distinct value, never one
Python call per row. The same secret and locale give the same pseudonyms in
every column and table (joins on pseudonymised keys still work); another
secret gives others. The secret is only ever held in memory.

>>> emails = pd.Series(["ann@corp.com", "bob@corp.com", "ann@corp.com"])
>>> fake = pseudonymize(emails, "email", secret="s3cret")
>>> fake[0] == fake[2] != fake[1], fake[0] in set(emails)
(True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as _secrets
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd

from simulacra.errors import InvalidDataError, InvalidParameterError
from simulacra.metadata import PII_KINDS
from simulacra.privacy import checksums
from simulacra.privacy.detect import _INLINE

__all__ = [
    "digests",
    "distinct_text",
    "format_preserving",
    "new_secret",
    "pseudonymize",
    "secret_bytes",
]

POOL_SIZE = 2048
_SAFE_DOMAINS = np.array(["example.com", "example.org", "example.net"], dtype=object)
_HEX = np.array(list("0123456789abcdef"), dtype=object)


def secret_bytes(secret: str | bytes | None) -> bytes:
    """The secret as bytes; a clear error when it is missing or empty."""
    if secret is None or len(secret) == 0:
        raise InvalidParameterError(
            "keyed mode needs a secret: put it in an environment variable and pass its name "
            "(on the command line --secret-env VAR; in Python secret=os.environ['VAR']); "
            "never write the secret itself on the command line"
        )
    return secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)


def new_secret() -> bytes:
    """A fresh random secret: pseudonyms consistent within one run only."""
    return _secrets.token_bytes(32)


def digests(values: pd.Series | list[str], secret: bytes, domain: str) -> np.ndarray:
    """HMAC-SHA256 of each value under ``secret`` (``domain`` separates uses): (n, 32) uint8."""
    prefix = domain.encode("utf-8") + b"\0"
    raw = b"".join(
        hmac.new(secret, prefix + str(v).encode("utf-8"), hashlib.sha256).digest() for v in values
    )
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 32)


def pseudonymize(
    values: pd.Series, kind: str, *, secret: str | bytes | None = None, locale: str = "en_US"
) -> pd.Series:
    """Replace each value by its keyed pseudonym of PII ``kind`` (missing cells stay missing).

    Without a ``secret`` a fresh random one is used: values are still replaced
    consistently within this call, but not across calls.
    """
    if kind not in PII_KINDS:
        raise InvalidParameterError(f"pii kind {kind!r} is not one of {list(PII_KINDS)}")
    key = new_secret() if secret is None else secret_bytes(secret)
    if values.notna().sum() == 0:
        return values.astype(object)
    if kind == "date_of_birth":
        return _shift_dates(values, key)
    codes, text = distinct_text(values)
    fakes = _BUILDERS[kind](text, digests(text, key, kind), locale, key)
    out = pd.Series(fakes.to_numpy(dtype=object)[codes], index=values.index, dtype=object)
    out[codes < 0] = None
    return out


def distinct_text(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Row codes (-1 where missing) and the distinct values as text.

    Whole numbers read as integers (``4111.0`` -> ``"4111"``), so that a key
    stored as float in one table and as int in another maps the same.
    """
    codes, uniques = pd.factorize(values, sort=False)
    plain = pd.Series(uniques)
    if pd.api.types.is_float_dtype(plain.dtype) and (plain == plain.round()).all():
        if (plain.abs() < 1e18).all():
            plain = plain.astype("int64")
    return codes, plain.astype(str).astype(object)


# --------------------------------------------------------------- helpers
def _take(pool: np.ndarray, d: np.ndarray, at: int) -> np.ndarray:
    """Pool entries picked by 4 digest bytes starting at ``at``."""
    index = d[:, at : at + 4].astype(np.uint64) @ (256 ** np.arange(4, dtype=np.uint64))
    return pool[(index % np.uint64(len(pool))).astype(np.int64)]


def _number(d: np.ndarray, at: int, low: int, high: int) -> np.ndarray:
    index = d[:, at : at + 4].astype(np.int64) @ (256 ** np.arange(4, dtype=np.int64))
    return low + index % (high - low)


def format_preserving(
    text: pd.Series, d: np.ndarray, *, keep: int | np.ndarray = 0, letters: bool = True
) -> pd.Series:
    """Digits (and ASCII letters, unless ``letters`` is off) replaced by keyed ones.

    Each replacement is of the same class; other characters stay. The first
    ``keep`` characters (a number, or one per value) stay as they are: a country
    code, a card's issuer.
    """
    grid, lengths = checksums.char_grid(text)
    width = grid.shape[1]
    stream = np.concatenate([np.roll(d, 7 * r, axis=1) ^ r for r in range(-(-width // 32))], 1)
    stream = stream[:, :width].astype(np.uint32)
    free = np.arange(width)[None, :] >= np.reshape(keep, (-1, 1))
    digit = free & (grid >= ord("0")) & (grid <= ord("9"))
    upper = free & (grid >= ord("A")) & (grid <= ord("Z")) & letters
    lower = free & (grid >= ord("a")) & (grid <= ord("z")) & letters
    grid = np.where(digit, ord("0") + stream % 10, grid)
    grid = np.where(upper, ord("A") + stream % 26, grid)
    grid = np.where(lower, ord("a") + stream % 26, grid)
    return checksums.from_grid(grid, text.index, lengths)


@lru_cache(maxsize=32)
def _pool(locale: str, what: str) -> np.ndarray:
    """A fixed pool of Faker values (same locale, same Faker: same pool)."""
    from faker import Faker

    try:
        fake = Faker(locale)
    except AttributeError:
        raise InvalidDataError(
            f"locale {locale!r} is not known to Faker; use one such as 'en_US' or 'de_DE'"
        ) from None
    fake.seed_instance(20240607)
    make: dict[str, Callable[[], str]] = {
        "first": fake.first_name,
        "last": fake.last_name,
        "address": lambda: fake.address().replace("\n", ", "),
        "domain": fake.domain_name,
    }
    values = sorted({make[what]() for _ in range(POOL_SIZE)})
    if what in ("first", "last"):  # for emails and names alike: plain letters
        values = sorted({_ascii(v) for v in values} - {""})
    return np.array(values, dtype=object)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded if ch.isalpha() or ch == " ").strip()


# --------------------------------------------------------------- per kind
def _person_names(text: pd.Series, d: np.ndarray, locale: str, key: bytes) -> pd.Series:
    first, last = _take(_pool(locale, "first"), d, 0), _take(_pool(locale, "last"), d, 4)
    return pd.Series(first + " " + last, index=text.index)


def _emails(text: pd.Series, d: np.ndarray, locale: str, key: bytes) -> pd.Series:
    first = pd.Series(_take(_pool(locale, "first"), d, 0)).str.lower().str.replace(" ", "")
    last = pd.Series(_take(_pool(locale, "last"), d, 4)).str.lower().str.replace(" ", "")
    number = pd.Series(_number(d, 8, 10, 10_000)).astype(str)
    domain = _take(_SAFE_DOMAINS, d, 12)
    local = first + "." + last + number
    return pd.Series((local + "@" + domain).to_numpy(), index=text.index)


def _addresses(text: pd.Series, d: np.ndarray, locale: str, key: bytes) -> pd.Series:
    picked = pd.Series(_take(_pool(locale, "address"), d, 0), index=text.index)
    return format_preserving(picked, d[:, ::-1], letters=False)  # house numbers, postcodes


def _urls(text: pd.Series, d: np.ndarray, locale: str, key: bytes) -> pd.Series:
    domain = _take(_pool(locale, "domain"), d, 0)
    path = _HEX[d[:, 4:9] >> 4].sum(axis=1) + _HEX[d[:, 4:9] & 15].sum(axis=1)
    return pd.Series("https://www." + domain + "/" + path, index=text.index)


def _ips(text: pd.Series, d: np.ndarray, locale: str, key: bytes) -> pd.Series:
    v6 = text.str.contains(":", regex=False).to_numpy()
    octets = pd.DataFrame(d[:, :4].astype(np.int64))
    octets[0] = octets[0] % 223 + 1  # a unicast first octet
    v4_text = octets[0].astype(str)
    for j in (1, 2, 3):
        v4_text = v4_text + "." + octets[j].astype(str)
    groups = pd.DataFrame(d[:, 4:20:2].astype(np.int64) * 256 + d[:, 5:21:2])
    v6_text = groups[0].map("{:x}".format)
    for j in range(1, 8):
        v6_text = v6_text + ":" + groups[j].map("{:x}".format)
    return pd.Series(np.where(v6, v6_text, v4_text), index=text.index)


def _phones(text: pd.Series, d: np.ndarray, locale: str, key: bytes) -> pd.Series:
    country = text.str.extract(r"^(\+\d{1,3})(?=\D)", expand=False)  # "+44 ..." stays "+44"
    keep = pd.to_numeric(country.str.len(), errors="coerce").fillna(0).to_numpy(np.int64)
    return format_preserving(text, d, keep=keep, letters=False)


def _cards(text: pd.Series, d: np.ndarray, locale: str, key: bytes) -> pd.Series:
    return checksums.luhn_fix(format_preserving(text, d, keep=1))


def _ibans(text: pd.Series, d: np.ndarray, locale: str, key: bytes) -> pd.Series:
    upper = text.str.upper()
    return checksums.iban_fix(format_preserving(upper, d, keep=4))


def _national_ids(text: pd.Series, d: np.ndarray, locale: str, key: bytes) -> pd.Series:
    out = format_preserving(text.str.upper(), d)
    for scheme, check in (
        ("us-ssn", checksums.ssn_valid),
        ("nl-bsn", checksums.bsn_valid),
        ("es-dni", checksums.dni_valid),
        ("uk-nino", checksums.nino_valid),
    ):
        rows = check(text)
        if rows.any():
            out[rows] = _FIX[scheme](out[rows], d[rows])
    return out


def _nino_fix(text: pd.Series, d: np.ndarray) -> pd.Series:
    prefix = _take(np.array(["AB", "CE", "HJ", "JK", "LM", "PR", "SW", "TY", "WX"]), d, 20)
    suffix = _take(np.array(list("ABCD")), d, 24)
    body = text.str[2:-1]
    return pd.Series(prefix + body.to_numpy(dtype=object) + suffix, index=text.index)


_FIX: dict[str, Callable[[pd.Series, np.ndarray], pd.Series]] = {
    "us-ssn": lambda t, d: checksums.ssn_fix(t),
    "nl-bsn": lambda t, d: checksums.bsn_fix(t),
    "es-dni": lambda t, d: checksums.dni_fix(t),
    "uk-nino": _nino_fix,
}


def _postcodes(text: pd.Series, d: np.ndarray, locale: str, key: bytes) -> pd.Series:
    return format_preserving(text, d)


def _free_text(text: pd.Series, d: np.ndarray, locale: str, key: bytes) -> pd.Series:
    """Every email, URL, IBAN, card number, SSN, IP and phone inside the text replaced."""
    pattern = "|".join(f"(?P<{k}>{rx})" for k, rx in _INLINE.items())
    found = text.str.extractall(pattern)
    mapping: dict[str, str] = {}
    for kind in _INLINE:
        spans = found[kind].dropna().unique()
        if len(spans):
            spans = pd.Series(spans, dtype=object)
            fakes = _BUILDERS[kind](spans, digests(spans, key, kind), locale, key)
            mapping.update(zip(spans, fakes, strict=True))
    if not mapping:
        return text
    return text.str.replace(pattern, lambda m: mapping.get(m.group(0), m.group(0)), regex=True)


def _shift_dates(values: pd.Series, key: bytes) -> pd.Series:
    """Dates of birth moved by a keyed 1-365 days, in the source's format or dtype."""
    from simulacra._detect import _datetime_format

    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        fmt, stamps = None, values
    else:
        text = values.astype("string")
        fmt = _datetime_format(text.dropna().iloc[:2000].astype(str)) or "%Y-%m-%d"
        stamps = pd.to_datetime(text, format=fmt, errors="coerce")
        bad = stamps.isna() & values.notna()
        if bad.any():
            raise InvalidDataError(
                f"{values.name!r}: {values[bad].iloc[0]!r} is not a date in format {fmt!r}; "
                "fix the cell or mask the column another way"
            )
    codes, uniques = pd.factorize(stamps)
    d = digests(pd.Series(uniques).astype(str), key, "date_of_birth")
    sign = np.where(d[:, 0] & 1, 1, -1)
    shift = sign * (1 + _number(d, 1, 0, 365))
    moved = pd.Series(uniques).to_numpy() + shift.astype("timedelta64[D]")
    out = pd.Series(moved[codes], index=values.index).where(codes >= 0)
    return out if fmt is None else out.dt.strftime(fmt).astype(object).where(codes >= 0, None)


_BUILDERS: dict[str, Callable[[pd.Series, np.ndarray, str, bytes], pd.Series]] = {
    "email": _emails,
    "phone": _phones,
    "person_name": _person_names,
    "address": _addresses,
    "credit_card": _cards,
    "national_id": _national_ids,
    "ip_address": _ips,
    "free_text": _free_text,
    "postcode": _postcodes,
    "iban": _ibans,
    "url": _urls,
}
