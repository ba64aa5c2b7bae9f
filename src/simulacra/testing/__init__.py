"""The conformance suite every synthesizer family passes.

``check_synthesizer("copula")`` runs each check on a small mixed table and
raises ``AssertionError`` naming the first broken promise. The test suite
runs it for every registered family, so a new family gets these checks by
being registered.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from simulacra._datetimes import parse_datetimes
from simulacra.errors import NotFittedError
from simulacra.metadata import Metadata
from simulacra.synthesizers._dp import DifferentiallyPrivate
from simulacra.synthesizers.registry import create, family_class

__all__ = ["CHECKS", "check_synthesizer", "conformance_table", "quick_create"]


def conformance_table(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """A small table with every column kind: numbers, categories, dates, gaps, id, PII."""
    rng = np.random.default_rng(seed)
    x = rng.normal(50, 10, rows)
    df = pd.DataFrame(
        {
            "user_id": np.arange(1, rows + 1),
            "email": [f"user{i}@example.com" for i in range(rows)],
            "amount": np.round(x * 3 + rng.normal(0, 5, rows), 2),
            "count": rng.poisson(3, rows),
            "group": rng.choice(["a", "b", "c"], rows),
            "flag": rng.random(rows) < 0.3,
            "day": (
                pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), "D")
            ).strftime("%Y-%m-%d"),
        }
    )
    df.loc[rng.random(rows) < 0.1, "amount"] = np.nan
    df.loc[rng.random(rows) < 0.1, "group"] = None
    return df


def quick_create(family: str, **params):
    """A new synthesizer with the family's ``quick_params`` (a few epochs for a network)."""
    return create(family, **{**family_class(family).quick_params, **params})


def _fitted(family: str, data: pd.DataFrame):
    return quick_create(family, seed=0).fit(data)


def check_fit_returns_self_and_keeps_input(family: str, data: pd.DataFrame) -> None:
    before = data.copy(deep=True)
    model = quick_create(family, seed=0)
    assert model.fit(data) is model, "fit must return self"
    pd.testing.assert_frame_equal(data, before, obj="fit changed the caller's DataFrame")


def check_not_fitted(family: str, data: pd.DataFrame) -> None:
    model = quick_create(family, seed=0)
    for call in (lambda: model.sample(5), lambda: model.save("never.simz")):
        try:
            call()
        except NotFittedError:
            continue
        raise AssertionError("sample/save before fit must raise NotFittedError")


def check_seed_determinism(family: str, data: pd.DataFrame) -> None:
    """Same seed and data, same rows; a DP family (unseeded noise) promises it per model."""
    model = _fitted(family, data)
    a = model.sample(300)
    again = _fitted(family, data) if family_class(family).deterministic_fit else model
    b = again.sample(300)
    pd.testing.assert_frame_equal(a, b, obj="same seed, same data: rows differ")
    c = model.sample(300, seed=99)
    assert not a.equals(c), "a different seed must give different rows"


def check_batches_match_sample(family: str, data: pd.DataFrame) -> None:
    model = _fitted(family, data)
    whole = model.sample(1000)
    batches = list(model.sample_batches(1000, batch_size=300))
    assert [len(b) for b in batches] == [300, 300, 300, 100], "wrong batch sizes"
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), whole)


