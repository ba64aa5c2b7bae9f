"""The multi-table model file: a zip of a JSON manifest and one ``.simz`` per table.

Like :mod:`simulacra.persist`, the file is data, never code: the manifest
holds parameters, metadata and the plain learned state; each table's model is
an ordinary ``.simz`` file read by :func:`simulacra.load`.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from simulacra import __version__
from simulacra.errors import InvalidDataError, ModelFileError, SimulacraError
from simulacra.io import atomic_write_bytes
from simulacra.persist import _plain, model_bytes

if TYPE_CHECKING:
    from simulacra.relational.hierarchical import HierarchicalSynthesizer

FORMAT = "simulacra-multi-model"
FORMAT_VERSION = 1


def save_multi(model: HierarchicalSynthesizer, path: Path) -> None:
    """Write a fitted multi-table model atomically to ``path``."""
    state = {
        "order": model.order_,
        "deferred": model.deferred_,
        "drivers": model.drivers_,
        "sizes": model.sizes_,
        "orphans": model.orphans_,
        "empty_share": {str(k): v for k, v in model.empty_share_.items()},
        "key_kinds": {
            t: {c: asdict(kind) for c, kind in kinds.items()}
            for t, kinds in model.key_kinds_.items()
        },
        "context": model.context_,
        "axes": {t: asdict(axis) for t, axis in model.axes_.items()},
    }
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "simulacra_version": __version__,
        "params": {
            "seed": model.seed,
            "family": model.family,
            "context": model.context,
            **model.family_params,
        },
        "metadata": model.metadata_.to_dict(),
        "state": state,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, table in enumerate(model.order_):
            zf.writestr(f"tables/{i}.simz", model_bytes(model.models_[table]))
        zf.writestr("manifest.json", json.dumps(manifest, indent=1, default=_plain))
    atomic_write_bytes(path, out.getvalue())


def load_multi(path: str | Path) -> HierarchicalSynthesizer:
    """Read a model written by :func:`save_multi`; clear errors for bad files."""
    from simulacra.persist import read_model
    from simulacra.relational import _keys
    from simulacra.relational.hierarchical import HierarchicalSynthesizer
    from simulacra.relational.metadata import MultiTableMetadata

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found; check the path")
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            parts = {n: zf.read(n) for n in zf.namelist() if n.startswith("tables/")}
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, EOFError, OSError) as exc:
        raise ModelFileError(
            f"{path}: not a readable multi-table model file ({exc.__class__.__name__}); "
            "it may be truncated: fit the model again"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(
            f"{path}: not a multi-table model file (no {FORMAT!r} manifest); "
            "a single-table .simz file loads with simulacra.load"
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: written in multi-table model format {version}, newer than this "
            f"simulacra {__version__} reads ({FORMAT_VERSION}); upgrade simulacra"
        )
    try:
        state = manifest["state"]
        model = HierarchicalSynthesizer(**manifest["params"])
        model.metadata_ = MultiTableMetadata.from_dict(manifest["metadata"], where=str(path))
        model.order_ = list(state["order"])
        model.deferred_ = [int(i) for i in state["deferred"]]
        model.drivers_ = {t: (None if d is None else int(d)) for t, d in state["drivers"].items()}
        model.sizes_ = {t: int(n) for t, n in state["sizes"].items()}
        model.orphans_ = {t: int(n) for t, n in state["orphans"].items()}
        model.empty_share_ = {int(k): float(v) for k, v in state["empty_share"].items()}
        model.key_kinds_ = {
            t: {c: _keys.KeyKind(**kind) for c, kind in kinds.items()}
            for t, kinds in state["key_kinds"].items()
        }
        model.context_ = {t: list(cols) for t, cols in state["context"].items()}
        model.axes_ = {
            t: _keys.ContextAxis(
                columns=tuple(a["columns"]),
                centers=tuple(a["centers"]),
                scales=tuple(a["scales"]),
                categories=tuple(tuple(c) for c in a["categories"]),
                direction=tuple(a["direction"]),
            )
            for t, a in state["axes"].items()
        }
        model.models_ = {
            table: read_model(parts[f"tables/{i}.simz"], f"{path} (table {table!r})")
            for i, table in enumerate(model.order_)
        }
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: a table's model cannot be loaded: {exc}") from None
    except (SimulacraError, InvalidDataError) as exc:
        raise ModelFileError(f"{path}: cannot be loaded: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(
            f"{path}: the manifest is damaged ({exc.__class__.__name__}: {exc}); "
            "fit the model again"
        ) from None
    return model
