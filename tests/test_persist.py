"""The .simz model file: identical samples after a round trip, clear errors for bad files."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulacra
from conftest import family_params
from simulacra.errors import ModelFileError, NotFittedError
from simulacra.testing import conformance_table, quick_create


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return conformance_table(rows=300, seed=1)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory, data: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.simz"
    simulacra.create("copula", seed=0).fit(data).save(path)
    return path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)


def _load_error(path: Path) -> str:
    with pytest.raises(ModelFileError) as info:
        simulacra.load(path)
    message = str(info.value)
    assert str(path) in message
    return message


# ------------------------------------------------------------------- round trip
@pytest.mark.parametrize("family", family_params())
def test_save_load_gives_identical_samples(tmp_path: Path, data: pd.DataFrame, family: str) -> None:
    model = quick_create(family, seed=0).fit(data)
    path = tmp_path / "model.simz"
    model.save(path)
    loaded = simulacra.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    assert loaded.metadata_ == model.metadata_
    expected = model.sample(300)
    pd.testing.assert_frame_equal(loaded.sample(300), expected)
    batches = list(loaded.sample_batches(300, batch_size=120))
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), expected)


@pytest.mark.parametrize("family", family_params())
def test_saving_twice_gives_the_same_bytes(tmp_path: Path, data: pd.DataFrame, family: str) -> None:
    model = quick_create(family, seed=0).fit(data)
    model.save(tmp_path / "a.simz")
    simulacra.load(tmp_path / "a.simz").save(tmp_path / "b.simz")
    assert _members(tmp_path / "a.simz") == _members(tmp_path / "b.simz")


def test_file_is_data_not_code(model_file: Path) -> None:
    members = _members(model_file)
    assert set(members) == {"manifest.json", "arrays.npz"}
    manifest = json.loads(members["manifest.json"])
    assert manifest["format"] == "simulacra-model"
    assert manifest["format_version"] == 1
    assert manifest["family"] == "copula"
    with np.load(io.BytesIO(members["arrays.npz"]), allow_pickle=False) as arrays:
        for name in arrays.files:
            assert arrays[name].dtype != object


def test_save_before_fit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotFittedError):
        simulacra.create("copula", seed=0).save(tmp_path / "m.simz")
    assert list(tmp_path.iterdir()) == []


def test_save_is_atomic(tmp_path: Path, data: pd.DataFrame) -> None:
    model = simulacra.create("independent", seed=0).fit(data)
    path = tmp_path / "m.simz"
    model.save(path)
    model.save(path)  # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == ["m.simz"]
    with pytest.raises(simulacra.errors.InputError, match="does not exist"):
        model.save(tmp_path / "missing" / "m.simz")


# ----------------------------------------------------------------- broken files
@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_truncated_file(tmp_path: Path, model_file: Path, keep: float) -> None:
    blob = model_file.read_bytes()
    path = tmp_path / "cut.simz"
    path.write_bytes(blob[: int(len(blob) * keep)])
    message = _load_error(path)
    assert "truncated" in message


def test_tampered_arrays_fail_the_checksum(tmp_path: Path, model_file: Path) -> None:
    members = _members(model_file)
    with np.load(io.BytesIO(members["arrays.npz"]), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    name = next(n for n, a in arrays.items() if a.dtype.kind == "f")
    arrays[name] = arrays[name] + 1.0
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    members["arrays.npz"] = buffer.getvalue()  # manifest (and its checksum) unchanged
    path = tmp_path / "tampered.simz"
    _write_zip(path, members)
    message = _load_error(path)
    assert "checksum" in message


def test_newer_format_version_asks_for_an_upgrade(tmp_path: Path, model_file: Path) -> None:
    members = _members(model_file)
    manifest = json.loads(members["manifest.json"])
    manifest["format_version"] = 999
    members["manifest.json"] = json.dumps(manifest).encode()
    path = tmp_path / "future.simz"
    _write_zip(path, members)
    message = _load_error(path)
    assert "upgrade" in message and "999" in message


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "model.simz"
    path.write_text("age,income\n31,52000\n", encoding="utf-8")
    message = _load_error(path)
    assert "not a readable simulacra model file" in message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "model.simz"
    path.write_bytes(b"")
    _load_error(path)


def test_zip_without_manifest(tmp_path: Path, model_file: Path) -> None:
    members = _members(model_file)
    del members["manifest.json"]
    path = tmp_path / "no-manifest.simz"
    _write_zip(path, members)
    _load_error(path)


def test_zip_of_something_else(tmp_path: Path) -> None:
    path = tmp_path / "other.simz"
    _write_zip(path, {"manifest.json": b'{"name": "a web app"}', "arrays.npz": b""})
    message = _load_error(path)
    assert "not a simulacra model file" in message


def test_manifest_that_is_not_json(tmp_path: Path, model_file: Path) -> None:
    members = _members(model_file)
    members["manifest.json"] = b"{ this is not json"
    path = tmp_path / "bad.simz"
    _write_zip(path, members)
    _load_error(path)


def test_manifest_with_damaged_state(tmp_path: Path, model_file: Path) -> None:
    members = _members(model_file)
    manifest = json.loads(members["manifest.json"])
    del manifest["state"]["processor"]
    members["manifest.json"] = json.dumps(manifest).encode()
    path = tmp_path / "damaged.simz"
    _write_zip(path, members)
    message = _load_error(path)
    assert "fit the model again" in message


def test_manifest_naming_an_unknown_family(tmp_path: Path, model_file: Path) -> None:
    members = _members(model_file)
    manifest = json.loads(members["manifest.json"])
    manifest["family"] = "os.system"
    members["manifest.json"] = json.dumps(manifest).encode()
    path = tmp_path / "family.simz"
    _write_zip(path, members)
    message = _load_error(path)
    assert "os.system" in message


def test_missing_file(tmp_path: Path) -> None:
    message = _load_error(tmp_path / "nowhere.simz")
    assert "not found" in message


class _Trap:
    """Unpickling this creates a folder: proof that pickled code ran on load."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_pickled_objects_in_arrays_are_never_loaded(tmp_path: Path, model_file: Path) -> None:
    import hashlib

    members = _members(model_file)
    with np.load(io.BytesIO(members["arrays.npz"]), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    marker = tmp_path / "code-ran"
    name = next(iter(arrays))
    arrays[name] = np.array([_Trap(marker)], dtype=object)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # an object array: numpy pickles it
    blob = buffer.getvalue()
    manifest = json.loads(members["manifest.json"])
    manifest["arrays_sha256"] = hashlib.sha256(blob).hexdigest()  # a consistent file
    path = tmp_path / "smuggled.simz"
    _write_zip(path, {"manifest.json": json.dumps(manifest).encode(), "arrays.npz": blob})
    _load_error(path)
    assert not marker.exists()
