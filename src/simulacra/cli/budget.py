"""``simulacra budget``: a dataset's differential-privacy budget file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simulacra.cli._common import Quiet, _say
from simulacra.errors import InputError

app = typer.Typer(
    help="Keep one dataset's differential-privacy budget across releases (a JSON ledger).",
    no_args_is_help=True,
)


@app.command("new")
def budget_new(
    path: Annotated[Path, typer.Argument(help="The budget file to create (.json).")],
    epsilon: Annotated[float, typer.Option(help="Total epsilon for this dataset.")],
    delta: Annotated[float, typer.Option(help="Total delta (below 1/rows).")] = 0.0,
    quiet: Quiet = False,
) -> None:
    """Create a budget file for one dataset; DP fits given --budget spend from it."""
    from simulacra.privacy.budget import PrivacyBudget

    if path.exists():
        raise InputError(f"{path}: already exists; a budget is never reset by overwriting it")
    PrivacyBudget(epsilon, delta).save(path)
    _say(quiet, f"budget of epsilon {epsilon:g}, delta {delta:g} written to {path}")


@app.command("show")
def budget_show(path: Annotated[Path, typer.Argument(help="A budget file.")]) -> None:
    """Print a budget's spends in plain words and what is left."""
    from simulacra.privacy.budget import PrivacyBudget

    total = PrivacyBudget.load(path)
    for line in total.describe():
        typer.echo(line)
    typer.echo(
        f"left: epsilon {total.remaining_epsilon:g} of {total.epsilon:g}, "
        f"delta {total.remaining_delta:g} of {total.delta:g}"
    )
