"""What the command modules share: the stderr console, common options, messages,
progress, and the ``--fail-under`` bars of ``evaluate`` and ``db evaluate``."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from simulacra.errors import InvalidParameterError

err = Console(stderr=True, highlight=False)
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
Seed = Annotated[int | None, typer.Option(help="Seed for repeatable output.", min=0)]
TableOpt = Annotated[str | None, typer.Option(help="Table name, for a database URL source.")]
JsonOut = Annotated[
    Path | None, typer.Option("-o", "--output", help="JSON file to write; stdout if left out.")
]


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        err.print(message)


def _write_metadata(meta: Any, output: Path | None, quiet: bool, what: str) -> None:
    """Detected metadata as JSON to ``output`` (saying so), or to stdout without one."""
    if output is None:
        sys.stdout.write(meta.to_json())
    else:
        meta.to_json(output)
        _say(quiet, f"wrote metadata for {what} to {output}")


@contextlib.contextmanager
def _status(quiet: bool, message: str) -> Iterator[None]:
    if quiet:
        yield
    else:
        with err.status(message):
            yield


@contextlib.contextmanager
def _progress(hidden: bool) -> Iterator[Progress]:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=hidden,
        transient=True,
    )
    with progress:
        yield progress


def _score_text(score: float) -> str:
    return "—" if score != score else f"{score:.3f}"


def _parse_bars(texts: list[str] | None, extra: tuple[str, ...] = ()) -> dict[str, float]:
    """``["fidelity=0.85,privacy=0.5"]`` -> {"fidelity": 0.85, "privacy": 0.5}; every bar of
    every repeat counts (a section named twice is an error).

    The sections are the single-table ones, and ``extra`` ones (a database's).
    """
    bars: dict[str, float] = {}
    for item in (i for text in texts or [] for i in text.split(",") if i.strip()):
        name, _, value = item.partition("=")
        try:
            bar = float(value)
        except ValueError:
            raise InvalidParameterError(
                f"--fail-under {item!r} must look like section=number, e.g. fidelity=0.85"
            ) from None
        if not 0 <= bar <= 1:
            raise InvalidParameterError(
                f"--fail-under {item!r}: scores run from 0 to 1; give a bar in that range"
            )
        if name.strip() in bars:
            raise InvalidParameterError(f"--fail-under names {name.strip()!r} twice; keep one")
        bars[name.strip()] = bar
    from simulacra.evaluate.report import SECTION_ORDER

    known = set(SECTION_ORDER) | set(extra)
    unknown = sorted(set(bars) - known)
    if unknown:
        raise InvalidParameterError(
            f"--fail-under names unknown section(s) {unknown}; sections: {sorted(known)}"
        )
    return bars


def _check_bars(bars: dict[str, float], scores: dict[str, float]) -> None:
    """Exit 1, naming them, when sections score below their bars (or were not measured)."""
    failed = [
        f"{k} {_score_text(scores.get(k, float('nan'))).replace('—', 'not measured')} < {v}"
        for k, v in bars.items()
        if not scores.get(k, float("nan")) >= v
    ]
    if failed:
        err.print(f"below the bar: {'; '.join(failed)}")
        raise typer.Exit(1)
