"""A small, safe, vectorized expression language for formulas and custom rules.

Built on Python's ``ast``, never ``eval``: an expression is parsed once,
every node is checked against a short list of allowed syntax, and evaluating
it runs numpy operations on whole columns. The language:

- columns as bare names (``price``) or in backticks (```unit price```);
- constants: numbers, text in quotes, ``True``, ``False``, ``None``;
- arithmetic ``+ - * / // % **`` and unary ``-``; a datetime minus a datetime
  is a number of seconds, and a datetime plus seconds is a datetime;
- comparisons, chained too (``0 <= x < 10``); ``x == None`` tests for a missing
  cell; ``in`` / ``not in`` a list of constants;
- ``and``, ``or``, ``not`` row by row;
- functions ``abs round min max log exp sqrt floor ceil`` (``min``/``max`` row by row);
- a result that is no finite number (``x / 0``, ``log(0)``, ``sqrt(-1)``, an overflow)
  is missing, as in SQLite, and stays missing through later arithmetic.

Missing cells are NaN in numbers and unknown in logic (SQL's three-valued
logic: ``unknown or True`` is True); :meth:`Expression.predicate` says what
an unknown row counts as.

>>> expr = Expression("price * qty")
>>> expr.names
('price', 'qty')
>>> expr.evaluate({"price": np.array([2.0, 1.5]), "qty": np.array([3.0, np.nan])}).tolist()
[6.0, nan]
>>> rule = Expression("age >= 18 or status != 'retired'")
>>> cols = {"age": np.array([70.0, 12.0, np.nan]), "status": np.array(["x", "retired", "x"])}
>>> rule.predicate(cols).tolist()
[True, False, True]
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from simulacra._datetimes import parse_datetimes
from simulacra.errors import InvalidDataError
from simulacra.metadata import Column

__all__ = ["FUNCTIONS", "Expression", "column_values", "to_instants"]

Value = Any  # a numpy array (float64, datetime64[ns] or object) or a Python constant
Env = Mapping[str, Any]

FUNCTIONS = ("abs", "round", "min", "max", "log", "exp", "sqrt", "floor", "ceil")
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//"}
_SYMBOLS |= {ast.Mod: "%", ast.Pow: "**"}
_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_UNARY_MATH = {"abs": np.abs, "log": np.log, "exp": np.exp, "sqrt": np.sqrt}
_HINTS = {
    ast.BitAnd: "use 'and' instead of '&'",
    ast.BitOr: "use 'or' instead of '|'",
    ast.Invert: "use 'not' instead of '~'",
    ast.BitXor: "use '**' for powers; '^' is not allowed",
}
# a quoted text (skipped: a backtick inside it is text) or a backticked column name
_BACKTICK = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`([^`]*)`""")
_NS = 1_000_000_000


