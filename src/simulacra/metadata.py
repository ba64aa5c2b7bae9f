"""Table metadata: what each column is, as editable, versioned JSON.

The schema classes live here; guessing them from data lives in ``_detect.py``.

>>> import pandas as pd
>>> meta = Metadata.detect(pd.DataFrame({"age": [31, 45, 27, 45, 52, 38]}))
>>> meta.columns["age"].type, meta.columns["age"].integer
('numerical', True)
>>> Metadata.from_json(meta.to_json()) == meta
True
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from simulacra.errors import InputError, InvalidDataError

__all__ = [
    "COLUMN_TYPES",
    "METADATA_VERSION",
    "PII_KINDS",
    "Column",
    "Metadata",
    "read_json",
    "write_json",
]

METADATA_VERSION = 1
COLUMN_TYPES = ("numerical", "categorical", "boolean", "datetime", "id", "pii", "text")
PII_KINDS = (
    "email",
    "phone",
    "person_name",
    "address",
    "credit_card",
    "national_id",
    "ip_address",
    "free_text",
    "postcode",
    "date_of_birth",
    "iban",
    "url",
)
# Which optional fields belong to which column type (everything else must stay unset).
_TYPE_FIELDS = {
    "numerical": {"integer", "min", "max", "decimals"},
    "categorical": {"categories", "ordered", "tail_words"},
    "boolean": {"true_label", "false_label"},
    "datetime": {"format", "resolution", "min", "max"},
    "id": {"pattern"},
    "pii": {"pii", "locale"},
    "text": {"locale"},
}
RESOLUTIONS = ("D", "s", "ms", "us", "ns")


@dataclass
class Column:
    """One column's declared type and the facts a model needs about it.

    Only the fields of the column's ``type`` are set; the others stay ``None``
    and are left out of the JSON. A categorical column's ``tail_words`` opens
    its tail: values outside ``categories`` come back as new labels made of
    words that at least that many training rows hold, never as a real value;
    without it they all come back as one label, ``(other)``.
    """

    type: str
    integer: bool | None = None
    min: Any = None
    max: Any = None
    decimals: int | None = None
    categories: list[Any] | None = None
    ordered: bool | None = None
    true_label: Any = None
    false_label: Any = None
    format: str | None = None
    resolution: str | None = None
    pattern: str | None = None
    pii: str | None = None
    locale: str | None = None
    tail_words: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, name: str = "?") -> Column:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidDataError(
                f"column {name!r} has unknown field(s) {unknown}; allowed: {sorted(known)}"
            )
        if "type" not in data:
            raise InvalidDataError(f"column {name!r} has no 'type'; use one of {COLUMN_TYPES}")
        return cls(**data)

    def problems(self, name: str) -> list[str]:
        """Every inconsistency in this declaration, as readable sentences."""
        if self.type not in COLUMN_TYPES:
            return [f"column {name!r} has type {self.type!r}; use one of {list(COLUMN_TYPES)}"]
        out = []
        allowed = _TYPE_FIELDS[self.type] | {"type"}
        stray = sorted(k for k in self.to_dict() if k not in allowed)
        if stray:
            out.append(f"column {name!r} of type {self.type!r} cannot have field(s) {stray}")
        if self.type == "pii" and self.pii not in PII_KINDS:
            out.append(f"column {name!r}: pii kind {self.pii!r} is not one of {list(PII_KINDS)}")
        if self.type == "datetime" and self.resolution not in (None, *RESOLUTIONS):
            out.append(
                f"column {name!r}: resolution {self.resolution!r} is not one of {RESOLUTIONS}"
            )
        if self.type == "numerical" and self.min is not None and self.max is not None:
            if self.min > self.max:
                out.append(f"column {name!r}: min {self.min} is greater than max {self.max}")
        if self.type == "categorical" and self.categories is not None:
            if len(set(map(repr, self.categories))) != len(self.categories):
                out.append(f"column {name!r}: categories repeat a value")
        if self.type == "categorical" and self.tail_words is not None:
            words = self.tail_words
            if isinstance(words, bool) or not isinstance(words, int) or words < 2:
                out.append(
                    f"column {name!r}: tail_words {words!r} must be a whole number >= 2 (rows "
                    "a word needs to be used in new labels), or left out to pool rare values"
                )
        return out

    @property
    def modelled(self) -> bool:
        """Whether a model learns this column (ids, PII and text are regenerated)."""
        return self.type in ("numerical", "categorical", "boolean", "datetime")


@dataclass
class Metadata:
    """The columns of one table, in order, plus its primary key and business rules.

    Build it with :meth:`detect`, edit it as JSON, and hand it to ``fit``.
    ``constraints`` holds the declared rules as plain JSON objects (see
    :mod:`simulacra.constraints`); the JSON leaves the list out when it is empty.
    """

    columns: dict[str, Column] = field(default_factory=dict)
    primary_key: str | None = None
    constraints: list[dict[str, Any]] = field(default_factory=list)
    version: int = METADATA_VERSION

    # ----------------------------------------------------------------- build
    @classmethod
    def detect(
        cls, data: pd.DataFrame, *, min_category_count: int = 5, formulas: bool = True
    ) -> Metadata:
        """Guess every column's type from the data.

        Categories seen fewer than ``min_category_count`` times are left out of
        the declared categories, so that a rare real value is never written
        into metadata or a model: such values are pooled when a model learns.
        A text column whose rare values are many and made of common words (job
        titles) gets ``tail_words``: its pooled rows come back as new labels.
        With ``formulas``, a number that is the sum or difference of two or
        three others on every row (``paid_total = paid_principal +
        paid_interest + paid_late_fees``) gets a ``formula`` constraint, so
        that models compute it rather than learn it, and a category whose every
        value goes with one value of others (a city, its country) gets a
        ``fixed_combinations`` constraint with them, so that models learn the
        group as one code and never pair a city with another country, and a
        date that never comes before another (a last purchase, its signup) an
        ``inequality`` constraint.
        """
        from simulacra._detect import detect_metadata

        return detect_metadata(data, min_category_count=min_category_count, formulas=formulas)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        out = {
            "version": self.version,
            "primary_key": self.primary_key,
            "columns": {name: col.to_dict() for name, col in self.columns.items()},
        }
        if self.constraints:
            out["constraints"] = [dict(spec) for spec in self.constraints]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str | None = None) -> Metadata:
        if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
            raise InvalidDataError(
                "metadata must be a JSON object with a 'columns' object", where=where
            )
        version = data.get("version", METADATA_VERSION)
        if not isinstance(version, int) or version > METADATA_VERSION:
            raise InvalidDataError(
                f"metadata version {version!r} is newer than this simulacra understands "
                f"({METADATA_VERSION}); upgrade simulacra",
                where=where,
            )
        problems, columns = [], {}
        for name, spec in data["columns"].items():
            try:
                columns[name] = Column.from_dict(spec, name=name)
            except InvalidDataError as exc:
                problems.extend(exc.problems)
            except TypeError:
                problems.append(f"column {name!r} must be a JSON object")
        constraints = data.get("constraints", [])
        if not isinstance(constraints, list):
            problems.append("'constraints' must be a list of JSON objects, one per rule")
            constraints = []
        meta = cls(
            columns=columns,
            primary_key=data.get("primary_key"),
            constraints=constraints,
            version=version,
        )
        problems += meta.problems()
        if problems:
            raise InvalidDataError(problems, where=where)
        return meta

    def to_json(self, path: str | Path | None = None) -> str:
        return write_json(self.to_dict(), path)

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> Metadata:
        """Read metadata from a JSON string or a ``.json`` file."""
        data, where = read_json(text_or_path)
        return cls.from_dict(data, where=where)

    # ------------------------------------------------------------ validation
    def problems(self) -> list[str]:
        """Every inconsistency in the declarations (columns, key, constraints)."""
        out = []
        for name, col in self.columns.items():
            out += col.problems(name)
        if self.primary_key is not None and self.primary_key not in self.columns:
            out.append(f"primary_key {self.primary_key!r} is not one of the columns")
        if self.constraints:
            from simulacra.constraints import constraint_problems

            out += constraint_problems(self)
        return out

    def validate(self, data: pd.DataFrame, *, where: str | None = None, rules: bool = True) -> None:
        """Check that ``data`` fits this metadata; raise one error listing every problem.

        With ``rules``, rows that break a declared constraint are problems too (named
        by index label). DP families pass ``rules=False``: whether their fit succeeds
        may not hang on one row.
        """
        from simulacra._detect import repeated_names, value_problems

        if repeated := repeated_names(data):  # a column read by name would be a frame
            raise InvalidDataError(repeated, where=where)
        problems = self.problems()
        missing = [c for c in self.columns if c not in data.columns]
        extra = [c for c in data.columns if c not in self.columns]
        for c in missing:
            problems.append(
                f"metadata names column {c!r} but the data has no such column; "
                "remove it from the metadata or fix its name"
            )
        for c in extra:
            problems.append(
                f"column {c!r} is in the data but not in the metadata; add it to the metadata "
                "or drop it from the data"
            )
        for name, col in self.columns.items():
            if name in data.columns and col.modelled:
                problems += value_problems(name, col, data[name])
        if self.primary_key in data.columns and data[self.primary_key].duplicated().any():
            problems.append(f"primary key {self.primary_key!r} has repeated values")
        if rules and self.constraints and not any(p.startswith("constraint ") for p in problems):
            from simulacra.constraints import constraint_set

            problems += constraint_set(self).training_problems(data)
        if problems:
            raise InvalidDataError(problems, where=where)

    def outside_bounds(self, data: pd.DataFrame) -> list[str]:
        """Numerical columns whose declared ``min``/``max`` some training values pass
        (sampled values are kept within the bounds, so those are learned at the bound)."""
        out = []
        for name, col in self.columns.items():
            if col.type != "numerical" or name not in data.columns:
                continue
            values = pd.to_numeric(data[name], errors="coerce")
            never = pd.Series(False, index=values.index)
            slack = 1e-9 * max(1.0, *(abs(b) for b in (col.min, col.max) if b is not None))
            low = values < col.min - slack if col.min is not None else never
            high = values > col.max + slack if col.max is not None else never
            sides = [
                f"{int(past.sum())} ({past.mean():.1%}) {where} the declared {side} {bound}"
                for where, side, bound, past in (
                    ("below", "min", col.min, low),
                    ("above", "max", col.max, high),
                )
                if past.any()
            ]
            if sides:
                out.append(
                    f"column {name!r}: training values lie {' and '.join(sides)}; sampled "
                    "values stop at the bounds. Widen them if they are not rules"
                )
        return out

    def __repr__(self) -> str:
        kinds = ", ".join(f"{n}: {c.pii or c.type}" for n, c in self.columns.items())
        return f"Metadata({kinds})"


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to metadata JSON")


def write_json(data: dict[str, Any], path: str | Path | None = None) -> str:
    """Metadata as indented JSON text, also written atomically to ``path`` when given."""
    text = json.dumps(data, indent=2, default=_json_default) + "\n"
    if path is not None:
        from simulacra.io import atomic_write_text

        atomic_write_text(Path(path), text)
    return text


def read_json(text_or_path: str | Path) -> tuple[Any, str | None]:
    """Parsed JSON from a string or a ``.json`` file, and the file it came from (if any)."""
    where, text = None, str(text_or_path)
    if isinstance(text_or_path, Path) or not text.lstrip().startswith("{"):
        path = Path(text_or_path)
        where = str(path)
        if not path.is_file():
            raise InputError(f"{path}: metadata file not found; check the path")
        text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text), where
    except json.JSONDecodeError as exc:
        raise InvalidDataError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", where=where
        ) from None
