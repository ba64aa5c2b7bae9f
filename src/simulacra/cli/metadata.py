"""``simulacra metadata``: detect a table's metadata."""

from __future__ import annotations

from typing import Annotated

import typer

import simulacra
from simulacra.cli._common import JsonOut, Quiet, TableOpt, _write_metadata

app = typer.Typer(
    help="Detect table metadata (column types as JSON) to edit and fit with.", no_args_is_help=True
)


@app.command("detect")
def metadata_detect(
    source: Annotated[str, typer.Argument(help="CSV, Parquet, JSONL or Excel file, or a DB URL.")],
    output: JsonOut = None,
    table: TableOpt = None,
    quiet: Quiet = False,
) -> None:
    """Guess every column's type and write it as editable JSON."""
    df = simulacra.read_table(source, table=table)
    meta = simulacra.Metadata.detect(df)
    _write_metadata(meta, output, quiet, f"{len(meta.columns)} columns")
