"""Conditions written as command-line text: ``--where`` and ``--rebalance``.

Each turns into the dict that ``sample(conditions=..., rebalance=...)`` takes;
:mod:`simulacra.conditions` checks it against the model. Two ``--where``
conditions on one column meet (ranges overlap, sets intersect), and a
contradiction is an error naming both.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from simulacra.conditions import _dates, _literal
from simulacra.errors import InvalidDataError, InvalidParameterError
from simulacra.metadata import Metadata

__all__ = ["parse_rebalance", "parse_where"]


def parse_where(texts: list[str], metadata: Metadata | None = None) -> dict[str, Any]:
    """``--where`` expressions as a conditions dict.

    With the model's ``metadata``, values are read as their column's type first
    (dates in the column's format, numbers and flags written as text), so two
    conditions on one column meet as dates and numbers rather than as text.

    >>> parse_where(["region == 'North'", "30 <= age <= 40", "plan in ('a', 'b')"])
    {'region': 'North', 'age': (30, 40), 'plan': ['a', 'b']}
    >>> parse_where(["age >= 30", "age <= 40"])
    {'age': (30, 40)}
    >>> parse_where(["plan in ('a', 'b', 'c')", "plan in ('b', 'c', 'd')", "age >= 50"])
    {'plan': ['b', 'c'], 'age': (50, None)}
    >>> parse_where(["`home region` == 'North'", "`class` in (1, 2)"])
    {'home region': 'North', 'class': [1, 2]}
    """
    import ast

    from simulacra._expressions import _substitute_backticks

    out: dict[str, Any] = {}
    for text in texts:
        try:
            source, _, aliases = _substitute_backticks(text.strip())
            tree = ast.parse(source, mode="eval").body
        except (SyntaxError, InvalidDataError):
            raise InvalidParameterError(
                f"--where {text!r} does not parse; write e.g. \"region == 'North'\" or "
                f'"30 <= age <= 40"{_QUOTE_HINT}'
            ) from None
        parts = (
            tree.values if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And) else [tree]
        )
        for part in parts:
            _where_part(part, text, out, aliases, metadata)
    return out


def _typed(value: Any, column: Any) -> Any:
    """A ``--where`` value as its column's type where it reads as one; else unchanged."""
    if isinstance(value, tuple):
        return tuple(None if v is None else _typed(v, column) for v in value)
    if isinstance(value, list):
        return [_typed(v, column) for v in value]
    if not isinstance(value, str):
        return value
    if column.type == "datetime":
        stamp = _dates(pd.Series([value], dtype=object), column).iloc[0]
        return value if pd.isna(stamp) else stamp
    if column.type == "numerical":
        number = pd.to_numeric(value, errors="coerce")
        return value if pd.isna(number) else float(number)
    if column.type == "boolean" and column.true_label is None:
        return {"true": True, "false": False}.get(value.strip().lower(), value)
    return value


_QUOTE_HINT = (
    " (a column name with spaces, dashes or a Python keyword goes in backticks: `unit-price`)"
)


def _where_part(
    node: Any, text: str, out: dict[str, Any], aliases: dict[str, str], metadata: Metadata | None
) -> None:
    import ast

    if not isinstance(node, ast.Compare):
        raise InvalidParameterError(f"--where {text!r}: each part must compare a column")
    terms = [node.left, *node.comparators]
    for op, left, right in zip(node.ops, terms[:-1], terms[1:], strict=True):
        if isinstance(op, ast.Lt | ast.Gt | ast.NotEq | ast.NotIn | ast.Is | ast.IsNot):
            raise InvalidParameterError(
                f"--where {text!r}: use ==, in, <= or >= (conditions are values, sets and "
                "closed ranges)"
            )
        column, value, flipped = _column_and_value(left, right, text, aliases)
        if metadata is not None and column in metadata.columns:
            value = _typed(value, metadata.columns[column])
        if not isinstance(op, ast.Eq | ast.In):
            value = (None, value) if isinstance(op, ast.LtE) != flipped else (value, None)
        out[column] = _both(column, out[column], value) if column in out else value


def _both(column: str, old: Any, new: Any) -> Any:
    """Two ``--where`` conditions on one column: the values that meet both."""
    if isinstance(old, tuple) and isinstance(new, tuple):  # two ranges: their overlap
        lows, highs = (
            [v for v in (old[0], new[0]) if v is not None],
            [v for v in (old[1], new[1]) if v is not None],
        )
        try:
            met = (max(lows) if lows else None, min(highs) if highs else None)
            empty = None not in met and met[0] > met[1]
        except TypeError:
            raise InvalidParameterError(
                f"--where: the bounds on {column!r} are not comparable ({old!r}, {new!r})"
            ) from None
    else:
        if isinstance(old, tuple):
            old, new = new, old
        values = old if isinstance(old, list) else [old]
        try:
            if isinstance(new, tuple):
                met = [v for v in values if v is not None and _within(v, new)]
            else:
                met = [v for v in values if v in (new if isinstance(new, list) else [new])]
        except TypeError:
            raise InvalidParameterError(
                f"--where: a value and a bound on {column!r} are not comparable ({old!r}, {new!r})"
            ) from None
        empty = not met
        met = met[0] if len(met) == 1 else met
    if empty:
        raise InvalidParameterError(
            f"--where: the conditions on {column!r} contradict each other ({_shown(old)} and "
            f"{_shown(new)}): no row can meet both; drop one"
        )
    return met


def _within(value: Any, bounds: tuple[Any, Any]) -> bool:
    low, high = bounds
    return (low is None or value >= low) and (high is None or value <= high)


def _shown(condition: Any) -> str:
    if isinstance(condition, tuple):
        low, high = condition
        return " and ".join(
            [f">= {_literal(low)}"] * (low is not None)
            + [f"<= {_literal(high)}"] * (high is not None)
        )
    if isinstance(condition, list):
        return f"in [{', '.join(_literal(v) for v in condition)}]"
    return f"== {_literal(condition)}"


def _column_and_value(
    left: Any, right: Any, text: str, aliases: dict[str, str]
) -> tuple[str, Any, bool]:
    import ast

    def literal(node: Any) -> Any:
        if isinstance(node, ast.Name):  # a bare word: text, as a shell user would type it
            return aliases.get(node.id, node.id)
        try:
            value = ast.literal_eval(node)
        except ValueError:
            raise InvalidParameterError(f"--where {text!r}: cannot read a value") from None
        return list(value) if isinstance(value, tuple | list | set) else value

    if isinstance(left, ast.Name):
        return aliases.get(left.id, left.id), literal(right), False
    if isinstance(right, ast.Name):
        return aliases.get(right.id, right.id), literal(left), True
    raise InvalidParameterError(f"--where {text!r}: name a column on one side{_QUOTE_HINT}")


def parse_rebalance(texts: list[str]) -> dict[str, dict[Any, float]]:
    """``--rebalance column=category:share,...`` as a rebalance dict.

    >>> parse_rebalance(["diagnosis=rare:0.3"])
    {'diagnosis': {'rare': 0.3}}
    """
    out: dict[str, dict[Any, float]] = {}
    for text in texts:
        column, sep, rest = text.partition("=")
        pairs = [p.rpartition(":") for p in rest.split(",") if p]
        if not sep or not column or not pairs or any(not p[1] for p in pairs):
            raise InvalidParameterError(
                f"--rebalance {text!r} must look like column=category:share[,category:share]"
            )
        try:
            out.setdefault(column, {}).update({p[0]: float(p[2]) for p in pairs})
        except ValueError:
            raise InvalidParameterError(f"--rebalance {text!r}: a share is not a number") from None
    return out
