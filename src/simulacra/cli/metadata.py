"""``simulacra metadata``: detect a table's metadata."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

import simulacra
from simulacra.cli._common import Quiet, TableOpt, _say

app = typer.Typer(
    help="Detect and check table metadata (column types as JSON).", no_args_is_help=True
)


@app.command("detect")
def metadata_detect(
    source: Annotated[str, typer.Argument(help="CSV, Parquet, JSONL or Excel file, or a DB URL.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="JSON file to write; stdout if left out.")
    ] = None,
    table: TableOpt = None,
    quiet: Quiet = False,
) -> None:
    """Guess every column's type and write it as editable JSON."""
    df = simulacra.read_table(source, table=table)
    meta = simulacra.Metadata.detect(df)
    if output is None:
        sys.stdout.write(meta.to_json())
    else:
        meta.to_json(output)
        _say(quiet, f"wrote metadata for {len(meta.columns)} columns to {output}")
