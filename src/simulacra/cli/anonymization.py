"""The top-level ``anonymize`` command: mask, pseudonymize and k-anonymize a real table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

import simulacra
from simulacra.cli._common import Quiet, TableOpt, _say, err
from simulacra.errors import InputError, InvalidParameterError


def anonymize(
    source: Annotated[str, typer.Argument(help="The real table: a file or a DB URL.")],
    output: Annotated[str, typer.Option("-o", "--output", help="File or DB URL to write.")],
    mask: Annotated[
        list[str] | None,
        typer.Option(
            help="col=op[:arg]: fake[:kind], partial[:4], hash, token[:format], suppress, "
            "drop or keep; repeat for more."
        ),
    ] = None,
    generalize: Annotated[
        list[str] | None,
        typer.Option(help="col=arg: a band width (age=10), year/quarter/month, or zip=3."),
    ] = None,
    k: Annotated[
        int | None, typer.Option("--k", help="Make the output k-anonymous over --quasi.", min=1)
    ] = None,
    quasi: Annotated[
        str | None, typer.Option(help="Quasi-identifiers for --k, e.g. age,zip,sex.")
    ] = None,
    sensitive: Annotated[
        str | None, typer.Option(help="Sensitive columns whose l-diversity is reported.")
    ] = None,
    l_div: Annotated[
        int | None, typer.Option("--l", help="Also require l distinct sensitive values.", min=1)
    ] = None,
    secret_env: Annotated[
        str | None,
        typer.Option(
            help="Name of the environment variable that holds the secret for keyed pseudonyms, "
            "hashes and tokens (the secret itself never goes on the command line)."
        ),
    ] = None,
    locale: Annotated[str, typer.Option(help="Faker locale of the fake values.")] = "en_US",
    metadata: Annotated[
        Path | None, typer.Option(help="Metadata JSON: its pii declarations override detection.")
    ] = None,
    detect: Annotated[
        bool, typer.Option(help="Pseudonymize detected PII columns the plan leaves out.")
    ] = True,
    report: Annotated[
        Path | None, typer.Option(help="Write what was done (and k achieved) as JSON here.")
    ] = None,
    table: TableOpt = None,
    quiet: Quiet = False,
) -> None:
    """Mask, pseudonymize and k-anonymize a real table; never changes the input."""
    import os

    from simulacra import privacy
    from simulacra.errors import InvalidDataError

    same = output == source if "://" in source else Path(output).resolve() == Path(source).resolve()
    if same:
        raise InputError(f"{output}: is the input; write the result to another file or database")
    secret = None
    if secret_env is not None:
        secret = os.environ.get(secret_env)
        if not secret:
            raise InvalidParameterError(
                f"--secret-env {secret_env}: the environment variable {secret_env} is not set "
                f"or empty; set it first (export {secret_env}=...) and run again"
            )
    plan = _pairs(mask, "--mask", "fake")
    plan |= {c: f"generalize:{a}" for c, a in _pairs(generalize, "--generalize", "10").items()}
    quasis = [c.strip() for c in (quasi or "").split(",") if c.strip()]
    if k is not None and not quasis:
        raise InvalidParameterError("--k needs --quasi, e.g. --quasi age,zip,sex")
    df = simulacra.read_table(source, table=table)
    meta = simulacra.Metadata.from_json(metadata) if metadata is not None else None
    try:
        actions = privacy.resolve_plan(df, plan, metadata=meta, detect=detect)
        out = privacy.anonymize(df, actions, secret=secret, locale=locale, detect=False)
        result = None
        if k is not None:
            names = [c.strip() for c in (sensitive or "").split(",") if c.strip()]
            out, result = privacy.k_anonymize(out, quasis, k=k, sensitive=names, l_diverse=l_div)
    except InvalidDataError as exc:
        raise InvalidDataError(exc.problems, where=source) from None
    written = simulacra.write_batches([out], output, table=table)
    if report is not None:
        from simulacra.io import atomic_write_text

        data = {
            "input": source,
            "output": output,
            "actions": {c: str(a) for c, a in actions.items()},
            "k_anonymity": result.to_dict() if result else None,
        }
        atomic_write_text(report, json.dumps(data, indent=2) + "\n")
    for column, action in actions.items():
        _say(quiet, f"{column}: {action}")
    if result is not None and not quiet:
        err.print(result.summary(), soft_wrap=True)
    _say(quiet, f"wrote {written:,} rows to {output}")


def _pairs(items: list[str] | None, option: str, example: str) -> dict[str, str]:
    """``col=value`` options as a dict; a usage error names the bad one."""
    out = {}
    for item in items or []:
        column, sep, value = item.partition("=")
        if not sep or not column.strip() or not value.strip():
            raise InvalidParameterError(f"{option} {item!r} must look like column={example}")
        out[column.strip()] = value.strip()
    return out
