"""The ``simulacra`` command line: a thin shell over the Python API.

Data goes to files or stdout, messages to stderr. Exit codes: 0 done, 1 an
error in the input or the run (one readable paragraph, no traceback), 2 a
usage error.
"""

from __future__ import annotations

import contextlib
import json
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

import simulacra
from simulacra.errors import InputError, InvalidParameterError, SimulacraError
from simulacra.synthesizers.registry import family_class

app = typer.Typer(
    name="simulacra",
    help="Make synthetic data that keeps the shape of real data without anyone's record in it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
metadata_app = typer.Typer(
    help="Detect and check table metadata (column types as JSON).", no_args_is_help=True
)
app.add_typer(metadata_app, name="metadata")
db_app = typer.Typer(
    help="Synthesize and evaluate whole databases: related tables whose keys join.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
budget_app = typer.Typer(
    help="Keep one dataset's differential-privacy budget across releases (a JSON ledger).",
    no_args_is_help=True,
)
app.add_typer(budget_app, name="budget")
spec_app = typer.Typer(
    help="Generation specs: a learned model as an editable spec, and the spec's JSON Schema.",
    no_args_is_help=True,
)
app.add_typer(spec_app, name="spec")

err = Console(stderr=True, highlight=False)
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
Seed = Annotated[int | None, typer.Option(help="Seed for repeatable output.", min=0)]
TableOpt = Annotated[str | None, typer.Option(help="Table name, for a database URL source.")]


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        err.print(message)


@contextlib.contextmanager
def _status(quiet: bool, message: str) -> Iterator[None]:
    if quiet:
        yield
    else:
        with err.status(message):
            yield


def _parse_params(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs; values read as JSON where they parse (numbers, true, null)."""
    import json

    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise InvalidParameterError(f"--param {pair!r} must look like name=value")
        try:
            out[name] = json.loads(raw)
        except json.JSONDecodeError:
            out[name] = raw
    return out


# ---------------------------------------------------------------- commands
@app.command("list")
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


@metadata_app.command("detect")
def metadata_detect(
    source: Annotated[str, typer.Argument(help="CSV, Parquet, JSONL or Excel file, or a DB URL.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="JSON file to write; stdout if left out.")
    ] = None,
    table: TableOpt = None,
    quiet: Quiet = False,
) -> None:
    """Guess every column's type and write it as editable JSON."""
    df = simulacra.read_table(source, table=table)
    meta = simulacra.Metadata.detect(df)
    if output is None:
        sys.stdout.write(meta.to_json())
    else:
        meta.to_json(output)
        _say(quiet, f"wrote metadata for {len(meta.columns)} columns to {output}")


@app.command()
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
        typer.Option("--param", "-p", help="A family parameter as name=value; repeat for more."),
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


@budget_app.command("new")
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


@budget_app.command("show")
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


@app.command()
def sample(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A .simz model file.")],
    rows: Annotated[
        int | None,
        typer.Option(
            "-n",
            "--rows",
            help="How many rows to make [default: 1000, or one per --conditions row].",
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
    from simulacra.conditions import parse_rebalance, parse_where

    model = simulacra.load(model_path)
    asked: Any = parse_where(where) if where else None
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
        how = f" (drew {info['drawn']:,} rows to meet the conditions)"
    _say(quiet, f"wrote {written:,} synthetic rows to {output}{how}")


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


@app.command()
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
        str | None,
        typer.Option(help="Exit 1 when a section scores below its bar, e.g. fidelity=0.85."),
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


def _score_text(score: float) -> str:
    return "—" if score != score else f"{score:.3f}"


def _parse_bars(text: str | None, extra: tuple[str, ...] = ()) -> dict[str, float]:
    """``fidelity=0.85,privacy=0.5`` -> {"fidelity": 0.85, "privacy": 0.5}.

    The sections are the single-table ones, and ``extra`` ones (a database's).
    """
    bars: dict[str, float] = {}
    for item in filter(None, (text or "").split(",")):
        name, _, value = item.partition("=")
        try:
            bars[name.strip()] = float(value)
        except ValueError:
            raise InvalidParameterError(
                f"--fail-under {item!r} must look like section=number, e.g. fidelity=0.85"
            ) from None
    from simulacra.evaluate.report import SECTION_ORDER

    known = set(SECTION_ORDER) | set(extra)
    unknown = sorted(set(bars) - known)
    if unknown:
        raise InvalidParameterError(
            f"--fail-under names unknown section(s) {unknown}; sections: {sorted(known)}"
        )
    return bars


@app.command()
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


@app.command()
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


@app.command("generate")
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
        )
    for table, path in paths.items():
        _say(quiet, f"wrote {table} to {path}")


@app.command("simulate")
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


@spec_app.command("from-model")
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


@spec_app.command("schema")
def spec_schema(
    path: Annotated[
        bool, typer.Option("--path", help="Print only the schema file's path.")
    ] = False,
) -> None:
    """Print the JSON Schema every spec is checked against (for editors and other tools)."""
    from simulacra.spec.schema import SCHEMA_PATH, schema_text

    typer.echo(str(SCHEMA_PATH) if path else schema_text().rstrip("\n"))


@db_app.command("synthesize")
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


@db_app.command("evaluate")
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
        str | None,
        typer.Option(help="Exit 1 when a section scores below its bar, e.g. integrity=1."),
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


@db_app.command("metadata")
def db_metadata(
    source: Annotated[str, typer.Argument(help="A database URL or a folder of table files.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="JSON file to write; stdout if left out.")
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Detect tables, primary keys and foreign keys, and write them as editable JSON."""
    from simulacra.relational import read_tables

    tables = read_tables(source)
    if "://" in source:
        meta = simulacra.MultiTableMetadata.from_database(source, tables=tables)
    else:
        meta = simulacra.MultiTableMetadata.detect(tables)
    if output is None:
        sys.stdout.write(meta.to_json())
    else:
        meta.to_json(output)
        _say(quiet, f"wrote metadata for {len(meta.tables)} tables to {output}")


# -------------------------------------------------------------------- entry
def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one paragraph on stderr and exit 1."""
    try:
        app(args=argv)
    except SimulacraError as exc:
        err.print(Text.assemble(("error: ", "bold red"), str(exc)), soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
