"""The evaluation report as one self-contained HTML page.

The page renders only the report's JSON data (:meth:`Report.to_dict`): CSS is
inline, charts are inline SVG drawn here, and there is nothing to fetch (no
scripts, fonts or images), so it opens offline and prints cleanly.

>>> page = render_html({"scores": {}, "metrics": [], "notes": []})
>>> page.startswith("<!DOCTYPE html>")
True
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from simulacra.evaluate.report import SECTION_ORDER

__all__ = ["render_html"]

REAL, SYNTH, MUTED, GRID = "#2f6db5", "#e8912d", "#5b6472", "#e3e6eb"
Series = tuple[str, str, Sequence[float | None]]  # name, colour, one value per bar

CSS = """
:root{--fg:#1d2330;--muted:#5b6472;--line:#d5dae2;--bg:#f5f6f8}
body{margin:0;background:var(--bg);color:var(--fg);
 font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{margin:0 0 4px;font-size:28px}
h2{margin:0 0 6px;font-size:21px}
h2::first-letter{text-transform:uppercase}
h3{margin:18px 0 8px;font-size:16px}
.context,.muted,figcaption,footer{color:var(--muted)}
.context{font-size:14px;margin:0 0 20px}
section,.card{background:#fff;border:1px solid var(--line);border-radius:8px;
 padding:16px 20px;margin:0 0 20px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{font-weight:600;background:#f0f2f5}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.total td{font-weight:600;border-top:2px solid var(--fg)}
.pill{display:inline-flex;align-items:center;gap:6px;padding:0 10px;border-radius:999px;
 font-size:13px;font-weight:600;white-space:nowrap}
.pill::before{content:"";width:9px;height:9px;border-radius:50%;background:var(--dot)}
.good{color:#14592f;background:#e0f2e6;--dot:#1f9d55}
.fair{color:#7a4a00;background:#fdefd6;--dot:#e69b00}
.poor{color:#9b1c1c;background:#fbe3e3;--dot:#d92d2d}
.none{color:#4a5160;background:#eceef1;--dot:#9aa1ad}
.score{font-size:16px;margin:0 0 4px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:18px 24px}
figure{margin:0 0 16px}
figcaption{font-size:13px;margin-top:2px}
svg{display:block;height:auto}
svg text{font-family:inherit}
details summary{cursor:pointer;font-weight:600;margin:8px 0}
footer{font-size:13px;text-align:center;padding:8px 0 24px}
@media print{body{background:#fff;font-size:12px}main{max-width:none;padding:0}
 section,.card{border:none;padding:0}figure,tr{break-inside:avoid}h2{break-after:avoid}}
"""


def render_html(data: dict[str, Any]) -> str:
    """One self-contained HTML page for a report's JSON data (``Report.to_dict()``).

    Only ``scores``, ``metrics`` and ``notes`` are required; a missing title,
    context, summary, ledger or figure is skipped.
    """
    context = data.get("context") or {}
    figures = data.get("figures") or {}
    metrics = data.get("metrics") or []
    summary = data.get("summary") or [
        {"section": name, "score": score} for name, score in (data.get("scores") or {}).items()
    ]
    by_section = {str(row.get("section")): row for row in summary}
    present = list(dict.fromkeys(str(m.get("section")) for m in metrics))
    rank = {name: i for i, name in enumerate(SECTION_ORDER)}
    order = sorted(present, key=lambda name: rank.get(name, len(rank)))  # others keep order
    title = _e(data.get("title") or "Evaluation report")
    version = context.get("version")
    parts = [
        f"<h1>{title}</h1>",
        _context(context),
        _summary(summary),
        _notes(data.get("notes") or []),
        *(_section(name, metrics, figures, data, by_section.get(name, {})) for name in order),
    ]
    return page(title, parts, version)


def page(title: str, parts: list[str], version: str | None) -> str:
    """A whole self-contained page: the (escaped) title, the non-empty parts, a footer."""
    footer = "Made by simulacra" + (f" {_e(version)}" if version else "")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(p for p in parts if p)
        + f"\n</main>\n<footer>{footer}</footer>\n</body>\n</html>\n"
    )


# ------------------------------------------------------------------ page parts
def _context(context: dict[str, Any]) -> str:
    """A one-line summary of what was compared, how, and when."""
    items = []
    rows = context.get("rows") or {}
    if rows:
        items.append("rows: " + ", ".join(f"{_int(n)} {_e(role)}" for role, n in rows.items()))
    if context.get("columns") is not None:
        items.append(f"{_int(context['columns'])} columns")
    if context.get("target"):
        items.append(f"target: {_e(context['target'])}")
    sensitive = context.get("sensitive")
    if sensitive:
        names = [sensitive] if isinstance(sensitive, str) else sensitive
        items.append("sensitive: " + _e(", ".join(map(str, names))))
    for key in ("seed", "created", "version"):
        if context.get(key) is not None:
            items.append(f"{key}: {_e(context[key])}")
    return f'<p class="context">{" · ".join(items)}</p>' if items else ""


def _summary(
    rows: list[dict[str, Any]], prefix: str = "", anchors: dict[Any, str] | None = None
) -> str:
    """The verdict per section, first thing on the page (``anchors`` maps a section to its id)."""
    anchors = anchors or {}
    body = "".join(
        f'<tr><td><a href="#{_href(row.get("section"), prefix, anchors)}'
        f'">{_e(row.get("section"))}</a></td><td class="num">{_fmt(row.get("score"), 2)}</td>'
        f"<td>{_pill(row)}</td><td>{_e(row.get('meaning') or '')}</td></tr>"
        for row in rows
    )
    table_id = f"{_slug(prefix)}summary"
    return (
        f'<div class="card"><h2>Summary</h2><table id="{table_id}"><thead><tr><th>Section</th>'
        '<th class="num">Score</th><th>Verdict</th><th>What it means</th></tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _notes(notes: list[Any]) -> str:
    if not notes:
        return ""
    items = "".join(f"<li>{_e(note)}</li>" for note in notes)
    return f'<div class="card"><h2>How it was run</h2><ul id="notes">{items}</ul></div>'


def _section(
    name: str,
    metrics: list[dict[str, Any]],
    figures: dict[str, Any],
    data: dict[str, Any],
    row: dict[str, Any],
    prefix: str = "",
) -> str:
    """A section's score, its charts and its metrics table (``prefix`` keeps ids apart)."""
    own = [m for m in metrics if str(m.get("section")) == name]
    head = ""
    if row:
        head = (
            f'<p class="score">Score <strong>{_fmt(row.get("score"), 2)}</strong> {_pill(row)}</p>'
        )
    meaning = f'<p class="muted">{_e(row["meaning"])}</p>' if row.get("meaning") else ""
    table = _metrics_table(own)
    if name == "fidelity":
        table = f"<details><summary>All {len(own)} fidelity metrics</summary>{table}</details>"
    else:
        table = f"<h3>Metrics</h3>{table}"
    body = "".join([head, meaning, *_charts(name, own, figures, data), table])
    return f'<section id="{_anchor(prefix, name)}"><h2>{_e(name)}</h2>{body}</section>'


def _charts(
    name: str, metrics: list[dict[str, Any]], figures: dict[str, Any], data: dict[str, Any]
) -> list[str]:
    """The charts (and, for privacy, the ledger) that belong to a section."""
    out = []
    if name == "fidelity":
        charts = [_distribution(d) for d in figures.get("distributions") or []]
        if charts:
            out.append("<h3>Column distributions</h3><div class=grid>" + "".join(charts) + "</div>")
        if (figures.get("correlation") or {}).get("columns"):
            out.append(_heatmap(figures["correlation"]))
    elif name == "detection":
        found = [m for m in metrics if m.get("name") == "detection_importance"]
        if found:
            out.append(_importance(found))
    elif name == "privacy":
        if (figures.get("distance_to_closest_record") or {}).get("train"):
            out.append(_dcr(figures["distance_to_closest_record"]))
        if data.get("ledger"):
            out.append(_ledger(data["ledger"]))
    elif name == "fairness":
        charts = [_distribution(r, "representation") for r in figures.get("representation") or []]
        if charts:
            out.append("<h3>Group representation</h3><div class=grid>" + "".join(charts) + "</div>")
    return out


def _metrics_table(metrics: list[dict[str, Any]]) -> str:
    rows = []
    for m in metrics:
        where = ", ".join(map(str, m.get("columns") or []))
        if m.get("group") is not None:
            where += f" = {m['group']}"
        better = "↑ higher" if m.get("higher_is_better", True) else "↓ lower"
        rows.append(
            f"<tr><td>{_e(m.get('name'))}</td><td>{_e(where)}</td>"
            f'<td class="num">{_fmt(m.get("value"))}</td><td class="num">{better}</td>'
            f"<td>{_e(m.get('meaning') or '')}</td></tr>"
        )
    return (
        "<table><thead><tr><th>Metric</th><th>Columns</th><th class=num>Value</th>"
        f"<th class=num>Better</th><th>Meaning</th></tr></thead><tbody>{''.join(rows)}</tbody>"
        "</table>"
    )


def _ledger(ledger: list[dict[str, Any]]) -> str:
    """The differential-privacy spends, with their total under basic composition."""
    rows = "".join(
        f"<tr><td>{_e(s.get('what', ''))}</td><td>{_e(s.get('mechanism') or '—')}</td>"
        f'<td class="num">{_fmt(s.get("epsilon"))}</td><td class="num">{_fmt(s.get("delta"))}</td>'
        "</tr>"
        for s in ledger
    )
    eps, delta = (sum(s.get(k) or 0.0 for s in ledger) for k in ("epsilon", "delta"))
    return (
        '<h3>Privacy budget spent</h3><table id="ledger"><thead><tr><th>What</th>'
        "<th>Mechanism</th><th class=num>ε</th><th class=num>δ</th></tr></thead>"
        f'<tbody>{rows}<tr class="total"><td>Total (basic composition)</td><td></td>'
        f'<td class="num">{_fmt(eps)}</td><td class="num">{_fmt(delta)}</td></tr></tbody></table>'
    )


# ---------------------------------------------------------------------- charts
def _distribution(fig: dict[str, Any], chart: str = "distribution") -> str:
    """Real and synthetic shares of a column per category, or per bin between edges."""
    column, kind = str(fig.get("column", "")), str(fig.get("kind", "categorical"))
    series: list[Series] = [("real", REAL, fig.get("real") or [])]
    series.append(("synthetic", SYNTH, fig.get("synthetic") or []))
    binned = fig.get("labels") is None
    if binned:
        labels = [_edge(x, kind == "datetime") for x in fig.get("edges") or []]
    else:
        labels = [str(x) for x in fig["labels"]]
    svg = _bars(series, labels, binned, f"{column}: real vs synthetic shares")
    what = f"share of rows per {'bin' if binned else 'value'}"
    if chart == "representation":
        what = "each group's share of the real and synthetic rows"
    return _figure(chart, svg, f"<strong>{_e(column)}</strong> ({_e(kind)}): {what}")


def _dcr(fig: dict[str, Any]) -> str:
    series: list[Series] = [("to training rows", SYNTH, fig["train"])]
    if fig.get("holdout") is not None:
        series.append(("to holdout rows", REAL, fig["holdout"]))
    labels = [_edge(x) for x in fig.get("edges") or []]
    svg = _bars(series, labels, True, "distance to closest record", width=640, height=240)
    caption = (
        "Distance from each synthetic row to its closest real row (share of synthetic rows per "
        "distance bin). When the training bars pile up left of the holdout bars, the copy sits "
        "closer to its training rows than to unseen rows: a sign of memorisation."
    )
    return "<h3>Distance to closest record</h3>" + _figure("dcr", svg, caption, 760)


def _importance(metrics: list[dict[str, Any]]) -> str:
    """Horizontal bars: how much the detector's AUC falls without each column."""
    items = sorted(
        ((", ".join(map(str, m.get("columns") or [])), m.get("value")) for m in metrics),
        key=lambda item: -item[1] if item[1] is not None else math.inf,
    )
    left = min(180, 16 + 6.5 * max(len(_clip(n, 26)) for n, _ in items))
    width, row = 640, 22
    height = row * len(items) + 12
    peak = max((abs(v) for _, v in items if v is not None), default=0.0) or 1.0
    span = width - left - 60
    out = []
    for i, (name, value) in enumerate(items):
        y = 6 + i * row
        out.append(_text(left - 6, y + 15, _clip(name, 26), anchor="end", tip=name))
        length = span * max(value or 0.0, 0.0) / peak
        out.append(
            f'<rect x="{left}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" fill="{REAL}">'
            f"<title>{_e(name)}: AUC drop {_fmt(value)}</title></rect>"
        )
        out.append(_text(left + length + 4, y + 15, _fmt(value)))
    svg = _svg(width, height, "detection feature importance", "".join(out))
    caption = (
        "How much the real-vs-synthetic classifier's AUC falls when each column is shuffled: "
        "the longest bars are the columns that give the copy away."
    )
    return "<h3>What gives the copy away</h3>" + _figure("detection-importance", svg, caption, 760)


def _heatmap(fig: dict[str, Any]) -> str:
    """Synthetic minus real correlation per pair of columns, blue below and red above zero."""
    names = [str(c) for c in fig["columns"]]
    real, synth = fig.get("real") or [], fig.get("synthetic") or []
    n = len(names)
    cell = 36 if n <= 12 else 22
    left = min(150, 14 + 6.2 * max(len(_clip(x, 22)) for x in names))
    grid_end = left + n * cell
    width, height = grid_end + 70, 10 + n * cell + left * 0.72 + 10
    out = []
    for i, a in enumerate(names):
        y = 10 + i * cell
        out.append(_text(left - 6, y + cell / 2 + 4, _clip(a, 22), anchor="end", tip=a))
        for j, b in enumerate(names):
            d = _diff(real, synth, i, j)
            x = left + j * cell
            tip = f"{a} × {b}: " + ("not measurable" if d is None else f"{d:+.3f}")
            out.append(
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{_diverging(d)}" '
                f'stroke="#fff"><title>{_e(tip)}</title></rect>'
            )
            if n <= 12:
                ink = "#fff" if d is not None and abs(d) > 0.55 else "#1d2330"
                label = "—" if d is None else f"{d:+.2f}"
                out.append(_text(x + cell / 2, y + cell / 2 + 3.5, label, "middle", 9.5, ink))
    base = 10 + n * cell + 6
    for j, b in enumerate(names):
        x = left + j * cell + cell / 2 + 4
        out.append(
            f'<text x="{x:.1f}" y="{base:.1f}" font-size="11" fill="{MUTED}" text-anchor="end" '
            f'transform="rotate(-45 {x:.1f} {base:.1f})">{_e(_clip(b, 22))}<title>{_e(b)}</title>'
            "</text>"
        )
    steps = 10  # the colour legend: +1 at the top, -1 at the bottom
    step_h = min(n * cell, 200) / (steps + 1)
    for k in range(steps + 1):
        value = 1 - 2 * k / steps
        y = 10 + k * step_h
        out.append(
            f'<rect x="{grid_end + 16}" y="{y:.1f}" width="14" height="{step_h + 0.5:.1f}" '
            f'fill="{_diverging(value)}"/>'
        )
    for value, y in ((1, 10), (0, 10 + steps / 2 * step_h), (-1, 10 + steps * step_h)):
        out.append(_text(grid_end + 34, y + step_h / 2 + 4, f"{value:+d}" if value else "0"))
    svg = _svg(width, height, "correlation difference heatmap", "".join(out))
    caption = (
        "Synthetic minus real Pearson correlation for each pair of numeric columns: white = "
        "kept, red = stronger in the copy, blue = weaker (scale clamped at ±1; grey = not "
        "measurable)."
    )
    return "<h3>Correlation difference</h3>" + _figure(
        "correlation-difference", svg, caption, round(width * 1.4)
    )


def _bars(
    series: Sequence[Series],
    labels: Sequence[str],
    edges: bool,
    label: str,
    width: int = 340,
    height: int = 210,
) -> str:
    """Bars side by side, one group per category, or per bin between ``labels`` as edges."""
    left, right, top = 40, 10, 22
    count = max((len(values) for _, _, values in series), default=0) or 1
    plot_w = width - left - right
    slot = plot_w / count
    tilt = not edges and any(6 * len(_clip(name, 14)) > slot for name in labels)
    plot_h = height - top - (62 if tilt else 24)
    peak = _nice(max((v or 0.0 for _, _, values in series for v in values), default=0.0))
    out = []
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - frac)
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y}" y2="{y}" stroke="{GRID}"/>')
        out.append(_text(left - 4, y + 3.5, _percent(peak * frac), anchor="end"))
    bar = slot * 0.84 / len(series)
    for i in range(count):
        where = f"{labels[i]}–{labels[i + 1]}" if edges and i + 1 < len(labels) else ""
        where = where or (labels[i] if i < len(labels) else "")
        for j, (name, colour, values) in enumerate(series):
            value = (values[i] if i < len(values) else None) or 0.0
            h = plot_h * value / peak
            x = left + i * slot + slot * 0.08 + j * bar
            out.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{_e(name)}, {_e(where)}: '
                f"{value:.1%}</title></rect>"
            )
    base = top + plot_h
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{base}" y2="{base}" stroke="{MUTED}"/>')
    if edges and len(labels) > 1:
        last, longest = len(labels) - 1, max(map(len, labels))
        shown = max(2, min(5, int(plot_w // (6.5 * longest + 16))))  # as many as fit
        for k in sorted({round(q * last / (shown - 1)) for q in range(shown)}):
            anchor = "start" if k == 0 else "end" if k == last else "middle"
            out.append(_text(left + k * slot, base + 14, labels[k], anchor=anchor))
    elif not tilt:
        for i, name in enumerate(labels[:count]):
            out.append(_text(left + (i + 0.5) * slot, base + 14, name, anchor="middle"))
    else:
        for i, name in enumerate(labels[:count]):
            x, y = left + (i + 0.5) * slot + 3, base + 10
            out.append(
                f'<text x="{x:.1f}" y="{y}" font-size="10" fill="{MUTED}" text-anchor="end" '
                f'transform="rotate(-40 {x:.1f} {y})">{_e(_clip(name, 14))}<title>{_e(name)}'
                "</title></text>"
            )
    x = left
    for name, colour, _ in series:
        out.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{colour}"/>')
        out.append(_text(x + 14, 13, name, size=11, colour="#1d2330"))
        x += 24 + 6.2 * len(name)
    return _svg(width, height, label, "".join(out))


# --------------------------------------------------------------------- helpers
def _figure(kind: str, svg: str, caption: str, max_width: int | None = None) -> str:
    style = f' style="max-width:{max_width}px"' if max_width else ""
    return (
        f'<figure class="chart" data-chart="{kind}"{style}>{svg}'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _svg(width: float, height: float, label: str, body: str) -> str:
    return (
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" width="100%" role="img" '
        f'aria-label="{_e(label)}">{body}</svg>'
    )


def _text(
    x: float,
    y: float,
    text: str,
    anchor: str = "start",
    size: float = 10,
    colour: str = MUTED,
    tip: str | None = None,
) -> str:
    title = f"<title>{_e(tip)}</title>" if tip and tip != text else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{colour}" '
        f'text-anchor="{anchor}">{_e(text)}{title}</text>'
    )


def _pill(row: dict[str, Any]) -> str:
    """The verdict as a coloured pill that also spells it out (readable without colour)."""
    verdict = row.get("verdict") or ("not measured" if row.get("score") is None else "")
    if not verdict:
        return ""
    kind = {"pass": "good", "fail": "poor"}.get(verdict, verdict)
    kind = kind if kind in ("good", "fair", "poor") else "none"
    return f'<span class="pill {kind}">{_e(verdict)}</span>'


def _diff(real: list[Any], synth: list[Any], i: int, j: int) -> float | None:
    try:
        a, b = real[i][j], synth[i][j]
    except (IndexError, TypeError):
        return None
    return None if a is None or b is None else float(b) - float(a)


def _diverging(value: float | None) -> str:
    """White at 0, blue towards -1 and red towards +1; grey when there is no value."""
    if value is None or not math.isfinite(value):
        return "#c9cdd3"
    t = min(abs(value), 1.0)
    end = (178, 24, 43) if value > 0 else (33, 102, 172)
    r, g, b = (round(255 + (c - 255) * t) for c in end)
    return f"#{r:02x}{g:02x}{b:02x}"


def _nice(peak: float) -> float:
    """The smallest of 1, 2, 2.5 and 5 times a power of ten that reaches ``peak``."""
    if peak <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(peak))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= peak * (1 - 1e-9))


def _percent(value: float) -> str:
    return f"{round(value * 100, 2):g}%"


def _edge(value: Any, datetime_: bool = False) -> str:
    """A bin edge for an axis: compact numbers (1.2k, 3.4M) or a date for epoch seconds."""
    if value is None:
        return ""
    if datetime_:
        try:
            return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%d")
        except (OverflowError, OSError, ValueError):
            pass
    x = float(value)
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:.3g}{suffix}"
    return f"{x:.3g}"


def _fmt(value: Any, decimals: int | None = None) -> str:
    """A number: fixed ``decimals``, else 4 significant digits; "—" for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "—"
    if decimals is not None:
        return f"{value:.{decimals}f}"
    return _edge(value) if abs(value) >= 1e4 else f"{value:.4g}"


def _int(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else _e(value)


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _href(section: Any, prefix: str, anchors: dict[Any, str]) -> str:
    return anchors.get(section) or _anchor(prefix, section)


def _anchor(prefix: str, section: Any) -> str:
    """A section's id: ``section-<name>``, or ``<prefix>section-<name>`` in a table's report."""
    return f"{_slug(prefix)}section-{_slug(section)}"


def _slug(name: Any) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", str(name).lower())


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
