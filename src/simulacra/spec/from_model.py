"""A learned model written out as an editable spec: marginals and correlations, no real record.

:func:`spec_from_model` turns a fitted single-table model (or its ``.simz``
file) into a spec that :func:`simulacra.generate` runs, and
:func:`spec_to_yaml` writes it as commented YAML with the columns in the
table's order, ready to edit.

The spec is made from what the model learned, never from training rows: the
model draws a large, seeded synthetic sample and each column is summarised
from it. Reading a family's parameters instead would work for the copula
alone, and would copy real values (its empirical marginals are quantile grids
that end at the real minimum and maximum; CART leaves hold real values); a
sample works for every family, and a spec from a differentially private model
is post-processing, as private as the model.

No value seen fewer than ``min_count`` times in training reaches the spec
(its count is estimated as its share of the sample times the training rows):

- categories that rare are pooled into ``(other)`` (text, the label the models
  use for pooled values) or dropped (numbers, booleans); ``(other)`` is itself
  dropped when it is that rare, its share going to the rest;
- numbers become a ``histogram``: bins at sample quantiles rounded to a grid of
  round numbers (an edge is a grid point, not a real value), outer edges where
  ``min_count`` rows' worth of tail is left out (so the extremes, the rarest
  values of all, stay unknown), at least ``min_count`` rows' worth per bin, and
  bounds inside the metadata's ``min``/``max``. Frequent exact values (such as
  many zeros) keep a narrow bin of their own; numbers with at most 20 values
  become weighted ``values``;
- datetimes become an even ``dates`` range between the same tail quantiles,
  widened to whole months (whole days for spans under a year; decades for
  dates of birth);
- ids become a ``sequence``, a unique ``pattern`` or UUIDs, and PII columns the
  matching ``fake`` provider: regenerated, as the models do;
- null shares become ``nulls`` (none when fewer than ``min_count`` rows' worth);
- numbers, booleans, ordered categories and two-valued ones that correlate
  with another are joined by the spec's Gaussian copula: the correlations of
  their normal scores in the sample (a random point inside each value's share
  for discrete columns, corrected for the shrinkage that causes, as the copula
  family does); those under 0.05 or within the sample's noise are 0, and the
  matrix is made positive semi-definite and rounded to two decimals;
- the model's constraints are the spec's: a ``formula`` rule makes its column an
  ``expression``; ``fixed_combinations`` is left out (its list of allowed
  combinations is read from real rows).

>>> import numpy as np, pandas as pd, simulacra
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"x": rng.normal(10, 2, 500), "g": rng.choice(["a", "b"], 500)})
>>> model = simulacra.create("copula", seed=0).fit(df)
>>> spec = spec_from_model(model, table="t", sample_rows=5000)
>>> spec["tables"]["t"]["columns"]["x"]["distribution"]
'histogram'
>>> sorted(spec["tables"]["t"]["columns"]["g"]["values"])
['a', 'b']
>>> len(simulacra.generate(spec, rows={"t": 100})["t"])
100
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import textwrap
import zipfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml
from scipy import special

from simulacra import __version__
from simulacra._datetimes import parse_datetimes
from simulacra.errors import InvalidParameterError, ModelFileError, SpecError
from simulacra.metadata import Column
from simulacra.transforms import RARE_LABEL as OTHER  # the label models give pooled values

if TYPE_CHECKING:
    from simulacra.synthesizers.base import Synthesizer

__all__ = ["spec_from_model", "spec_to_yaml"]

SAMPLE_ROWS = 20_000
MIN_COUNT = 10
BINS = 20
MAX_LEVELS = 20  # numbers with at most this many values become weighted values
MIN_CORRELATION = 0.05  # weaker correlations are written as 0
# PII kinds -> the spec's fake-value providers, or a pattern where no provider fits
_FAKE = {
    "email": "email",
    "phone": "phone_number",
    "person_name": "name",
    "address": "address",
    "credit_card": "credit_card_number",
    "ip_address": "ipv4",
    "free_text": "sentence",
    "postcode": "postcode",
    "iban": "iban",
}
_PATTERN = {
    "national_id": r"[0-9]{3}-[0-9]{2}-[0-9]{4}",
    "url": r"https://www\.[a-z]{6,10}\.com/[a-z]{8}",
}
_CLASSES = {"digits": "[0-9]", "upper": "[A-Z]", "lower": "[a-z]", "alnum": "[0-9A-Za-z]"}
_SPECIAL = set("[](){}|?\\.*+")


def spec_from_model(
    model: Synthesizer | str | Path,
    *,
    table: str = "table",
    rows: int | None = None,
    sample_rows: int = SAMPLE_ROWS,
    min_count: int = MIN_COUNT,
    bins: int = BINS,
    seed: int = 0,
) -> dict[str, Any]:
    """A spec (a dict) with the marginals and correlations a fitted model learned.

    ``model`` is a fitted single-table model or the path of its ``.simz`` file;
    the spec has one table, ``table``, of ``rows`` rows (the training rows,
    rounded to two significant digits, if left out). ``sample_rows`` synthetic
    rows drawn with ``seed`` are summarised; no value seen fewer than
    ``min_count`` times in training appears; numbers get up to ``bins`` bins.
    Same model, arguments and version: same spec.
    """
    for name, value, low in (("sample_rows", sample_rows, 100), ("min_count", min_count, 1)):
        _check_int(name, value, low)
    _check_int("bins", bins, 1)
    if rows is not None:
        _check_int("rows", rows, 0)
    fitted = _model(model)
    frame = fitted.sample(sample_rows, seed=seed)
    trained = max(int(fitted.n_training_rows_), 1)
    meta = fitted.metadata_
    formats = {  # the text format a date-of-birth column is regenerated in
        name: getattr(gen, "date_format_", None)
        for name, gen in fitted.processor_.generators_.items()
    }
    summary = _Summary(frame, trained, min_count, bins, formats, seed)
    columns: dict[str, dict[str, Any]] = {}
    for name, column in meta.columns.items():
        columns[name] = summary.column(name, column, key=name == meta.primary_key)
    rules, notes = _rules(meta.constraints, columns)
    body: dict[str, Any] = {"rows": rows if rows is not None else _round_sig(trained, 2)}
    body["columns"] = columns
    drawn = [name for name, col in columns.items() if "distribution" in col or "values" in col]
    group = summary.correlations(drawn)
    if group is not None:
        body["correlations"] = [group]
    if rules:
        body["constraints"] = rules
    spec = {
        "version": 1,
        "description": (
            f"Exported from a {fitted.name} model fitted on about {_round_sig(trained, 2):,} rows: "
            f"the marginals and correlations of {sample_rows:,} synthetic rows it made. "
            f"No real record, and no value seen fewer than {min_count} times in training."
            + "".join(f" {note}" for note in notes)
        ),
        "tables": {table: body},
    }
    return _checked(spec)


def spec_to_yaml(spec: dict[str, Any], *, header: str | None = None) -> str:
    """The spec as YAML, keys in order, under a comment: ``header`` and when it was written."""
    text = header or ""
    lines = [line for para in text.splitlines() for line in textwrap.wrap(para, 86) or [""]]
    lines.append(f"Written by simulacra {__version__} on {dt.date.today().isoformat()}.")
    body = yaml.safe_dump(
        spec, sort_keys=False, default_flow_style=None, width=100, allow_unicode=True
    )
    return "".join(f"# {line}".rstrip() + "\n" for line in lines) + body


# ------------------------------------------------------------------- model
def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise InvalidParameterError(f"{name} must be a whole number >= {low}, got {value!r}")


def _model(model: Synthesizer | str | Path) -> Synthesizer:
    from simulacra.persist import load_model
    from simulacra.synthesizers.base import Synthesizer

    if isinstance(model, str | Path):
        path = Path(model)
        if _manifest_format(path) == "simulacra-multi-model":
            raise ModelFileError(
                f"{path}: is a multi-table model (one model per table); a spec is exported "
                "from a single-table model: fit one table and export that"
            )
        return load_model(path)
    if not isinstance(model, Synthesizer):
        raise InvalidParameterError(
            f"spec_from_model needs a fitted single-table model or a .simz path, "
            f"not {type(model).__name__}"
        )
    return model


def _manifest_format(path: Path) -> Any:
    """The ``format`` a model file's manifest declares (None when it has no readable manifest)."""
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read("manifest.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError, EOFError):
        return None  # the loader says what is wrong with the file
    return manifest.get("format") if isinstance(manifest, dict) else None


# ----------------------------------------------------------------- columns
class _Summary:
    """Each column of the sample as spec data; scores kept for the correlations."""

    def __init__(
        self,
        frame: pd.DataFrame,
        trained: int,
        min_count: int,
        bins: int,
        formats: dict[str, Any],
        seed: int,
    ) -> None:
        self.frame, self.trained, self.k, self.bins = frame, trained, min_count, bins
        self.formats = formats  # text formats of regenerated dates of birth
        self.rng = np.random.default_rng(seed)  # random points for discrete normal scores
        # per correlated column: its normal scores (NaN where missing) and their shrinkage
        self.scores: dict[str, tuple[np.ndarray, float]] = {}

    def count(self, share: float) -> float:
        """Training rows a share of the sample stands for."""
        return share * self.trained

    def column(self, name: str, column: Column, *, key: bool) -> dict[str, Any]:
        values = self.frame[name]
        out = self.make(name, column, values)
        share = float(values.isna().mean())
        if not key and self.count(share) >= self.k and round(share, 3) > 0:
            out["nulls"] = round(share, 3)
        return out

    def make(self, name: str, column: Column, values: pd.Series) -> dict[str, Any]:
        kind = column.type
        if kind == "id":
            return _identifier(column.pattern or "{int}", self.trained)
        if kind == "pii" and column.pii == "date_of_birth":
            fmt = self.formats.get(name)
            return self.dates(values, Column("datetime", format=fmt), decade=True)
        if kind in ("pii", "text"):
            out: dict[str, Any] = (
                {"pattern": _PATTERN[column.pii]}
                if column.pii in _PATTERN
                else {"fake": _FAKE.get(column.pii or "", "sentence")}
            )
            if column.locale and column.locale != "en_US":
                out["locale"] = column.locale
            return out
        if kind == "datetime":
            return self.dates(values, column)
        if kind == "boolean":
            labels = [column.false_label, column.true_label]
            order = [False, True] if column.true_label is None else labels
            return self.levels(name, values, order, correlate=True)
        if kind == "numerical":
            present = pd.to_numeric(values.dropna()).to_numpy(dtype=float)
            distinct = np.unique(present)
            if len(distinct) == 0:
                return {"constant": 0, "nulls": 1.0}
            if len(distinct) <= MAX_LEVELS:
                whole = column.integer or bool(np.all(distinct == np.rint(distinct)))
                order = [int(v) if whole else float(v) for v in distinct]
                return self.levels(name, values, order, correlate=True)
            return self.histogram(name, present, column)
        return self.categories(name, values, column)

    # ---------------------------------------------------------- categories
    def categories(self, name: str, values: pd.Series, column: Column) -> dict[str, Any]:
        if not all(isinstance(_plain(v), str | int | float | bool) for v in values.dropna()[:100]):
            values = values.astype(object).where(values.isna(), values.astype(str))  # YAML scalars
        labels = [_plain(v) for v in values.value_counts(dropna=True).index]
        if column.ordered and column.categories:  # in their declared order
            known = [_plain(c) for c in column.categories]
            labels = [c for c in known if c in labels] + [c for c in labels if c not in known]
        text = all(isinstance(v, str) for v in labels)
        return self.levels(name, values, labels, correlate=bool(column.ordered), pool=text)

    def levels(
        self,
        name: str,
        values: pd.Series,
        order: list[Any],
        *,
        correlate: bool,
        pool: bool = False,
    ) -> dict[str, Any]:
        """Weighted values in ``order``; rare ones pooled into ``(other)`` or dropped."""
        n = len(values)
        labels = [_plain(v) for v in values.dropna()]
        tally = Counter(labels)
        shares = {v: tally[v] / n for v in order if tally[v]}
        kept = {v: s for v, s in shares.items() if v != OTHER and self.count(s) >= self.k}
        pooled = sum(s for v, s in shares.items() if v not in kept)
        if pool and self.count(pooled) >= self.k:
            kept[OTHER] = pooled
        if not kept:  # every value is rare
            return {"constant": OTHER}
        if len(kept) == 1:
            return {"constant": next(iter(kept))}
        if not correlate:  # unordered: most common first, for the reader
            kept = dict(sorted(kept.items(), key=lambda item: -item[1]))
        total = sum(kept.values())
        weights = [round(s / total, 4) for s in kept.values()]
        if correlate or len(kept) == 2:
            code = {v: i for i, v in enumerate(kept)}
            if pool and OTHER in kept:
                code |= {v: code[OTHER] for v in shares if v not in kept}
            codes = np.full(n, -1)
            mask = values.notna().to_numpy()
            codes[mask] = [code.get(v, -1) for v in labels]
            self.scores[name] = _discrete_scores(codes, np.array(list(kept.values())), self.rng)
        if all(isinstance(v, str) for v in kept):
            return {"values": dict(zip(kept, weights, strict=True))}
        return {"values": list(kept), "weights": weights}

    # ------------------------------------------------------------- numbers
    def histogram(self, name: str, x: np.ndarray, column: Column) -> dict[str, Any]:
        integer = bool(column.integer)
        present = self.count(len(x) / len(self.frame))  # training rows with a value
        tail = min(self.k / max(present, 1.0), 0.25)
        lo, hi = np.quantile(x, [tail, 1 - tail])
        shape = {"integer": True} if integer else {}
        if column.decimals is not None and not integer:
            shape = {"decimals": int(column.decimals)}
        if not hi > lo:
            return {"constant": _shaped(float(np.median(x)), integer, column.decimals)}
        edges = _edges(x, column, tail, self.bins, present, self.k, (lo, hi))
        clipped = np.clip(x, edges[0], edges[-1])
        counts = np.histogram(clipped, edges)[0].astype(float)
        edges, counts = _merge_small(edges, counts, self.count(1 / len(self.frame)), self.k)
        self.scores[name] = (_continuous_scores(self.frame[name], self.rng), 1.0)
        weights = [round(float(c / counts.sum()), 4) for c in counts]
        return {"distribution": "histogram", "edges": edges, "weights": weights, **shape}

    # --------------------------------------------------------------- dates
    def dates(self, values: pd.Series, column: Column, *, decade: bool = False) -> dict[str, Any]:
        """An even range between the tail quantiles, widened to whole months (or days, decades)."""
        stamps = _stamps(values.dropna(), column)
        if len(stamps) == 0:
            return {"dates": {"start": "2000-01-01", "end": "2000-12-31"}}
        present = self.count(len(stamps) / len(self.frame))
        tail = min(self.k / max(present, 1.0), 0.25)
        ns = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        lo, hi = (pd.Timestamp(int(q)) for q in np.quantile(ns, [tail, 1 - tail]))
        if decade:
            start, end = dt.date(lo.year // 10 * 10, 1, 1), dt.date(hi.year // 10 * 10 + 9, 12, 31)
        elif (hi - lo).days >= 365:
            start, end = lo.date().replace(day=1), (hi + pd.offsets.MonthEnd(0)).date()
        else:
            start, end = lo.date(), hi.date()
        out: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat()}
        if column.resolution != "D" and not decade:
            out["unit"] = "second"
        return {"dates": out}

    # -------------------------------------------------------- correlations
    def correlations(self, order: list[str]) -> dict[str, Any] | None:
        """The copula block over the columns correlated with some other, or None."""
        names = [n for n in order if n in self.scores]
        if len(names) < 2:
            return None
        scores = pd.DataFrame({n: self.scores[n][0] for n in names})
        observed = scores.corr(min_periods=3).fillna(0.0).to_numpy()
        present = scores.notna().astype(float).to_numpy()
        pairs = np.maximum(present.T @ present, 1.0)  # rows with both values
        shrink = np.array([self.scores[n][1] for n in names])
        corr = np.clip(observed / np.outer(shrink, shrink), -1.0, 1.0)
        # below MIN_CORRELATION, or within 4 standard errors of 0: no correlation
        noise = np.abs(observed) * np.sqrt(pairs) < 4.0
        corr[(np.abs(corr) < MIN_CORRELATION) | noise] = 0.0
        np.fill_diagonal(corr, 1.0)
        strong = np.abs(corr - np.eye(len(names))).max(axis=1) > 0
        if strong.sum() < 2:
            return None
        from simulacra.spec.correlation import nearest

        keep = np.flatnonzero(strong)
        matrix = [[r + 0.0 for r in row] for row in nearest(corr[np.ix_(keep, keep)], decimals=2)]
        return {"columns": [names[i] for i in keep], "matrix": matrix}


# ----------------------------------------------------------------- helpers
def _edges(
    x: np.ndarray,
    column: Column,
    tail: float,
    bins: int,
    present: float,
    k: int,
    span: tuple[float, float],
) -> list[float]:
    """Histogram edges: tail-trimmed quantiles on a grid of round numbers, within the bounds.

    Whole numbers get edges halfway between them (each number's share comes
    from one bin); frequent exact values get a bin of their own.
    """
    integer = bool(column.integer)
    shift = 0.5 if integer else 0.0  # grid coordinates: x + shift
    nbins = max(1, min(bins, int(present // k)))
    step = _nice((span[1] - span[0]) / (10 * bins))
    if integer:
        step = max(step, 1.0)
    if column.decimals is not None and not integer:
        step = max(step, 10.0 ** -int(column.decimals))
    q = np.quantile(x, np.linspace(tail, 1 - tail, nbins + 1)) + shift
    edges = np.rint(q / step) * step
    edges[0], edges[-1] = math.floor(q[0] / step) * step, math.ceil(q[-1] / step) * step
    low = -np.inf if column.min is None else math.ceil(float(column.min) / step) * step
    high = np.inf if column.max is None else math.floor((column.max + 2 * shift) / step) * step
    if low < high:
        edges = np.clip(edges, low, high)
    edges = np.unique(edges)
    # exact values with a bin's worth of rows: a narrow bin that rounds back to the value
    half = 0.5 if integer else step / 2
    if column.decimals is not None and not integer:
        half = min(half, 0.5 * 10.0 ** -int(column.decimals))
    elif not integer:
        half = step / 100
    values, counts = np.unique(x, return_counts=True)
    spikes = values[counts >= len(x) / nbins] + shift
    rounded = integer or column.decimals is not None  # then a spike's bin may pass a bound
    for v in spikes:
        a, b = v - half, v + half
        if not rounded:
            a, b = max(a, edges[0]), min(b, edges[-1])
        edges = np.union1d(edges[(edges <= a) | (edges >= b)], [a, b])
    unit = min(step, half) if len(spikes) else step
    decimals = max(0, 1 - math.floor(math.log10(unit)))
    out = np.unique(np.round(edges - shift, decimals))
    if len(out) < 2:
        out = np.array([out[0] - step, out[0] + step])
    return [int(e) if step >= 1 and e == int(e) else float(e) for e in out]


def _merge_small(
    edges: list[float], counts: np.ndarray, per_row: float, k: int
) -> tuple[list[float], np.ndarray]:
    """Bins merged with their smaller neighbour until each holds ``k`` training rows' worth."""
    edges, counts = list(edges), list(counts)
    while len(counts) > 1:
        i = int(np.argmin(counts))
        if counts[i] * per_row >= k:
            break
        j = i + 1 if i == 0 or (i + 1 < len(counts) and counts[i + 1] < counts[i - 1]) else i - 1
        lo, hi = min(i, j), max(i, j)
        counts[lo : hi + 1] = [counts[lo] + counts[hi]]
        del edges[hi]
    return edges, np.asarray(counts, dtype=float)


def _continuous_scores(values: pd.Series, rng: np.random.Generator) -> np.ndarray:
    """Normal scores of the ranks, ties broken at random (NaN where missing)."""
    x = pd.to_numeric(values).to_numpy(dtype=float, na_value=np.nan)
    out = np.full(len(x), np.nan)
    present = np.flatnonzero(~np.isnan(x))
    order = present[np.lexsort((rng.random(len(present)), x[present]))]
    out[order] = special.ndtri((np.arange(len(order)) + 0.5) / len(order))
    return out


def _discrete_scores(
    codes: np.ndarray, shares: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """A random normal score inside each code's share interval, and the shrinkage that causes.

    A score drawn inside its interval correlates with another normal by the
    latent correlation times ``sum p_k m_k**2`` (``m_k``: the interval's
    conditional mean); the copula family divides by the same factor.
    """
    p = shares / shares.sum()
    upper = np.clip(np.cumsum(p), 0.0, 1.0)
    lower = np.concatenate([[0.0], upper[:-1]])
    out = np.full(len(codes), np.nan)
    ok = codes >= 0
    u = lower[codes[ok]] + rng.random(int(ok.sum())) * p[codes[ok]]
    out[ok] = special.ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    pdf = np.exp(-0.5 * special.ndtri(np.concatenate([lower, upper[-1:]])) ** 2)
    pdf = np.nan_to_num(pdf / np.sqrt(2 * np.pi))
    means = (pdf[:-1] - pdf[1:]) / np.where(p > 0, p, 1.0)
    return out, float(max(np.sum(p * means**2), 1e-3))


def _identifier(pattern: str, rows: int) -> dict[str, Any]:
    """A key in the model's id pattern: a sequence, UUIDs or a unique spec pattern."""
    from simulacra.transforms.identifiers import parse_pattern

    parts = parse_pattern(pattern)
    if parts[0][0] == "int":
        return {"sequence": {"start": 1}}
    if parts[0][0] == "uuid" or not any(kind == "class" for kind, _ in parts):
        return {"fake": "uuid4"}
    alphabets = {parse_pattern(f"{{{name}:1}}")[0][1]: text for name, text in _CLASSES.items()}
    capacity = math.prod(len(a) for kind, a in parts if kind == "class")
    first = next(i for i, (kind, _) in enumerate(parts) if kind == "class")
    while capacity < rows:  # as the model does: lengthen the first run until every row fits
        parts.insert(first, parts[first])
        capacity *= len(parts[first][1])
    out, i = "", 0
    while i < len(parts):
        kind, value = parts[i]
        if kind == "lit":
            out += "\\" + value if value in _SPECIAL else value
            i += 1
            continue
        run = 1
        while i + run < len(parts) and parts[i + run] == parts[i]:
            run += 1
        out += alphabets[value] + (f"{{{run}}}" if run > 1 else "")
        i += run
    return {"pattern": out, "unique": True}


def _rules(
    constraints: list[dict[str, Any]], columns: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The model's rules for the spec; formula columns become expressions."""
    rules, notes = [], []
    for rule in copy.deepcopy(constraints):
        kind = rule.get("type")
        if kind == "formula" and rule.get("column") in columns:
            old = columns[rule["column"]]
            new: dict[str, Any] = {"expression": rule["expression"]}
            new |= {k: old[k] for k in ("integer", "decimals") if k in old}  # nulls: from inputs
            columns[rule["column"]] = new
        elif kind == "fixed_combinations":
            cols = ", ".join(rule.get("columns", []))
            notes.append(
                f"The rule on fixed combinations of {cols} is left out: it lists real rows."
            )
        else:
            rules.append(rule)
    return rules, notes


def _checked(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec, checked; a rule the spec language cannot run is left out and noted."""
    from simulacra.spec import load_spec

    body = next(iter(spec["tables"].values()))
    try:
        load_spec(spec)
        return spec
    except SpecError:
        if not body.get("constraints"):
            raise
    kept = []
    for rule in body.pop("constraints"):
        trial = copy.deepcopy(spec)
        next(iter(trial["tables"].values()))["constraints"] = [rule]
        try:
            load_spec(trial)
            kept.append(rule)
        except SpecError as exc:
            spec["description"] += f" A rule is left out ({'; '.join(exc.problems)})."
    if kept:
        body["constraints"] = kept
    load_spec(spec)
    return spec


def _stamps(values: pd.Series, column: Column) -> pd.Series:
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        values = parse_datetimes(values.astype(str), column.format, errors="coerce")
        values = values.dropna()
    if values.dt.tz is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values


def _nice(raw: float) -> float:
    """The largest of 1, 2 or 5 times a power of ten that is at most ``raw``."""
    if not raw > 0 or not math.isfinite(raw):
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    lead = raw / power
    return (5 if lead >= 5 else 2 if lead >= 2 else 1) * power


def _round_sig(n: int, digits: int) -> int:
    if n <= 0:
        return 0
    scale = 10 ** max(0, len(str(int(n))) - digits)
    return max(1, round(n / scale) * scale)


def _shaped(value: float, integer: bool, decimals: int | None) -> float | int:
    if integer:
        return round(value)
    return round(value, decimals) if decimals is not None else float(f"{value:.4g}")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
