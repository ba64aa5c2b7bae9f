"""Evaluation of a whole database: relationships, integrity, and a report per table.

>>> import pandas as pd
>>> from simulacra.relational import evaluate_multi
>>> real = {
...     "customers": pd.DataFrame({"id": range(1, 41), "age": range(20, 60)}),
...     "orders": pd.DataFrame({"id": range(80), "customer_id": [1 + i % 40 for i in range(80)]}),
... }
>>> report = evaluate_multi(real, real, per_table=False)
>>> report.scores["cardinality"], report.passed
(1.0, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulacra.errors import InvalidDataError
from simulacra.evaluate.relationships import integrity_checks, link, relationship_metrics
from simulacra.evaluate.report import (
    SECTION_MEANING,
    SECTION_ORDER,
    Metric,
    Report,
    _finite,
    _plain,
    _verdict,
    written,
)

if TYPE_CHECKING:
    from simulacra.relational.metadata import MultiTableMetadata

__all__ = ["MultiReport", "evaluate_multi"]

Progress = Callable[[str, int, int], None]  # (step, steps done, steps in all)

MULTI_MEANING = {
    "cardinality": "how closely the number of child rows per parent row follows the real "
    "data: per foreign key, weighted by its parent rows (1 = the same distribution)",
    "inter_table_trends": "whether parent columns go with their children's count and averages "
    "as in the real data: per foreign key, weighted by its parent rows (1 = the same "
    "correlations)",
    "integrity": "whether every primary key is present and unique and every foreign key "
    "points at an existing row (1 = pass)",
}
MULTI_ORDER = ("cardinality", "inter_table_trends", "integrity")
WEAKEST = ("privacy", "validity")  # scored by the weakest table, as within one table


@dataclass
class MultiReport:
    """A database's evaluation: relationship and integrity metrics, and a report per table."""

    metrics: list[Metric]
    scores: dict[str, float]
    relationships: list[dict[str, Any]]
    integrity: list[dict[str, Any]]
    tables: dict[str, Report] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Whether every integrity check passed on the synthetic tables."""
        return all(c["passed"] for c in self.integrity)

    def summary(self) -> pd.DataFrame:
        """One row per section: relationship sections first, then tables' sections combined."""
        rows = []
        for name in [*MULTI_ORDER, *SECTION_ORDER]:
            if name not in self.scores:
                continue
            score = self.scores[name]
            if name == "integrity":
                verdict = "pass" if self.passed else "fail"
            else:
                verdict = _verdict(score)
            if name in MULTI_ORDER:
                meaning = MULTI_MEANING[name]
            else:
                how = "weakest" if name in WEAKEST else "mean"
                meaning = f"{how} of {len(self._scored(name))} tables: {SECTION_MEANING[name]}"
            rows.append(
                {"section": name, "score": round(score, 4), "verdict": verdict, "meaning": meaning}
            )
        return pd.DataFrame(rows, columns=["section", "score", "verdict", "meaning"])

    def relationship_summary(self) -> pd.DataFrame:
        """One row per foreign key: its scores, children per parent, orphans."""
        rows = []
        for r in self.relationships:
            shape = r["children_per_parent"]
            rows.append(
                {
                    "relationship": f"{r['name']} -> {r['parent']}",
                    "cardinality": r["cardinality"],
                    "trends": r["inter_table_trends"],
                    "real mean": shape["real"]["mean"],
                    "synthetic mean": shape["synthetic"]["mean"],
                    "real max": shape["real"]["max"],
                    "synthetic max": shape["synthetic"]["max"],
                    "orphans": r["orphans"]["synthetic"],
                }
            )
        return pd.DataFrame(rows)

    def table_summary(self) -> pd.DataFrame:
        """One row per table: rows on each side and its section scores."""
        rows = []
        for name, report in self.tables.items():
            rows.append(
                {
                    "table": name,
                    "real rows": report.context.get("rows", {}).get("real"),
                    "synthetic rows": report.context.get("rows", {}).get("synthetic"),
                    **{s: report.scores[s] for s in SECTION_ORDER if s in report.scores},
                }
            )
        return pd.DataFrame(rows)

    def to_text(self) -> str:
        """A plain-text summary: sections, relationships, worst trends, integrity, tables."""
        tables = self.context.get("tables", len(self.tables))
        lines = [
            f"Multi-table evaluation: {tables} tables, {len(self.relationships)} relationships",
            "",
            _frame_text(self.summary().drop(columns="meaning")),
        ]
        if self.relationships:
            lines += ["", "Relationships", _frame_text(self.relationship_summary())]
            worst = sorted(
                ((r["name"], p) for r in self.relationships for p in r["worst_trends"]),
                key=lambda item: item[1]["score"],
            )[:5]
            if worst:
                lines += ["", "Worst inter-table trends (real vs synthetic correlation)"]
                lines += [
                    f"  {name}: {p['parent_column']} vs {p['child_aggregate']}: "
                    f"{_num(p['real'])} vs {_num(p['synthetic'])} (score {_num(p['score'])})"
                    for name, p in worst
                ]
        failed = [c for c in self.integrity if not c["passed"]]
        lines += ["", f"Integrity: {'pass' if not failed else 'FAIL'}"]
        lines += [
            f"  {c['table']}{c['columns']}: {c['synthetic']:,} {c['meaning']}" for c in failed
        ]
        if self.tables:
            lines += ["", "Tables", _frame_text(self.table_summary())]
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; a value that could not be measured is ``None``."""
        summary = self.summary()
        summary["score"] = summary["score"].astype(object)
        return {
            "title": "Multi-table evaluation report",
            "context": self.context,
            "summary": _plain(summary.to_dict("records")),
            "scores": _plain(self.scores),
            "passed": self.passed,
            "notes": self.notes,
            "metrics": [_plain({**asdict(m), "columns": list(m.columns)}) for m in self.metrics],
            "relationships": _plain(self.relationships),
            "integrity": _plain(self.integrity),
            "tables": {name: report.to_dict() for name, report in self.tables.items()},
        }

    def to_json(self, path: str | Path | None = None) -> str:
        import json

        return written(json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n", path)

    def to_html(self, path: str | Path | None = None) -> str:
        """One self-contained HTML page: relationships, integrity, then each table's report."""
        from simulacra.evaluate.html_multi import render_multi_html

        return written(render_multi_html(self.to_dict()), path)

    def _scored(self, section: str) -> list[float]:
        values = [r.scores.get(section, float("nan")) for r in self.tables.values()]
        return [v for v in values if not math.isnan(v)]


