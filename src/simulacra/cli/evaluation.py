"""Top-level scoring commands: ``evaluate`` a synthetic table, and the ``demo`` that fits,
samples and evaluates the bundled table end to end."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

import simulacra
from simulacra.cli._common import (
    Quiet,
    Seed,
    _check_bars,
    _parse_bars,
    _score_text,
    _status,
    err,
)
from simulacra.errors import InputError


def evaluate(
    real: Annotated[str, typer.Option("--real", help="The real (training) table.")],
    synthetic: Annotated[str, typer.Option("--synthetic", help="The synthetic table.")],
    holdout: Annotated[
        str | None, typer.Option(help="Real rows the model never saw (enables attack metrics).")
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Column to predict for ML utility (needs --holdout).")
    ] = None,
    sensitive: Annotated[
        list[str] | None,
        typer.Option(
            help="Sensitive column(s) such as sex or race, for the fairness section and "
            "attribute-inference attacks; repeat or separate with commas."
        ),
    ] = None,
    metadata: Annotated[
        Path | None, typer.Option(help="Metadata JSON; detected from the real table if left out.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the full report as JSON here.")
    ] = None,
    html_out: Annotated[
        Path | None,
        typer.Option("--html", help="Write the report as one self-contained HTML page here."),
    ] = None,
    ledger: Annotated[
        Path | None,
        typer.Option(
            help="The DP model file (.simz) that made the copy, or a JSON list of its spends "
            '([{"what": ..., "epsilon": ..., "delta": ...}]); shown in the privacy section.'
        ),
    ] = None,
    allow_mismatch: Annotated[
        bool,
        typer.Option(
            "--allow-mismatch",
            help="Compare only the common, well-typed columns when the tables differ.",
        ),
    ] = False,
    fail_under: Annotated[
        list[str] | None,
        typer.Option(
            help="Exit 1 when a section scores below its bar, e.g. fidelity=0.85; repeat or "
            "separate with commas for more bars (all must pass)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the metrics' sampling.", min=0)] = 0,
    quiet: Quiet = False,
) -> None:
    """Score a synthetic table: fidelity, detection, utility, privacy, fairness, validity."""
    bars = _parse_bars(fail_under)
    columns = [c.strip() for item in sensitive or [] for c in item.split(",") if c.strip()]
    with _status(quiet, "evaluating"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the report's notes say the same
        report = simulacra.evaluate(
            real,
            synthetic,
            holdout=holdout,
            metadata=metadata,
            target=target,
            sensitive=columns,
            ledger=_read_ledger(ledger),
            allow_mismatch=allow_mismatch,
            seed=seed,
        )
    if json_out is not None:
        report.to_json(json_out)
    if html_out is not None:
        report.to_html(html_out)
    if not quiet:
        table = Table(title="evaluation")
        for head in ("section", "score", "verdict", "meaning"):
            table.add_column(head)
        for row in report.summary().itertuples(index=False):
            table.add_row(row.section, _score_text(row.score), row.verdict, row.meaning)
        Console(highlight=False).print(table)
        for note in report.notes:
            err.print(f"note: {note}")
    _check_bars(bars, report.scores)


def _read_ledger(path: Path | None) -> list[Any] | None:
    if path is None:
        return None
    if path.suffix == ".simz":  # the ledger a DP model file carries
        model = simulacra.load(path)
        if not hasattr(model, "privacy_ledger"):
            raise InputError(f"{path}: a {model.name} model has no privacy ledger (not DP)")
        return model.privacy_ledger()
    try:
        spends = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the ledger as JSON ({exc})") from None
    if not isinstance(spends, list):
        raise InputError(f"{path}: the ledger must be a JSON list of spends")
    return spends


def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo files.")] = Path(
        "simulacra-demo"
    ),
    family: Annotated[str, typer.Option("--family", "-f")] = "copula",
    rows: Annotated[int, typer.Option("-n", "--rows", help="Synthetic rows to make.")] = 2000,
    seed: Seed = 0,
    quiet: Quiet = False,
) -> None:
    """Fit the bundled customers table (80%), sample a copy, evaluate it against the rest."""
    out.mkdir(parents=True, exist_ok=True)
    table = simulacra.datasets.load_customers()
    # Hold 20% out of training so the privacy section can run its attacks.
    held = table.sample(frac=0.2, random_state=seed).index
    real, holdout = table.drop(held).reset_index(drop=True), table.loc[held].reset_index(drop=True)
    real_path = out / "customers.csv"
    simulacra.write_table(real, real_path)
    simulacra.write_table(holdout, out / "holdout.csv")
    meta = simulacra.Metadata.detect(real)
    meta.to_json(out / "customers.meta.json")
    model = simulacra.create(family, seed=seed)
    with _status(quiet, f"fitting {family} on the demo table"):
        model.fit(real, metadata=meta)
    model.save(out / "customers.simz")
    synth = model.sample(rows)
    simulacra.write_table(synth, out / "synthetic.csv")
    with _status(quiet, "evaluating the copy"):
        report = simulacra.evaluate(
            real,
            synth,
            holdout=holdout,
            metadata=meta,
            target="segment",
            sensitive=["region"],
            seed=seed,
        )
    report.to_json(out / "report.json")
    report.to_html(out / "report.html")
    if not quiet:
        _print_comparison(real, synth, meta)
        for row in report.summary().itertuples(index=False):
            err.print(f"{row.section}: {_score_text(row.score)} ({row.verdict}) - {row.meaning}")
        err.print(
            f"\nwrote {real_path} (training rows), holdout.csv, customers.meta.json, "
            f"customers.simz, synthetic.csv ({rows:,} rows), report.json and report.html "
            f"to {out}/ (open report.html in a browser)"
        )


def _print_comparison(real: Any, synth: Any, meta: simulacra.Metadata) -> None:
    table = Table(title="real vs synthetic (first look; `simulacra evaluate` goes deeper)")
    for head in ("column", "kind", "real", "synthetic"):
        table.add_column(head)
    for name, col in meta.columns.items():
        if col.type == "numerical":
            summary = [
                f"mean {s[name].mean():,.2f}, missing {s[name].isna().mean():.0%}"
                for s in (real, synth)
            ]
        elif col.type in ("categorical", "boolean"):
            summary = [
                ", ".join(
                    f"{k}: {v:.0%}" for k, v in s[name].value_counts(normalize=True).head(3).items()
                )
                for s in (real, synth)
            ]
        else:
            summary = [str(s[name].dropna().iloc[0]) for s in (real, synth)]
        table.add_row(name, col.pii or col.type, *summary)
    err.print(table)
