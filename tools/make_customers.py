"""Make the bundled demo table ``src/simulacra/datasets/customers.csv``.

Every row is invented: names, emails and phones come from Faker, numbers from
the seeded model below. Run ``python tools/make_customers.py`` to rebuild it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from faker import Faker

ROWS = 2000
OUT = Path(__file__).resolve().parents[1] / "src/simulacra/datasets/customers.csv"


def make(rows: int = ROWS, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    names = [fake.name() for _ in range(rows)]
    emails = []
    for n in names:
        first, last = n.split()[0].lower(), n.split()[-1].lower()
        emails.append(f"{first}.{last}{rng.integers(1, 99)}@{fake.free_email_domain()}")
    phones = [fake.phone_number() for _ in range(rows)]
    segment = rng.choice(["retail", "business", "premium"], rows, p=[0.6, 0.3, 0.1])
    region = rng.choice(
        ["North", "South", "East", "West", "Central"], rows, p=[0.25, 0.25, 0.2, 0.2, 0.1]
    ).astype(object)
    region[rng.choice(rows, 2, replace=False)] = "Island"  # a rare value that must never leak
    age = np.clip(rng.normal(42, 13, rows), 18, 85).round().astype(int)
    base = {"retail": 38_000, "business": 62_000, "premium": 110_000}
    income = np.array([base[s] for s in segment]) * np.exp(rng.normal(0, 0.35, rows))
    income *= 1 + (age - 42) * 0.006
    orders = rng.poisson(np.clip(income / 12_000, 0.5, None))
    signup = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 6 * 365, rows), "D")
    gap = pd.to_timedelta(rng.exponential(200, rows) * 86_400, "s").round("s")
    last = signup + gap + pd.to_timedelta(rng.integers(0, 86_400, rows), "s")
    active = (last > pd.Timestamp("2023-06-01")) & (rng.random(rows) < 0.9)
    satisfaction = rng.choice(["low", "medium", "high"], rows, p=[0.2, 0.5, 0.3]).astype(object)
    df = pd.DataFrame(
        {
            "customer_id": [f"CUST-{i:05d}" for i in range(1, rows + 1)],
            "name": names,
            "email": emails,
            "phone": phones,
            "age": pd.array(age, dtype="Int64"),
            "region": region,
            "segment": segment,
            "income": income.round(2),
            "orders": orders,
            "signup_date": signup.strftime("%Y-%m-%d"),
            "last_purchase": last.strftime("%Y-%m-%d %H:%M:%S"),
            "is_active": active,
            "satisfaction": satisfaction,
        }
    )
    df.loc[rng.random(rows) < 0.04, "age"] = pd.NA
    df.loc[rng.random(rows) < 0.08, "income"] = np.nan
    df.loc[rng.random(rows) < 0.12, "satisfaction"] = None
    return df


if __name__ == "__main__":
    make().to_csv(OUT, index=False)
    print(f"wrote {OUT}")
