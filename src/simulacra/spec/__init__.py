"""Data from a written spec: tables made from distributions, fake values and rules, no real data.

A spec (YAML or JSON, checked against the published JSON Schema in
``spec.schema.json``) lists tables and, per column, how it is made: a
distribution, weighted values, a fake-value provider, a pattern, a sequence,
dates, an expression over other columns, a conditional (one way per value of
another column), a foreign key with a distribution of children per parent,
or a constant; plus null shares, correlations (a Gaussian copula) and
constraints in the same language as the metadata's. A learned model can be
written out as a spec (:func:`spec_from_model`, :func:`spec_to_yaml`): its
marginals and correlations, never a real record or a rare real value.

>>> import simulacra
>>> spec = {"tables": {"people": {"rows": 5, "columns": {
...     "id": {"sequence": {"start": 1}},
...     "age": {"distribution": "normal", "mean": 40, "sd": 10, "min": 18, "integer": True},
... }}}}
>>> tables = simulacra.generate(spec, seed=1)
>>> tables["people"]["id"].tolist()
[1, 2, 3, 4, 5]
>>> bool((tables["people"]["age"] >= 18).all())
True
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from simulacra.spec.build import Spec, TableSpec, build
from simulacra.spec.from_model import spec_from_model, spec_to_yaml
from simulacra.spec.generate import BLOCK, FORMATS, Progress, Run
from simulacra.spec.load import read
from simulacra.spec.schema import SCHEMA, SCHEMA_PATH

__all__ = [
    "BLOCK",
    "FORMATS",
    "SCHEMA",
    "SCHEMA_PATH",
    "Spec",
    "TableSpec",
    "generate",
    "load_spec",
    "spec_from_model",
    "spec_to_yaml",
    "write",
]

SpecLike = Spec | str | Path | Mapping[str, Any]


def load_spec(path: str | Path | Mapping[str, Any]) -> Spec:
    """Read and check a spec (a YAML or JSON file, or the same as a dict).

    Raises :class:`~simulacra.errors.SpecError` listing every problem, each with
    its line, table, column and how to fix it.
    """
    return build(read(dict(path) if isinstance(path, Mapping) else path))


def _spec(spec: SpecLike) -> Spec:
    return spec if isinstance(spec, Spec) else load_spec(spec)


def generate(
    spec: SpecLike, rows: Mapping[str, Any] | None = None, seed: int = 0
) -> dict[str, pd.DataFrame]:
    """Every table of ``spec`` as a DataFrame, parents first.

    ``rows`` overrides the row count of tables (``{"customers": 1e6}``); the
    rows of a child table follow from its parent's. Same spec, same seed, same
    version: same tables.
    """
    return Run(_spec(spec), rows, seed).tables()


def write(
    spec: SpecLike,
    out_dir: str | Path,
    *,
    format: str = "parquet",
    rows: Mapping[str, Any] | None = None,
    seed: int = 0,
    batch_size: int = 1_000_000,
    progress: Progress | None = None,
    replace: bool = False,
) -> dict[str, Path]:
    """Stream every table of ``spec`` to ``out_dir/<table>.<format>`` in bounded memory.

    ``format`` is ``csv``, ``parquet`` or ``jsonl``; each file is written to a
    temporary name and renamed when complete. Files that already exist are
    refused, before any is written, unless ``replace`` is true.
    ``progress(table, done, total)`` is called after each block. Returns the
    path of each table's file. The rows are the same as :func:`generate`
    makes, whatever the batch size.
    """
    run = Run(_spec(spec), rows, seed)
    return run.write(
        out_dir, format=format, batch_size=batch_size, progress=progress, replace=replace
    )
