"""A plan of per-column actions, and :func:`anonymize` that carries it out.

Actions, written as ``op`` or ``op:arg`` (the command line's ``--mask col=op:arg``):

- ``fake[:kind]``: keyed pseudonyms made with Faker (see :mod:`.pseudonymize`);
- ``partial[:N]``: all but the last N characters masked (``****1234``);
- ``hash[:N]``: HMAC-SHA256 as N hex characters; ``token[:N]``: ``tok_`` tokens
  (``token:format`` keeps each value's format); both need a secret;
- ``generalize:ARG``: numbers into bands of width ARG (``30-39``), dates to
  ``year``/``quarter``/``month``, postcodes to their first ARG characters (``902**``);
- ``suppress``: every cell blanked; ``drop``: the column removed; ``keep``: left real.

Columns the detector finds to hold PII and the plan does not name get
``fake`` (unless ``detect=False``), so nothing personal passes by omission.

>>> df = pd.DataFrame({"email": ["a@x.com", "b@y.org"], "age": [37, 52]})
>>> out = anonymize(df, {"age": "generalize:10"}, secret="k")
>>> out["age"].tolist(), bool(out["email"].isin(df["email"]).any())
(['30-39', '50-59'], False)
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from simulacra.errors import InvalidDataError, InvalidParameterError
from simulacra.metadata import PII_KINDS, Metadata
from simulacra.privacy import mask
from simulacra.privacy.detect import NAME_HINTS, classify, detect_pii
from simulacra.privacy.pseudonymize import new_secret, pseudonymize

__all__ = ["OPERATIONS", "Action", "anonymize", "parse_action", "resolve_plan"]

OPERATIONS = ("fake", "partial", "hash", "token", "generalize", "suppress", "drop", "keep")
KEYED = ("hash", "token")
_POSTCODE_NAME = dict(NAME_HINTS)["postcode"]


@dataclass(frozen=True)
class Action:
    """One column's treatment: an operation from :data:`OPERATIONS` and its argument."""

    op: str
    arg: str | None = None

    def __str__(self) -> str:
        return self.op if self.arg is None else f"{self.op}:{self.arg}"


def parse_action(text: str | Action) -> Action:
    """``"partial:4"`` -> ``Action("partial", "4")``; a clear error for an unknown operation."""
    if isinstance(text, Action):
        return text
    op, _, arg = str(text).strip().partition(":")
    op = {"pseudonymize": "fake", "generalise": "generalize", "mask": "partial"}.get(op, op)
    if op not in OPERATIONS:
        close = difflib.get_close_matches(op, OPERATIONS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise InvalidParameterError(
            f"unknown masking operation {op!r}; {hint}use one of {', '.join(OPERATIONS)}"
        )
    if op == "generalize" and not arg:
        raise InvalidParameterError(
            "generalize needs an argument: a band width (age=10), a date level "
            f"({'/'.join(mask.DATE_LEVELS)}) or the postcode characters to keep (zip=3)"
        )
    if op == "fake" and arg and arg not in PII_KINDS:
        raise InvalidParameterError(f"fake:{arg}: the kind must be one of {list(PII_KINDS)}")
    return Action(op, arg or None)


def resolve_plan(
    data: pd.DataFrame,
    plan: Mapping[str, str | Action] | None = None,
    *,
    metadata: Metadata | None = None,
    detect: bool = True,
) -> dict[str, Action]:
    """The plan as :class:`Action` objects, checked against ``data``'s columns.

    With ``detect`` every column found to hold PII (see :func:`detect_pii`; a
    ``metadata`` overrides the guesses) and not named in ``plan`` gets ``fake``.
    """
    actions = {str(c): parse_action(a) for c, a in (plan or {}).items()}
    columns = [str(c) for c in data.columns]
    problems = []
    for name in actions:
        if name not in columns:
            close = difflib.get_close_matches(name, columns, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(f"the plan names column {name!r}, which the table lacks{hint}")
    if problems:
        raise InvalidDataError(problems)
    if detect:
        for finding in detect_pii(data, metadata):
            actions.setdefault(finding.column, Action("fake", finding.kind))
    return actions


def anonymize(
    data: pd.DataFrame,
    plan: Mapping[str, str | Action] | None = None,
    *,
    secret: str | bytes | None = None,
    locale: str = "en_US",
    metadata: Metadata | None = None,
    detect: bool = True,
) -> pd.DataFrame:
    """A copy of ``data`` with each column treated as the plan says (see the module doc).

    ``secret`` keys pseudonyms, hashes and tokens: the same secret gives the
    same output for the same value in any column or table. Without it,
    ``hash`` and ``token`` are refused and ``fake`` uses a fresh random key (consistent
    within this call only). The secret is never stored.
    """
    actions = resolve_plan(data, plan, metadata=metadata, detect=detect)
    keyed = sorted(c for c, a in actions.items() if a.op in KEYED)
    if keyed and not secret:
        raise InvalidParameterError(
            f"{', '.join(map(repr, keyed))}: hashing and tokens need a secret; put it in an "
            "environment variable and pass --secret-env VAR (in Python: "
            "secret=os.environ['VAR']); never write the secret itself on the command line"
        )
    key = secret if secret else new_secret()
    out = data.copy()
    for name, action in actions.items():
        if action.op == "drop":
            out = out.drop(columns=name)
        elif action.op != "keep":
            out[name] = _apply(out[name], action, key, locale)
    return out


def _apply(values: pd.Series, action: Action, key: str | bytes, locale: str) -> pd.Series:
    op, arg = action.op, action.arg
    name = str(values.name)
    if op == "fake":
        kind = arg or _kind_of(values)
        return pseudonymize(values, kind, secret=key, locale=locale)
    if op == "partial":
        return mask.partial(values, _int(arg, 4, action, name))
    if op == "hash":
        return mask.keyed_hash(values, key, _int(arg, 16, action, name))
    if op == "token":
        if arg == "format":
            return mask.tokenize(values, key, preserve_format=True)
        return mask.tokenize(values, key, length=_int(arg, 12, action, name))
    if op == "suppress":
        return mask.suppress(values)
    assert arg is not None
    if arg in mask.DATE_LEVELS:
        return mask.generalize_dates(values, arg)
    if _POSTCODE_NAME.search(name.lower()) or _is_postcode(values):
        return mask.generalize_postcodes(values, _int(arg, 3, action, name))
    try:
        width = float(arg)
    except ValueError:
        raise InvalidParameterError(
            f"column {name!r}: generalize:{arg} needs a number (band width) or a date level "
            f"({'/'.join(mask.DATE_LEVELS)})"
        ) from None
    return mask.generalize_numbers(values, width)


def _kind_of(values: pd.Series) -> str:
    found = classify(str(values.name), values, numbers=True)
    if found is None:
        raise InvalidParameterError(
            f"column {values.name!r} does not look like any PII kind; say which, "
            f"e.g. {values.name}=fake:person_name (kinds: {', '.join(PII_KINDS)})"
        )
    return found.kind


def _is_postcode(values: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(values.dtype):
        return False
    found = classify(str(values.name), values)
    return found is not None and found.kind == "postcode"


def _int(arg: str | None, default: int, action: Action, column: str) -> int:
    if arg is None:
        return default
    try:
        return int(arg)
    except ValueError:
        raise InvalidParameterError(
            f"column {column!r}: {action} needs a whole number after ':', e.g. {action.op}:4"
        ) from None
