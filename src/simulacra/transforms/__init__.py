"""Reversible per-column transforms, and generators for columns a model never sees."""

from __future__ import annotations

from simulacra.metadata import Column
from simulacra.transforms.base import Transform
from simulacra.transforms.categorical import RARE_LABEL, BooleanTransform, CategoricalTransform
from simulacra.transforms.datetimes import DatetimeTransform
from simulacra.transforms.identifiers import IdGenerator
from simulacra.transforms.numeric import NumericTransform
from simulacra.transforms.pii import PiiGenerator

__all__ = [
    "RARE_LABEL",
    "BooleanTransform",
    "CategoricalTransform",
    "DatetimeTransform",
    "IdGenerator",
    "NumericTransform",
    "PiiGenerator",
    "Transform",
    "generator_for",
    "transform_for",
]

_TRANSFORMS: dict[str, type[Transform]] = {
    "numerical": NumericTransform,
    "categorical": CategoricalTransform,
    "boolean": BooleanTransform,
    "datetime": DatetimeTransform,
}


def transform_for(column: Column) -> Transform:
    """The transform for a column a model learns."""
    return _TRANSFORMS[column.type](column)


def generator_for(column: Column) -> IdGenerator | PiiGenerator:
    """The generator for a column that is regenerated, never learned."""
    if column.type == "id":
        return IdGenerator(column.pattern or "{int}")
    return PiiGenerator(column.pii or "text", column.locale)
