"""The evaluation report as data: metrics that declare what they mean, grouped in sections.

Every metric says its name, section, direction (is higher better?), bounds
and a one-line meaning; figures hold the aggregated data behind the plots
(histograms, correlation matrices). Renderers (the summary table, JSON, HTML)
only read this data.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["Metric", "Report"]


@dataclass(frozen=True)
class Metric:
    """One measured value and everything needed to read it."""

    name: str
    section: str
    value: float
    higher_is_better: bool
    meaning: str
    columns: tuple[str, ...] = ()
    low: float = 0.0
    high: float = 1.0
    group: str | None = None  # the sensitive group a fairness metric is about


# What the section scores mean, for the summary.
SECTION_MEANING = {
    "fidelity": "how closely columns and their relationships match the real data "
    "(1 = indistinguishable statistics)",
    "detection": "how hard it is for a classifier to tell synthetic rows from real ones "
    "(1 = no better than a coin, 0 = every row gives itself away)",
    "utility": "how well a model trained on the copy does on real data, against one "
    "trained on the real data (1 = as well)",
    "privacy": "how little the copy reveals about its training rows: the weakest of "
    "its copy, distance and attack scores (1 = no sign of leakage)",
    "fairness": "whether the copy keeps every sensitive group represented and teaches "
    "models no more unfair than the real data does (1 = as fair)",
    "validity": "whether synthetic values are well formed: types, bounds, known "
    "categories, unique keys (1 = every value valid)",
}
SECTION_ORDER = ("fidelity", "detection", "utility", "privacy", "fairness", "validity")


@dataclass
class Report:
    """All metrics of one evaluation, with section scores and notes on how it was run."""

    metrics: list[Metric]
    scores: dict[str, float]
    notes: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)

    def of(self, name: str, section: str | None = None) -> list[Metric]:
        return [m for m in self.metrics if m.name == name and section in (None, m.section)]

    def summary(self) -> pd.DataFrame:
        """One row per section: its score, a verdict and what it means."""
        rows = [
            {
                "section": name,
                "score": round(score, 4),
                "verdict": _verdict(score),
                "meaning": SECTION_MEANING.get(name, ""),
            }
            for name, score in sorted(self.scores.items(), key=_section_rank)
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; a value that could not be measured is ``None``."""
        summary = self.summary()
        summary["score"] = summary["score"].astype(object)
        return {
            "title": "Evaluation report",
            "context": self.context,
            "summary": _plain(summary.to_dict("records")),
            "scores": _plain(self.scores),
            "notes": self.notes,
            "metrics": [
                {**asdict(m), "value": _finite(m.value), "columns": list(m.columns)}
                for m in self.metrics
            ],
            "ledger": self.ledger,
            "figures": _plain(self.figures),
        }

    def to_json(self, path: str | Path | None = None) -> str:
        return written(json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n", path)

    def to_html(self, path: str | Path | None = None) -> str:
        """One self-contained HTML page (no network needed to open it) for this report."""
        from simulacra.evaluate.html import render_html

        return written(render_html(self.to_dict()), path)


def written(text: str, path: str | Path | None) -> str:
    """``text``, first written atomically to ``path`` when one is given."""
    if path is not None:
        from simulacra.io import atomic_write_text

        atomic_write_text(Path(path), text)
    return text


def _section_rank(item: tuple[str, float]) -> int:
    name = item[0]
    return SECTION_ORDER.index(name) if name in SECTION_ORDER else len(SECTION_ORDER)


def _plain(value: Any) -> Any:
    """Figures as JSON-ready data: arrays become lists, non-finite numbers ``None``."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    return _finite(value)


def _verdict(score: float) -> str:
    if math.isnan(score):
        return "not measured"
    return "good" if score >= 0.85 else "fair" if score >= 0.7 else "poor"


def _finite(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
