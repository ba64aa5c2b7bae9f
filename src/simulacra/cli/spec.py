"""``simulacra spec``: a learned model as an editable spec, and the spec's JSON Schema."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from simulacra.cli._common import Quiet, _say, _status

app = typer.Typer(
    help="Generation specs: a learned model as an editable spec, and the spec's JSON Schema.",
    no_args_is_help=True,
)


@app.command("from-model")
def spec_export(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A .simz model file.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="YAML file to write; stdout if left out.")
    ] = None,
    rows: Annotated[
        int,
        typer.Option(
            "-n", "--rows", help="Synthetic rows drawn from the model to summarise.", min=100
        ),
    ] = 20_000,
    min_count: Annotated[
        int,
        typer.Option(
            help="Leave out every value seen fewer than this many times in training.", min=1
        ),
    ] = 10,
    table: Annotated[
        str | None, typer.Option(help="The spec's table name (default: the model file's name).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample.", min=0)] = 0,
    quiet: Quiet = False,
) -> None:
    """Write a learned model as an editable spec: marginals and correlations, no real record."""
    from simulacra.spec import spec_from_model, spec_to_yaml

    name = table or model_path.stem
    with _status(quiet, f"summarising {rows:,} rows from {model_path}"):
        spec = spec_from_model(
            model_path, table=name, sample_rows=rows, min_count=min_count, seed=seed
        )
    target = output.name if output is not None else "SPEC.yaml"
    header = (
        f"From {model_path.name} by `simulacra spec from-model` (what it keeps: see the "
        f"description).\nEdit freely, then make data with:\n  simulacra generate {target} "
        f"-o out/ --rows {name}=1e6"
    )
    text = spec_to_yaml(spec, header=header)
    if output is None:
        sys.stdout.write(text)
        return
    from simulacra.io import atomic_write_text

    atomic_write_text(output, text)
    _say(quiet, f"wrote the spec of table {name!r} to {output}")


@app.command("schema")
def spec_schema(
    path: Annotated[
        bool, typer.Option("--path", help="Print only the schema file's path.")
    ] = False,
) -> None:
    """Print the JSON Schema every spec is checked against (for editors and other tools)."""
    from simulacra.spec.schema import SCHEMA_PATH, schema_text

    typer.echo(str(SCHEMA_PATH) if path else schema_text().rstrip("\n"))
