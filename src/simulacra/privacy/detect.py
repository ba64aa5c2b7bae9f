"""Which columns hold personal data, and the evidence for each guess.

A column is judged by its name (``email``, ``dob``, ``iban``...) and by its
values: the share of a sample of values that match a kind's pattern, with
checksums where the kind has one (Luhn for cards, mod 97 for IBANs, the
11-test for Dutch BSNs, the control letter of Spanish DNIs). Free text is PII
when it carries any of the structured kinds inside it. ``Metadata.detect``
uses the same rules (:func:`classify`), so a column it marks ``pii`` and a
:class:`PIIFinding` agree; a metadata JSON overrides both.

>>> df = pd.DataFrame({"contact": ["ann@example.com", "bo@example.org"], "n": [1, 2]})
>>> [(f.column, f.kind, f.pattern, f.share) for f in detect_pii(df)]
[('contact', 'email', 'email', 1.0)]
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InvalidDataError
from simulacra.metadata import Metadata
from simulacra.privacy import checksums

__all__ = ["NAME_HINTS", "PIIFinding", "classify", "detect_pii", "national_id_scheme"]

SAMPLE = 2000  # values looked at per column
VALUE_SHARE = 0.9  # share of values that must match when the column name gives no hint
HINTED_SHARE = 0.8  # share needed when the name hints at the kind but cannot settle it alone
LOOSE_SHARE = 0.7  # names and street addresses: real ones vary too much for 0.9
INLINE_SHARE = 0.05  # share of free-text values that must carry some PII inside

NAME_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"e-?mail")),
    ("phone", re.compile(r"phone|mobile|^tel|_tel|fax")),
    ("iban", re.compile(r"iban|bank_?account|account_?(no|number)")),
    ("credit_card", re.compile(r"(?<!dis)card|^cc_|ccnum|pan$")),
    (
        "national_id",
        re.compile(
            r"ssn|social_sec|national_id|passport|tax_?id|nino|national_insurance|(^|_)bsn"
            r"|(^|_)(dni|nie|nif)($|_)|burgerservice"
        ),
    ),
    ("ip_address", re.compile(r"(^|_)ip(_|$)|ip_?addr|ipv[46]")),
    ("date_of_birth", re.compile(r"(^|_)dob($|_)|birth|born")),
    ("postcode", re.compile(r"(^|_)zip($|_|code)|post_?code|postal|(^|_)plz($|_)")),
    ("url", re.compile(r"url|website|homepage|web_?page|(^|_)link($|_)")),
    ("address", re.compile(r"address|street|^addr")),
    (
        "person_name",
        re.compile(
            r"^(full_?|first_?|last_?|given_?|family_?|sur|middle_?|customer_?|patient_?|person_?)?"
            r"name$|^(firstname|lastname|surname|forename)$"
        ),
    ),
)
# Kinds a column name settles alone; the others need their values to agree. Not when the
# values are a small vocabulary without the kind's shape: `card_type` holding Visa and Amex,
# `email_domain` holding gmail.com (a name is kept: foreign names have no shape to check).
NAME_IS_ENOUGH = {"email", "credit_card", "national_id", "ip_address", "address", "person_name"}
VOCABULARY_COUNT = 5  # a value this many sampled rows share is no identifier
VOCABULARY_RARE_SHARE = 0.1  # share of rows allowed a rarer value in a vocabulary

_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_URL = r"(?:https?|ftp)://[^\s/$.?#][^\s]*|www\.[\w-]+(?:\.[\w-]+)+(?:/\S*)?"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_CARD = r"\d{4}(?:[ -]?\d{4}){2}[ -]?\d{1,7}"
_PHONE = r"\+?[\d\s().-]{7,20}(?:\s*(?:x|ext\.?)\s*\d{1,6})?"
_STRICT_PHONE_RX = (
    r"(?:\+\d{1,3}[\s.-]?)?\(?\d{2,4}\)?[\s.-]\d{3,4}[\s.-]\d{3,5}(?:\s*(?:x|ext\.?)\s*\d{1,6})?"
)
_POSTCODES = {
    "us-zip": r"\d{5}(?:-\d{4})?",
    "uk-postcode": r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}",
    "nl-postcode": r"\d{4} ?[A-Z]{2}",
    "ca-postcode": r"[A-Z]\d[A-Z] ?\d[A-Z]\d",
    "postcode": r"\d{4,6}",
}
_DISTINCT_POSTCODES = ("uk-postcode", "nl-postcode", "ca-postcode")  # plain digits need a name
_STREET = (
    r"^\d{1,6}[A-Za-z]?,?\s+(?:[\w.'-]+\s+){1,6}?"
    r"(?:street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl"
    r"|square|sq|terrace|parkway|pkwy|highway|hwy|circle|cir|trail|crescent|close|row)\b"
    r"|^\d{1,6}[A-Za-z]?\s+[\w.'-]+(?:\s+[\w.'-]+){1,5},\s*\w"
    r"|^[^\d,]{2,40}(?:stra(?:ss|ß)e|str\.|weg|gasse|platz|laan|straat|gracht|plein|calle"
    r"|avenida|rue|via)\s*\d{1,5}"
    r"|^(?:calle|avenida|rue|via|plaza|avenue)\s[^\d]{2,40},?\s*\d{1,5}"
)
_INLINE = {
    "email": _EMAIL,
    "url": _URL,
    "iban": r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b",
    "credit_card": rf"\b{_CARD}\b",
    "national_id": r"\b\d{3}-\d{2}-\d{4}\b",
    "ip_address": rf"\b{_IPV4}\b",
    "phone": r"(?<![\w.-])\+?\(?\d{2,4}\)?[\s.-]\d{3,4}[\s.-]\d{3,5}\b",
}
_NATIONAL = {
    "us-ssn": checksums.ssn_valid,
    "uk-nino": checksums.nino_valid,
    "nl-bsn": checksums.bsn_valid,
    "es-dni": checksums.dni_valid,
}


@dataclass(frozen=True)
class PIIFinding:
    """One column judged to hold personal data, with the evidence.

    ``share`` is the share of sampled non-empty values that match ``pattern``
    (a checksum where the kind has one); ``by`` says what decided: ``"values"``,
    ``"name"``, ``"name+values"`` or ``"metadata"`` (declared by the user).
    Free text lists the kinds found inside it in ``contains``.
    """

    column: str
    kind: str
    share: float
    pattern: str
    by: str
    contains: tuple[str, ...] = ()

    @property
    def evidence(self) -> str:
        """A one-line reason, for people."""
        inside = f" ({', '.join(self.contains)} inside)" if self.contains else ""
        how = {
            "values": "its values",
            "name": "its name",
            "name+values": "its name and values",
            "metadata": "the metadata",
        }[self.by]
        return (
            f"{self.column!r} is {self.kind}{inside} by {how}: "
            f"{self.share:.0%} of values match {self.pattern}"
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["contains"] = list(self.contains)
        return out


def detect_pii(
    data: pd.DataFrame, metadata: Metadata | None = None, *, sample: int = SAMPLE
) -> list[PIIFinding]:
    """Every column of ``data`` that holds personal data, in column order.

    With ``metadata`` the declarations win: a column declared ``pii`` is a
    finding (its evidence measured on the values), any other column is not.
    Without it every column is judged from its name and values, numbers
    included (a numeric ``zip`` column is a postcode here, though
    ``Metadata.detect`` leaves numbers to the model).
    """
    if not isinstance(data, pd.DataFrame):
        raise InvalidDataError(f"expected a pandas DataFrame, got {type(data).__name__}")
    findings = []
    for name in data.columns:
        values = data[name]
        if metadata is not None:
            column = metadata.columns.get(str(name))
            if column is None or column.type != "pii":
                continue
            kind = column.pii or "free_text"
            share, pattern = _share_of(kind, _sample(values, sample))
            findings.append(PIIFinding(str(name), kind, share, pattern, "metadata"))
            continue
        found = classify(str(name), values, numbers=True, sample=sample)
        if found is not None:
            findings.append(found)
    return findings


def _sample(values: pd.Series, size: int) -> pd.Series:
    present = values.dropna()
    if (
        pd.api.types.is_float_dtype(present.dtype)
        and (present == present.round()).all()
        and (present.abs() < 1e18).all()
    ):  # whole numbers stored as floats (a column with gaps): read them as integers
        present = present.astype("int64")
    if pd.api.types.is_datetime64_any_dtype(present.dtype):
        return present.iloc[:size].dt.strftime("%Y-%m-%d").reset_index(drop=True)
    return present.iloc[:size].astype(str).str.strip().reset_index(drop=True)


def classify(
    name: str, values: pd.Series, *, numbers: bool = False, sample: int = SAMPLE
) -> PIIFinding | None:
    """The PII kind of one column, or None.

    Numbers are only judged by checksums (cards, BSNs) unless ``numbers`` is
    set; then a name such as ``zip`` or ``dob`` counts for them too.
    """
    text = _sample(values, sample)
    if text.empty:
        return None
    lowered = name.lower()
    hint = next((kind for kind, rx in NAME_HINTS if rx.search(lowered)), None)
    is_number = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
        values.dtype
    )
    is_date = pd.api.types.is_datetime64_any_dtype(values.dtype)
    if is_number and not numbers:
        if text.str.len().min() < 9:  # too short for a card number or a national id
            return None
        for kind in ("credit_card", "national_id"):
            share, pattern = _share_of(kind, text)
            if share >= VALUE_SHARE and text.nunique() >= 10:
                return PIIFinding(name, kind, share, pattern, "values")
        return None
    if is_date:
        if hint == "date_of_birth":
            return PIIFinding(name, "date_of_birth", 1.0, "date", "name+values")
        return None
    for kind in ("email", "url", "ip_address", "iban", "credit_card", "national_id"):
        share, pattern = _share_of(kind, text)
        if share >= VALUE_SHARE:
            return PIIFinding(
                name, kind, share, pattern, "name+values" if hint == kind else "values"
            )
    share, pattern = _postcode_share(text, _DISTINCT_POSTCODES)
    if share >= VALUE_SHARE:
        return PIIFinding(name, "postcode", share, pattern, "values")
    if hint is not None:
        share, pattern = _share_of(hint, text)
        need = VALUE_SHARE if hint == "phone" else HINTED_SHARE
        if share >= need or (hint in NAME_IS_ENOUGH and not _a_vocabulary(hint, share, text)):
            return PIIFinding(
                name, hint, share, pattern, "name+values" if share >= need else "name"
            )
    share = float(_STRICT_PHONE(text).mean())  # without a name, only unmistakable phones
    if share >= VALUE_SHARE:
        return PIIFinding(name, "phone", share, "phone number", "values")
    for kind in ("person_name", "address"):
        share, pattern = _share_of(kind, text)
        if share >= LOOSE_SHARE:
            return PIIFinding(name, kind, share, pattern, "values")
    return _free_text(name, text)


def _a_vocabulary(kind: str, share: float, text: pd.Series) -> bool:
    """Whether values a name calls PII are categories: no kind's shape, each on many rows."""
    if kind == "person_name" or share >= VOCABULARY_RARE_SHARE:
        return False
    rows_per_value = text.map(text.value_counts())
    return bool((rows_per_value < VOCABULARY_COUNT).mean() < VOCABULARY_RARE_SHARE)


