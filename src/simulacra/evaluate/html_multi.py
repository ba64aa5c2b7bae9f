"""The multi-table evaluation report as one self-contained HTML page.

It renders only :meth:`MultiReport.to_dict` data, with the single-table
page's look and parts (:mod:`simulacra.evaluate.html`): the summary, the
relationships (children per parent, inter-table trends), the integrity
checks, and every table's own report folded under its name.
"""

from __future__ import annotations

from typing import Any

from simulacra.evaluate.html import (
    REAL,
    SYNTH,
    Series,
    _bars,
    _context,
    _e,
    _figure,
    _fmt,
    _int,
    _notes,
    _pill,
    _section,
    _slug,
    _summary,
    page,
)
from simulacra.evaluate.report import SECTION_ORDER

__all__ = ["render_multi_html"]


def render_multi_html(data: dict[str, Any]) -> str:
    """One self-contained HTML page for a multi-table report (``MultiReport.to_dict()``).

    The summary, then the relationships (children per parent, inter-table
    trends), the integrity checks and every table's own report, folded.

    >>> page = render_multi_html({"scores": {}, "relationships": [], "integrity": []})
    >>> 'id="section-relationships"' in page
    True
    """
    context = data.get("context") or {}
    title = _e(data.get("title") or "Multi-table evaluation report")
    summary = data.get("summary") or [
        {"section": name, "score": score} for name, score in (data.get("scores") or {}).items()
    ]
    anchors = {
        "cardinality": "section-relationships",
        "inter_table_trends": "section-relationships",
    }
    anchors |= {"integrity": "section-integrity"}
    anchors |= {name: "section-tables" for name in SECTION_ORDER}
    rows = context.get("rows") or {}
    items = [f"{_int(context.get('tables', len(data.get('tables') or {})))} tables"]
    items.append(
        f"{_int(context.get('relationships', len(data.get('relationships') or [])))} relationships"
    )
    items += [
        f"{_int(sum(v or 0 for v in counts.values()))} {_e(role)} rows"
        for role, counts in rows.items()
        if isinstance(counts, dict)
    ]
    items += [f"{k}: {_e(context[k])}" for k in ("seed", "created", "version") if context.get(k)]
    version = context.get("version")
    parts = [
        f"<h1>{title}</h1>",
        f'<p class="context">{" · ".join(items)}</p>',
        _summary(summary, anchors=anchors),
        _notes(data.get("notes") or []),
        _relationships(
            data.get("relationships") or [], {str(r.get("section")): r for r in summary}
        ),
        _integrity(data.get("integrity") or [], data.get("passed")),
        _tables(data.get("tables") or {}),
    ]
    return page(title, parts, version)


