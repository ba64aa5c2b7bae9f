"""The HTML report: one self-contained page rendered from the report's JSON data."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import simulacra
from simulacra.evaluate.html import render_html

DANGEROUS = '<b>&"name'
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
CHART_KINDS = (
    "distribution",
    "correlation-difference",
    "detection-importance",
    "dcr",
    "representation",
)


def _metric(name: str, section: str, value: float | None, *columns: str, **extra: Any) -> dict:
    return {
        "name": name,
        "section": section,
        "value": value,
        "higher_is_better": extra.pop("higher_is_better", True),
        "meaning": f"what {name} means",
        "columns": list(columns),
        "low": 0.0,
        "high": extra.pop("high", 1.0),
        **extra,
    }


@pytest.fixture
def data() -> dict[str, Any]:
    """A report's JSON data, written by hand: every figure kind, a null score, a ledger."""
    names = ["age", "income", DANGEROUS, "tenure"]
    real = [[1.0, 0.52, -0.1, 0.3], [0.52, 1.0, 0.05, None], [-0.1, 0.05, 1.0, 0.0]]
    real.append([0.3, None, 0.0, 1.0])
    synth = [[1.0, 0.4, 0.2, 0.35], [0.4, 1.0, -0.6, None], [0.2, -0.6, 1.0, 0.1]]
    synth.append([0.35, None, 0.1, 1.0])
    shares = [0.02, 0.08, 0.15, 0.22, 0.2, 0.14, 0.09, 0.06, 0.03, 0.01]
    return {
        "title": "Evaluation report",
        "context": {
            "rows": {"real": 1600, "synthetic": 1600, "holdout": 400},
            "columns": 6,
            "target": "income",
            "sensitive": ["sex"],
            "seed": 0,
            "created": "2026-11-23T01:02:03+00:00",
            "version": "0.1.0",
        },
        "summary": [
            {"section": "fidelity", "score": 0.91, "verdict": "good", "meaning": "how closely"},
            {"section": "detection", "score": 0.74, "verdict": "fair", "meaning": "how hard"},
            {"section": "utility", "score": None, "verdict": "not measured", "meaning": "ml"},
            {"section": "privacy", "score": 0.42, "verdict": "poor", "meaning": "how little"},
            {"section": "fairness", "score": 0.97, "verdict": "good", "meaning": "groups"},
            {"section": "validity", "score": 1.0, "verdict": "good", "meaning": "well formed"},
        ],
        "scores": {"fidelity": 0.91, "detection": 0.74, "utility": None, "privacy": 0.42},
        "notes": ["real table: 50,000 of 80,000 rows sampled (seed 0)"],
        "metrics": [
            *(_metric("ks_complement", "fidelity", 0.97 - i / 50, n) for i, n in enumerate(names)),
            _metric("correlation_similarity", "fidelity", 0.94, "age", "income"),
            _metric("detection_auc", "detection", 0.63, higher_is_better=False),
            *(
                _metric("detection_importance", "detection", v, n, high=0.5, higher_is_better=False)
                for v, n in [(0.08, "age"), (0.01, DANGEROUS), (None, "tenure"), (-0.002, "x")]
            ),
            _metric("utility_ratio", "utility", None, "income"),
            _metric("dcr_closer_share", "privacy", 0.58, higher_is_better=False),
            _metric("representation_similarity", "fairness", 0.97, "sex"),
            _metric("group_share_difference", "fairness", -0.02, "sex", group="F", low=-1.0),
            _metric("type_validity", "validity", 1.0, "age"),
            _metric("key_uniqueness", "custom", 0.5, "id"),
        ],
        "ledger": [
            {"what": "age histogram", "mechanism": "laplace", "epsilon": 0.3, "delta": 0.0},
            {"what": "copula", "mechanism": "gaussian", "epsilon": 0.7, "delta": 1e-6},
        ],
        "figures": {
            "distributions": [
                {
                    "column": "age",
                    "kind": "numeric",
                    "edges": [18 + 7 * i for i in range(11)],
                    "real": shares,
                    "synthetic": shares[::-1],
                },
                {
                    "column": "income",
                    "kind": "numeric",
                    "edges": [250_000.0 * i for i in range(11)],
                    "real": shares,
                    "synthetic": shares,
                },
                {
                    "column": "signup",
                    "kind": "datetime",
                    "edges": [1.6e9 + 3e6 * i for i in range(11)],
                    "real": shares,
                    "synthetic": [None, *shares[1:]],
                },
                {
                    "column": DANGEROUS,
                    "kind": "categorical",
                    "labels": ["North", "South", "a rather long label indeed", "(missing)"],
                    "real": [0.4, 0.3, 0.2, 0.1],
                    "synthetic": [0.35, 0.35, 0.22, 0.08],
                },
            ],
            "correlation": {"columns": names, "real": real, "synthetic": synth},
            "distance_to_closest_record": {
                "edges": [i / 20 for i in range(21)],
                "train": [0.2, 0.15, 0.1, *[0.55 / 17] * 17],
                "holdout": [0.02, 0.05, 0.1, *[0.83 / 17] * 17],
            },
            "representation": [
                {
                    "column": "sex",
                    "labels": ["F", "M"],
                    "real": [0.5, 0.5],
                    "synthetic": [0.48, 0.52],
                }
            ],
        },
    }


