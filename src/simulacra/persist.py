"""The ``.simz`` model file: data, never code.

A zip holding ``manifest.json`` (format version, simulacra version, family,
parameters, metadata, learned state with array references, and a SHA-256 of
the arrays) and ``arrays.npz`` read with ``allow_pickle=False``. Loading
looks the family up in the registry by name; nothing in the file is executed.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from simulacra import __version__
from simulacra.errors import ModelFileError, SimulacraError
from simulacra.io import atomic_write_bytes
from simulacra.metadata import Metadata
from simulacra.processor import EncodedColumn, Processor
from simulacra.synthesizers.base import Synthesizer

__all__ = ["FORMAT", "FORMAT_VERSION", "load_model", "save_model"]

FORMAT = "simulacra-model"
FORMAT_VERSION = 1
_ARRAY = "__array__"


def save_model(model: Synthesizer, path: Path) -> None:
    """Write a fitted model atomically to ``path``."""
    state = {
        "family": model.get_state(),
        "processor": model.processor_.get_state(),
        "constraints": model.constraints_.get_state() if model.constraints_ else None,
        "columns": [vars(c) for c in model.columns_],
        "n_training_rows": model.n_training_rows_,
    }
    tree, arrays = split_arrays(state)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    blob = buffer.getvalue()
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "simulacra_version": __version__,
        "family": model.name,
        "params": model.get_params(),
        "metadata": model.metadata_.to_dict(),
        "state": tree,
        "arrays_sha256": hashlib.sha256(blob).hexdigest(),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=1, default=_plain))
        zf.writestr("arrays.npz", blob)
    atomic_write_bytes(path, out.getvalue())


def load_model(path: str | Path) -> Synthesizer:
    """Read a model written by :func:`save_model`; clear errors for bad files."""
    from simulacra.synthesizers.registry import family_class

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found; check the path")
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            blob = zf.read("arrays.npz")
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, EOFError, OSError) as exc:
        raise ModelFileError(
            f"{path}: not a readable simulacra model file ({exc.__class__.__name__}); it may be "
            "truncated or not a .simz file at all: fit the model again"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a simulacra model file (no {FORMAT!r} manifest)")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: written by simulacra {manifest.get('simulacra_version')} in model format "
            f"{version}, newer than this simulacra {__version__} reads ({FORMAT_VERSION}); "
            "upgrade simulacra"
        )
    if hashlib.sha256(blob).hexdigest() != manifest.get("arrays_sha256"):
        raise ModelFileError(
            f"{path}: the arrays do not match their checksum; the file is "
            "corrupt or was changed after it was written"
        )
    try:
        arrays = dict(np.load(io.BytesIO(blob), allow_pickle=False))
        state = join_arrays(manifest["state"], arrays)
        metadata = Metadata.from_dict(manifest["metadata"], where=str(path))
        model = family_class(manifest["family"])(**manifest["params"])
        processor = Processor.from_state(metadata, state["processor"])
        columns = [EncodedColumn(**c) for c in state["columns"]]
        constraints = None
        if state.get("constraints") is not None:
            from simulacra.constraints import ConstraintSet

            constraints = ConstraintSet.from_state(metadata, state["constraints"])
        model._restore(metadata, processor, columns, int(state["n_training_rows"]), constraints)
        model.set_state(state["family"])
    except SimulacraError as exc:
        raise ModelFileError(f"{path}: cannot be loaded: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(
            f"{path}: the manifest is damaged ({exc.__class__.__name__}: {exc}); "
            "fit the model again"
        ) from None
    return model


def split_arrays(tree: Any, arrays: dict[str, np.ndarray] | None = None) -> tuple[Any, dict]:
    """Replace every numpy array in a nested dict/list by a reference; return both parts."""
    arrays = {} if arrays is None else arrays
    if isinstance(tree, np.ndarray):
        key = f"a{len(arrays)}"
        if tree.dtype == object:
            tree = tree.astype(str)
        arrays[key] = tree
        return {_ARRAY: key}, arrays
    if isinstance(tree, dict):
        return {str(k): split_arrays(v, arrays)[0] for k, v in tree.items()}, arrays
    if isinstance(tree, list | tuple):
        return [split_arrays(v, arrays)[0] for v in tree], arrays
    return _plain(tree), arrays


def join_arrays(tree: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(tree, dict):
        if set(tree) == {_ARRAY}:
            return arrays[tree[_ARRAY]]
        return {k: join_arrays(v, arrays) for k, v in tree.items()}
    if isinstance(tree, list):
        return [join_arrays(v, arrays) for v in tree]
    return tree


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in a model file")
