"""The ``simulacra`` command line: a thin shell over the Python API.

Data goes to files or stdout, messages to stderr. Exit codes: 0 done, 1 an
error in the input or the run (one readable paragraph, no traceback), 2 a
usage error.

The commands live by job: ``model`` (list, fit, sample), ``evaluation`` (evaluate,
demo), ``anonymization`` (anonymize), ``generation`` (generate, simulate), and a
module per sub-app (``metadata``, ``db``, ``budget``, ``spec``); ``_common`` holds
what they share. Heavy imports stay inside the commands, so ``--help`` and
``list`` start fast.
"""

from __future__ import annotations

import sys
import warnings

import typer
from rich.text import Text

from simulacra.cli import budget, db, metadata, spec
from simulacra.cli._common import err
from simulacra.cli.anonymization import anonymize
from simulacra.cli.evaluation import demo, evaluate
from simulacra.cli.generation import generate_from_spec, simulate
from simulacra.cli.model import fit, list_families, sample
from simulacra.errors import SimulacraError

__all__ = ["app", "main"]

app = typer.Typer(
    name="simulacra",
    help="Make synthetic data that keeps the shape of real data without anyone's record in it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        from simulacra import __version__

        typer.echo(f"simulacra {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print simulacra's version and exit.",
        callback=_print_version,
        is_eager=True,
    ),
) -> None:
    """Make synthetic data that keeps the shape of real data without anyone's record in it."""


app.command("list")(list_families)
app.command()(fit)
app.command()(sample)
app.command()(evaluate)
app.command()(demo)
app.command()(anonymize)
app.command("generate")(generate_from_spec)
app.command("simulate")(simulate)
app.add_typer(metadata.app, name="metadata")
app.add_typer(db.app, name="db")
app.add_typer(budget.app, name="budget")
app.add_typer(spec.app, name="spec")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one paragraph on stderr and exit 1; the
    library's warnings one line each ("warning: ..."), without Python's source line, and
    none with --quiet."""
    words = sys.argv[1:] if argv is None else argv
    quiet = any(w in ("-q", "--quiet") for w in words)  # --quiet: nothing but errors
    warnings.showwarning = _no_warning if quiet else _show_warning
    try:
        app(args=argv)
    except SimulacraError as exc:
        err.print(Text.assemble(("error: ", "bold red"), str(exc)), soft_wrap=True)
        sys.exit(1)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    err.print(Text.assemble(("warning: ", "bold yellow"), str(message)), soft_wrap=True)


def _no_warning(*args: object, **kwargs: object) -> None:
    pass
