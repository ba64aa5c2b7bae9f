"""Multi-table synthesis with referential integrity: every foreign key joins.

>>> from simulacra.relational import MultiTableMetadata, create_multi
"""

from __future__ import annotations

from simulacra.evaluate.multi import MultiReport, evaluate_multi
from simulacra.relational._persist import load_multi
from simulacra.relational.hierarchical import HierarchicalSynthesizer, create_multi
from simulacra.relational.io import read_tables, write_tables
from simulacra.relational.metadata import ForeignKey, MultiTableMetadata

__all__ = [
    "ForeignKey",
    "HierarchicalSynthesizer",
    "MultiReport",
    "MultiTableMetadata",
    "create_multi",
    "evaluate_multi",
    "load_multi",
    "read_tables",
    "write_tables",
]