def _relationships(relationships: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    """Per foreign key: scores, children-per-parent numbers and chart, weakest trends."""
    head = "".join(
        f'<p class="score">{label} <strong>{_fmt(summary[name].get("score"), 2)}</strong> '
        f"{_pill(summary[name])}</p>"
        for name, label in (("cardinality", "Cardinality"), ("inter_table_trends", "Trends"))
        if name in summary
    )
    if not relationships:
        return (
            f'<section id="section-relationships"><h2>relationships</h2>{head}'
            '<p class="muted">No foreign keys: nothing to compare across tables.</p></section>'
        )
    rows, charts, worst = [], [], []
    for r in relationships:
        shape = r.get("children_per_parent") or {}
        real, synth = shape.get("real") or {}, shape.get("synthetic") or {}
        name = f"{r.get('name')} → {r.get('parent')}"
        rows.append(
            f"<tr><td>{_e(name)}</td><td class=num>{_fmt(r.get('cardinality'), 2)}</td>"
            f"<td class=num>{_fmt(r.get('inter_table_trends'), 2)}</td>"
            f"<td class=num>{_fmt(real.get('mean'))} / {_fmt(synth.get('mean'))}</td>"
            f"<td class=num>{_fmt(real.get('max'))} / {_fmt(synth.get('max'))}</td>"
            f"<td class=num>{_share(real.get('zero_share'))} / "
            f"{_share(synth.get('zero_share'))}</td>"
            f"<td class=num>{_fmt((r.get('orphans') or {}).get('synthetic'))}</td></tr>"
        )
        hist = shape.get("histogram") or {}
        if hist.get("labels"):
            series: list[Series] = [("real", REAL, hist.get("real") or [])]
            series.append(("synthetic", SYNTH, hist.get("synthetic") or []))
            svg = _bars(
                series, [str(x) for x in hist["labels"]], False, f"{name}: children per parent"
            )
            caption = (
                f"<strong>{_e(name)}</strong>: share of {_e(r.get('parent'))} rows per count "
                f"of {_e(r.get('table'))} rows"
            )
            charts.append(_figure("children-per-parent", svg, caption))
        worst += [(name, p) for p in r.get("trends") or [] if p.get("score") is not None]
    worst.sort(key=lambda item: item[1]["score"])
    table = (
        '<table id="relationships"><thead><tr><th>Relationship</th><th class=num>Cardinality</th>'
        "<th class=num>Trends</th><th class=num>Children per parent, mean (real / synthetic)</th>"
        "<th class=num>Max</th><th class=num>Parents with none</th><th class=num>Orphans</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    meaning = (
        '<p class="muted">Cardinality: 1 - KS distance of the children-per-parent counts. '
        "Trends: each parent column against each child aggregate (count, means), 1 - the gap "
        "between real and synthetic correlations (Pearson, halved) or correlation ratios "
        "(categories). The section scores weight each relationship by its real parent rows."
        "</p>"
    )
    parts = [head, meaning, table]
    if charts:
        parts.append("<h3>Children per parent</h3><div class=grid>" + "".join(charts) + "</div>")
    if worst:
        parts.append(
            "<h3>Weakest inter-table trends</h3>" + _trend_table(worst[:10], "trends-worst")
        )
        parts.append(
            f"<details><summary>All {len(worst)} trend pairs</summary>"
            f"{_trend_table(worst, 'trends-all')}</details>"
        )
    return f'<section id="section-relationships"><h2>relationships</h2>{"".join(parts)}</section>'


def _trend_table(pairs: list[tuple[str, dict[str, Any]]], table_id: str) -> str:
    rows = "".join(
        f"<tr><td>{_e(name)}</td><td>{_e(p.get('parent_column'))}</td>"
        f"<td>{_e(p.get('child_aggregate'))}</td><td>{_e(p.get('measure'))}</td>"
        f"<td class=num>{_fmt(p.get('real'))}</td><td class=num>{_fmt(p.get('synthetic'))}</td>"
        f"<td class=num>{_fmt(p.get('score'), 2)}</td></tr>"
        for name, p in pairs
    )
    return (
        f'<table id="{table_id}"><thead><tr><th>Relationship</th><th>Parent column</th>'
        "<th>Child aggregate</th><th>Measure</th><th class=num>Real</th>"
        f"<th class=num>Synthetic</th><th class=num>Score</th></tr></thead><tbody>{rows}</tbody>"
        "</table>"
    )


def _integrity(checks: list[dict[str, Any]], passed: Any) -> str:
    """The failed checks in full; every check, passed ones too, folded below."""
    if passed is None:
        passed = all(c.get("passed") for c in checks)
    failed = [c for c in checks if not c.get("passed")]
    parts = [
        f'<p class="score">{_pill({"verdict": "pass" if passed else "fail"})}</p>',
        '<p class="muted">Counted on every row of the synthetic tables (and of the real ones, '
        "for comparison): a check passes when the synthetic count is 0.</p>",
    ]
    if failed:
        parts.append(f"<h3>Failed checks</h3>{_check_table(failed, 'integrity-failed')}")
    what = f"{len(checks) - len(failed)} of {len(checks)} checks passed"
    parts.append(f"<details><summary>{what}</summary>{_check_table(checks, 'integrity')}</details>")
    return f'<section id="section-integrity"><h2>integrity</h2>{"".join(parts)}</section>'


def _check_table(checks: list[dict[str, Any]], table_id: str) -> str:
    rows = "".join(
        f"<tr><td>{_e(c.get('check'))}</td><td>{_e(c.get('table'))}</td>"
        f"<td>{_e(', '.join(map(str, c.get('columns') or [])))}</td>"
        f"<td class=num>{_fmt(c.get('real'))}</td><td class=num>{_fmt(c.get('synthetic'))}</td>"
        f"<td>{_pill({'verdict': 'pass' if c.get('passed') else 'fail'})}</td>"
        f"<td>{_e(c.get('meaning') or '')}</td></tr>"
        for c in checks
    )
    return (
        f'<table id="{table_id}"><thead><tr><th>Check</th><th>Table</th><th>Columns</th>'
        "<th class=num>Real</th><th class=num>Synthetic</th><th>Result</th><th>Meaning</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _tables(tables: dict[str, Any]) -> str:
    """Each table's scores in one table, then its own report, folded."""
    if not tables:
        return ""
    sections = [
        s for s in SECTION_ORDER if any(s in (t.get("scores") or {}) for t in tables.values())
    ]
    head = "".join(f"<th class=num>{_e(s)}</th>" for s in sections)
    rows, reports = [], []
    for name, report in tables.items():
        prefix = f"table-{name}-"
        scores = report.get("scores") or {}
        counts = (report.get("context") or {}).get("rows") or {}
        cells = "".join(f"<td class=num>{_fmt(scores.get(s), 2)}</td>" for s in sections)
        rows.append(
            f'<tr><td><a href="#{_slug(prefix)}report">{_e(name)}</a></td>'
            f"<td class=num>{_int(counts.get('real'))} / {_int(counts.get('synthetic'))}</td>"
            f"{cells}</tr>"
        )
        reports.append(_table_report(name, report, prefix))
    return (
        '<section id="section-tables"><h2>tables</h2><p class="muted">Each table compared on '
        "its own, keys left out (open a table for its sections).</p>"
        '<table id="tables"><thead><tr><th>Table</th><th class=num>Rows (real / synthetic)</th>'
        f"{head}"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>{''.join(reports)}</section>"
    )


def _table_report(name: str, report: dict[str, Any], prefix: str) -> str:
    metrics = report.get("metrics") or []
    summary = report.get("summary") or []
    by_section = {str(row.get("section")): row for row in summary}
    present = list(dict.fromkeys(str(m.get("section")) for m in metrics))
    rank = {s: i for i, s in enumerate(SECTION_ORDER)}
    order = sorted(present, key=lambda s: rank.get(s, len(rank)))
    figures = report.get("figures") or {}
    notes = "".join(f"<li>{_e(note)}</li>" for note in report.get("notes") or [])
    parts = [
        _context(report.get("context") or {}),
        _summary(summary, prefix),
        f'<ul class="muted">{notes}</ul>' if notes else "",
        *(_section(s, metrics, figures, report, by_section.get(s, {}), prefix) for s in order),
    ]
    return (
        f'<details class="table-report" id="{_slug(prefix)}report"><summary>{_e(name)}</summary>'
        + "".join(parts)
        + "</details>"
    )


def _share(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:.0%}"
