"""Bad specs get one error naming the file, line, table, column and the fix."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pytest

import simulacra
from simulacra.errors import InputError, InvalidParameterError, SpecError
from simulacra.spec import load_spec


def _error(tmp_path, text: str) -> str:
    path = tmp_path / "shop.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    return message


def test_unknown_distribution_names_the_line_and_the_nearest_name(tmp_path):
    message = _error(
        tmp_path,
        """
        tables:
          customers:
            columns:
              id: {sequence: {}}
              age: {distribution: normall, mean: 40, sd: 9}
        """,
    )
    assert "line 5, table 'customers', column 'age'" in message
    assert "distribution 'normall' is not known; did you mean 'normal'" in message


def test_unknown_provider_and_key_suggest_the_nearest(tmp_path):
    message = _error(
        tmp_path,
        """
        tables:
          people:
            columns:
              mail: {fake: emial}
              age: {distrbution: normal, mean: 40, sd: 9}
        """,
    )
    assert "line 4, table 'people', column 'mail'" in message
    assert "provider 'emial' is not known; did you mean 'email'?" in message
    assert (
        "line 5" in message
        and "column 'age': unknown key 'distrbution'; did you mean 'distribution'" in message
    )
    assert "2 problems" in message


def test_missing_and_wrong_parameters(tmp_path):
    message = _error(
        tmp_path,
        """
        tables:
          t:
            columns:
              a: {distribution: normal, mean: 1}
              e: {distribution: uniform, low: 0, high: 1, expression: "a + 1"}
              f: {nulls: 0.1}
              g: {distribution: normal, mean: 1, sd: "big"}
        """,
    )
    assert "line 4, table 't', column 'a'" in message and "'normal' needs sd" in message
    assert "line 5" in message and "has distribution and expression" in message
    assert "line 6" in message and "says nothing about how to make it" in message
    assert "line 7, table 't', column 'g', 'sd': must be a number, got 'big'" in message
    # the schema's problems come first; what only the generators can see comes next
    message = _error(
        tmp_path,
        """
        tables:
          t:
            columns:
              b: {distribution: poisson, mean: 2, sd: 1}
              c: {distribution: normal, mean: 1, sd: -1}
              d: {values: [x, y], weights: [1]}
              e: {distribution: normal, mean: 0, sd: 1, min: 5, max: 1}
        """,
    )
    assert "line 4" in message and "takes mean, not sd" in message
    assert "line 5" in message and "sd must be greater than 0" in message
    assert "line 6" in message and "one weight per value: 2 values, 1 weights" in message
    assert "line 7" in message and "min 5 is greater than max 1" in message


def test_expressions_that_do_not_parse_or_read_unknown_columns(tmp_path):
    message = _error(
        tmp_path,
        """
        tables:
          orders:
            columns:
              price: {distribution: uniform, low: 1, high: 9}
              qty: {distribution: integers, low: 1, high: 5}
              total: {expression: "price * qyt"}
              tax: {expression: "price *"}
        """,
    )
    assert "line 6, table 'orders', column 'total'" in message
    assert "reads column 'qyt'" in message and "did you mean 'qty'?" in message
    assert "line 7, table 'orders', column 'tax'" in message and "does not parse" in message


def test_cyclic_columns_are_named(tmp_path):
    message = _error(
        tmp_path,
        """
        tables:
          t:
            columns:
              a: {expression: "b + 1"}
              b: {expression: "c * 2"}
              c: {expression: "a - 1"}
        """,
    )
    assert "cycle: a -> b -> c -> a" in message and "line 4" in message


def test_columns_may_refer_to_columns_declared_later():
    spec = {
        "tables": {
            "t": {
                "rows": 3,
                "columns": {
                    "total": {"expression": "price * 2"},
                    "price": {"constant": 5},
                },
            }
        }
    }
    assert simulacra.generate(spec)["t"]["total"].tolist() == [10.0, 10.0, 10.0]


def test_a_matrix_that_is_not_positive_semidefinite_gets_the_nearest_valid_one(tmp_path):
    message = _error(
        tmp_path,
        """
        tables:
          t:
            columns:
              x: {distribution: normal, mean: 0, sd: 1}
              y: {distribution: normal, mean: 0, sd: 1}
              z: {distribution: normal, mean: 0, sd: 1}
            correlations:
              - columns: [x, y, z]
                matrix: [[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]]
        """,
    )
    assert "line 9, table 't', 'correlations.matrix'" in message
    assert "not positive semi-definite" in message
    found = re.search(r"nearest valid matrix is (\[\[.*\]\])", message)
    assert found is not None
    nearest = np.array(eval(found.group(1)))  # the printed matrix is valid as it is
    assert np.allclose(nearest, nearest.T) and np.allclose(np.diag(nearest), 1)
    assert np.linalg.eigvalsh(nearest).min() >= 0
    assert np.abs(nearest - np.array([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]])).max() < 1


def test_correlating_a_column_that_is_not_drawn(tmp_path):
    message = _error(
        tmp_path,
        """
        tables:
          t:
            columns:
              x: {distribution: normal, mean: 0, sd: 1}
              name: {fake: name}
            correlations:
              - {columns: [x, name], matrix: [[1, 0.5], [0.5, 1]]}
              - {columns: [x, w], matrix: [[1, 0.5, 0], [0.5, 1, 0]]}
        """,
    )
    assert "column 'name' is not drawn from a distribution" in message
    assert "no column 'w'" in message and "must be 2 x 2" in message


def test_foreign_keys_to_unknown_tables_columns_and_non_keys(tmp_path):
    message = _error(
        tmp_path,
        """
        tables:
          customers:
            columns:
              id: {sequence: {}}
              name: {fake: name}
          orders:
            columns:
              a: {foreign_key: customer.id}
              b: {foreign_key: customers.idd}
              c: {foreign_key: customers.name}
        """,
    )
    assert "line 8, table 'orders', column 'a'" in message
    assert "table 'customer' is not in the spec; did you mean 'customers'?" in message
    assert "has no column 'idd'; did you mean 'id'?" in message
    assert "customers.name is not a key" in message


def test_cyclic_foreign_keys(tmp_path):
    message = _error(
        tmp_path,
        """
        tables:
          a:
            columns:
              id: {sequence: {}}
              b_id: {foreign_key: b.id}
          b:
            columns:
              id: {sequence: {}}
              a_id: {foreign_key: a.id}
        """,
    )
    assert "foreign keys form a cycle: a -> b -> a" in message


def test_bad_yaml_bad_pattern_and_bad_locale(tmp_path):
    message = _error(tmp_path, "tables:\n  t:\n    columns: {a: [1, 2}\n")
    assert "line 3" in message and "not valid YAML" in message
    message = _error(
        tmp_path,
        """
        locale: en_XX
        tables:
          t:
            columns:
              code: {pattern: "AB-[0-9", unique: true}
              more: {pattern: "A(B|C)", unique: true}
              when: {dates: {start: 2024-05-01, end: 2024-01-01}}
        """,
    )
    assert "line 1" in message and "locale 'en_XX' is not known to Faker" in message
    assert "line 5" in message and "'[' is never closed" in message
    assert "line 6" in message and "fixed shape" in message
    assert "line 7" in message and "end 2024-01-01 is before start 2024-05-01" in message


def test_run_time_problems(tmp_path):
    spec = {
        "tables": {
            "a": {"rows": 5, "columns": {"id": {"pattern": "[0-9]", "unique": True}}},
            "b": {
                "columns": {
                    "a": {
                        "foreign_key": "a.id",
                        "per_parent": {"distribution": "poisson", "mean": 1},
                    }
                }
            },
        }
    }
    with pytest.raises(SpecError, match="holds 10 unique values but 11 rows"):
        simulacra.generate(spec, rows={"a": 11})
    with pytest.raises(InvalidParameterError, match="follow from 'a'"):
        simulacra.generate(spec, rows={"b": 3})
    with pytest.raises(InvalidParameterError, match="did you mean 'a'"):
        simulacra.generate(spec, rows={"aa": 3})
    with pytest.raises(InputError, match="not found"):
        load_spec(tmp_path / "missing.yaml")
    impossible = {
        "tables": {
            "t": {
                "rows": 50,
                "columns": {"x": {"distribution": "uniform", "low": 0, "high": 1}},
                "constraints": [{"type": "custom", "expression": "x > 2"}],
            }
        }
    }
    with pytest.raises(SpecError, match="after 50 redraws"):
        simulacra.generate(impossible)


def test_case_values_must_be_values_of_the_parent(tmp_path):
    message = _error(
        tmp_path,
        """
        tables:
          t:
            columns:
              plan: {values: [basic, premium]}
              limit:
                depends_on: plan
                cases:
                  premum: {constant: 5}
        """,
    )
    assert "line 8, table 't', column 'limit'" in message
    assert "case 'premum' is not a value of 'plan'; did you mean 'premium'?" in message


def test_a_foreign_key_to_an_empty_table():
    spec = {
        "tables": {
            "a": {"rows": 0, "columns": {"id": {"sequence": {}}}},
            "b": {"rows": 3, "columns": {"a_id": {"foreign_key": "a.id"}}},
        }
    }
    with pytest.raises(SpecError, match="'a', which has no rows"):
        simulacra.generate(spec)
    assert len(simulacra.generate(spec, rows={"b": 0})["b"]) == 0