class Expression:
    """One parsed expression: the columns it reads and a vectorized evaluator.

    Raises :class:`InvalidDataError` naming the expression, the offending
    part and its position (counted from 1) when the text is not allowed.
    """

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise InvalidDataError(
                f"an expression is text, such as 'price * qty' or 'qty <= 5 or price < 60'; "
                f"got {type(text).__name__} {text!r}"
            )
        if not text.strip():
            raise InvalidDataError(f"expression {text!r} is empty; write e.g. 'price * qty'")
        self.text = text
        source, origin, self._aliases = _substitute_backticks(text)
        # in parentheses, so that leading spaces and line breaks are fine
        self._source, self._origin = f"({source})", [0, *origin, len(text)]
        self._names: dict[str, None] = {}
        try:
            tree = ast.parse(self._source, mode="eval")
        except SyntaxError as exc:
            at = self._origin[min(max((exc.offset or 1) - 1, 0), len(self._origin) - 1)]
            at = min(at, len(text) - 1) + 1
            raise InvalidDataError(
                f"expression {text!r} does not parse: {exc.msg} at position {at}"
            ) from None
        self._run = self._compile(tree.body)

    @property
    def names(self) -> tuple[str, ...]:
        """The columns the expression reads, in order of first use."""
        return tuple(self._names)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    # ------------------------------------------------------------ evaluation
    def evaluate(self, columns: Env, n: int | None = None) -> np.ndarray:
        """The value per row: float64 numbers (NaN if missing or unknown), datetimes or text.

        ``columns`` maps each name to a numpy array or Series (see :func:`column_values`);
        ``n`` gives the row count when the expression reads no column.
        """
        env = {name: _as_array(columns, name, self.text) for name in self.names}
        rows = n if n is not None else len(next(iter(env.values()))) if env else 1
        with np.errstate(all="ignore"):
            try:
                value = self._run(env)
            except _Failure as exc:
                raise InvalidDataError(f"expression {self.text!r}: {exc}") from None
        if isinstance(value, np.ndarray) and value.ndim == 1:
            return value
        value = value[()] if isinstance(value, np.ndarray) else value
        return np.full(rows, _number(value), dtype=object if isinstance(value, str) else None)

    def predicate(self, columns: Env, n: int | None = None, *, unknown: bool = True) -> np.ndarray:
        """True or false per row; rows whose answer is unknown (missing cells) get ``unknown``."""
        value = self.evaluate(columns, n)
        try:
            logic = _logic(value, self.text)
        except _Failure as exc:
            raise InvalidDataError(f"expression {self.text!r}: {exc}") from None
        return np.where(np.isnan(logic), unknown, logic == 1.0)

    # ------------------------------------------------------------- compiling
    def _fail(self, node: ast.AST, what: str) -> InvalidDataError:
        start = self._origin[_char_offset(self._source, node.col_offset)]
        segment = ast.get_source_segment(self._source, node) or ""
        for alias, name in self._aliases.items():
            segment = segment.replace(alias, f"`{name}`")
        return InvalidDataError(
            f"expression {self.text!r}: {what} at position {start + 1} ({segment!r})"
        )

    def _compile(self, node: ast.AST) -> Callable[[dict[str, Any]], Value]:
        method = getattr(self, f"_compile_{type(node).__name__.lower()}", None)
        if method is None:
            raise self._fail(node, _unsupported(node))
        return method(node)

    def _compile_constant(self, node: ast.Constant) -> Callable:
        if not isinstance(node.value, (int, float, str, bool)) and node.value is not None:
            raise self._fail(node, f"constant of type {type(node.value).__name__} is not allowed")
        if node.value is None:
            raise self._fail(node, "None may only be compared (x == None) or listed after 'in'")
        value = node.value
        return lambda env: value

    def _compile_name(self, node: ast.Name) -> Callable:
        name = self._aliases.get(node.id, node.id)
        self._names.setdefault(name)
        return lambda env: env[name]

    def _compile_unaryop(self, node: ast.UnaryOp) -> Callable:
        operand = self._compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda env: _not(_logic(operand(env), self.text))
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
            return lambda env: sign * _numeric(operand(env), "unary minus")
        raise self._fail(node, _HINTS.get(type(node.op), "this operator is not allowed"))

    def _compile_binop(self, node: ast.BinOp) -> Callable:
        op = _ARITH.get(type(node.op))
        if op is None:
            raise self._fail(node, _HINTS.get(type(node.op), "this operator is not allowed"))
        left, right = self._compile(node.left), self._compile(node.right)
        kind = type(node.op)
        return lambda env: _arith(left(env), right(env), op, kind)

    def _compile_boolop(self, node: ast.BoolOp) -> Callable:
        parts = [self._compile(v) for v in node.values]
        combine = _and if isinstance(node.op, ast.And) else _or

        def run(env: dict[str, Any]) -> Value:
            out = _logic(parts[0](env), self.text)
            for part in parts[1:]:
                out = combine(out, _logic(part(env), self.text))
            return out

        return run

    def _compile_compare(self, node: ast.Compare) -> Callable:
        operands = [node.left, *node.comparators]
        steps = []
        for i, op in enumerate(node.ops):
            left, right = operands[i], operands[i + 1]
            steps.append(self._comparison(node, left, op, right))

        def run(env: dict[str, Any]) -> Value:
            out = steps[0](env)
            for step in steps[1:]:
                out = _and(out, step(env))
            return out

        return run

    def _comparison(self, node: ast.AST, left: ast.AST, op: ast.cmpop, right: ast.AST) -> Callable:
        if isinstance(op, (ast.In, ast.NotIn)):
            values = self._constant_list(right)
            other = self._compile(left)
            negate = isinstance(op, ast.NotIn)
            return lambda env: _member(other(env), values, negate)
        if _is_none(left) or _is_none(right):
            if not isinstance(op, (ast.Eq, ast.NotEq, ast.Is, ast.IsNot)):
                raise self._fail(node, "None (a missing cell) can only be tested with == or !=")
            other = self._compile(right if _is_none(left) else left)
            negate = isinstance(op, (ast.NotEq, ast.IsNot))
            return lambda env: _missing(other(env), negate)
        compare = _COMPARE.get(type(op))
        if compare is None:
            raise self._fail(node, "'is' only tests for None; compare values with '=='")
        a, b = self._compile(left), self._compile(right)
        return lambda env: _compare(a(env), b(env), compare)

    def _constant_list(self, node: ast.AST) -> list[Any]:
        if not isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            raise self._fail(node, "'in' needs a list of constants, e.g. x in ('a', 'b')")
        values = []
        for item in node.elts:
            if isinstance(item, ast.UnaryOp) and isinstance(item.op, ast.USub):
                item = item.operand
                sign = -1
            else:
                sign = 1
            if not isinstance(item, ast.Constant) or (
                sign < 0 and not isinstance(item.value, (int, float))
            ):
                raise self._fail(item, "'in' lists may hold only constants")
            values.append(item.value if sign > 0 else -item.value)
        return values

    def _compile_call(self, node: ast.Call) -> Callable:
        func = node.func
        if not isinstance(func, ast.Name) or func.id not in FUNCTIONS:
            raise self._fail(node, f"unknown function; allowed: {', '.join(FUNCTIONS)}")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self._fail(node, f"{func.id}() takes plain positional arguments only")
        name, args = func.id, node.args
        counts = {"round": (1, 2), "min": (2, 99), "max": (2, 99)}.get(name, (1, 1))
        if not counts[0] <= len(args) <= counts[1]:
            raise self._fail(node, f"{name}() takes {_arity(counts)} argument(s)")
        if name == "round" and len(args) == 2:
            digits = args[1]
            if not (isinstance(digits, ast.Constant) and type(digits.value) is int):
                raise self._fail(digits, "round()'s digits must be a whole-number constant")
        parts = [self._compile(a) for a in args]
        return lambda env: _call(name, [p(env) for p in parts])


