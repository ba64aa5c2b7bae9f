"""Top-level commands for one model: ``list`` the families, ``fit`` one, ``sample`` from it."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

import simulacra
from simulacra.cli._common import Quiet, Seed, TableOpt, _progress, _say, _status
from simulacra.errors import InvalidParameterError
from simulacra.synthesizers.registry import family_class


def list_families(
    params: Annotated[
        bool, typer.Option("--params", help="Show each family's parameters.")
    ] = False,
) -> None:
    """List every synthesizer family, one line each."""
    for name, info in simulacra.families().items():
        typer.echo(f"{name:<14} {info.description}")
        if params:
            for p in simulacra.synthesizers.family_class(name).all_params():
                typer.echo(f"    {p.name}={p.default!r}  ({p.allowed()}): {p.help}")


def fit(
    source: Annotated[str, typer.Argument(help="Training data: a file or a DB URL.")],
    family: Annotated[str, typer.Option("--family", "-f", help="See `simulacra list`.")] = "copula",
    output: Annotated[Path, typer.Option("-o", "--output", help="Model file (.simz).")] = Path(
        "model.simz"
    ),
    metadata: Annotated[
        Path | None, typer.Option(help="Metadata JSON; detected if left out.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", help="A family parameter as name=value (a list: a,b,c); repeat."
        ),
    ] = None,
    table: TableOpt = None,
    seed: Seed = None,
    budget: Annotated[
        Path | None,
        typer.Option(
            help="A privacy budget file (`simulacra budget new`) a DP family's fit is paid from: "
            "checked before the data is read, charged when the fit is done."
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Learn a model from a table and save it as a .simz file."""
    if Path(output).suffix.lower() in _TABLE_SUFFIXES:
        raise InvalidParameterError(
            f"-o {output} names a table file, but fit writes a model (a .simz file): use "
            f"-o {Path(output).with_suffix('.simz')}, then `simulacra sample "
            f"{Path(output).with_suffix('.simz')} -o {output}` for the synthetic rows"
        )
    params = _parse_params(param or [])
    total = None
    if budget is not None:
        from simulacra.privacy.budget import PrivacyBudget

        if not hasattr(family_class(family), "privacy_ledger"):
            raise InvalidParameterError(
                f"--budget: {family!r} is not differentially private; use a dp-* family "
                "(see `simulacra list`) or leave out --budget"
            )
        total = PrivacyBudget.load(budget)
    if seed is not None:
        params["seed"] = seed
    has_bar = any(p.name == "progress" for p in family_class(family).all_params())
    if has_bar:  # a network shows its own progress bar, with the loss
        params.setdefault("progress", not quiet)
    model = simulacra.create(family, **params)
    data = simulacra.read_table(source, table=table) if table else source
    fitting = contextlib.nullcontext() if has_bar else _status(quiet, f"fitting {family}")
    with fitting:
        if total is not None:
            model.fit(data, metadata=metadata, budget=total)
        else:
            model.fit(data, metadata=metadata)
    model.save(output)
    if total is not None:
        total.save(budget)
    if hasattr(model, "privacy_ledger"):
        from simulacra.privacy.budget import describe

        for line in describe(model.privacy_ledger()):
            _say(quiet, line)
        _say(quiet, f"fitted {family} on about {model.n_training_rows_:,} rows (a noisy count)")
        _say(quiet, f"model saved to {output}")
        return
    _say(quiet, f"fitted {family} on {model.n_training_rows_:,} rows; model saved to {output}")


_TABLE_SUFFIXES = {".csv", ".tsv", ".parquet", ".jsonl", ".json", ".xlsx", ".xls"}


def _parse_params(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs; values read as JSON where they parse (numbers, true, null),
    and ``a,b,c`` as a list (``visit_order=region,age``)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise InvalidParameterError(f"--param {pair!r} must look like name=value")
        value = _json_or_text(raw)
        if isinstance(value, str) and "," in value:
            value = [_json_or_text(item.strip()) for item in value.split(",")]
        out[name] = value
    return out


def _json_or_text(raw: str) -> Any:
    import json

    flag = {"true": True, "false": False, "yes": True, "no": False}.get(raw.strip().lower())
    if flag is not None:  # True, FALSE, yes: a flag however it is written
        return flag
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _row_count(text: str) -> int:
    """A row count as written: 5000, 1e6 or 10_000 (the library judges the value)."""
    from simulacra.spec.build import whole_number

    try:
        return whole_number(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a whole number of rows (e.g. 5000 or 1e6)"
        ) from None


def sample(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A .simz model file.")],
    rows: Annotated[
        int | None,
        typer.Option(
            "-n",
            "--rows",
            help="How many rows to make, e.g. 5000 or 1e6 (default 1000, or one per "
            "--conditions row).",
            parser=_row_count,
            metavar="N",
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", help="File or DB URL to write; CSV to stdout if left out."),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            help='A condition every row meets, e.g. "region == \'North\'", "30 <= age <= 40" '
            "or \"plan in ('a', 'b')\"; repeat to combine."
        ),
    ] = None,
    conditions: Annotated[
        str | None,
        typer.Option(help="A table of conditions: one output row per row (empty cells free)."),
    ] = None,
    rebalance: Annotated[
        list[str] | None,
        typer.Option(
            help="Set category shares, e.g. diagnosis=rare:0.3 (others keep their proportions)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Rows per batch (bounds memory).")] = 1_000_000,
    table: Annotated[str | None, typer.Option(help="Table name, for a DB URL output.")] = None,
    seed: Seed = None,
    quiet: Quiet = False,
) -> None:
    """Make synthetic rows from a saved model, streamed in batches."""
    from simulacra._where import parse_rebalance, parse_where

    model = simulacra.load(model_path)
    asked: Any = parse_where(where, model.metadata_) if where else None
    if conditions is not None:
        if asked:
            raise InvalidParameterError("use --where or --conditions, not both")
        asked = simulacra.read_table(conditions)
    elif rows is None:
        rows = 1000
    batches = model.sample_batches(
        rows,
        batch_size=batch_size,
        seed=seed,
        conditions=asked,
        rebalance=parse_rebalance(rebalance) if rebalance else None,
    )
    rows = len(asked) if rows is None else rows
    if output is None:
        for i, batch in enumerate(batches):
            batch.to_csv(sys.stdout, index=False, header=i == 0)
        return
    total = -(-rows // batch_size)
    with _progress(quiet or total < 3) as progress:
        task = progress.add_task("sampling", total=rows)

        def tracked() -> Iterator[Any]:
            for batch in batches:
                yield batch
                progress.advance(task, len(batch))

        written = simulacra.write_batches(tracked(), output, table=table)
    info = getattr(model, "last_sample_info", {})
    how = ""
    if info.get("drawn", 0) > info.get("rows", 0):
        met = ["the conditions"] if asked is not None or rebalance else []
        met += ["the rules"] if getattr(model, "constraints_", None) else []
        met += ["the copy guard"] if getattr(model, "copy_guard_", None) else []
        how = f" (drew {info['drawn']:,} rows to meet {' and '.join(met) or 'the request'})"
    _say(quiet, f"wrote {written:,} synthetic rows to {output}{how}")
