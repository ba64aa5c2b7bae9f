"""Small demo tables that ship with simulacra (see ``datasets/README.md`` for their origin)."""

from __future__ import annotations

from importlib import resources

import pandas as pd

from simulacra.io import read_table

__all__ = ["customers_path", "load_customers"]


def customers_path() -> str:
    """Path of the bundled ``customers.csv``."""
    return str(resources.files("simulacra.datasets").joinpath("customers.csv"))


def load_customers() -> pd.DataFrame:
    """The demo table: 2,000 made-up customers of a fictional shop.

    Numbers, categories, dates, a boolean, missing values, an id and PII columns.
    """
    return read_table(customers_path())