def evaluate_multi(
    real: Mapping[str, pd.DataFrame] | str | Path,
    synthetic: Mapping[str, pd.DataFrame] | str | Path,
    metadata: MultiTableMetadata | str | Path | None = None,
    *,
    per_table: bool | Sequence[str] = True,
    allow_mismatch: bool = False,
    seed: int = 0,
    max_rows: int | None = None,
    progress: Progress | None = None,
) -> MultiReport:
    """Compare a synthetic database with the real one; return a :class:`MultiReport`.

    ``real`` and ``synthetic`` are dicts of DataFrames, folders of CSV/Parquet
    files or database URLs. Without ``metadata`` the keys are read from the
    real database (a URL) or detected. Per foreign key the report measures
    cardinality (children per parent) and inter-table trends (parent columns
    against child counts and means), and checks integrity (orphans, empty
    links, missing or repeated primary keys) on every row. ``per_table`` adds
    :func:`simulacra.evaluate`'s report for every table (or for the tables it
    names), keys left out and tables longer than ``max_rows`` sampled with
    ``seed``. ``progress`` is called with ``(step, done, total)`` as each
    step ends.
    """
    from simulacra.evaluate import MAX_ROWS
    from simulacra.relational.metadata import MultiTableMetadata

    frames = {"real": _read(real), "synthetic": _read(synthetic)}
    if metadata is None:
        from simulacra.io import is_database_url

        if not isinstance(real, Mapping) and is_database_url(real):
            meta = MultiTableMetadata.from_database(str(real), tables=frames["real"])
        else:
            meta = MultiTableMetadata.detect(frames["real"])
    elif isinstance(metadata, MultiTableMetadata):
        meta = metadata
    else:
        meta = MultiTableMetadata.from_json(metadata)
    notes: list[str] = []
    chosen = _chosen(per_table, meta)
    _check(meta, frames, allow_mismatch, notes)
    real_t, synth_t = frames["real"], frames["synthetic"]
    steps = len(chosen) + 1
    links = [
        tuple(link(t[fk.table], t[fk.parent], fk) for t in (real_t, synth_t))
        for fk in meta.foreign_keys
    ]
    metrics: list[Metric] = []
    relationships = []
    for fk, pair in zip(meta.foreign_keys, links, strict=True):
        found, data = relationship_metrics(fk, meta, real_t, synth_t, pair, notes)
        metrics += found
        relationships.append(data)
    checks, integrity, integrity_score = integrity_checks(meta, real_t, synth_t, links)
    metrics += checks
    broken = [f"{c['real']:,} {c['check']} in {c['table']}" for c in integrity if c["real"]]
    if broken:
        notes.append(f"the real tables break integrity too: {'; '.join(broken)}")
    if progress is not None:
        progress("relationships", 1, steps)
    scores = {
        "cardinality": _weighted(relationships, "cardinality"),
        "inter_table_trends": _weighted(relationships, "inter_table_trends"),
        "integrity": integrity_score,
    }
    if not relationships:
        notes.append("no foreign keys: cardinality and inter-table trends were not measured")
    reports: dict[str, Report] = {}
    for i, name in enumerate(chosen):
        report = _table_report(
            name, meta, real_t[name], synth_t[name], allow_mismatch, seed, max_rows, notes
        )
        if report is not None:
            reports[name] = report
        if progress is not None:
            progress(name, i + 2, steps)
    for section in SECTION_ORDER:
        values = [r.scores[section] for r in reports.values() if section in r.scores]
        values = [v for v in values if not math.isnan(v)]
        if values:
            scores[section] = float(min(values) if section in WEAKEST else np.mean(values))
    context = {
        "tables": len(meta.tables),
        "relationships": len(meta.foreign_keys),
        "rows": {role: {name: len(frames[role][name]) for name in meta.tables} for role in frames},
        "seed": seed,
        "max_rows": MAX_ROWS if max_rows is None else max_rows,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "version": _version(),
    }
    return MultiReport(metrics, scores, relationships, integrity, reports, notes, context)


