"""The published JSON Schema of a generation spec (draft 2020-12).

The schema is built here from the registries (distribution and provider
names, each distribution's parameters), so that code and schema cannot drift;
``spec.schema.json`` beside this module is the same schema as a file for
editors and other tools (``python -m simulacra.spec.schema`` writes it again,
and a test checks it is current).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from simulacra.constraints import CONSTRAINT_TYPES
from simulacra.spec.distributions import DISTRIBUTIONS, PARAMETERS
from simulacra.spec.providers import PROVIDERS

__all__ = ["GENERATORS", "SCHEMA", "SCHEMA_PATH", "schema_text"]

SCHEMA_PATH = Path(__file__).with_name("spec.schema.json")
GENERATORS = {
    "distribution": "numbers from a named distribution",
    "values": "categories with weights: a mapping value -> weight, or a list (with 'weights')",
    "fake": "fake values from a provider (names, emails, addresses...)",
    "pattern": "text in a regex-like pattern such as CUST-[0-9]{6}",
    "sequence": "start + step * row number, as numbers or prefixed, zero-padded text",
    "dates": "dates (or times) spread evenly between start and end",
    "expression": "a formula over other columns of the row, e.g. price * qty",
    "depends_on": "made one way per value of another column (with 'cases' and 'default')",
    "foreign_key": "a key of another table, as table.column",
    "constant": "the same value in every row",
}
_NUMBER = {"type": "number"}
_NAME = {"type": "string", "minLength": 1}
_ROWS = {
    "description": "a row count: a whole number, or text such as 1e6 or 10_000",
    "anyOf": [
        {"type": "integer", "minimum": 0},
        {"type": "number", "minimum": 0, "multipleOf": 1},
        {"type": "string", "pattern": r"^\s*[0-9][0-9_]*(\.[0-9]+)?([eE]\+?[0-9]+)?\s*$"},
    ],
}
_SCALAR = {"type": ["string", "number", "boolean"]}


def _column(nested: bool) -> dict[str, Any]:
    params = {
        name: {"type": "array", "items": _NUMBER, "minItems": 1} if is_list else _NUMBER
        for name, is_list in PARAMETERS.items()
    }
    props: dict[str, Any] = {
        "distribution": {"enum": sorted(DISTRIBUTIONS), "description": GENERATORS["distribution"]},
        **params,
        "values": {
            "description": GENERATORS["values"],
            "anyOf": [
                {"type": "object", "minProperties": 1, "additionalProperties": _NUMBER},
                {"type": "array", "minItems": 1, "items": _SCALAR},
            ],
        },
        "fake": {"enum": sorted(PROVIDERS), "description": GENERATORS["fake"]},
        "locale": {"type": "string", "description": "Faker locale such as en_US or de_DE"},
        "pattern": {"type": "string", "minLength": 1, "description": GENERATORS["pattern"]},
        "unique": {"type": "boolean", "description": "no value repeats (fixed-shape patterns)"},
        "sequence": {
            "type": "object",
            "description": GENERATORS["sequence"],
            "additionalProperties": False,
            "properties": {
                "start": {"type": "integer"},
                "step": {"type": "integer", "not": {"const": 0}},
                "prefix": {"type": "string"},
                "width": {"type": "integer", "minimum": 1, "maximum": 18},
            },
        },
        "dates": {
            "type": "object",
            "description": GENERATORS["dates"],
            "additionalProperties": False,
            "required": ["start", "end"],
            "properties": {
                "start": {"type": "string"},
                "end": {"type": "string"},
                "unit": {"enum": ["day", "second"]},
            },
        },
        "expression": {"type": "string", "minLength": 1, "description": GENERATORS["expression"]},
        "depends_on": {**_NAME, "description": GENERATORS["depends_on"]},
        "cases": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"$ref": "#/$defs/case"},
        },
        "default": {"$ref": "#/$defs/case"},
        "foreign_key": {
            "type": "string",
            "pattern": r"^[^.]+\.[^.]+$",
            "description": GENERATORS["foreign_key"],
        },
        "per_parent": {"$ref": "#/$defs/per_parent"},
        "constant": {"type": ["string", "number", "boolean"]},
        "min": {"type": ["number", "string"], "description": "lower bound (exact truncation)"},
        "max": {"type": ["number", "string"], "description": "upper bound (exact truncation)"},
        "integer": {"type": "boolean", "description": "round to whole numbers"},
        "decimals": {"type": "integer", "minimum": 0, "maximum": 15},
        "nulls": {"type": "number", "minimum": 0, "maximum": 1, "description": "share missing"},
        "description": {"type": "string"},
    }
    if nested:  # a case is made for the rows of its parent value: keys come from elsewhere
        for name in ("foreign_key", "per_parent", "sequence", "unique", "cases", "default"):
            props.pop(name)
        props.pop("depends_on")
    generators = [g for g in GENERATORS if g in props]
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": props,
        "oneOf": [{"required": [g]} for g in generators],
        "allOf": [
            {
                "if": {"required": ["distribution"], "properties": {"distribution": {"const": n}}},
                "then": {"required": list(f.params)},
            }
            for n, f in DISTRIBUTIONS.items()
        ],
    }


SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://simulacra.dev/schemas/spec.schema.json",
    "title": "simulacra generation spec",
    "description": "Tables, their columns and how each is made; see docs/architecture.md.",
    "type": "object",
    "required": ["tables"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        "description": {"type": "string"},
        "locale": {"type": "string", "description": "default Faker locale, e.g. en_US"},
        "tables": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"$ref": "#/$defs/table"},
        },
    },
    "$defs": {
        "table": {
            "type": "object",
            "required": ["columns"],
            "additionalProperties": False,
            "properties": {
                "rows": _ROWS,
                "description": {"type": "string"},
                "locale": {"type": "string"},
                "columns": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": {"$ref": "#/$defs/column"},
                },
                "correlations": {"type": "array", "items": {"$ref": "#/$defs/correlation"}},
                "constraints": {"type": "array", "items": {"$ref": "#/$defs/constraint"}},
            },
        },
        "column": _column(nested=False),
        "case": _column(nested=True),
        "per_parent": {
            "type": "object",
            "description": "how many child rows each parent row gets",
            "required": ["distribution"],
            "additionalProperties": False,
            "properties": {
                "distribution": {"enum": sorted(DISTRIBUTIONS)},
                **{name: {"type": "array"} if lst else _NUMBER for name, lst in PARAMETERS.items()},
                "min": _NUMBER,
                "max": _NUMBER,
            },
        },
        "correlation": {
            "type": "object",
            "required": ["columns", "matrix"],
            "additionalProperties": False,
            "properties": {
                "columns": {"type": "array", "items": _NAME, "minItems": 2},
                "matrix": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "number"}},
                },
            },
        },
        "constraint": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": list(CONSTRAINT_TYPES)}},
        },
    },
}


def schema_text() -> str:
    """The schema as the JSON text of ``spec.schema.json``."""
    return json.dumps(SCHEMA, indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":  # pragma: no cover - regenerates the published file
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
