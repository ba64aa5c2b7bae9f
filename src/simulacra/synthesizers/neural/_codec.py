"""Per-column encodings a network learns from, and back (numpy only, no torch).

Each encoded column becomes one or two *parts*: a number (a float the network
regresses) or a category (an integer code with a cardinality the network
classifies). :class:`TableCodec` chooses per family how numbers are shown:

- ``"modes"``: mode-specific normalisation (CTGAN, TVAE): a Gaussian mixture
  per column; a value is its mode (a category) and its offset in that mode.
- ``"normal"``: normal scores through the empirical CDF (TabDDPM): one number.
- ``"bins"``: quantile bins with frequent values as bins of their own
  (TabularARGN): one category, drawn back uniformly within its bin.

Categories with more than ``cap`` levels keep the ``cap - 1`` most common and
pool the rest as "other", drawn back from the rest's own shares, so that no
encoding grows with the number of levels.

With ``fold_nulls``, a column that has gaps (a ``#null`` indicator) gets one
more code, "missing", instead of a separate indicator part: the network then
never learns from the stand-in values that fill the gaps.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from simulacra.processor import NULL_SUFFIX, EncodedColumn
from simulacra.synthesizers._marginals import (
    MIN_ROWS_PER_POINT,
    fit_continuous,
    from_uniform,
    to_uniform,
)

__all__ = ["Capped", "ModeNormal", "NormalScores", "Part", "QuantileBins", "TableCodec"]

MODE_SAMPLE = 5000  # rows a Gaussian mixture is fitted on
MODE_MIN_WEIGHT = 0.005
POINT_SHARE = 0.005  # a value held by this share of rows is a point, restored by rank
MAX_POINTS = 50
QUANTILE_BINS = 100  # bins per number where a family shows numbers as bins


@dataclass(frozen=True)
class Part:
    """One input/output slot of a network: a number, or a category of ``cardinality`` codes."""

    column: str
    kind: str  # "number" or "category"
    cardinality: int = 1


class Capped:
    """Category codes with at most ``cap`` levels: the most common kept, the rest pooled."""

    def __init__(self, cap: int) -> None:
        self.cap = cap

    def fit(self, codes: np.ndarray, cardinality: int) -> Capped:
        counts = np.bincount(codes, minlength=cardinality).astype(np.float64)
        order = np.argsort(-counts, kind="stable")
        if cardinality <= self.cap:
            self.keep_ = np.arange(cardinality)
            self.rest_, self.rest_probs_ = np.zeros(0, np.int64), np.zeros(0)
        else:
            self.keep_ = np.sort(order[: self.cap - 1])
            rest = order[self.cap - 1 :]
            self.rest_ = rest[counts[rest] > 0]
            share = counts[self.rest_]
            self.rest_probs_ = share / share.sum() if share.sum() else share
        self.cardinality_ = cardinality
        return self

    @property
    def width(self) -> int:
        return len(self.keep_) + (1 if len(self.rest_) else 0)

    def lookup(self) -> np.ndarray:
        """Capped code of every original code (pooled ones map to the last)."""
        table = np.full(self.cardinality_, self.width - 1, dtype=np.int64)
        table[self.keep_] = np.arange(len(self.keep_))
        return table

    def encode(self, codes: np.ndarray) -> np.ndarray:
        return self.lookup()[codes]

    def decode(self, capped: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = self.keep_[np.minimum(capped, len(self.keep_) - 1)] if len(self.keep_) else capped
        pooled = capped >= len(self.keep_)
        if pooled.any():
            out = out.copy()
            out[pooled] = rng.choice(self.rest_, int(pooled.sum()), p=self.rest_probs_)
        return out.astype(np.int64)

    def allowed(self, allowed: np.ndarray) -> np.ndarray | None:
        """Capped-code masks for original-code masks; ``None`` where a pooled code is split."""
        out = np.zeros((len(allowed), self.width), dtype=bool)
        out[:, : len(self.keep_)] = allowed[:, self.keep_]
        if len(self.rest_):
            rest = allowed[:, self.rest_]
            if not (rest.all(axis=1) | ~rest.any(axis=1)).all():
                return None
            out[:, -1] = rest.any(axis=1)
        return out

    def get_state(self) -> dict[str, Any]:
        return {
            "cap": self.cap,
            "keep": self.keep_,
            "rest": self.rest_,
            "rest_probs": self.rest_probs_,
            "cardinality": self.cardinality_,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Capped:
        obj = cls(int(state["cap"]))
        obj.keep_ = np.asarray(state["keep"], np.int64)
        obj.rest_ = np.asarray(state["rest"], np.int64)
        obj.rest_probs_ = np.asarray(state["rest_probs"], np.float64)
        obj.cardinality_ = int(state["cardinality"])
        return obj


class ModeNormal:
    """Mode-specific normalisation: a variational Gaussian mixture, value = (mode, offset).

    Values that many rows share (round wages, whole years, a count's steps)
    are *points*: a drawn batch is put back on them by rank, so that the
    rows whose rank in the batch falls where a point's rows sit in the data
    (its share of the column, at its place in the order) take exactly that
    value. A monotone map of each column, it keeps the network's joint shape
    (two delays that rise together still do) and gives each spike its share.
    A value is a point when ``POINT_SHARE`` of the rows (and at least
    ``MIN_ROWS_PER_POINT``) hold it; the ``MAX_POINTS`` most common are kept.
    """

    def __init__(self, max_modes: int = 10) -> None:
        self.max_modes = max_modes

    def fit(self, x: np.ndarray, rng: np.random.Generator) -> ModeNormal:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import BayesianGaussianMixture

        self.points_, self.spans_ = _points(x)
        sample = x if len(x) <= MODE_SAMPLE else rng.choice(x, MODE_SAMPLE, replace=False)
        spread = float(np.std(sample))
        if len(np.unique(sample)) < 2 or spread == 0:
            self.means_, self.stds_ = np.array([float(np.mean(x))]), np.array([1.0])
            self.weights_ = np.array([1.0])
            return self
        modes = min(self.max_modes, len(np.unique(sample)))
        mixture = BayesianGaussianMixture(
            n_components=modes,
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=0.001,
            reg_covar=(1e-6 * spread) ** 2 + 1e-12,
            max_iter=100,
            random_state=int(rng.integers(2**31)),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mixture.fit(sample.reshape(-1, 1))
        keep = mixture.weights_ > MODE_MIN_WEIGHT
        keep[np.argmax(mixture.weights_)] = True
        self.means_ = mixture.means_.ravel()[keep]
        self.stds_ = np.sqrt(mixture.covariances_.ravel()[keep])
        self.weights_ = mixture.weights_[keep] / mixture.weights_[keep].sum()
        return self

    @property
    def modes(self) -> int:
        return len(self.means_)

    def encode(self, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Each value's offset in ``[-1, 1]`` (four deviations) and its mode, drawn by posterior."""
        z = (x[:, None] - self.means_[None, :]) / self.stds_[None, :]
        log_post = np.log(self.weights_)[None, :] - 0.5 * z**2 - np.log(self.stds_)[None, :]
        gumbel = -np.log(-np.log(rng.random(log_post.shape) + 1e-300) + 1e-300)
        mode = np.argmax(log_post + gumbel, axis=1)
        offset = np.clip(z[np.arange(len(x)), mode] / 4.0, -1.0, 1.0)
        return offset, mode.astype(np.int64)

    def decode(self, offset: np.ndarray, mode: np.ndarray) -> np.ndarray:
        """Values from offsets and modes, the batch put back on its points by rank."""
        x = np.clip(offset, -1.0, 1.0) * 4.0 * self.stds_[mode] + self.means_[mode]
        if not len(self.points_) or not len(x):
            return x
        rank = np.empty(len(x))
        rank[np.argsort(x, kind="stable")] = (np.arange(len(x)) + 0.5) / len(x)
        at = np.clip(np.searchsorted(self.spans_[:, 0], rank, side="right") - 1, 0, None)
        on = (rank >= self.spans_[at, 0]) & (rank < self.spans_[at, 1])
        return np.where(on, self.points_[at], x)

    def get_state(self) -> dict[str, Any]:
        return {
            "means": self.means_,
            "stds": self.stds_,
            "weights": self.weights_,
            "points": self.points_,
            "spans": self.spans_,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ModeNormal:
        obj = cls()
        obj.means_, obj.stds_ = np.asarray(state["means"]), np.asarray(state["stds"])
        obj.weights_ = np.asarray(state["weights"])
        obj.points_ = np.asarray(state.get("points", np.zeros(0)), dtype=np.float64)
        obj.spans_ = np.asarray(state.get("spans", np.zeros((0, 2))), dtype=np.float64)
        return obj


def _points(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The values many rows share (see :class:`ModeNormal`), sorted, and the span of ranks
    (shares of the column below the value, and up to it) their rows hold."""
    values, counts = np.unique(x, return_counts=True)
    common = counts >= max(MIN_ROWS_PER_POINT, POINT_SHARE * len(x))
    keep = np.flatnonzero(common)[np.argsort(-counts[common], kind="stable")[:MAX_POINTS]]
    keep.sort()
    below = (np.cumsum(counts) - counts) / len(x)
    return values[keep].astype(np.float64), np.column_stack([below, below + counts / len(x)])[keep]


class NormalScores:
    """Normal scores through the column's empirical quantiles (ties broken at random)."""

    def fit(self, x: np.ndarray, rng: np.random.Generator) -> NormalScores:
        self.marginal_ = fit_continuous(x, "empirical", rng)
        return self

    def encode(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return special.ndtri(np.clip(to_uniform(self.marginal_, x, rng), 1e-6, 1 - 1e-6))

    def decode(self, z: np.ndarray) -> np.ndarray:
        return from_uniform(self.marginal_, special.ndtr(z))

    def get_state(self) -> dict[str, Any]:
        return {"grid": self.marginal_["grid"]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> NormalScores:
        obj = cls()
        obj.marginal_ = {"kind": "grid", "grid": np.asarray(state["grid"])}
        return obj


class QuantileBins:
    """A number as a category: frequent values are bins of their own, the rest quantile bins.

    A column with at most ``bins`` distinct values keeps every value as a bin,
    so it comes back exactly; otherwise values held by at least half a bin's
    share of rows (and two rows: a value one row holds is never kept) are point
    bins and the others are cut at quantiles, drawn back uniformly between the
    bin's edges.
    """

    def __init__(self, bins: int = QUANTILE_BINS) -> None:
        self.bins = bins

    def fit(self, x: np.ndarray, rng: np.random.Generator) -> QuantileBins:
        values, counts = np.unique(x, return_counts=True)
        if len(values) <= self.bins:
            self.points_, self.edges_ = values, np.zeros(0)
            return self
        points = values[counts >= max(len(x) / (2 * self.bins), 2)]
        rest = x[~np.isin(x, points)]
        if not len(rest):  # every value is held by many rows
            self.points_, self.edges_ = points, np.zeros(0)
            return self
        cuts = max(1, self.bins - len(points))
        edges = np.unique(np.quantile(rest, np.linspace(0.0, 1.0, cuts + 1)))
        self.points_ = points
        self.edges_ = edges if len(edges) >= 2 else np.array([rest.min(), rest.max()])
        return self

    @property
    def width(self) -> int:
        return len(self.points_) + max(len(self.edges_) - 1, 0)

    def encode(self, x: np.ndarray) -> np.ndarray:
        code = np.empty(len(x), dtype=np.int64)
        pos = np.clip(np.searchsorted(self.points_, x), 0, max(len(self.points_) - 1, 0))
        is_point = self.points_[pos] == x if len(self.points_) else np.zeros(len(x), dtype=bool)
        code[is_point] = pos[is_point]
        if len(self.edges_):
            interval = np.searchsorted(self.edges_, x[~is_point], side="right") - 1
            interval = np.clip(interval, 0, len(self.edges_) - 2)
            code[~is_point] = len(self.points_) + interval
        return code

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Each bin's lowest and highest value."""
        low = np.concatenate([self.points_, self.edges_[:-1]])
        high = np.concatenate([self.points_, self.edges_[1:]])
        return low, high

    def decode(
        self,
        code: np.ndarray,
        rng: np.random.Generator,
        low: np.ndarray | None = None,
        high: np.ndarray | None = None,
    ) -> np.ndarray:
        """Values back, uniform within their bin (and within ``low``/``high`` where given)."""
        lo, hi = self.bounds()
        a, b = lo[code], hi[code]
        if low is not None and high is not None:
            a, b = np.maximum(a, low), np.minimum(b, high)
        return a + rng.random(len(code)) * (b - a)

    def allowed(self, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Which bins meet ``low <= value <= high``, per row."""
        lo, hi = self.bounds()
        return (lo[None, :] <= high[:, None]) & (hi[None, :] >= low[:, None])

    def get_state(self) -> dict[str, Any]:
        return {"bins": self.bins, "points": self.points_, "edges": self.edges_}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> QuantileBins:
        obj = cls(int(state["bins"]))
        obj.points_, obj.edges_ = np.asarray(state["points"]), np.asarray(state["edges"])
        return obj


_NUMBERS = {"modes": ModeNormal, "normal": NormalScores, "bins": QuantileBins}


class TableCodec:
    """The encoded table <-> a network's parts: ``numbers`` (floats) and ``codes`` (ints).

    ``parts`` lists every part in order; ``numbers`` columns follow the number
    parts and ``codes`` columns the category parts, each in that order.
    """

    def __init__(
        self,
        numbers: str = "modes",
        cap: int = 100,
        bins: int = QUANTILE_BINS,
        fold_nulls: bool = False,
    ) -> None:
        if numbers not in _NUMBERS:
            raise ValueError(f"numbers must be one of {sorted(_NUMBERS)}, got {numbers!r}")
        if fold_nulls and numbers != "bins":
            raise ValueError("fold_nulls needs every column as a category (numbers='bins')")
        self.numbers, self.cap, self.bins, self.fold_nulls = numbers, cap, bins, fold_nulls

    def fit(self, data: pd.DataFrame, columns: list[EncodedColumn], rng) -> TableCodec:
        self.columns_ = [(c.name, c.kind, c.cardinality or 1) for c in columns]
        names = {c.name for c in columns}
        self.folded_ = {
            c.name: c.name + NULL_SUFFIX
            for c in columns
            if self.fold_nulls and c.name + NULL_SUFFIX in names
        }
        self.encoders_: dict[str, Any] = {}
        for name, kind, card in self.columns_:
            if name in self.folded_.values():
                continue
            values = data[name].to_numpy()
            if name in self.folded_:
                values = values[data[self.folded_[name]].to_numpy() == 0]
            if kind == "discrete":
                self.encoders_[name] = Capped(self.cap).fit(values.astype(np.int64), card)
            elif self.numbers == "bins":
                self.encoders_[name] = QuantileBins(self.bins).fit(values.astype(float), rng)
            else:
                self.encoders_[name] = _NUMBERS[self.numbers]().fit(values.astype(float), rng)
        return self

    def _learned(self) -> list[tuple[str, str, int]]:
        """The columns that are parts of their own (folded indicators are not)."""
        folded = set(self.folded_.values())
        return [c for c in self.columns_ if c[0] not in folded]

    def missing_code(self, name: str) -> int | None:
        """The "missing" code of a folded column, or ``None``."""
        return self.encoders_[name].width if name in self.folded_ else None

    @property
    def parts(self) -> list[Part]:
        out = []
        for name, kind, _ in self._learned():
            enc = self.encoders_[name]
            if kind == "discrete" or self.numbers == "bins":
                out.append(Part(name, "category", enc.width + (name in self.folded_)))
            elif self.numbers == "modes":
                out += [Part(name, "number"), Part(name, "category", enc.modes)]
            else:
                out.append(Part(name, "number"))
        return out

    @property
    def number_parts(self) -> list[Part]:
        return [p for p in self.parts if p.kind == "number"]

    @property
    def category_parts(self) -> list[Part]:
        return [p for p in self.parts if p.kind == "category"]

    def encode(self, data: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``(numbers float32 (n, number parts), codes int64 (n, category parts))``."""
        numbers, codes = [], []
        for name, kind, _ in self._learned():
            enc, values = self.encoders_[name], data[name].to_numpy()
            if kind == "discrete" or self.numbers == "bins":
                code = enc.encode(values.astype(np.int64 if kind == "discrete" else float))
                if name in self.folded_:
                    code[data[self.folded_[name]].to_numpy() == 1] = enc.width
                codes.append(code)
            elif self.numbers == "modes":
                offset, mode = enc.encode(values.astype(float), rng)
                numbers.append(offset)
                codes.append(mode)
            else:
                numbers.append(enc.encode(values.astype(float), rng))
        n = len(data)
        num = np.stack(numbers, axis=1) if numbers else np.zeros((n, 0))
        cat = np.stack(codes, axis=1) if codes else np.zeros((n, 0), dtype=np.int64)
        return num.astype(np.float32), cat.astype(np.int64)

    def decode(
        self,
        numbers: np.ndarray,
        codes: np.ndarray,
        rng: np.random.Generator,
        bounds: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> pd.DataFrame:
        """The encoded table back from parts; ``bounds`` keep binned draws inside a range."""
        out: dict[str, np.ndarray] = {}
        i = j = 0
        for name, kind, _ in self._learned():
            enc = self.encoders_[name]
            code = codes[:, j] if codes.shape[1] > j else None
            if name in self.folded_:
                missing = code == enc.width
                out[self.folded_[name]] = missing.astype(np.int64)
                code = np.where(missing, 0, code)  # any real code stands in for a gap
            if kind == "discrete":
                out[name] = enc.decode(code, rng)
                j += 1
            elif self.numbers == "bins":
                low, high = (bounds or {}).get(name, (None, None))
                if low is not None and name in self.folded_:  # a gap needs no bounds
                    low, high = np.where(missing, -np.inf, low), np.where(missing, np.inf, high)
                out[name] = enc.decode(code, rng, low, high)
                j += 1
            elif self.numbers == "modes":
                out[name] = enc.decode(numbers[:, i].astype(np.float64), codes[:, j])
                i, j = i + 1, j + 1
            else:
                out[name] = enc.decode(numbers[:, i].astype(np.float64))
                i += 1
        return pd.DataFrame(out)[[c[0] for c in self.columns_]]

    def get_state(self) -> dict[str, Any]:
        return {
            "numbers": self.numbers,
            "cap": self.cap,
            "bins": self.bins,
            "fold_nulls": self.fold_nulls,
            "folded": dict(self.folded_),
            "columns": [list(c) for c in self.columns_],
            "encoders": {k: e.get_state() for k, e in self.encoders_.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TableCodec:
        codec = cls(state["numbers"], int(state["cap"]), int(state["bins"]), state["fold_nulls"])
        codec.columns_ = [(str(a), str(b), int(c)) for a, b, c in state["columns"]]
        codec.folded_ = {str(k): str(v) for k, v in state["folded"].items()}
        codec.encoders_ = {}
        for name, kind, _ in codec._learned():
            sub = state["encoders"][name]
            if kind == "discrete":
                codec.encoders_[name] = Capped.from_state(sub)
            else:
                codec.encoders_[name] = _NUMBERS[codec.numbers].from_state(sub)
        return codec