def _read(source: Mapping[str, Any] | str | Path) -> dict[str, pd.DataFrame]:
    """The tables of a source; DataFrames are read as they are (evaluation changes nothing)."""
    from simulacra.io import read_table
    from simulacra.relational.io import read_tables

    if isinstance(source, Mapping):
        return {
            str(k): v if isinstance(v, pd.DataFrame) else read_table(v) for k, v in source.items()
        }
    return read_tables(source)


def _chosen(per_table: bool | Sequence[str], meta: MultiTableMetadata) -> list[str]:
    """The tables that get a report of their own."""
    if isinstance(per_table, bool):
        return list(meta.tables) if per_table else []
    names = [per_table] if isinstance(per_table, str) else list(per_table)
    unknown = [n for n in names if n not in meta.tables]
    if unknown:
        raise InvalidDataError(
            f"per_table names table(s) {unknown} that are not in the metadata; the tables are: "
            f"{', '.join(meta.tables)}"
        )
    return [n for n in meta.tables if n in names]


def _check(
    meta: MultiTableMetadata,
    frames: dict[str, dict[str, pd.DataFrame]],
    allow_mismatch: bool,
    notes: list[str],
) -> None:
    """Every table and key column of the metadata on both sides; every problem listed."""
    problems = list(meta.problems())
    for role, tables in frames.items():
        for name in meta.tables:
            if name not in tables:
                problems.append(f"table {name!r} is in the metadata but not in the {role} tables")
                continue
            keys = meta.keys_of(name)
            missing = [c for c in meta.tables[name].columns if c not in tables[name]]
            if [c for c in missing if c in keys]:
                problems.append(
                    f"table {name!r} of the {role} tables has no key column(s) "
                    f"{[c for c in missing if c in keys]}"
                )
            if (lost := [c for c in missing if c not in keys]) and not allow_mismatch:
                problems.append(
                    f"table {name!r} of the {role} tables has no column(s) {lost} that the "
                    "metadata declares; add them, or compare the common columns with "
                    "allow_mismatch=True (--allow-mismatch)"
                )
            elif lost:
                notes.append(f"table {name!r}: {role} column(s) {lost} missing, not compared")
        extra = sorted(set(tables) - set(meta.tables))
        if extra and not allow_mismatch:
            problems.append(
                f"table(s) {extra} of the {role} tables are not in the metadata; add them, "
                "or leave them out with allow_mismatch=True (--allow-mismatch)"
            )
        elif extra:
            notes.append(f"{role} table(s) {extra} are not in the metadata and were not compared")
    if problems:
        raise InvalidDataError(problems)