class _Tags(HTMLParser):
    """Counts opened and closed tags of the kinds that must balance."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: dict[str, int] = {}
        self.closed: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.opened[tag] = self.opened.get(tag, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        self.closed[tag] = self.closed.get(tag, 0) + 1


def _kinds(page: str) -> dict[str, int]:
    return {kind: page.count(f'data-chart="{kind}"') for kind in CHART_KINDS}


def test_page_holds_summary_sections_and_every_chart(data: dict[str, Any]) -> None:
    page = render_html(data)
    assert page.startswith("<!DOCTYPE html>")
    assert '<table id="summary">' in page
    for section in ("fidelity", "detection", "utility", "privacy", "fairness", "validity"):
        assert f'<section id="section-{section}">' in page
    assert '<section id="section-custom">' in page  # an unknown section comes last
    assert page.index("section-validity") < page.index('<section id="section-custom">')
    assert _kinds(page) == {
        "distribution": 4,
        "correlation-difference": 1,
        "detection-importance": 1,
        "dcr": 1,
        "representation": 1,
    }
    assert page.count("<svg") == 8
    assert '<table id="ledger">' in page and "Total (basic composition)" in page
    assert "<summary>All 5 fidelity metrics</summary>" in page
    for verdict in ("good", "fair", "poor", "not measured"):
        assert f">{verdict}</span>" in page
    assert "—" in page  # the null utility score
    assert "Made by simulacra 0.1.0" in page
    assert "250k" in page and "2.5M" in page  # compact edges
    assert "2020-09-13" in page  # datetime edges as dates


def test_text_from_data_is_escaped(data: dict[str, Any]) -> None:
    page = render_html(data)
    assert "<b>" not in page
    assert "&lt;b&gt;&amp;&quot;name" in page


def test_page_is_self_contained(data: dict[str, Any]) -> None:
    page = render_html(data)
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"<script|<link|<img|@import|url\(", page)


def test_tags_balance(data: dict[str, Any]) -> None:
    parser = _Tags()
    parser.feed(render_html(data))
    parser.close()
    for tag in ("svg", "figure", "section", "table", "details", "text", "title", "rect"):
        assert parser.opened.get(tag, 0) == parser.closed.get(tag, 0), tag
    assert parser.opened["svg"] == 8


def test_minimal_data_renders() -> None:
    data = {
        "scores": {"fidelity": 0.8, "privacy": None},
        "metrics": [_metric("ks_complement", "fidelity", 0.8, "x")],
        "notes": [],
    }
    page = render_html(data)
    assert '<table id="summary">' in page and '<section id="section-fidelity">' in page
    assert "data-chart" not in page and "ledger" not in page
    page = render_html({**data, "summary": [], "figures": {}, "ledger": [], "context": {}})
    assert "not measured" in page  # the summary falls back to the scores


def test_real_report_renders() -> None:
    real = simulacra.datasets.load_customers()
    synth = simulacra.create("copula", seed=0).fit(real).sample(500)
    page = render_html(simulacra.evaluate(real.head(500), synth).to_dict())
    assert '<table id="summary">' in page and '<section id="section-fidelity">' in page
    assert "http://" not in page and "https://" not in page


def _browser() -> str:
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        if os.environ.get("SIMULACRA_REQUIRE_BROWSER") == "1":
            pytest.fail(
                f"SIMULACRA_REQUIRE_BROWSER=1 but none of {', '.join(BROWSERS)} is on PATH; "
                "install Debian's chromium (see .ci/run)"
            )
        pytest.skip(f"no headless browser found ({', '.join(BROWSERS)})")
    return found


def _run(browser: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def test_browser_builds_and_draws_the_page(data: dict[str, Any], tmp_path: Path) -> None:
    browser = _browser()
    page = tmp_path / "report.html"
    page.write_text(render_html(data), encoding="utf-8")
    dom = _run(browser, tmp_path, "--dump-dom", page.as_uri()).stdout
    assert '<table id="summary">' in dom
    assert all(count >= 1 for count in _kinds(dom).values()), _kinds(dom)
    assert dom.count("</svg>") == 8
    shot = tmp_path / "r.png"
    _run(browser, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    assert shot.stat().st_size > 10_000
