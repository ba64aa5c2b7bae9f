"""Multi-table metadata and hierarchical synthesis: keys that join, shapes that survive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import simulacra
from simulacra.errors import (
    InvalidDataError,
    InvalidParameterError,
    ModelFileError,
    NotFittedError,
)
from simulacra.relational import ForeignKey, MultiTableMetadata, load_multi


def shop_tables(seed: int = 0, customers: int = 150) -> dict[str, pd.DataFrame]:
    """13 related tables, depth 5: a self-reference, composite keys, a bridge table,
    two links to one parent, a key that is also a link; richer customers order more."""
    rng = np.random.default_rng(seed)
    regions = pd.DataFrame({"id": [1, 2, 3, 4], "climate": ["cold", "mild", "hot", "mild"]})
    suppliers = pd.DataFrame({"id": np.arange(1, 9), "country": rng.choice(["DE", "FR", "US"], 8)})
    categories = pd.DataFrame({"id": np.arange(1, 7), "label": ["a", "b", "c", "d", "e", "f"]})
    products = pd.DataFrame(
        {
            "id": np.arange(1, 41),
            "category_id": rng.integers(1, 7, 40),
            "price": rng.gamma(2.0, 10.0, 40).round(2),
        }
    )
    stores = pd.DataFrame(
        {
            "id": np.arange(1, 13),
            "region_id": rng.integers(1, 5, 12),
            "size": rng.integers(100, 1000, 12),
        }
    )
    n = customers
    segment = rng.choice(["retail", "business"], n, p=[0.7, 0.3])
    customers_df = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "region_id": rng.integers(1, 5, n),
            "segment": segment,
            "income": (rng.lognormal(3.5, 0.4, n) * np.where(segment == "business", 3, 1)).round(1),
        }
    )
    # bigger income, more orders
    lam = customers_df["income"].to_numpy() / customers_df["income"].mean() * 2.0
    per = rng.poisson(lam)
    cust = np.repeat(customers_df["id"].to_numpy(), per)
    m = len(cust)
    seg_of = customers_df.set_index("id")["segment"]
    orders = pd.DataFrame(
        {
            "id": np.arange(1, m + 1),
            "customer_id": cust,
            "store_id": rng.choice(stores["id"], m, p=np.arange(1, 13) / 78),
            "channel": rng.choice(["web", "shop"], m),
        }
    )
    orders["amount"] = (
        rng.gamma(2.0, 20.0, m) * np.where(seg_of.loc[cust].to_numpy() == "business", 4, 1)
    ).round(2)
    k = rng.integers(1, 4, m)
    oi = pd.DataFrame(
        {
            "order_id": np.repeat(orders["id"].to_numpy(), k),
            "product_id": rng.integers(1, 41, k.sum()),
            "quantity": rng.integers(1, 5, k.sum()),
        }
    )
    oi.insert(1, "line_no", oi.groupby("order_id").cumcount() + 1)
    pick = rng.choice(len(oi), len(oi) // 10, replace=False)
    returns = pd.DataFrame(
        {
            "id": np.arange(1, len(pick) + 1),
            "order_id": oi["order_id"].to_numpy()[pick],
            "line_no": oi["line_no"].to_numpy()[pick],
            "reason": rng.choice(["broken", "late", "wrong"], len(pick)),
        }
    )
    e = 30
    manager = np.concatenate([[np.nan, np.nan], rng.integers(1, np.arange(3, e + 1))]).astype(float)
    employees = pd.DataFrame(
        {
            "id": np.arange(1, e + 1),
            "store_id": rng.integers(1, 13, e),
            "manager_id": manager,
            "salary": rng.normal(3000, 500, e).round(0),
        }
    )
    transfers = pd.DataFrame(
        {
            "id": np.arange(1, 41),
            "from_store_id": rng.integers(1, 13, 40),
            "to_store_id": rng.integers(1, 13, 40),
            "units": rng.integers(1, 50, 40),
        }
    )
    pairs = pd.DataFrame(
        {"product_id": rng.integers(1, 41, 80), "supplier_id": rng.integers(1, 9, 80)}
    )
    product_suppliers = pairs.drop_duplicates().reset_index(drop=True)
    members = rng.choice(customers_df["id"], n // 2, replace=False)
    loyalty = pd.DataFrame(
        {"customer_id": np.sort(members), "points": rng.integers(0, 500, n // 2)}
    )
    return {
        "loyalty": loyalty,
        "regions": regions,
        "suppliers": suppliers,
        "categories": categories,
        "products": products,
        "stores": stores,
        "customers": customers_df,
        "orders": orders,
        "order_items": oi,
        "returns": returns,
        "employees": employees,
        "transfers": transfers,
        "product_suppliers": product_suppliers,
    }


@pytest.fixture(scope="module")
def shop() -> dict[str, pd.DataFrame]:
    return shop_tables()


@pytest.fixture(scope="module")
def shop_meta(shop: dict[str, pd.DataFrame]) -> MultiTableMetadata:
    return MultiTableMetadata.detect(shop)


def links_of(meta: MultiTableMetadata) -> set[tuple[str, tuple[str, ...], str]]:
    return {(fk.table, fk.columns, fk.parent) for fk in meta.foreign_keys}


def assert_integrity(tables: dict[str, pd.DataFrame], meta: MultiTableMetadata) -> None:
    """Unique, complete primary keys; every link points at an existing parent row."""
    for name, key in meta.primary_keys.items():
        df = tables[name]
        assert not df[key].isna().any().any(), name
        assert not df.duplicated(subset=key).any(), f"{name}: repeated key {key}"
    for fk in meta.foreign_keys:
        child = tables[fk.table][list(fk.columns)].dropna()
        parent = tables[fk.parent][list(fk.parent_columns)]
        parent.columns = list(fk.columns)
        joined = child.astype("int64").merge(parent.astype("int64"), how="left", indicator=True)
        assert (joined["_merge"] == "both").all(), f"orphans in {fk.name}"


def depth_of_forest(parent_of: dict[int, int]) -> int:
    """Longest chain to a root; fails on a cycle."""
    longest = 0
    for start in parent_of:
        seen, node = set(), start
        while node in parent_of:
            assert node not in seen, "self-reference has a cycle"
            seen.add(node)
            node = parent_of[node]
        longest = max(longest, len(seen))
    return longest


# ------------------------------------------------------------------ metadata
def test_detect_finds_every_kind_of_key(shop_meta):
    meta = shop_meta
    assert meta.primary_keys["orders"] == ["id"]
    assert meta.primary_keys["order_items"] == ["order_id", "line_no"]
    assert meta.primary_keys["product_suppliers"] == ["product_id", "supplier_id"]
    assert meta.primary_keys["loyalty"] == ["customer_id"]
    links = links_of(meta)
    assert ("returns", ("order_id", "line_no"), "order_items") in links  # composite
    assert ("returns", ("order_id",), "orders") not in links
    assert {
        ("transfers", ("from_store_id",), "stores"),
        ("transfers", ("to_store_id",), "stores"),
    } <= links
    assert ("loyalty", ("customer_id",), "customers") in links  # a key that is also a link
    assert ("product_suppliers", ("supplier_id",), "suppliers") in links  # bridge
    self_ref = [fk for fk in meta.foreign_keys if fk.self_reference]
    assert [(fk.table, fk.columns, fk.nullable) for fk in self_ref] == [
        ("employees", ("manager_id",), True)
    ]
    assert len(links) == 15
    for name, key in meta.primary_keys.items():
        assert all(meta.tables[name].columns[c].type == "id" for c in key)
    order, deferred = meta.dependency_order()
    assert deferred == self_ref
    for fk in meta.foreign_keys:
        if not fk.self_reference:
            assert order.index(fk.parent) < order.index(fk.table), fk.name


def test_detect_does_not_invent_links():
    tables = {
        "people": pd.DataFrame({"id": [1, 2, 3], "age": [20, 30, 40]}),
        "pets": pd.DataFrame({"pet_id": [1, 2], "legs": [4, 2], "owner": ["x", "y"]}),
    }
    meta = MultiTableMetadata.detect(tables)
    assert meta.foreign_keys == []
    assert meta.primary_keys == {"people": ["id"], "pets": ["pet_id"]}


def test_a_repeated_key_or_a_few_orphans_are_reported_not_detected_around():
    rng = np.random.default_rng(0)
    customers = pd.DataFrame(
        {"customer_id": np.arange(1, 401), "segment": rng.choice(["retail", "business"], 400)}
    )
    orders = pd.DataFrame(
        {"order_id": np.arange(1, 1201), "customer_id": rng.integers(1, 401, 1200)}
    )
    repeated = customers.copy()
    repeated.loc[2, "customer_id"] = 1  # one repeat: still the key, not (customer_id, segment)
    meta = MultiTableMetadata.detect({"customers": repeated, "orders": orders})
    assert meta.primary_keys["customers"] == ["customer_id"]
    assert links_of(meta) == {("orders", ("customer_id",), "customers")}
    with pytest.raises(InvalidDataError, match=r"primary key \['customer_id'\] repeats values"):
        simulacra.create_multi("hierarchical", seed=0).fit(
            {"customers": repeated, "orders": orders}
        )
    orphaned = orders.copy()
    orphaned.loc[:2, "customer_id"] = 9999  # three orphans: the link stays, and is reported
    meta = MultiTableMetadata.detect({"customers": customers, "orders": orphaned})
    assert links_of(meta) == {("orders", ("customer_id",), "customers")}
    with pytest.raises(InvalidDataError, match=r"3 row\(s\) refer to customers rows that do not"):
        simulacra.create_multi("hierarchical", seed=0).fit(
            {"customers": customers, "orders": orphaned}
        )


def test_json_round_trip(shop_meta, tmp_path):
    assert MultiTableMetadata.from_json(shop_meta.to_json()) == shop_meta
    path = tmp_path / "shop.json"
    shop_meta.to_json(path)
    assert MultiTableMetadata.from_json(path) == shop_meta
    data = shop_meta.to_dict()
    assert data["tables"]["order_items"]["primary_key"] == ["order_id", "line_no"]
    assert {"table", "columns", "parent", "parent_columns", "nullable"} == set(
        data["foreign_keys"][0]
    )


def test_json_with_bad_declarations_lists_them_all():
    text = (
        '{"tables": {"a": {"columns": {"id": {"type": "id"}}, "primary_key": ["nope"]}},'
        ' "foreign_keys": [{"table": "a", "columns": ["id"], "parent": "b",'
        ' "parent_columns": ["id"]}, {"table": "a"}]}'
    )
    with pytest.raises(InvalidDataError) as info:
        MultiTableMetadata.from_json(text)
    message = str(info.value)
    assert "primary key column 'nope'" in message
    assert "refers to table 'b', which is not given" in message
    assert "a foreign key must be an object" in message


def bad_tables() -> tuple[dict[str, pd.DataFrame], MultiTableMetadata]:
    tables = {
        "customers": pd.DataFrame({"id": [1, 2, 2, None], "age": [30, 40, 50, 60]}),
        "orders": pd.DataFrame({"id": [1, 2, 3, 4, 5], "customer_id": [1, 2, 7, 8, 7]}),
        "lines": pd.DataFrame({"order_id": [1, 1], "line_no": [1, 1], "qty": [3, 4]}),
    }
    meta = MultiTableMetadata.detect(
        {
            "customers": pd.DataFrame({"id": [1.0, 2.0], "age": [30, 40]}),
            **{k: v for k, v in tables.items() if k != "customers"},
        }
    )
    meta.primary_keys["customers"] = ["id"]
    meta.primary_keys["lines"] = ["order_id", "line_no"]
    meta.foreign_keys.append(ForeignKey("orders", ("id",), "warehouses", ("id",)))
    return tables, meta


def test_validate_lists_every_problem_at_once():
    tables, meta = bad_tables()
    with pytest.raises(InvalidDataError) as info:
        meta.validate(tables)
    problems = info.value.problems
    text = "\n".join(problems)
    assert "refers to table 'warehouses', which is not given" in text
    assert "table 'customers': primary key ['id'] has 1 row(s) with an empty value" in text
    assert "table 'customers': primary key ['id'] repeats values in 2 rows (e.g. 2.0)" in text
    assert "table 'lines': primary key ['order_id', 'line_no'] repeats values" in text
    assert "orders.customer_id: 3 row(s) refer to customers rows that do not exist (e.g. 7, 8)" in (
        text
    )
    assert len(problems) == 5, problems


def test_a_cycle_needs_a_nullable_link():
    a = pd.DataFrame({"id": [1, 2, 3], "b_id": [1, 2, 2]})
    b = pd.DataFrame({"id": [1, 2], "a_id": [1, 3]})
    meta = MultiTableMetadata.detect({"a": a, "b": b})
    assert links_of(meta) == {("a", ("b_id",), "b"), ("b", ("a_id",), "a")}
    with pytest.raises(InvalidDataError, match=r"tables \['a', 'b'\] refer to each other"):
        meta.dependency_order()
    with pytest.raises(InvalidDataError, match="make one of these foreign keys nullable"):
        meta.validate({"a": a, "b": b})
    b2 = b.assign(a_id=[1.0, None])
    meta = MultiTableMetadata.detect({"a": a, "b": b2})
    order, deferred = meta.dependency_order()
    assert order == ["b", "a"] and [fk.name for fk in deferred] == ["b.a_id"]
    synth = simulacra.create_multi(seed=0, family="independent").fit({"a": a, "b": b2}, meta)
    out = synth.sample(scale=3)
    assert_integrity(out, meta)
    assert out["b"]["a_id"].isna().any() and out["b"]["a_id"].notna().any()


# ----------------------------------------------------------------- synthesis
@pytest.mark.parametrize("scale", [0.5, 1, 3])
def test_every_key_joins_at_any_scale(shop, shop_meta, scale):
    model = simulacra.create_multi("hierarchical", seed=1, family="independent")
    synth = model.fit(shop, metadata=shop_meta).sample(scale=scale)
    assert set(synth) == set(shop)
    assert_integrity(synth, shop_meta)
    for name, real in shop.items():
        assert list(synth[name].columns) == list(real.columns)
    for name in ("customers", "orders", "order_items"):
        assert len(synth[name]) == pytest.approx(scale * len(shop[name]), rel=0.3), name
    employees = synth["employees"]
    managers = employees.dropna(subset=["manager_id"])
    parent_of = dict(zip(managers["id"], managers["manager_id"].astype("int64"), strict=True))
    assert depth_of_forest(parent_of) >= 1
    assert employees["manager_id"].isna().sum() >= 1  # roots, as in the real data
    per_customer = synth["loyalty"]["customer_id"].value_counts()
    assert per_customer.max() == 1


def test_same_seed_same_tables(shop, shop_meta):
    model = simulacra.create_multi(seed=3, family="independent").fit(shop, metadata=shop_meta)
    first, second = model.sample(), model.sample()
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])
    other = model.sample(seed=4)
    assert not other["orders"].equals(first["orders"])


def test_shapes_across_tables_survive_better_than_uniform_links():
    real = shop_tables(seed=5, customers=500)
    meta = MultiTableMetadata.detect(real)
    synth = simulacra.create_multi(seed=0, family="cart").fit(real, metadata=meta).sample()

    def orders_per_customer(tables: dict[str, pd.DataFrame]) -> np.ndarray:
        counts = tables["orders"]["customer_id"].value_counts()
        return tables["customers"]["id"].map(counts).fillna(0).to_numpy()

    rng = np.random.default_rng(0)
    uniform = dict(synth)
    uniform["orders"] = synth["orders"].assign(
        customer_id=rng.choice(synth["customers"]["id"], len(synth["orders"]))
    )
    real_n, synth_n, uniform_n = map(orders_per_customer, (real, synth, uniform))
    ks_synth = stats.ks_2samp(real_n, synth_n).statistic
    ks_uniform = stats.ks_2samp(real_n, uniform_n).statistic
    assert ks_synth < 0.06 and ks_synth < ks_uniform / 2
    trend_real = stats.spearmanr(real["customers"]["income"], real_n)[0]
    trend_synth = stats.spearmanr(synth["customers"]["income"], synth_n)[0]
    trend_uniform = stats.spearmanr(synth["customers"]["income"], uniform_n)[0]
    assert trend_real > 0.5 and trend_synth > 0.4 and abs(trend_uniform) < 0.15

    def business_share(tables: dict[str, pd.DataFrame]) -> float:
        joined = tables["orders"].merge(
            tables["customers"], left_on="customer_id", right_on="id", suffixes=("", "_c")
        )
        means = joined.groupby("segment")["amount"].mean()
        return means["business"] / means["retail"]

    assert business_share(real) > 3 and business_share(synth) > 2.5
    assert business_share(uniform) < 1.5


def test_a_second_link_follows_learned_popularity():
    rng = np.random.default_rng(0)
    stores = pd.DataFrame({"id": range(1, 201), "size": rng.integers(1, 100, 200)})
    customers = pd.DataFrame({"id": range(1, 301), "age": rng.integers(18, 80, 300)})
    n = 3000  # customers drive the orders; bigger stores get more of them
    orders = pd.DataFrame(
        {
            "id": range(1, n + 1),
            "customer_id": rng.integers(1, 301, n),
            "store_id": rng.choice(stores["id"], n, p=stores["size"] / stores["size"].sum()),
        }
    )
    tables = {"stores": stores, "customers": customers, "orders": orders}
    synth = simulacra.create_multi(seed=0, family="cart").fit(tables).sample()

    def trend(tables: dict[str, pd.DataFrame], links: pd.Series) -> float:
        per_store = tables["stores"]["id"].map(links.value_counts()).fillna(0)
        return stats.spearmanr(tables["stores"]["size"], per_store)[0]

    uniform = pd.Series(rng.choice(synth["stores"]["id"], len(synth["orders"])))
    assert trend(tables, orders["store_id"]) > 0.85
    assert trend(synth, synth["orders"]["store_id"]) > 0.7
    assert abs(trend(synth, uniform)) < 0.2


def test_bad_parameters_and_unfitted_model(shop, shop_meta):
    with pytest.raises(InvalidParameterError, match="no multi-table synthesizer 'hma'"):
        simulacra.create_multi("hma")
    with pytest.raises(simulacra.errors.UnknownFamilyError, match="no synthesizer family"):
        simulacra.create_multi(family="nope")
    with pytest.raises(InvalidParameterError, match="context must be"):
        simulacra.create_multi(context=-1)
    model = simulacra.create_multi(seed=0, family="independent")
    with pytest.raises(NotFittedError, match="call fit"):
        model.sample()
    model.fit(shop, metadata=shop_meta)
    with pytest.raises(InvalidParameterError, match="scale must be a number > 0"):
        model.sample(scale=0)
    with pytest.raises(InvalidParameterError, match="seed must be a whole number"):
        model.sample(seed=-1)


def test_fit_refuses_bad_tables():
    tables, meta = bad_tables()
    with pytest.raises(InvalidDataError, match="5 problems found"):
        simulacra.create_multi(family="independent").fit(tables, metadata=meta)


def test_text_keys_empty_links_and_callers_data_untouched():
    users = [f"U{i % 30:03d}" if i % 10 else None for i in range(90)]  # some posts anonymous
    tables = {
        "users": pd.DataFrame({"user_id": [f"U{i:03d}" for i in range(40)], "age": range(40)}),
        "posts": pd.DataFrame({"post_id": [f"P{i:04d}" for i in range(90)], "user_id": users}),
    }
    before = {k: v.copy() for k, v in tables.items()}
    meta = MultiTableMetadata.detect(tables)
    out = simulacra.create_multi(seed=0, family="independent").fit(tables, meta).sample(scale=2)
    assert out["users"]["user_id"].str.match(r"^U\d{3}$").all()
    linked = out["posts"]["user_id"].dropna()
    assert linked.isin(out["users"]["user_id"]).all()
    assert out["posts"]["user_id"].isna().sum() == pytest.approx(18, abs=1)
    assert out["posts"]["post_id"].is_unique
    for name in tables:
        pd.testing.assert_frame_equal(tables[name], before[name])


def test_save_and_load_give_the_same_tables(shop, shop_meta, tmp_path):
    model = simulacra.create_multi(seed=2, family="cart").fit(shop, metadata=shop_meta)
    path = tmp_path / "shop.simz"
    model.save(path)
    loaded = load_multi(path)
    assert loaded.metadata_ == shop_meta
    first, second = model.sample(scale=0.5), loaded.sample(scale=0.5)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])
    with pytest.raises(ModelFileError, match="not a multi-table model file"):
        simulacra.create("independent", seed=0).fit(shop["customers"]).save(tmp_path / "one.simz")
        load_multi(tmp_path / "one.simz")
    (tmp_path / "junk.simz").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a readable multi-table model file"):
        load_multi(tmp_path / "junk.simz")
    with pytest.raises(NotFittedError):
        simulacra.create_multi().save(tmp_path / "x.simz")


def test_table_rules_survive_and_rules_on_keys_are_left_to_the_keys():
    rng = np.random.default_rng(1)
    low = rng.integers(0, 50, 200)
    tables = {
        "shops": pd.DataFrame({"id": range(1, 41), "tier": rng.choice(["a", "b"], 40)}),
        "deals": pd.DataFrame(
            {
                "id": range(1, 201),
                "shop_id": rng.integers(1, 41, 200),
                "low": low,
                "high": low + rng.integers(1, 30, 200),
            }
        ),
    }
    meta = MultiTableMetadata.detect(tables)
    meta.tables["deals"].constraints = [
        {"type": "inequality", "low": "low", "high": "high"},
        {"type": "unique", "columns": ["id"]},
    ]
    synth = simulacra.create_multi(seed=0, family="independent").fit(tables, meta).sample(scale=2)
    deals = synth["deals"]
    assert (deals["low"] < deals["high"]).all() and deals["id"].is_unique


def test_a_column_in_two_foreign_keys_is_refused(shop, shop_meta):
    meta = MultiTableMetadata.from_dict(shop_meta.to_dict())
    meta.foreign_keys.append(ForeignKey("returns", ("order_id",), "orders", ("id",)))
    with pytest.raises(InvalidDataError, match=r"column returns.order_id is in foreign keys"):
        simulacra.create_multi(family="independent").fit(shop, metadata=meta)
