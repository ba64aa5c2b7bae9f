"""``simulacra db``: synthesize, evaluate and detect the metadata of whole databases."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer

import simulacra
from simulacra.cli._common import (
    JsonOut,
    Quiet,
    Seed,
    _check_bars,
    _parse_bars,
    _progress,
    _say,
    _status,
    _write_metadata,
    err,
)
from simulacra.errors import InputError

app = typer.Typer(
    help="Synthesize and evaluate whole databases: related tables whose keys join.",
    no_args_is_help=True,
)


@app.command("synthesize")
def db_synthesize(
    source: Annotated[
        str, typer.Argument(help="A database URL, or a folder of CSV/Parquet files (one a table).")
    ],
    to: Annotated[str, typer.Option("--to", help="A database URL or a folder to write.")],
    scale: Annotated[
        float, typer.Option(help="Size of the copy relative to the source.", min=0.0)
    ] = 1.0,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet, for a folder.")] = "csv",
    family: Annotated[
        str, typer.Option("--family", "-f", help="Each table's model (see `simulacra list`).")
    ] = "cart",
    metadata: Annotated[
        Path | None, typer.Option(help="Multi-table metadata JSON; detected if left out.")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite tables or files that already exist.")
    ] = False,
    seed: Seed = None,
    quiet: Quiet = False,
) -> None:
    """Fit every table of SOURCE and write a synthetic copy whose keys all join."""
    from simulacra.relational import read_tables, write_tables

    same = to == source if "://" in source else Path(to).resolve() == Path(source).resolve()
    if same:
        raise InputError(f"{to}: is the source; write the copy to another database or folder")
    tables = read_tables(source)
    if metadata is not None:
        meta = simulacra.MultiTableMetadata.from_json(metadata)
    elif "://" in source:
        meta = simulacra.MultiTableMetadata.from_database(source, tables=tables)
    else:
        meta = simulacra.MultiTableMetadata.detect(tables)
    model = simulacra.create_multi("hierarchical", seed=seed, family=family)
    with _status(quiet, f"fitting {len(tables)} tables with {family}"):
        model.fit(tables, metadata=meta)
    with _status(quiet, "sampling"):
        synth = model.sample(scale=scale)
    write_tables(synth, to, metadata=meta, format=fmt, replace=replace)
    rows = sum(len(df) for df in synth.values())
    _say(quiet, f"wrote {len(synth)} tables ({rows:,} rows, every key joins) to {to}")


@app.command("evaluate")
def db_evaluate(
    real: Annotated[
        str, typer.Argument(help="The real database: a URL, or a folder of table files.")
    ],
    synthetic: Annotated[
        str, typer.Argument(help="The synthetic database: a URL, or a folder of table files.")
    ],
    report: Annotated[
        Path | None,
        typer.Option("--report", "--html", help="Write the report as one HTML page here."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the full report as JSON here.")
    ] = None,
    metadata: Annotated[
        Path | None,
        typer.Option(help="Multi-table metadata JSON; read from the real database if left out."),
    ] = None,
    tables: Annotated[
        bool,
        typer.Option(
            "--tables/--no-tables",
            help="Also evaluate every table on its own (the slow part; keys left out).",
        ),
    ] = True,
    allow_mismatch: Annotated[
        bool,
        typer.Option(
            "--allow-mismatch",
            help="Compare only common tables and well-typed columns when the two differ.",
        ),
    ] = False,
    fail_under: Annotated[
        list[str] | None,
        typer.Option(
            help="Exit 1 when a section scores below its bar, e.g. integrity=1; repeat or "
            "separate with commas for more bars (all must pass)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the metrics' sampling.", min=0)] = 0,
    quiet: Quiet = False,
) -> None:
    """Score a synthetic database: relationships, integrity, and every table."""
    from simulacra.evaluate.multi import MULTI_ORDER, evaluate_multi

    bars = _parse_bars(fail_under, MULTI_ORDER)
    with _progress(quiet) as progress, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the report's notes say the same
        task = progress.add_task("evaluating", total=None)

        def advance(step: str, done: int, total: int) -> None:
            progress.update(task, description=f"evaluated {step}", completed=done, total=total)

        result = evaluate_multi(
            real,
            synthetic,
            metadata,
            per_table=tables,
            allow_mismatch=allow_mismatch,
            seed=seed,
            progress=advance,
        )
    if json_out is not None:
        result.to_json(json_out)
    if report is not None:
        result.to_html(report)
    if not quiet:
        sys.stdout.write(result.to_text())
        for path in (p for p in (report, json_out) if p is not None):
            err.print(f"wrote {path}")
    _check_bars(bars, result.scores)


@app.command("metadata")
def db_metadata(
    source: Annotated[str, typer.Argument(help="A database URL or a folder of table files.")],
    output: JsonOut = None,
    quiet: Quiet = False,
) -> None:
    """Detect tables, primary keys and foreign keys, and write them as editable JSON."""
    from simulacra.relational import read_tables

    tables = read_tables(source)
    if "://" in source:
        meta = simulacra.MultiTableMetadata.from_database(source, tables=tables)
    else:
        meta = simulacra.MultiTableMetadata.detect(tables)
    _write_metadata(meta, output, quiet, f"{len(meta.tables)} tables")