# --------------------------------------------------------------- the columns
def column_values(series: pd.Series, column: Column | None = None) -> np.ndarray:
    """A column as the evaluator sees it: float64 numbers, datetime64[ns] or text objects.

    Missing cells become NaN, NaT or None. With the metadata ``column``,
    text dates are parsed in its format, and booleans without labels are 1/0.
    """
    kind = column.type if column is not None else _kind(series)
    if kind == "datetime":
        return to_instants(series, column.format if column is not None else None)
    if kind == "numerical" or (kind == "boolean" and (column is None or not column.true_label)):
        return _floats(series)
    if kind == "categorical" and column is not None:
        cats = column.categories or []
        if cats and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in cats):
            return _floats(series)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series):
        return _floats(series)
    return series.astype(object).where(series.notna(), None).to_numpy()


def to_instants(series: pd.Series, fmt: str | None = None) -> np.ndarray:
    """Datetimes (text in ``fmt``, or native, any time zone) as naive UTC datetime64[ns]."""
    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        series = parse_datetimes(series.astype(object), fmt or "ISO8601", errors="coerce", utc=True)
    if series.dt.tz is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series.to_numpy(dtype="datetime64[ns]")


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return "numerical"
    return "text"


def _floats(series: pd.Series) -> np.ndarray:
    dtype = series.dtype
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    numbers = pd.to_numeric(series.astype(object), errors="coerce")
    return np.asarray(numbers, dtype="float64")


def _as_array(columns: Env, name: str, text: str) -> np.ndarray:
    if name not in columns:
        raise InvalidDataError(f"expression {text!r} reads column {name!r}, which is not there")
    values = columns[name]
    if isinstance(values, pd.Series):
        values = column_values(values)
    values = np.asarray(values)
    if values.dtype.kind in "iub":
        return values.astype("float64")
    if values.dtype.kind == "M":
        return values.astype("datetime64[ns]")
    if values.dtype.kind in "OUT":
        return values.astype(object)
    return values


# --------------------------------------------------------------- operations
class _Failure(Exception):
    """A value the expression cannot work with, found while evaluating."""


