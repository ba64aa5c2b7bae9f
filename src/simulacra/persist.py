"""The ``.simz`` model file: data, never code.

A zip holding ``manifest.json`` (format version, simulacra version, family,
parameters, metadata, learned state with array references, and a SHA-256 of
the arrays) and ``arrays.npz`` read with ``allow_pickle=False``; a network's
weights (a :class:`Weights` in the family state) go to ``weights.safetensors``.
Loading looks the family up in the registry by name; nothing in the file is
executed.
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
from simulacra.errors import MissingExtraError, ModelFileError, SimulacraError
from simulacra.io import atomic_write_bytes
from simulacra.metadata import Metadata
from simulacra.processor import EncodedColumn, Processor
from simulacra.synthesizers.base import Synthesizer

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Weights",
    "load_model",
    "model_bytes",
    "read_model",
    "save_model",
]

FORMAT = "simulacra-model"
FORMAT_VERSION = 1
_ARRAY = "__array__"
_WEIGHTS = "__weights__"


class Weights(dict):
    """A network's tensors by name (numpy arrays), stored as safetensors, not in the npz."""


def save_model(model: Synthesizer, path: Path) -> None:
    """Write a fitted model atomically to ``path``."""
    atomic_write_bytes(path, model_bytes(model))


def model_bytes(model: Synthesizer) -> bytes:
    """A fitted model as the bytes of a ``.simz`` file."""
    state = {
        "family": model.get_state(),
        "processor": model.processor_.get_state(),
        "constraints": model.constraints_.get_state() if model.constraints_ else None,
        "columns": [vars(c) for c in model.columns_],
        "n_training_rows": model.n_training_rows_,
    }
    weights = {k: v for k, v in state["family"].items() if isinstance(v, Weights)}
    state["family"] = {k: {_WEIGHTS: k} if k in weights else v for k, v in state["family"].items()}
    tree, arrays = split_arrays(state)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    blob = buffer.getvalue()
    tensors = _safetensors_blob(weights) if weights else None
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
    if tensors is not None:
        manifest["weights_sha256"] = hashlib.sha256(tensors).hexdigest()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=1, default=_plain))
        zf.writestr("arrays.npz", blob)
        if tensors is not None:
            zf.writestr("weights.safetensors", tensors)
    return out.getvalue()


def load_model(path: str | Path) -> Synthesizer:
    """Read a model written by :func:`save_model`; clear errors for bad files."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found; check the path")
    return read_model(path, str(path))


def read_model(source: Path | bytes, where: str) -> Synthesizer:
    """A model from a ``.simz`` file or its bytes; errors name ``where`` it came from."""
    from simulacra.synthesizers.registry import family_class

    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            blob = zf.read("arrays.npz")
            tensors = (
                zf.read("weights.safetensors") if "weights.safetensors" in zf.namelist() else None
            )
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, EOFError, OSError) as exc:
        raise ModelFileError(
            f"{where}: not a readable simulacra model file ({exc.__class__.__name__}); it may be "
            "truncated or not a .simz file at all: fit the model again"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{where}: not a simulacra model file (no {FORMAT!r} manifest)")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{where}: written by simulacra {manifest.get('simulacra_version')} in model format "
            f"{version}, newer than this simulacra {__version__} reads ({FORMAT_VERSION}); "
            "upgrade simulacra"
        )
    if hashlib.sha256(blob).hexdigest() != manifest.get("arrays_sha256"):
        raise ModelFileError(
            f"{where}: the arrays do not match their checksum; the file is "
            "corrupt or was changed after it was written"
        )
    if tensors is not None and hashlib.sha256(tensors).hexdigest() != manifest.get(
        "weights_sha256"
    ):
        raise ModelFileError(
            f"{where}: the network weights do not match their checksum; the file is "
            "corrupt or was changed after it was written"
        )
    try:
        arrays = dict(np.load(io.BytesIO(blob), allow_pickle=False))
        state = join_arrays(manifest["state"], arrays)
        if tensors is not None:
            state["family"] = _with_weights(state["family"], tensors)
        metadata = Metadata.from_dict(manifest["metadata"], where=where)
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
        raise ModelFileError(f"{where}: cannot be loaded: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(
            f"{where}: the manifest is damaged ({exc.__class__.__name__}: {exc}); "
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


def _safetensors_blob(weights: dict[str, Weights]) -> bytes:
    """Every ``Weights`` of a family state in one safetensors file, keys ``attr/tensor``."""
    from safetensors.numpy import save

    flat = {
        f"{attr}/{name}": np.ascontiguousarray(t)
        for attr, w in weights.items()
        for name, t in w.items()
    }
    return save(flat)


def _with_weights(family: dict[str, Any], tensors: bytes) -> dict[str, Any]:
    try:
        from safetensors.numpy import load
    except ImportError:
        raise MissingExtraError(
            "this model holds network weights; install the torch extra to load it: "
            "pip install 'simulacra[torch]'"
        ) from None
    flat = load(tensors)
    out = dict(family)
    for key, value in family.items():
        if isinstance(value, dict) and set(value) == {_WEIGHTS}:
            prefix = value[_WEIGHTS] + "/"
            out[key] = Weights(
                {k[len(prefix) :]: v for k, v in flat.items() if k.startswith(prefix)}
            )
    return out