def check_save_load(family: str, data: pd.DataFrame) -> None:
    from simulacra.persist import load_model

    model = _fitted(family, data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.simz"
        model.save(path)
        loaded = load_model(path)
    assert type(loaded) is type(model), "load gave another family"
    pd.testing.assert_frame_equal(loaded.sample(200), model.sample(200), obj="rows after load")


def check_output_matches_metadata(family: str, data: pd.DataFrame) -> None:
    meta = Metadata.detect(data)
    model = quick_create(family, seed=0).fit(data, metadata=meta)
    out = model.sample(2000)
    # a DP family's shares carry its noise and clipping's pull (dp-autoregressive's quick
    # model: up to 0.09 over 20 fits); the others are held to sampling error and a little more
    drift = 0.12 if isinstance(model, DifferentiallyPrivate) else 0.05
    assert list(out.columns) == list(data.columns), "columns or their order differ"
    for name, col in meta.columns.items():
        values = out[name]
        present = values.dropna()
        if col.type == "numerical":
            assert present.min() >= col.min and present.max() <= col.max, f"{name}: out of bounds"
            if col.integer:
                assert pd.api.types.is_integer_dtype(values.dtype), f"{name}: ints became floats"
            elif col.decimals is not None:
                assert np.allclose(present, present.round(col.decimals)), f"{name}: precision"
        if col.type == "categorical":
            tail = getattr(model.processor_.transforms_[name], "tail_", [])  # open tail: new labels
            known = set(col.categories or []) | {"(other)"}
            assert set(present) <= known | set(tail), f"{name}: new values"
            rare = set(data[name].dropna()) - known
            assert not rare & set(present), f"{name}: a rare real value came back"
        if col.type == "datetime":
            parsed = parse_datetimes(present, col.format)
            assert parsed.min() >= pd.Timestamp(col.min), f"{name}: before the learned minimum"
            assert parsed.max() <= pd.Timestamp(col.max), f"{name}: after the learned maximum"
        if col.type == "id":
            assert values.is_unique, f"{name}: regenerated ids repeat"
        if col.type == "pii":
            real = set(data[name].dropna())
            assert not real & set(present), f"{name}: a real PII value leaked"
        real_share = data[name].isna().mean()
        assert abs(values.isna().mean() - real_share) < drift, f"{name}: null share drifted"


def check_dtypes_kept(family: str, data: pd.DataFrame) -> None:
    """Each column comes back in the training DataFrame's dtype; a plain int or bool column
    that a sample gives gaps becomes its nullable kind (``Int64``, ``boolean``)."""
    out = _fitted(family, data).sample(300)
    for name, dtype in data.dtypes.items():
        got = out[name].dtype
        if got == dtype:
            continue
        nullable = {"i": "Int", "u": "UInt", "b": "boolean"}.get(getattr(dtype, "kind", ""))
        gaps = bool(out[name].isna().any())
        assert gaps and nullable and str(got).startswith(nullable), f"{name}: {dtype} -> {got}"


def check_conditions_honored(family: str, data: pd.DataFrame) -> None:
    meta = Metadata.detect(data)
    model = quick_create(family, seed=0).fit(data, metadata=meta)
    category = next(n for n, c in meta.columns.items() if c.type == "categorical")
    number = next(n for n, c in meta.columns.items() if c.type == "numerical")
    # conditions the model meets often (its own commonest category, the middle half of the
    # number among those rows): the check is about honouring them, not about how well a
    # few-epoch network learned the real shares, so a rare joint cell cannot exhaust rejection;
    # the ends are values the model gives (an interpolated quartile such as 100.05000000000001
    # reads as 100.05 at the column's precision, which a strict comparison would call outside)
    preview = model.sample(2000)
    value = preview[category].mode()[0]
    middle = preview.loc[preview[category] == value, number]
    low, high = middle.quantile([0.25, 0.75], interpolation="nearest")
    out = model.sample(300, conditions={category: value, number: (low, high)})
    assert len(out) == 300, "conditional sampling gave the wrong row count"
    assert (out[category] == value).all(), f"{category}: a row misses its condition"
    outside = out.loc[~out[number].between(low, high), number]
    assert outside.empty, f"{number}: {outside.head(3).tolist()} outside [{low}, {high}]"
    table = pd.DataFrame({category: data[category].dropna().iloc[:50].to_numpy()})
    per_row = model.sample(conditions=table)
    same = per_row[category].to_numpy() == table[category].to_numpy()
    assert same.all(), "one output row per condition row, in order"


def check_params_documented(family: str, data: pd.DataFrame) -> None:
    cls = family_class(family)
    assert cls.description, "the family needs a one-line description"
    assert cls.__doc__, "the family class needs a docstring"
    for p in cls.all_params():
        assert p.help and len(p.help) > 10, f"parameter {p.name!r} is not documented"
        p.check(p.default, family)


CHECKS: tuple[Callable[[str, pd.DataFrame], None], ...] = (
    check_fit_returns_self_and_keeps_input,
    check_not_fitted,
    check_seed_determinism,
    check_batches_match_sample,
    check_save_load,
    check_output_matches_metadata,
    check_dtypes_kept,
    check_conditions_honored,
    check_params_documented,
)


def check_synthesizer(family: str, data: pd.DataFrame | None = None) -> None:
    """Run every conformance check on ``family``; raise AssertionError on the first failure."""
    data = conformance_table() if data is None else data
    for check in CHECKS:
        try:
            check(family, data)
        except AssertionError as exc:
            raise AssertionError(f"{family}: {check.__name__}: {exc}") from exc
