"""ModelStore and fetch_inputs against a real S3-compatible server (moto) on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import fsspec
import pytest

from recommender.bundle.files import load_bundle, write_bundle
from recommender.bundle.store import ModelStore
from recommender.bundle.trained import TrainedModel
from recommender.data.remote import fetch_inputs, is_url, local_cache_for
from recommender.errors import BundleCorruptError, BundleNotFoundError, StorageError


def test_is_url() -> None:
    assert is_url("s3://bucket/models")
    assert not is_url("models") and not is_url(Path("/srv/models"))
    assert not is_url("file:///srv/models")
    assert local_cache_for("s3://b/a/../x", Path("c")) == Path("c/s3/b/a/x")


def test_publish_then_fetch_round_trips_a_bundle(
    tmp_path: Path, bucket: str, tiny_trained: TrainedModel
) -> None:
    store = ModelStore(f"{bucket}/models")
    assert store.current_version() is None and store.versions() == []
    local = write_bundle(tiny_trained, tmp_path / "built")

    store.publish(local)

    assert store.current_version() == local.name
    assert store.versions() == [local.name]
    fetched = store.fetch(local.name, tmp_path / "cache")
    loaded = load_bundle(tmp_path / "cache", local.name)
    assert fetched == tmp_path / "cache" / local.name
    assert loaded.users.ids.tolist() == tiny_trained.users.ids.tolist()
    assert store.fetch(local.name, tmp_path / "cache") == fetched  # cached: no second download


def test_a_bundle_without_its_manifest_is_not_listed_and_cannot_be_fetched(
    tmp_path: Path, bucket: str, tiny_trained: TrainedModel
) -> None:
    store = ModelStore(f"{bucket}/models")
    local = write_bundle(tiny_trained, tmp_path / "built")
    store.publish(local, make_current=False)
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.rm_file(f"{bucket[5:]}/models/{local.name}/manifest.json")  # an upload cut short
    assert store.versions() == []
    with pytest.raises(BundleNotFoundError, match=local.name):
        store.fetch(local.name, tmp_path / "cache")


def test_a_corrupted_upload_is_refused_when_loaded(
    tmp_path: Path, bucket: str, tiny_trained: TrainedModel
) -> None:
    store = ModelStore(f"{bucket}/models")
    local = write_bundle(tiny_trained, tmp_path / "built")
    store.publish(local)
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    key = f"{bucket[5:]}/models/{local.name}/popularity.npy"
    data = bytearray(fs.cat_file(key))
    data[-1] ^= 0xFF
    fs.pipe_file(key, bytes(data))
    store.fetch(local.name, tmp_path / "cache")
    with pytest.raises(BundleCorruptError, match="checksum"):
        load_bundle(tmp_path / "cache", local.name)


def test_a_bad_pointer_and_an_unreachable_store_are_clear_errors(
    tmp_path: Path, bucket: str, tiny_trained: TrainedModel
) -> None:
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.pipe_file(f"{bucket[5:]}/models/CURRENT", b"../../etc\n")
    with pytest.raises(StorageError, match="not a bundle version"):
        ModelStore(f"{bucket}/models").current_version()
    with pytest.raises(StorageError, match="no-such-bucket"):
        ModelStore("s3://no-such-bucket-x/models").publish(write_bundle(tiny_trained, tmp_path))
    with pytest.raises(BundleNotFoundError, match="no bundle"):
        ModelStore(f"{bucket}/models").publish(tmp_path / "missing")


def test_delete_removes_a_bundle(tmp_path: Path, bucket: str, tiny_trained: TrainedModel) -> None:
    store = ModelStore(f"{bucket}/models")
    version = store.publish(write_bundle(tiny_trained, tmp_path / "built"))
    store.delete(version)
    assert store.versions() == []


def test_fetch_inputs_downloads_only_what_changed(tmp_path: Path, bucket: str) -> None:
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    root = f"{bucket[5:]}/data"
    fs.pipe_file(f"{root}/activities.jsonl", b'{"user_id":1,"job_id":2,"type":"redirect"}\n')
    local = fetch_inputs(f"{bucket}/data", ["activities.jsonl", "jobs.jsonl"], tmp_path)
    target = local / "activities.jsonl"
    assert target.read_bytes().startswith(b'{"user_id":1')
    assert not (local / "jobs.jsonl").exists()
    before = target.stat().st_mtime_ns
    fetch_inputs(f"{bucket}/data", ["activities.jsonl"], tmp_path)
    assert target.stat().st_mtime_ns == before  # unchanged: not downloaded again
    fs.pipe_file(f"{root}/activities.jsonl", b'{"user_id":3,"job_id":4,"type":"redirect"}\n')
    fetch_inputs(f"{bucket}/data", ["activities.jsonl"], tmp_path)
    assert target.read_bytes().startswith(b'{"user_id":3')