def _free_text(name: str, text: pd.Series) -> PIIFinding | None:
    if text.str.split().str.len().mean() < 3:
        return None
    inside = {k: text.str.contains(rx, regex=True) for k, rx in _INLINE.items()}
    found = tuple(k for k, hit in inside.items() if hit.mean() > INLINE_SHARE)
    if not found:
        return None
    share = float(np.logical_or.reduce([inside[k].to_numpy() for k in found]).mean())
    return PIIFinding(name, "free_text", share, "pii inside text", "values", found)


def _share_of(kind: str, text: pd.Series) -> tuple[float, str]:
    """The share of ``text`` that looks like ``kind``, and the name of the pattern used."""
    if text.empty:
        return 0.0, kind
    if kind == "national_id":
        return national_id_scheme(text)
    if kind == "postcode":
        return _postcode_share(text, tuple(_POSTCODES))
    if kind == "ip_address":
        return _ip_share(text)
    if kind == "date_of_birth":
        parsed = pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=False)
        return float(parsed.notna().mean()), "date"
    if kind == "free_text":
        found = _free_text("", text)
        return (found.share, "pii inside text") if found else (0.0, "pii inside text")
    check, pattern = _VALUE_CHECKS[kind]
    return float(np.mean(check(text))), pattern


def national_id_scheme(text: pd.Series) -> tuple[float, str]:
    """The best-matching national id scheme for ``text``: (share, scheme name)."""
    shares = {scheme: float(np.mean(check(text))) for scheme, check in _NATIONAL.items()}
    best = max(shares, key=lambda s: shares[s])
    return shares[best], best


