"""simulacra: synthetic data that keeps the shape of real data, without anyone's record.

>>> import simulacra
>>> df = simulacra.datasets.load_customers()
>>> model = simulacra.create("copula", seed=0).fit(df)
>>> model.sample(3).shape == (3, df.shape[1])
True
"""

from __future__ import annotations

__version__ = "0.1.0"

from simulacra import datasets, errors, privacy
from simulacra.evaluate import evaluate, evaluate_multi
from simulacra.io import read_table, write_batches, write_table
from simulacra.metadata import Column, Metadata
from simulacra.persist import load_model as load
from simulacra.relational import MultiTableMetadata, create_multi
from simulacra.spec import generate
from simulacra.synthesizers import Synthesizer, create, families

__all__ = [
    "Column",
    "Metadata",
    "MultiTableMetadata",
    "Synthesizer",
    "__version__",
    "create",
    "create_multi",
    "datasets",
    "errors",
    "evaluate",
    "evaluate_multi",
    "families",
    "generate",
    "load",
    "privacy",
    "read_table",
    "write_batches",
    "write_table",
]