def _table_report(
    name: str,
    meta: MultiTableMetadata,
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    allow_mismatch: bool,
    seed: int,
    max_rows: int | None,
    notes: list[str],
) -> Report | None:
    """The single-table report of one table, its key columns left out (None when not possible)."""
    from simulacra.evaluate import MAX_ROWS, evaluate
    from simulacra.metadata import Metadata

    keys = meta.keys_of(name)
    table = meta.tables[name]
    kept = {c: col for c, col in table.columns.items() if c not in keys}
    if not any(col.modelled for col in kept.values()):
        notes.append(f"table {name!r}: no learned columns beside its keys; no per-table report")
        return None
    if min(len(real), len(synthetic)) < 2:
        notes.append(f"table {name!r}: fewer than 2 rows on one side; no per-table report")
        return None
    rules = []
    if table.constraints:
        from simulacra.constraints import constraint_set

        found = constraint_set(table).constraints
        rules = [r.spec for r in found if not keys & set(r.columns)]
    sub = Metadata(columns=kept, primary_key=None, constraints=rules)
    try:
        return evaluate(
            real[[c for c in real.columns if c not in keys]],
            synthetic[[c for c in synthetic.columns if c not in keys]],
            metadata=sub,
            allow_mismatch=allow_mismatch,
            seed=seed,
            max_rows=MAX_ROWS if max_rows is None else max_rows,
        )
    except InvalidDataError as exc:
        raise InvalidDataError([f"table {name!r}: {p}" for p in exc.problems]) from None


def _weighted(relationships: list[dict[str, Any]], score: str) -> float:
    """The relationships' mean score, each weighted by the real parent rows it was read on.

    A count distribution or a correlation read on 4 parent rows is mostly
    noise (two samples of 4 from one distribution are about 0.5 apart in KS);
    one read on thousands is not, so evidence counts as much as it weighs.
    """
    pairs = [
        (r[score], r["children_per_parent"]["real"]["parents"])
        for r in relationships
        if not math.isnan(r[score])
    ]
    total = sum(w for _, w in pairs)
    return float(sum(v * w for v, w in pairs) / total) if total else float("nan")


def _num(value: Any) -> str:
    value = _finite(value)
    return "—" if value is None else f"{value + 0.0:.3f}"  # + 0.0: no "-0.000"


def _frame_text(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(none)"
    shown = frame.map(lambda v: _num(v) if isinstance(v, float) else v)
    return shown.to_string(index=False)


def _version() -> str:
    from simulacra.evaluate import _version as version

    return version()
