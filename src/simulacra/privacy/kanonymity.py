"""k-anonymity by Mondrian partitioning, with l-diversity checked and reported.

Rows are split recursively (LeFevre et al., "Mondrian multidimensional
k-anonymity", 2006): a partition is cut at the median of the quasi-identifier
with the widest range relative to the whole table, as long as both halves keep
at least ``k`` rows (and, when ``l_diverse`` is asked for, that many distinct values of every
sensitive column). Each final partition's quasi-identifiers are replaced by
their range (``31-38``, ``2020-01-03/2020-05-07``) or set (``{F,M}``). Rows
whose pattern of missing quasi-identifiers is shared by fewer than ``k`` rows
are suppressed (dropped). Categories are split in sorted order, as if ordinal.

>>> df = pd.DataFrame({"age": [23, 25, 31, 33, 45, 47, 52, 58], "dx": list("abababab")})
>>> out, report = k_anonymize(df, ["age"], k=2, sensitive=["dx"])
>>> out["age"].tolist()
['23-25', '23-25', '31-33', '31-33', '45-47', '45-47', '52-58', '52-58']
>>> report.k_achieved, report.l_diversity
(2, {'dx': 2})
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulacra._expressions import to_instants
from simulacra.errors import InvalidDataError, InvalidParameterError

__all__ = ["KAnonymityReport", "k_anonymize"]


@dataclass
class KAnonymityReport:
    """What k-anonymisation achieved and what it cost.

    ``ncp`` is the normalized certainty penalty: per released cell of a
    quasi-identifier, the width of its range over the column's range (a set's
    size over the column's distinct count; 0 when it stays exact), averaged,
    with each suppressed row costing 1. ``discernibility`` is the sum of the
    squared class sizes plus rows x suppressed rows; ``avg_class_size`` is the
    mean class size over ``k`` (1 is ideal). ``l_diversity`` gives, per
    sensitive column, the fewest distinct values in any class.
    """

    k: int
    k_achieved: int
    rows: int
    rows_suppressed: int
    classes: int
    quasi_identifiers: list[str]
    ncp: float
    ncp_by_column: dict[str, float]
    discernibility: int
    avg_class_size: float
    l_diversity: dict[str, int] = field(default_factory=dict)
    l_required: int | None = None

    @property
    def l_satisfied(self) -> bool | None:
        if self.l_required is None:
            return None
        return all(v >= self.l_required for v in self.l_diversity.values())

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "l_satisfied": self.l_satisfied}

    def summary(self) -> str:
        """A few lines for people."""
        lines = [
            f"k-anonymity: k={self.k_achieved} achieved (asked {self.k}) over "
            f"{', '.join(self.quasi_identifiers)}; {self.classes:,} classes of "
            f"{self.rows - self.rows_suppressed:,} rows",
            f"information loss: NCP {self.ncp:.3f} (0 exact .. 1 all generalised), "
            f"discernibility {self.discernibility:,}, {self.rows_suppressed:,} rows suppressed",
        ]
        if self.l_diversity:
            parts = ", ".join(f"{c}: {v}" for c, v in self.l_diversity.items())
            verdict = (
                ""
                if self.l_required is None
                else f" (asked l={self.l_required}: " + ("met)" if self.l_satisfied else "NOT met)")
            )
            lines.append(
                f"l-diversity (fewest distinct sensitive values in a class): {parts}{verdict}"
            )
        return "\n".join(lines)


@dataclass
class _QI:
    name: str
    kind: str  # "number", "date" or "category"
    values: np.ndarray  # float64 numbers, int64 nanoseconds or int64 codes; valid where ~null
    null: np.ndarray
    labels: np.ndarray | None  # category labels by code
    span: float  # range (numbers, dates) or distinct count (categories) over the table


def k_anonymize(
    data: pd.DataFrame,
    quasi_identifiers: list[str],
    k: int = 5,
    sensitive: list[str] | tuple[str, ...] = (),
    *,
    l_diverse: int | None = None,
) -> tuple[pd.DataFrame, KAnonymityReport]:
    """A k-anonymous copy of ``data`` over ``quasi_identifiers``, and a report.

    Every combination of generalised quasi-identifiers in the output is shared
    by at least ``k`` rows; other columns are left as they are. With ``l_diverse``,
    splits also keep that many distinct values of each ``sensitive`` column per class.
    """
    l_req = l_diverse
    qis = _check(data, list(quasi_identifiers), k, list(sensitive), l_req)
    n = len(data)
    sens = [pd.factorize(data[c])[0] for c in sensitive]
    part = np.full(n, -1, dtype=np.int64)
    patterns = (
        pd.DataFrame({q.name: q.null for q in qis})
        .groupby([q.name for q in qis], sort=False)
        .indices
    )
    next_id = 0
    for rows in patterns.values():  # one Mondrian run per pattern of missing values
        rows = np.asarray(rows)
        if len(rows) < k or (l_req is not None and not _diverse(rows, sens, l_req)):
            continue  # suppressed
        present = [q for q in qis if not q.null[rows[0]]]
        for block in _mondrian(rows, present, k, sens, l_req):
            part[block] = next_id
            next_id += 1
    kept = part >= 0
    if not kept.any():
        raise InvalidDataError(
            f"no {k} rows share a pattern of missing quasi-identifiers; fill the gaps, "
            "lower k, or use fewer quasi-identifiers"
        )
    out = data.loc[kept].copy()
    penalties = {}
    for q in qis:
        labels, penalty = _generalise(q, part[kept], kept)
        out[q.name] = labels
        penalties[q.name] = penalty
    return out, _report(out, qis, k, sensitive, l_req, penalties, n, next_id)


def _check(
    data: pd.DataFrame, qis: list[str], k: int, sensitive: list[str], l_req: int | None
) -> list[_QI]:
    problems = []
    if not isinstance(data, pd.DataFrame):
        raise InvalidDataError(f"expected a pandas DataFrame, got {type(data).__name__}")
    if not qis:
        problems.append("name at least one quasi-identifier (e.g. age, zip, sex)")
    for role, names in (("quasi-identifier", qis), ("sensitive column", sensitive)):
        for name in names:
            if name not in data.columns:
                close = difflib.get_close_matches(name, [str(c) for c in data.columns], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.append(f"{role} {name!r} is not a column of the table{hint}")
    both = sorted(set(qis) & set(sensitive))
    if both:
        problems.append(f"{both} cannot be both quasi-identifiers and sensitive columns")
    if problems:
        raise InvalidDataError(problems)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InvalidParameterError(f"k must be a whole number >= 1, got {k!r}")
    if k > len(data):
        raise InvalidParameterError(
            f"k={k} is larger than the table ({len(data):,} rows); no group of {k} rows exists. "
            "Use a smaller k or more rows"
        )
    if l_req is not None and (
        not isinstance(l_req, int | np.integer) or l_req < 1 or not sensitive
    ):
        raise InvalidParameterError(
            f"l-diversity {l_req!r} needs a whole number >= 1 and sensitive columns"
        )
    if l_req is not None:
        for name in sensitive:
            distinct = data[name].nunique(dropna=False)
            if distinct < l_req:
                raise InvalidParameterError(
                    f"sensitive column {name!r} has only {distinct} distinct values, so no "
                    f"class can be {l_req}-diverse; lower l"
                )
    return [_encode(name, data[name]) for name in qis]


def _encode(name: str, values: pd.Series) -> _QI:
    null = values.isna().to_numpy()
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return _category(name, values, null)
    if pd.api.types.is_numeric_dtype(dtype):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        return _QI(name, "number", numbers, null, None, _range(numbers[~null]))
    if pd.api.types.is_datetime64_any_dtype(dtype):
        ns = values.astype("datetime64[ns]").to_numpy().astype("int64")
        return _QI(name, "date", ns, null, None, _range(ns[~null]))
    present = values.dropna().astype(str)
    numbers = pd.to_numeric(present, errors="coerce")
    if len(present) and numbers.notna().all() and not present.str.match(r"0\d").any():
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
        return _QI(name, "number", numbers, null, None, _range(numbers[~null]))
    from simulacra._detect import _datetime_format

    fmt = _datetime_format(present.iloc[:2000]) if len(present) else None
    if fmt is not None:
        stamps = to_instants(values.astype("string"), fmt)  # naive, in UTC
        if (~np.isnat(stamps)).sum() == len(present):
            ns = stamps.astype("int64")
            return _QI(name, "date", ns, null, None, _range(ns[~null]))
    return _category(name, values, null)


def _category(name: str, values: pd.Series, null: np.ndarray) -> _QI:
    ordered = isinstance(values.dtype, pd.CategoricalDtype) and values.dtype.ordered
    codes, labels = pd.factorize(values, sort=not ordered)
    if ordered:  # keep the declared order of an ordered categorical
        codes = values.cat.codes.to_numpy()
        labels = values.cat.categories
    labels = np.asarray([str(v) for v in labels], dtype=object)
    return _QI(
        name, "category", codes.astype(np.int64), null, labels, float(len(set(codes[~null])))
    )


def _range(values: np.ndarray) -> float:
    return float(values.max() - values.min()) if len(values) else 0.0


def _diverse(rows: np.ndarray, sens: list[np.ndarray], l_req: int | None) -> bool:
    return l_req is None or all(len(np.unique(s[rows])) >= l_req for s in sens)


def _mondrian(
    rows: np.ndarray, qis: list[_QI], k: int, sens: list[np.ndarray], l_req: int | None
) -> list[np.ndarray]:
    """The final partitions (row index arrays) of ``rows``."""
    done, todo = [], [rows]
    while todo:  # a loop over partitions, not rows
        block = todo.pop()
        halves = _split(block, qis, k, sens, l_req) if len(block) >= 2 * k else None
        if halves is None:
            done.append(block)
        else:
            todo.extend(halves)
    return done


def _split(
    block: np.ndarray, qis: list[_QI], k: int, sens: list[np.ndarray], l_req: int | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Cut ``block`` at the median of its widest quasi-identifier; None when no cut is allowed."""
    widths = []
    for q in qis:
        v = q.values[block]
        width = (len(np.unique(v)) if q.kind == "category" else v.max() - v.min()) / (q.span or 1)
        widths.append(0.0 if q.kind == "category" and width * (q.span or 1) <= 1 else width)
    for j in np.argsort(widths)[::-1]:
        if widths[j] <= 0:
            break
        v = qis[j].values[block]
        median = np.partition(v, (len(v) - 1) // 2)[(len(v) - 1) // 2]
        for left in (v <= median, v < median):
            size = int(left.sum())
            if k <= size <= len(v) - k:
                a, b = block[left], block[~left]
                if _diverse(a, sens, l_req) and _diverse(b, sens, l_req):
                    return a, b
    return None


def _generalise(q: _QI, part: np.ndarray, kept: np.ndarray) -> tuple[np.ndarray, float]:
    """Each kept row's label for its partition, and the column's mean certainty penalty."""
    values, null = q.values[kept], q.null[kept]
    frame = pd.DataFrame({"part": part, "value": values})[~null]
    groups = frame.groupby("part")["value"]
    labels = np.full(part.max() + 1, None, dtype=object)  # partitions of missing values stay so
    penalty = np.zeros(part.max() + 1)
    if q.kind == "category":
        for pid, codes in groups.unique().items():  # a loop over partitions
            codes = np.sort(codes)
            names = q.labels[codes]
            labels[pid] = names[0] if len(codes) == 1 else "{" + ",".join(names) + "}"
            penalty[pid] = 0.0 if len(codes) == 1 else len(codes) / (q.span or 1)
    else:
        bounds = groups.agg(["min", "max"])
        text = _format(q, bounds["min"].to_numpy(), bounds["max"].to_numpy())
        labels[bounds.index.to_numpy()] = text
        penalty[bounds.index.to_numpy()] = (bounds["max"] - bounds["min"]).to_numpy() / (
            q.span or 1
        )
    return labels[part], float(penalty[part].mean())


def _format(q: _QI, low: np.ndarray, high: np.ndarray) -> list[str]:
    """``lo-hi`` ranges (``lo to hi`` with negatives), ISO ``start/end`` for dates."""
    if q.kind == "date":
        lo, hi = pd.to_datetime(low.astype("int64")), pd.to_datetime(high.astype("int64"))
        daily = bool(((lo.normalize() == lo) & (hi.normalize() == hi)).all())
        fmt = "%Y-%m-%d" if daily else "%Y-%m-%dT%H:%M:%S"
        a, b = lo.strftime(fmt), hi.strftime(fmt)
        return [x if x == y else f"{x}/{y}" for x, y in zip(a, b, strict=True)]
    whole = bool(np.all(low == np.round(low)) and np.all(high == np.round(high)))
    out = []
    for x, y in zip(low, high, strict=True):  # a loop over partitions
        a, b = (str(int(x)), str(int(y))) if whole else (f"{x:.15g}", f"{y:.15g}")
        out.append(a if x == y else f"{a}-{b}" if x >= 0 else f"{a} to {b}")
    return out


def _report(
    out: pd.DataFrame,
    qis: list[_QI],
    k: int,
    sensitive: list[str],
    l_req: int | None,
    penalties: dict[str, float],
    rows: int,
    classes: int,
) -> KAnonymityReport:
    names = [q.name for q in qis]
    sizes = out.groupby(names, dropna=False, sort=False).size()
    released = len(out)
    suppressed = rows - released
    ncp_cols = {c: (p * released + suppressed) / rows for c, p in penalties.items()}
    diversity = {}
    for column in sensitive:
        per_class = out.groupby(names, dropna=False, sort=False)[column].nunique(dropna=False)
        diversity[column] = int(per_class.min())
    return KAnonymityReport(
        k=k,
        k_achieved=int(sizes.min()),
        rows=rows,
        rows_suppressed=suppressed,
        classes=len(sizes),
        quasi_identifiers=names,
        ncp=float(np.mean(list(ncp_cols.values()))),
        ncp_by_column=ncp_cols,
        discernibility=int((sizes.to_numpy() ** 2).sum() + suppressed * rows),
        avg_class_size=float(released / max(1, len(sizes)) / k),
        l_diversity=diversity,
        l_required=l_req,
    )
