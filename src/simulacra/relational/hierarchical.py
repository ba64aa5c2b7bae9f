"""Hierarchical multi-table synthesis: parents first, children per parent learned.

Each table's non-key columns are modelled by any single-table family of the
registry, with two kinds of helper columns added:

- ``__n<i>``: how many rows of foreign key ``i`` refer to each row (children
  per parent), learned jointly with the row's own columns, so that a bigger
  customer can have more orders;
- ``__ctx_<column>``: a few of the parent's columns beside each child row, so
  that a child's columns are learned together with its parent's.

Sampling draws the roots, then for every child table one slot per child the
parent rows asked for; children drawn with a context are paired with the
slots by rank along the context's main axis. A second foreign key goes to a
parent drawn in proportion to its learned popularity; a self-reference
becomes a forest. Keys are generated, so every link points at a real row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

from simulacra.errors import InvalidDataError, InvalidParameterError, NotFittedError
from simulacra.metadata import Column, Metadata
from simulacra.relational import _keys
from simulacra.relational.metadata import MultiTableMetadata

__all__ = ["HierarchicalSynthesizer", "create_multi"]

_CONTEXT_TYPES = ("numerical", "categorical", "boolean")
_ROW = "__row"  # a constant column for a table with nothing else to model


def create_multi(name: str = "hierarchical", **params: Any) -> HierarchicalSynthesizer:
    """A new, unfitted multi-table synthesizer; ``family`` picks each table's model.

    >>> create_multi("hierarchical", seed=0, family="independent")
    HierarchicalSynthesizer(seed=0, family='independent', context=3)
    """
    if name != "hierarchical":
        raise InvalidParameterError(
            f"no multi-table synthesizer {name!r}; the one there is: 'hierarchical'"
        )
    model = HierarchicalSynthesizer(**params)
    model._check_params()
    return model


class HierarchicalSynthesizer:
    """Synthetic copies of related tables whose keys join.

    ``family`` and ``family_params`` choose and configure the single-table
    model of every table; ``context`` is how many parent columns a child
    learns beside its own.
    """

    name = "hierarchical"

    def __init__(
        self,
        *,
        seed: int | None = None,
        family: str = "cart",
        context: int = 3,
        **family_params: Any,
    ) -> None:
        self.seed = seed
        self.family = family
        self.context = context
        self.family_params = family_params

    def __repr__(self) -> str:
        params = {"seed": self.seed, "family": self.family, "context": self.context}
        params |= self.family_params
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in params.items())})"

    def _check_params(self) -> None:
        import simulacra

        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0
        ):
            raise InvalidParameterError(f"seed must be a whole number >= 0, got {self.seed!r}")
        if isinstance(self.context, bool) or not isinstance(self.context, int) or self.context < 0:
            raise InvalidParameterError(
                f"context must be a whole number >= 0, got {self.context!r}"
            )
        simulacra.create(self.family, **self.family_params)  # checks family and its params

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        tables: dict[str, pd.DataFrame] | str | Path,
        metadata: MultiTableMetadata | str | Path | None = None,
    ) -> Self:
        """Learn every table, parents before children; return ``self``.

        ``tables`` is a dict of DataFrames, a folder of files or a database URL;
        without ``metadata`` the keys are detected. The caller's data is not changed.
        """
        from simulacra.relational.io import read_tables

        self._check_params()
        frames = read_tables(tables)
        if metadata is None:
            meta = MultiTableMetadata.detect(frames)
        elif isinstance(metadata, MultiTableMetadata):
            meta = metadata
        else:
            meta = MultiTableMetadata.from_json(metadata)
        where = str(tables) if isinstance(tables, str | Path) else None
        meta.validate(frames, where=where)
        shared = [
            f"column {a.table}.{c} is in foreign keys {a.name} and {b.name}; this synthesizer "
            "links each column once: keep the key that matters and drop the other"
            for i, a in enumerate(meta.foreign_keys)
            for b in meta.foreign_keys[i + 1 :]
            if a.table == b.table
            for c in sorted(set(a.columns) & set(b.columns))
        ]
        if shared:
            raise InvalidDataError(shared, where=where)
        order, deferred = meta.dependency_order()
        deferred_ids = {id(fk) for fk in deferred}
        self.metadata_ = meta
        self.order_ = order
        self.deferred_ = [meta.foreign_keys.index(fk) for fk in deferred]
        self.drivers_ = {t: self._driver(meta, t, deferred_ids) for t in order}
        self.sizes_ = {t: len(frames[t]) for t in order}
        self.key_kinds_ = {
            t: {c: _keys.KeyKind.learn(frames[t][c]) for c in meta.primary_keys.get(t, [])}
            for t in order
        }
        positions = {}
        for i, fk in enumerate(meta.foreign_keys):
            positions[i] = _keys.parent_positions(
                frames[fk.table], frames[fk.parent], list(fk.columns), list(fk.parent_columns)
            )
        self.empty_share_ = {
            i: float((pos < 0).mean()) if len(pos) else 0.0 for i, pos in positions.items()
        }
        self.orphans_ = {
            t: int((positions[d] < 0).sum()) if d is not None else 0
            for t, d in self.drivers_.items()
        }
        self.axes_: dict[str, _keys.ContextAxis] = {}
        self.context_: dict[str, list[str]] = {}
        models = {}
        seeds = np.random.SeedSequence(self.seed).spawn(len(order))
        for t, seq in zip(order, seeds, strict=True):
            frame, sub = self._training_frame(meta, frames, positions, t)
            seed = None if self.seed is None else int(seq.generate_state(1)[0])
            models[t] = self._new_model(seed).fit(frame, metadata=sub)
        self.models_: dict[str, Any] = models  # last: a failed fit leaves no fitted model
        return self

    def _new_model(self, seed: int | None) -> Any:
        import simulacra

        return simulacra.create(self.family, seed=seed, **self.family_params)

    @staticmethod
    def _driver(meta: MultiTableMetadata, table: str, deferred: set[int]) -> int | None:
        """The foreign key whose parent decides how many rows this table has."""
        links = [fk for fk in meta.parents(table) if id(fk) not in deferred]
        if not links:
            return None
        key = set(meta.primary_keys.get(table, []))
        covering = [fk for fk in links if key and set(fk.columns) & key]
        return meta.foreign_keys.index((covering or links)[0])

    def _training_frame(
        self,
        meta: MultiTableMetadata,
        frames: dict[str, pd.DataFrame],
        positions: dict[int, np.ndarray],
        table: str,
    ) -> tuple[pd.DataFrame, Metadata]:
        """The table's own columns, its children-per-row counts and its parent's context."""
        df, tmeta = frames[table], meta.tables[table]
        keys = meta.keys_of(table)
        own = [c for c in df.columns if c not in keys]
        parts: dict[str, Any] = {c: df[c].reset_index(drop=True) for c in own}
        columns = {c: tmeta.columns[c] for c in own}
        for i, fk in enumerate(meta.foreign_keys):
            if fk.parent == table:
                parts[f"__n{i}"] = _keys.children_per_parent(positions[i], len(df))
                columns[f"__n{i}"] = Column(type="numerical", integer=True, min=0)
        driver = self.drivers_[table]
        if driver is not None and self.context:
            fk = meta.foreign_keys[driver]
            pmeta, parent = meta.tables[fk.parent], frames[fk.parent]
            pkeys = meta.keys_of(fk.parent)
            chosen = [
                c
                for c, col in pmeta.columns.items()
                if c not in pkeys and col.type in _CONTEXT_TYPES
            ][: self.context]
            pos = positions[driver]
            context = {}
            for c in chosen:
                values = parent[c].reset_index(drop=True).iloc[np.where(pos < 0, 0, pos)]
                values = values.reset_index(drop=True).mask(pd.Series(pos < 0))
                context[f"__ctx_{c}"] = values
                columns[f"__ctx_{c}"] = pmeta.columns[c]
            parts |= context
            if chosen:
                self.context_[table] = [f"__ctx_{c}" for c in chosen]
                numeric = [pmeta.columns[c].type == "numerical" for c in chosen]
                linked = pos >= 0
                real = parent[chosen].reset_index(drop=True).iloc[pos[linked]]
                real.columns = self.context_[table]
                self.axes_[table] = _keys.ContextAxis.learn(real, numeric)
        if not any(col.modelled for col in columns.values()):
            parts[_ROW] = np.zeros(len(df), dtype="int64")
            columns[_ROW] = Column(type="numerical", integer=True)
        frame = pd.DataFrame(parts, index=pd.RangeIndex(len(df)))
        rules = [r for r in tmeta.constraints if not _names_any(r, keys)]  # keys are made unique
        return frame, Metadata(columns=columns, constraints=rules)

    # ---------------------------------------------------------- persistence
    def save(self, path: str | Path) -> None:
        """Write the fitted model as one file (data, not code); read it with ``load_multi``."""
        from simulacra.relational._persist import save_multi

        self._check_fitted()
        save_multi(self, Path(path))

    # --------------------------------------------------------------- sample
    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise NotFittedError(
                "this hierarchical synthesizer is not fitted yet; call fit(tables) first"
            )

    def sample(self, scale: float = 1.0, *, seed: int | None = None) -> dict[str, pd.DataFrame]:
        """Synthetic tables about ``scale`` times the real ones' size, keys that all join."""
        self._check_fitted()
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
            raise InvalidParameterError(f"scale must be a number > 0, got {scale!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise InvalidParameterError(f"seed must be a whole number >= 0, got {seed!r}")
        run = seed if seed is not None else self.seed
        root = np.random.SeedSequence(run)
        rng = np.random.default_rng(root.spawn(1)[0])
        meta = self.metadata_
        out: dict[str, pd.DataFrame] = {}
        counts: dict[int, np.ndarray] = {}  # learned children per row, by foreign key
        links: dict[int, np.ndarray] = {}
        for t in self.order_:
            rows, parent_pos = self._draw(t, scale, counts, out, rng)
            for i, fk in enumerate(meta.foreign_keys):
                if fk.table != t or i == self.drivers_[t] or i in self.deferred_:
                    continue
                weights = counts.get(i, np.ones(len(out[fk.parent])))
                links[i] = _keys.weighted_links(weights, len(rows), self.empty_share_[i], rng)
            if self.drivers_[t] is not None:
                links[self.drivers_[t]] = parent_pos
            keep = self._unique_rows(t, len(rows), links)
            rows = rows.loc[keep].reset_index(drop=True)
            for i, fk in enumerate(meta.foreign_keys):
                if fk.table == t and i in links:
                    links[i] = links[i][keep]
                if fk.parent == t:
                    n = rows.pop(f"__n{i}").to_numpy(dtype="float64")
                    counts[i] = np.clip(np.round(np.nan_to_num(n)), 0, None).astype("int64")
            out[t] = self._with_keys(t, rows.drop(columns=[_ROW], errors="ignore"), links, out)
        for i in self.deferred_:  # self-references and the links that break cycles
            fk = meta.foreign_keys[i]
            n = len(out[fk.table])
            weights = counts.get(i, np.ones(len(out[fk.parent])))
            if fk.self_reference:
                links[i] = _keys.forest(weights, self.empty_share_[i], rng)
            else:
                links[i] = _keys.weighted_links(weights, n, self.empty_share_[i], rng)
            parent_keys = out[fk.parent][list(fk.parent_columns)]
            values = _keys.link_values(parent_keys, links[i], list(fk.columns))
            for c in fk.columns:
                out[fk.table][c] = values[c].array
        return out

    def _draw(
        self,
        table: str,
        scale: float,
        counts: dict[int, np.ndarray],
        out: dict[str, pd.DataFrame],
        rng: np.random.Generator,
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """The table's non-key columns, and each row's parent position along its driver."""
        model, driver = self.models_[table], self.drivers_[table]
        seed = int(rng.integers(0, 2**62))
        if driver is None:
            n = max(1, round(scale * self.sizes_[table])) if self.sizes_[table] else 0
            return _sample(model, n, seed), np.full(n, -1, dtype=np.int64)
        fk = self.metadata_.foreign_keys[driver]
        per_parent = counts[driver]
        if set(self.metadata_.primary_keys.get(table, [])) <= set(fk.columns):
            per_parent = np.minimum(per_parent, 1)  # the key is the link: one child at most
        slots = np.repeat(np.arange(len(per_parent)), per_parent)
        orphans = round(scale * self.orphans_[table])
        rows = _sample(model, len(slots) + orphans, seed)
        pos = np.full(len(rows), -1, dtype=np.int64)
        linked = np.sort(rng.permutation(len(rows))[: len(slots)])
        context = self.context_.get(table)
        if context and len(slots):
            axis = self.axes_[table]
            drawn = axis.score(rows.iloc[linked][context])
            parent = out[fk.parent].iloc[slots][[c[len("__ctx_") :] for c in context]]
            parent.columns = context
            wanted = axis.score(parent)
            child_rank = np.lexsort((rng.random(len(linked)), drawn))
            slot_rank = np.lexsort((rng.random(len(slots)), wanted))
            pos[linked[child_rank]] = slots[slot_rank]
        else:
            pos[linked] = rng.permutation(slots)
        order = np.lexsort((np.arange(len(pos)), np.where(pos < 0, len(per_parent), pos)))
        rows = rows.iloc[order].reset_index(drop=True)
        rows = rows.drop(columns=context or [])
        return rows, pos[order]

    def _unique_rows(self, table: str, n: int, links: dict[int, np.ndarray]) -> np.ndarray:
        """Rows to keep: when the primary key is made of links, repeated keys are dropped."""
        key = self.metadata_.primary_keys.get(table, [])
        parts = {}
        for i, fk in enumerate(self.metadata_.foreign_keys):
            if fk.table == table and i in links and set(fk.columns) & set(key):
                parts[i] = links[i]
        covered = {c for i in parts for c in self.metadata_.foreign_keys[i].columns}
        if not key or not set(key) <= covered:
            return np.ones(n, dtype=bool)
        frame = pd.DataFrame({f"k{i}": p for i, p in parts.items()})
        return ~frame.duplicated().to_numpy()

    def _with_keys(
        self,
        table: str,
        rows: pd.DataFrame,
        links: dict[int, np.ndarray],
        out: dict[str, pd.DataFrame],
    ) -> pd.DataFrame:
        """The table in its real column order, with new primary keys and linked foreign keys."""
        meta = self.metadata_
        values: dict[str, Any] = {}
        for i, fk in enumerate(meta.foreign_keys):
            if fk.table != table:
                continue
            if i in links:
                parent_keys = out[fk.parent][list(fk.parent_columns)]
                linked = _keys.link_values(parent_keys, links[i], list(fk.columns))
                values |= {c: linked[c].array for c in fk.columns}
            else:  # deferred: filled in once every table exists
                values |= {c: np.full(len(rows), None, dtype=object) for c in fk.columns}
        key = meta.primary_keys.get(table, [])
        linked_part = [c for c in key if c in values]
        groups = pd.DataFrame({k: values[k] for k in linked_part}, index=pd.RangeIndex(len(rows)))
        numbers = _keys.counter_within(groups)  # unique together with the linked part
        for c in key:
            if c not in values:
                values[c] = self.key_kinds_[table][c].values(numbers).to_numpy()
        frame = rows.copy()
        for c, v in values.items():
            frame[c] = v
        columns = list(meta.tables[table].columns)
        return frame[[c for c in columns if c in frame.columns]]


def _names_any(rule: Any, columns: set[str]) -> bool:
    """Whether a constraint declaration mentions any of ``columns`` anywhere in it."""
    if isinstance(rule, str):
        return rule in columns
    if isinstance(rule, dict):
        return any(_names_any(v, columns) for v in rule.values())
    if isinstance(rule, list | tuple):
        return any(_names_any(v, columns) for v in rule)
    return False


def _sample(model: Any, n: int, seed: int) -> pd.DataFrame:
    if n == 0:
        return model.sample(1, seed=seed).iloc[:0].reset_index(drop=True)
    return model.sample(n, seed=seed).reset_index(drop=True)
