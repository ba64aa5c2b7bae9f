"""Reading a spec file (YAML or JSON) and checking it against the schema, with line numbers.

The text is parsed twice: once into plain data, once into YAML nodes whose
marks give the line of every key and value, so that each problem names the
file, the line, the table and the column. Every problem is collected before
one :class:`~simulacra.errors.SpecError` lists them all.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from simulacra.errors import InputError, SpecError
from simulacra.spec.schema import GENERATORS, SCHEMA

__all__ = ["Problems", "Source", "parse", "read"]

Path_ = tuple[Any, ...]


class Source:
    """A spec's data, where it came from, and the line of each key."""

    def __init__(self, data: Any, name: str, lines: dict[Path_, int] | None = None) -> None:
        self.data, self.name, self.lines = data, name, lines or {}

    def line(self, path: Path_) -> int | None:
        """The line of ``path`` or of its nearest ancestor that has one."""
        for cut in range(len(path), -1, -1):
            found = self.lines.get(tuple(path[:cut]))
            if found is not None:
                return found
        return None


class Problems:
    """Collects problems as 'line N, table T, column C: what; fix' sentences."""

    def __init__(self, source: Source) -> None:
        self.source, self.items = source, []

    def add(self, path: Path_, message: str) -> None:
        said = bool(path) and (
            message.split(" ", 1)[0] == str(path[-1]) or f"{path[-1]!r}" in message
        )
        where = _where(path[:-1] if said and len(path) > 4 else path)
        self.items.append((self.source.line(path) or 0, where + message))

    def raise_if_any(self) -> None:
        if self.items:
            ordered = sorted(self.items, key=lambda item: item[0])
            lines = [(f"line {at}, " if at else "") + text for at, text in ordered]
            raise SpecError(lines, where=self.source.name)


def _where(path: Path_) -> str:
    parts = []
    if len(path) >= 2 and path[0] == "tables":
        parts.append(f"table {path[1]!r}")
        if len(path) >= 4 and path[2] == "columns":
            parts.append(f"column {path[3]!r}")
            rest = path[4:]
        else:
            rest = path[2:]
    else:
        rest = path
    field = ".".join(str(p) for p in rest if not isinstance(p, int))
    if field:
        parts.append(f"'{field}'")
    return (", ".join(parts) + ": ") if parts else ""


# ---------------------------------------------------------------------- read
def read(spec: str | Path | dict[str, Any]) -> Source:
    """The spec's data and line numbers, checked against the JSON Schema."""
    source = parse(spec)
    validate(source)
    return source


def parse(document: str | Path | dict[str, Any], what: str = "spec") -> Source:
    """A YAML or JSON file (or a dict) as data with the line of each key; not yet checked."""
    if isinstance(document, dict):
        return Source(_plain(document), what)
    path = Path(document)
    if not path.is_file():
        raise InputError(f"{path}: {what} file not found; check the path")
    text = path.read_text(encoding="utf-8")
    return _parse(text, str(path), json_file=path.suffix.lower() == ".json")


def _parse(text: str, name: str, *, json_file: bool) -> Source:
    try:
        data = json.loads(text) if json_file else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"line {exc.lineno}: not valid JSON: {exc.msg}", where=name) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}: " if mark is not None else ""
        what = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{at}not valid YAML: {what}", where=name) from None
    lines: dict[Path_, int] = {}
    try:
        _marks(yaml.compose(text, Loader=yaml.SafeLoader), (), lines)
    except yaml.YAMLError:  # JSON that YAML 1.1 cannot read: no line numbers, still checked
        lines = {}
    return Source(_plain(data), name, lines)


def _marks(node: yaml.Node | None, path: Path_, out: dict[Path_, int]) -> None:
    if node is None:
        return
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, _key(key))
            out[child] = key.start_mark.line + 1
            _marks(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _marks(item, (*path, i), out)


def _key(node: yaml.Node) -> Any:
    """A mapping key as safe_load gives it (text, or a number or boolean, made text)."""
    if isinstance(node, yaml.ScalarNode):
        value = yaml.safe_load(yaml.serialize(node))
        return _plain_key(value)
    return str(node.value)


def _plain_key(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _plain(data: Any) -> Any:
    """YAML dates as ISO text; everything else as it is."""
    if isinstance(data, dict):
        return {_plain_key(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    if isinstance(data, dt.date):
        return data.isoformat()
    return data


# ------------------------------------------------------------------- schema
def validate(source: Source) -> None:
    """Check the data against the JSON Schema; raise one SpecError listing every problem."""
    import jsonschema

    problems = Problems(source)
    if not isinstance(source.data, dict):
        problems.add((), "a spec must be a mapping with a 'tables' key")
        problems.raise_if_any()
    validator = jsonschema.Draft202012Validator(SCHEMA)
    seen: set[tuple[Path_, str]] = set()
    for error in sorted(validator.iter_errors(source.data), key=lambda e: list(map(str, e.path))):
        for path, message in _explain(error):
            if (path, message) not in seen:
                seen.add((path, message))
                problems.add(path, message)
    problems.raise_if_any()


def _explain(error: Any) -> Iterable[tuple[Path_, str]]:
    path, value, kind = tuple(error.absolute_path), error.instance, error.validator
    field = path[-1] if path else "spec"
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        for key in sorted(set(value) - set(allowed), key=str):
            yield (*path, key), f"unknown key {key!r}{_close(str(key), allowed, show=True)}"
    elif kind == "enum":
        what = {"distribution": "distribution", "fake": "provider"}.get(str(field), "value")
        options = [str(o) for o in error.validator_value]
        yield path, f"{what} {value!r} is not known{_close(str(value), options, show=True)}"
    elif kind == "required":
        missing = [r for r in error.validator_value if r not in value]
        if isinstance(value, dict) and "distribution" in value and "distribution" not in missing:
            yield path, f"distribution {value['distribution']!r} needs {', '.join(missing)}"
        else:
            yield path, f"needs {', '.join(repr(m) for m in missing)}"
    elif kind == "oneOf" and isinstance(value, dict) and len(path) >= 4:
        made = [g for g in GENERATORS if g in value]
        typos = [k for k in value if difflib.get_close_matches(str(k), list(GENERATORS), n=1)]
        if not made and typos:
            return  # the unknown key's own message says which generator was meant
        if not made:
            yield path, f"says nothing about how to make it; give one of {', '.join(GENERATORS)}"
        elif len(made) > 1:
            yield path, f"has {' and '.join(made)}; a column is made one way: keep one"
        else:
            for sub in error.context:  # the one generator key has a problem of its own
                yield from _explain(sub)
    elif kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        yield path, f"must be {_article(expected)}, got {value!r}"
    elif kind in ("anyOf",) and path and path[-1] == "rows":
        yield path, f"must be a whole number of rows (e.g. 1000 or 1e6), got {value!r}"
    elif kind == "anyOf" and str(field) == "values":
        yield path, "must be a mapping value -> weight, or a list of values"
    elif kind == "pattern" and str(field) == "foreign_key":
        yield path, f"must look like table.column, got {value!r}"
    elif kind == "const" and field == "version":
        yield path, f"version {value!r} is not supported; this simulacra reads version 1"
    else:
        yield path, error.message


def _article(kind: str) -> str:
    return ("an " if kind[:1] in "aeiou" else "a ") + kind


def _close(name: str, options: list[str], *, show: bool = False) -> str:
    close = difflib.get_close_matches(name, options, n=2, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    if show:
        return "; use one of " + ", ".join(options)
    return ""
