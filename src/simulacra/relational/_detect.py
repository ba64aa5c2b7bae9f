"""Guessing keys across tables from names and uniqueness evidence."""

from __future__ import annotations

import pandas as pd

from simulacra._formulas import detect_sums
from simulacra.metadata import Column, Metadata
from simulacra.relational.metadata import ForeignKey, MultiTableMetadata

NEAR_SHARE = 0.01  # a key's repeats or orphans up to this share are mistakes to report


def singular(name: str) -> str:
    """``customers`` -> ``customer``, ``categories`` -> ``category`` (a plain heuristic)."""
    low = name.lower()
    if low.endswith("ies"):
        return low[:-3] + "y"
    if low.endswith(("sses", "xes", "ches", "shes")):
        return low[:-2]
    if low.endswith("s") and not low.endswith("ss"):
        return low[:-1]
    return low


def _unique(df: pd.DataFrame, cols: list[str]) -> bool:
    part = df[cols]
    return len(df) > 0 and not part.isna().any().any() and not part.duplicated().any()


def _nearly_unique(values: pd.Series) -> bool:
    """At most 1% of the rows repeat an earlier value or are empty."""
    return len(values) > 0 and values.duplicated().mean() + values.isna().mean() <= NEAR_SHARE


def _key_like(name: str) -> bool:
    low = name.lower()
    return low == "id" or low.endswith(("_id", "id", "_key", "_code", "_no"))


def _primary_key(table: str, df: pd.DataFrame) -> list[str]:
    names = [c for c in df.columns if isinstance(c, str)]
    preferred = ["id", f"{singular(table)}_id", f"{table.lower()}_id"]
    for cand in preferred:
        for c in names:
            if c.lower() == cand and _unique(df, [c]):
                return [c]
    for c in names:
        if _key_like(c) and _unique(df, [c]):
            return [c]
    for cand in preferred:  # the table's own id, all but a few rows unique: still the key,
        for c in names:  # and validation names the repeats (a composite key would hide them)
            if c.lower() == cand and _nearly_unique(df[c]):
                return [c]
    ids = [c for c in names if _key_like(c)]
    for i, a in enumerate(ids):  # a composite key: two key-like columns, or one and a counter
        for b in ids[i + 1 :] + [c for c in names if c not in ids]:
            if _unique(df, [a, b]):
                return [a, b]
    return []


def _name_matches(column: str, parent: str, parent_key: str) -> bool:
    """``customer_id`` or ``buyer_customer_id`` names table ``customers`` (key ``id``)."""
    low, one, pk = column.lower(), singular(parent), parent_key.lower()
    return low in (f"{one}_{pk}", f"{parent.lower()}_{pk}", f"{one}{pk}") or (
        pk == "id" and low.endswith(f"_{one}_id")
    )


def _subset(values: pd.Series, keys: pd.Series, share: float = 1.0) -> bool:
    """Whether the values (at least ``share`` of them) are among ``keys``."""
    present = values.dropna()
    if len(present) == 0:
        return False
    try:
        return bool(present.isin(keys).mean() >= share)
    except TypeError:
        return False


def guess_keys(
    tables: dict[str, pd.DataFrame], declared: dict[str, list[str]]
) -> tuple[dict[str, list[str]], list[ForeignKey]]:
    """Declared primary keys, guessed ones where none is declared, and guessed links."""
    pks = {n: declared.get(n) or _primary_key(n, df) for n, df in tables.items()}
    return pks, _foreign_keys(tables, pks)


def detect_multi(
    tables: dict[str, pd.DataFrame],
    *,
    primary_keys: dict[str, list[str]] | None = None,
    foreign_keys: list[ForeignKey] | None = None,
) -> MultiTableMetadata:
    """Column types per table; keys from ``primary_keys``/``foreign_keys`` or guessed."""
    pks = (
        dict(primary_keys)
        if primary_keys is not None
        else {n: _primary_key(n, df) for n, df in tables.items()}
    )
    fks = list(foreign_keys) if foreign_keys is not None else _foreign_keys(tables, pks)
    metas = {}
    for name, df in tables.items():
        meta = Metadata.detect(df, formulas=False)
        keys = set(pks.get(name, [])) | {c for fk in fks if fk.table == name for c in fk.columns}
        for col in keys:  # keys are regenerated, never learned
            if col in meta.columns:
                meta.columns[col] = Column(type="id")
        meta.constraints = detect_sums(df, meta.columns)  # sums of numbers, never of keys
        meta.primary_key = None
        metas[name] = meta
    return MultiTableMetadata(tables=metas, primary_keys=pks, foreign_keys=fks)


def _foreign_keys(tables: dict[str, pd.DataFrame], pks: dict[str, list[str]]) -> list[ForeignKey]:
    single = {n: k[0] for n, k in pks.items() if len(k) == 1}
    out = []
    for name, df in tables.items():
        own = pks.get(name, [])
        taken: set[str] = set()
        for parent, key in pks.items():  # a composite key, by the same column names
            if parent == name or len(key) < 2 or not set(key) <= set(df.columns):
                continue
            child = pd.MultiIndex.from_frame(df[key].dropna().astype(object))
            known = pd.MultiIndex.from_frame(tables[parent][key].astype(object))
            if len(child) and child.isin(known).all():
                nullable = bool(df[key].isna().any().any())
                out.append(ForeignKey(name, tuple(key), parent, tuple(key), nullable))
                taken.update(key)
        for col in df.columns:
            if not isinstance(col, str) or col in taken:
                continue
            named = [p for p, k in single.items() if p != name and _name_matches(col, p, k)]
            named = named or [  # the same name as another table's key, and its values (a
                p  # few orphans kept, for validation to name them)
                for p, k in single.items()
                if p != name
                and k == col
                and k != "id"
                and _subset(df[col], tables[p][k], 1 - NEAR_SHARE)
            ]
            if own == [col] and not named:
                continue
            if named:
                parent = named[0]
            elif col.lower().endswith("_id"):
                # evidence alone: every value is a key of exactly one table (or of this one)
                cands = [p for p, k in single.items() if _subset(df[col], tables[p][k])]
                if name in cands and name in single and single[name] != col:
                    parent = name
                elif len(cands) == 1 and cands[0] != name:
                    parent = cands[0]
                else:
                    continue
            else:
                continue
            out.append(
                ForeignKey(
                    table=name,
                    columns=(col,),
                    parent=parent,
                    parent_columns=(single[parent],),
                    nullable=bool(df[col].isna().any()),
                )
            )
    return out