def _is_dt(value: Value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind == "M"


def _is_text(value: Value) -> bool:
    return isinstance(value, str) or (isinstance(value, np.ndarray) and value.dtype == object)


def _number(value: Value) -> Any:
    return float(value) if isinstance(value, (bool, int, float, np.number)) else value


def _numeric(value: Value, what: str) -> Value:
    if _is_text(value):
        raise _Failure(f"text cannot take part in {what}; compare it with == or 'in' instead")
    if _is_dt(value):
        raise _Failure(f"a datetime cannot take part in {what}")
    return _number(value)


def _arith(a: Value, b: Value, op: Callable, kind: type) -> Value:
    symbol = _SYMBOLS[kind]
    if _is_dt(a) or _is_dt(b):
        return _date_arith(a, b, kind, symbol)
    a, b = _numeric(a, f"'{symbol}'"), _numeric(b, f"'{symbol}'")
    return _finite(op(np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")))


def _finite(x: np.ndarray) -> np.ndarray:
    """Infinities (a division by zero, an overflow) as missing values."""
    return np.where(np.isinf(x), np.nan, x)


def _date_arith(a: Value, b: Value, kind: type, symbol: str) -> Value:
    if _is_dt(a) and _is_dt(b) and kind is ast.Sub:
        delta = (a - b).astype("int64").astype("float64") / _NS
        return np.where(np.isnat(a) | np.isnat(b), np.nan, delta)
    if kind in (ast.Add, ast.Sub) and _is_dt(a) != _is_dt(b):
        stamp, seconds = (a, b) if _is_dt(a) else (b, a)
        if kind is ast.Sub and not _is_dt(a):
            raise _Failure("a number minus a datetime is not defined")
        seconds = np.asarray(_numeric(seconds, f"'{symbol}' with a datetime"), dtype="float64")
        nanos = np.rint(np.where(np.isnan(seconds), 0, seconds) * _NS).astype("int64")
        shift = nanos.astype("timedelta64[ns]") * (1 if kind is ast.Add else -1)
        return np.where(np.isnan(seconds), np.datetime64("NaT", "ns"), stamp + shift)
    raise _Failure(
        f"'{symbol}' is not defined for datetimes (datetime - datetime gives seconds; "
        "datetime + seconds gives a datetime)"
    )


def _logic(value: Value, text: str) -> np.ndarray | float:
    """Three-valued truth: 1.0, 0.0 or NaN (unknown)."""
    if _is_text(value) or _is_dt(value):
        raise _Failure("text and datetimes have no truth value; compare them first")
    value = np.asarray(_number(value), dtype="float64")
    return np.where(np.isnan(value), np.nan, (value != 0).astype("float64"))


def _not(a: Value) -> Value:
    return 1.0 - a


def _and(a: Value, b: Value) -> Value:
    return np.where((a == 0) | (b == 0), 0.0, np.where((a == 1) & (b == 1), 1.0, np.nan))


def _or(a: Value, b: Value) -> Value:
    return np.where((a == 1) | (b == 1), 1.0, np.where((a == 0) & (b == 0), 0.0, np.nan))


def _null(value: Value) -> np.ndarray | bool:
    if isinstance(value, np.ndarray):
        return pd.isna(value) if value.dtype == object else np.isnan(value) | False
    return value is None or (isinstance(value, float) and np.isnan(value))


def _missing(value: Value, negate: bool) -> Value:
    null = np.isnat(value) if _is_dt(value) else _null(value)
    return np.asarray(~null if negate else null, dtype="float64")


def _compare(a: Value, b: Value, op: Callable) -> Value:
    if _is_dt(a) or _is_dt(b):
        a, b = _as_date(a), _as_date(b)
        null = _nat(a) | _nat(b)
    elif _is_text(a) or _is_text(b):
        return _compare_text(a, b, op)
    else:
        a, b = np.asarray(_number(a), dtype="float64"), np.asarray(_number(b), dtype="float64")
        null = np.isnan(a) | np.isnan(b)
    return np.where(null, np.nan, np.asarray(op(a, b), dtype="float64"))


def _compare_text(a: Value, b: Value, op: Callable) -> Value:
    size = max(len(v) if isinstance(v, np.ndarray) else 1 for v in (a, b))
    left, right = (_objects(v, size) for v in (a, b))
    null = pd.isna(left) | pd.isna(right)
    out = np.full(size, np.nan)
    ok = ~null
    try:
        out[ok] = np.asarray(op(left[ok], right[ok]), dtype=bool)
    except TypeError:
        raise _Failure("cannot order text against numbers; compare text with text") from None
    return out


def _objects(value: Value, size: int) -> np.ndarray:
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return value
        return np.where(np.isnan(value), None, value.astype(object))
    return np.full(size, value, dtype=object)


def _as_date(value: Value) -> Value:
    if _is_dt(value):
        return value
    if isinstance(value, str):
        try:
            stamp = pd.Timestamp(value)
        except ValueError:
            raise _Failure(f"{value!r} does not read as a date") from None
        if stamp.tz is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return np.datetime64(stamp.asm8, "ns")
    if isinstance(value, np.ndarray) and value.dtype == object:
        return to_instants(pd.Series(value))
    raise _Failure("a datetime can only be compared with a datetime or a date in quotes")


def _nat(value: Value) -> Any:
    return np.isnat(value) if isinstance(value, np.ndarray) else np.isnat(np.asarray(value))


def _member(value: Value, options: list[Any], negate: bool) -> Value:
    listed_null = any(o is None for o in options)
    options = [o for o in options if o is not None]
    if _is_dt(value):
        targets = np.array([_as_date(o) for o in options], dtype="datetime64[ns]")
        null, found = np.isnat(value), np.isin(value, targets)
    elif _is_text(value):
        series = pd.Series(value, dtype=object)
        null, found = series.isna().to_numpy(), series.isin(options).to_numpy()
    else:
        value = np.asarray(_number(value), dtype="float64")
        numbers = [float(o) for o in options if isinstance(o, (int, float))]
        null, found = np.isnan(value), np.isin(value, numbers)
    found = found.astype("float64")
    found = np.where(null, 1.0 if listed_null else np.nan, found)
    return _not(found) if negate else found


def _call(name: str, args: list[Value]) -> Value:
    if name in ("min", "max"):
        combine = np.minimum if name == "min" else np.maximum
        if any(_is_dt(a) for a in args):
            args = [_as_date(a) for a in args]
        else:
            args = [np.asarray(_numeric(a, f"{name}()"), dtype="float64") for a in args]
        out = args[0]
        for arg in args[1:]:
            out = combine(out, arg)
        return out
    x = np.asarray(_numeric(args[0], f"{name}()"), dtype="float64")
    if name == "round":
        return np.round(x, int(args[1]) if len(args) > 1 else 0)
    if name in ("floor", "ceil"):
        return np.floor(x) if name == "floor" else np.ceil(x)
    return _finite(_UNARY_MATH[name](x))


# ---------------------------------------------------------------- parsing aid
def _substitute_backticks(text: str) -> tuple[str, list[int], dict[str, str]]:
    """Backticked names replaced by identifiers; each new character's position in ``text``.

    Backticks inside quoted text are left alone: ``region == 'it`s'`` reads a value.
    """
    text = text.replace("\n", " ").replace("\r", " ").replace("\t", " ")
    out, origin, aliases = [], [], {}
    last = 0  # end of the last backticked name
    unmatched = 0  # end of the last match of either kind: text between matches is unquoted
    for match in _BACKTICK.finditer(text):
        _no_stray_backtick(text, unmatched, match.start())
        unmatched = match.end()
        if match.group(1) is None:
            continue  # quoted text: copied as it is
        out.append(text[last : match.start()])
        origin.extend(range(last, match.start()))
        if not match.group(1):
            raise InvalidDataError(
                f"expression {text!r}: empty backticks at position {match.start() + 1}"
            )
        alias = f"_col{len(aliases)}_"
        while alias in text:
            alias = "_" + alias
        aliases[alias] = match.group(1)
        out.append(alias)
        origin.extend([match.start()] * len(alias))
        last = match.end()
    _no_stray_backtick(text, unmatched, len(text))
    out.append(text[last:])
    origin.extend(range(last, len(text) + 1))
    return "".join(out), origin, aliases


def _no_stray_backtick(text: str, start: int, end: int) -> None:
    """A backtick outside quotes and outside a backticked name is unclosed: an error."""
    at = text.find("`", start, end)
    if at >= 0:
        raise InvalidDataError(f"expression {text!r}: unclosed backtick at position {at + 1}")


def _char_offset(source: str, byte_offset: int) -> int:
    return len(source.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _arity(counts: tuple[int, int]) -> str:
    low, high = counts
    return str(low) if low == high else f"{low} or {high}" if high < 99 else f"{low} or more"


def _unsupported(node: ast.AST) -> str:
    names = {
        "Attribute": "attributes (x.y) are not allowed",
        "Subscript": "indexing (x[i]) is not allowed",
        "IfExp": "'if ... else' is not allowed",
        "Lambda": "lambda is not allowed",
        "JoinedStr": "f-strings are not allowed",
        "NamedExpr": "':=' is not allowed",
        "List": "a list is only allowed after 'in'",
        "Tuple": "a tuple is only allowed after 'in'",
    }
    kind = type(node).__name__
    return names.get(kind, f"{kind} syntax is not allowed")
