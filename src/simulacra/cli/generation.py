"""Top-level commands that make data with no real data: ``generate`` (from a spec) and
``simulate`` (an agent-based simulation)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from simulacra.cli._common import Quiet, _progress, _say
from simulacra.errors import InvalidParameterError


def generate_from_spec(
    spec: Annotated[Path, typer.Argument(help="A spec file (YAML or JSON): tables and columns.")],
    rows: Annotated[
        list[str] | None,
        typer.Option(
            "--rows", "-n", help="Rows of a table as table=N (1e6 works); repeat for more."
        ),
    ] = None,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder for the tables, one file each.")
    ] = Path("."),
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv, parquet or jsonl.")] = "parquet",
    batch_size: Annotated[int, typer.Option(help="Rows per batch (bounds memory).", min=1)] = (
        1_000_000
    ),
    seed: Annotated[int, typer.Option(help="Seed for repeatable output.", min=0)] = 0,
    replace: Annotated[bool, typer.Option(help="Replace table files that already exist.")] = False,
    quiet: Quiet = False,
) -> None:
    """Make tables from a written spec, with no real data (foreign keys join)."""
    import simulacra.spec

    asked: dict[str, str] = {}
    for pair in rows or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise InvalidParameterError(f"--rows {pair!r} must look like table=N, e.g. orders=1e6")
        asked[name.strip()] = value.strip()
    loaded = simulacra.spec.load_spec(spec)
    with _progress(quiet) as progress:
        tasks: dict[str, Any] = {}

        def advance(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = progress.add_task(table, total=total)
            progress.update(tasks[table], completed=done)

        paths = simulacra.spec.write(
            loaded,
            output,
            format=fmt,
            rows=asked,
            seed=seed,
            batch_size=batch_size,
            progress=advance,
            replace=replace,
        )
    for table, path in paths.items():
        _say(quiet, f"wrote {table} to {path}")


def simulate(
    config: Annotated[
        Path, typer.Argument(help="A simulation config (YAML or JSON): model, parameters.")
    ],
    output: Annotated[
        str, typer.Option("-o", "--output", help="Folder (one file a table) or a database URL.")
    ] = "simulation",
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv, parquet or jsonl.")] = "parquet",
    seed: Annotated[
        int | None, typer.Option(help="Seed for repeatable output (default: the config's).", min=0)
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a parameter as name=value (YAML); repeat for more."),
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Replace tables or files that already exist.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Run an agent-based simulation (epidemic, transactions); write its agents and event logs."""
    import yaml

    from simulacra.simulation import load_config, run_config

    overrides: dict[str, Any] = {}
    for item in settings or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise InvalidParameterError(f"--set {item!r} must look like name=value, e.g. days=30")
        overrides[name.strip()] = yaml.safe_load(value)
    loaded = load_config(config)
    with _progress(quiet) as progress:
        task = progress.add_task(f"{loaded.model} simulation: steps", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = run_config(loaded, seed=seed, overrides=overrides, progress=advance)
    how = f", stopped: {result.stopped}" if result.stopped else ""
    _say(quiet, f"ran {result.steps:,} steps in {result.seconds:.1f} s{how}")
    written = result.write(output, format=fmt, replace=replace)
    for (name, table), where in zip(result.all_tables().items(), written, strict=True):
        _say(quiet, f"wrote {name} ({len(table):,} rows) to {where}")
