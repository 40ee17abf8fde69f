"""What a model directory holds is not trusted: a ``CURRENT`` that is not a regular file, or far
too long, manifest entries naming files outside their bundle, bundle directories that are
symbolic links elsewhere, and the same from an object store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import fsspec
import pytest

from recommender.bundle.directory import CURRENT, MANIFEST, current_version, set_current
from recommender.bundle.files import load_bundle, write_bundle
from recommender.bundle.store import ModelStore
from recommender.bundle.trained import TrainedModel
from recommender.errors import BundleCorruptError, BundleError, StorageError

SECRET = "root:x:0:0:root:/root:/bin/bash\n" * 2000


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A large file outside the model directory, as ``/etc/passwd`` would be."""
    path = tmp_path / "elsewhere" / "passwd"
    path.parent.mkdir()
    path.write_text(SECRET)
    return path


def _bad_pointers(model_dir: Path, secret: Path) -> dict[str, object]:
    return {
        "directory": (model_dir / CURRENT).mkdir,
        "symlink out of the directory": lambda: (model_dir / CURRENT).symlink_to(secret),
        "FIFO": lambda: os.mkfifo(model_dir / CURRENT),
    }


@pytest.mark.parametrize("kind", ["directory", "symlink out of the directory", "FIFO"])
def test_a_current_that_is_not_a_regular_file_is_refused_both_read_and_written(
    tmp_path: Path, tiny_trained: TrainedModel, secret: Path, kind: str
) -> None:
    model_dir = tmp_path / "models"
    version = write_bundle(tiny_trained, model_dir, make_current=False).name
    _bad_pointers(model_dir, secret)[kind]()  # type: ignore[operator]
    with pytest.raises(BundleCorruptError, match="refusing it") as read:
        current_version(model_dir)  # never falls back to the newest bundle
    with pytest.raises(BundleCorruptError, match="refusing it"):
        set_current(model_dir, version)
    with pytest.raises(BundleCorruptError, match="refusing it"):
        write_bundle(tiny_trained, model_dir)  # a train run moving CURRENT
    assert "root:x" not in str(read.value)
    assert not (model_dir / CURRENT).is_file() or (model_dir / CURRENT).is_symlink()


def test_a_symlinked_current_inside_the_directory_still_works(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    version = write_bundle(tiny_trained, tmp_path, make_current=False).name
    (tmp_path / "pointer").write_text(version + "\n")
    (tmp_path / CURRENT).symlink_to("pointer")
    assert current_version(tmp_path) == version


def test_current_is_read_bounded(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    write_bundle(tiny_trained, tmp_path)
    (tmp_path / CURRENT).write_text(SECRET)
    with pytest.raises(BundleCorruptError, match="longer than 64 bytes") as error:
        current_version(tmp_path)
    assert len(str(error.value)) < 300


def test_manifest_entries_outside_the_bundle_are_refused_before_anything_is_opened(
    tmp_path: Path, tiny_trained: TrainedModel, secret: Path
) -> None:
    bundle = write_bundle(tiny_trained, tmp_path / "models")
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["files"]["../../elsewhere/passwd"] = "0" * 64
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BundleCorruptError, match="not a file name of the bundle"):
        load_bundle(tmp_path / "models")


def test_a_bundle_that_is_a_symlink_elsewhere_is_refused(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    models = tmp_path / "models"
    bundle = write_bundle(tiny_trained, models)
    outside = tmp_path / "outside"
    bundle.rename(outside)
    bundle.symlink_to(outside)
    with pytest.raises(BundleCorruptError, match=r"symbolic link .* outside"):
        load_bundle(models)


def test_a_bundle_file_that_is_a_symlink_is_refused(
    tmp_path: Path, tiny_trained: TrainedModel, secret: Path
) -> None:
    bundle = write_bundle(tiny_trained, tmp_path)
    (bundle / "popularity.npy").unlink()
    (bundle / "popularity.npy").symlink_to(secret)
    with pytest.raises(BundleCorruptError, match="symbolic link"):
        load_bundle(tmp_path)


def test_the_store_refuses_manifest_entries_outside_the_bundle_and_a_long_current(
    tmp_path: Path, bucket: str, tiny_trained: TrainedModel
) -> None:
    store = ModelStore(f"{bucket}/models")
    version = store.publish(write_bundle(tiny_trained, tmp_path / "built"))
    fs = fsspec.filesystem("s3")
    remote = f"{bucket}/models/{version}/{MANIFEST}".removeprefix("s3://")
    manifest = json.loads(fs.cat_file(remote))
    manifest["files"]["../../escaped.npy"] = "0" * 64
    fs.pipe_file(remote, json.dumps(manifest).encode())
    cache = tmp_path / "cache" / "models"
    with pytest.raises(BundleError, match="not a file name of the bundle"):
        store.fetch(version, cache)
    assert not list(tmp_path.rglob("escaped.npy"))
    fs.pipe_file(f"{bucket}/models/{CURRENT}".removeprefix("s3://"), SECRET.encode())
    with pytest.raises(StorageError, match="bytes long, over 64") as error:
        store.current_version()
    assert len(str(error.value)) < 300