def _postcode_share(text: pd.Series, schemes: tuple[str, ...]) -> tuple[float, str]:
    upper = text.str.upper()
    shares = {s: float(upper.str.fullmatch(_POSTCODES[s]).mean()) for s in schemes}
    best = max(shares, key=lambda s: shares[s])
    return shares[best], best


def _ip_share(text: pd.Series) -> tuple[float, str]:
    v4 = text.str.fullmatch(_IPV4).to_numpy(dtype=bool)
    maybe_v6 = text.str.contains(":", regex=False).to_numpy(dtype=bool)
    v6 = np.zeros(len(text), dtype=bool)
    if maybe_v6.any():  # one parse per distinct candidate value of the sample
        uniques = pd.unique(text[maybe_v6])
        ok = {u: _is_ipv6(u) for u in uniques}
        v6[maybe_v6] = text[maybe_v6].map(ok).to_numpy(dtype=bool)
    pattern = "ipv4" if v4.sum() >= v6.sum() else "ipv6"
    if v4.any() and v6.any():
        pattern = "ipv4/ipv6"
    return float((v4 | v6).mean()), pattern


def _is_ipv6(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False


def _full(rx: str) -> Callable[[pd.Series], np.ndarray]:
    compiled = re.compile(rx, re.IGNORECASE)
    return lambda text: text.str.fullmatch(compiled).to_numpy(dtype=bool)


def _starts(rx: str) -> Callable[[pd.Series], np.ndarray]:
    compiled = re.compile(rx, re.IGNORECASE)
    return lambda text: text.str.match(compiled).to_numpy(dtype=bool)


def _cards(text: pd.Series) -> np.ndarray:
    shaped = text.str.fullmatch(_CARD).to_numpy(dtype=bool)
    digits = text.str.count(r"\d").to_numpy()
    return shaped & (digits >= 13) & (digits <= 19) & checksums.luhn_valid(text)


def _person_names(text: pd.Series) -> np.ndarray:
    """Values of 2-4 capitalised words whose first word (after a title) is a known first name."""
    shaped = text.str.fullmatch(
        r"(?:(?:Mr|Mrs|Ms|Miss|Dr|Prof|Herr|Frau|Sr|Sra|M|Mme)\.?\s+)?"
        r"[^\W\d_][^\s\d_]*(?:\s+[^\W\d_][^\s\d_]*){1,3}"
    ).to_numpy(dtype=bool)
    first = text.str.replace(r"^(?:Mr|Mrs|Ms|Miss|Dr|Prof|Herr|Frau)\.?\s+", "", regex=True)
    first = first.str.split(n=1).str[0].fillna("").map(_fold)
    return shaped & first.isin(_first_names()).to_numpy(dtype=bool)


def _fold(word: str) -> str:
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().lower()


@lru_cache(maxsize=1)
def _first_names() -> frozenset[str]:
    """First names of several Faker locales, accent-folded and lower-cased (read once)."""
    from importlib import import_module

    names: set[str] = set()
    for locale in ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR"):
        provider = import_module(f"faker.providers.person.{locale}").Provider
        for attr in ("first_names", "first_names_male", "first_names_female"):
            names.update(_fold(n) for n in getattr(provider, attr, ()))
    return frozenset(names)


_VALUE_CHECKS: dict[str, tuple[Callable[[pd.Series], np.ndarray], str]] = {
    "email": (_full(_EMAIL), "email"),
    "url": (_full(_URL), "url"),
    "iban": (checksums.iban_valid, "iban mod-97"),
    "credit_card": (_cards, "card number with Luhn check"),
    "phone": (_full(_PHONE), "phone number"),
    "address": (_starts(_STREET), "street address"),
    "person_name": (_person_names, "known first name + surname"),
}
_STRICT_PHONE = _full(_STRICT_PHONE_RX)
