"""Shared fixtures: small tables the tests make themselves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.testing import conformance_table


@pytest.fixture
def mixed() -> pd.DataFrame:
    return conformance_table(rows=400, seed=0)


@pytest.fixture
def correlated() -> pd.DataFrame:
    """Two correlated numbers, a category that shifts one of them, and gaps."""
    rng = np.random.default_rng(42)
    n = 5000
    x = rng.normal(0, 1, n)
    group = rng.choice(["low", "high"], n, p=[0.7, 0.3])
    y = 0.8 * x + 0.6 * rng.normal(0, 1, n) + np.where(group == "high", 2.0, 0.0)
    df = pd.DataFrame({"x": x.round(3), "y": y.round(3), "group": group})
    df.loc[rng.random(n) < 0.1, "y"] = np.nan
    return df
