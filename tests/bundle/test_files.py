from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recommender.bundle import files as bundle_mod
from recommender.bundle.directory import CURRENT, current_version, list_bundles, set_current
from recommender.bundle.files import load_bundle, write_bundle
from recommender.bundle.trained import TrainedModel
from recommender.data.catalogue import Catalogue
from recommender.errors import BundleCorruptError, BundleIncompatibleError, BundleNotFoundError
from recommender.lifecycle.startup import load_newest_valid


def _flip_byte(path: Path, offset: int = -5) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_round_trip_restores_everything(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    bundle_dir = write_bundle(tiny_trained, tmp_path)
    assert (tmp_path / CURRENT).read_text().strip() == bundle_dir.name
    loaded = load_bundle(tmp_path)
    assert loaded.users == tiny_trained.users
    assert loaded.jobs == tiny_trained.jobs
    assert (loaded.interactions != tiny_trained.interactions).nnz == 0
    assert (loaded.redirected != tiny_trained.redirected).nnz == 0
    np.testing.assert_array_equal(loaded.popularity, tiny_trained.popularity)
    assert loaded.user_top is not None and tiny_trained.user_top is not None
    np.testing.assert_array_equal(loaded.user_top.cols, tiny_trained.user_top.cols)
    rows = np.arange(3)
    np.testing.assert_array_equal(
        loaded.model.user_scores(rows, loaded.interactions),
        tiny_trained.model.user_scores(rows, tiny_trained.interactions),
    )
    assert loaded.manifest.version == bundle_dir.name
    assert loaded.manifest.model.params["factors"] == 4
    assert "numpy" in loaded.manifest.libraries
    assert loaded.manifest.trained_at


def test_manifest_lists_a_checksum_per_file(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    bundle_dir = write_bundle(tiny_trained, tmp_path)
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    files = {p.name for p in bundle_dir.iterdir()} - {"manifest.json"}
    assert set(manifest["files"]) == files
    assert all(len(v) == 64 for v in manifest["files"].values())


def test_newest_bundle_is_current_and_pointer_can_move(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    first = write_bundle(tiny_trained, tmp_path).name
    second = write_bundle(tiny_trained, tmp_path).name
    assert list_bundles(tmp_path) == [first, second]
    assert current_version(tmp_path) == second
    set_current(tmp_path, first)
    assert load_bundle(tmp_path).manifest.version == first
    with pytest.raises(BundleNotFoundError):
        set_current(tmp_path, "20000101T000000000000Z-deadbeef")


def test_flipped_byte_is_refused(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    bundle_dir = write_bundle(tiny_trained, tmp_path)
    _flip_byte(bundle_dir / "model.item_factors.npy")
    with pytest.raises(BundleCorruptError, match=r"model\.item_factors\.npy fails its checksum"):
        load_bundle(tmp_path)


def test_missing_file_and_broken_manifest_are_refused(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    bundle_dir = write_bundle(tiny_trained, tmp_path)
    (bundle_dir / "popularity.npy").unlink()
    with pytest.raises(BundleCorruptError, match=r"popularity\.npy is missing"):
        load_bundle(tmp_path)
    (bundle_dir / "manifest.json").write_text("{not json")
    with pytest.raises(BundleCorruptError, match="unreadable"):
        load_bundle(tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"format_version": 99}, "format_version 99"), ({"model": {"kind": "svd"}}, "kind 'svd'")],
    ids=["format", "kind"],
)
def test_incompatible_bundles_are_refused(
    tmp_path: Path, tiny_trained: TrainedModel, change: dict[str, object], message: str
) -> None:
    bundle_dir = write_bundle(tiny_trained, tmp_path)
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    manifest.update(change)
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleIncompatibleError, match=message):
        load_bundle(tmp_path)


def test_no_bundle_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(BundleNotFoundError, match="python -m recommender train"):
        load_bundle(tmp_path)


def test_a_crash_while_writing_leaves_no_bundle(
    tmp_path: Path, tiny_trained: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(bundle_mod.json, "dump", fail)
    with pytest.raises(OSError, match="disk full"):
        write_bundle(tiny_trained, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_current_falls_back_to_the_newest_valid(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    good = write_bundle(tiny_trained, tmp_path).name
    bad = write_bundle(tiny_trained, tmp_path)
    _flip_byte(bad / "user_ids.npy")
    assert load_newest_valid(tmp_path).manifest.version == good
    _flip_byte(tmp_path / good / "job_ids.npy")
    with pytest.raises(BundleCorruptError):
        load_newest_valid(tmp_path)


def test_writing_a_loaded_model_again_records_the_new_version(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    first = write_bundle(tiny_trained, tmp_path).name
    second = write_bundle(load_bundle(tmp_path), tmp_path).name
    assert second != first
    assert json.loads((tmp_path / second / "manifest.json").read_text())["version"] == second
    assert load_bundle(tmp_path).manifest.version == second


def test_current_naming_a_missing_bundle_falls_back_to_an_older_one(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    good = write_bundle(tiny_trained, tmp_path).name
    (tmp_path / CURRENT).write_text("29990101T000000000000Z-0badc0de\n")
    with pytest.raises(BundleCorruptError, match="does not exist"):
        load_bundle(tmp_path)
    assert load_newest_valid(tmp_path).manifest.version == good


def test_unsorted_ids_from_another_writer_are_refused(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    bundle_dir = write_bundle(tiny_trained, tmp_path)
    path = bundle_dir / "job_ids.npy"
    np.save(path, np.load(path)[::-1])
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    manifest["files"]["job_ids.npy"] = bundle_mod._sha256(path)
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleCorruptError, match="job_ids must be sorted"):
        load_bundle(tmp_path)


def test_arrays_are_memory_mapped_read_only_so_workers_share_them(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    from recommender.models.als import ALSModel

    write_bundle(tiny_trained, tmp_path)
    mapped = load_bundle(tmp_path)
    assert isinstance(mapped.model, ALSModel)
    assert isinstance(mapped.model.user_factors.base, np.memmap)
    assert not mapped.model.user_factors.flags.writeable
    assert isinstance(mapped.user_top.cols if mapped.user_top else None, np.memmap)
    private = load_bundle(tmp_path, mmap=False)
    assert isinstance(private.model, ALSModel) and private.model.user_factors.flags.writeable
    np.testing.assert_array_equal(mapped.model.user_factors, private.model.user_factors)


def test_a_reader_from_before_the_catalogue_still_finds_only_arrays_in_files(
    tmp_path: Path, rules_trained: TrainedModel
) -> None:
    """Services older than the catalogue np.load every entry of ``files``: the catalogue's
    Parquet files are listed apart, so they can still load (and roll back to) new bundles."""
    jobs = pl.DataFrame({"job_id": [1000, 5555], "description": ["a", "b"]})
    trained = replace(rules_trained, catalogue=Catalogue(jobs))
    bundle_dir = write_bundle(trained, tmp_path)
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    assert all(name.endswith(".npy") for name in manifest["files"])
    assert set(manifest["catalogue_files"]) == {"catalogue.jobs.parquet"}
    for name in manifest["files"]:
        np.load(bundle_dir / name, allow_pickle=False)
    loaded = load_bundle(tmp_path)
    assert loaded.catalogue is not None
    assert loaded.catalogue.jobs["job_id"].to_list() == [1000, 5555]
    (bundle_dir / "catalogue.jobs.parquet").write_bytes(b"not parquet")
    with pytest.raises(BundleCorruptError, match=r"catalogue\.jobs\.parquet fails its checksum"):
        load_bundle(tmp_path)


def test_content_vectors_round_trip(tmp_path: Path) -> None:
    """The words (a str array, saved without pickle), word and job vectors come back equal, and
    the manifest's content section with them; a bundle without content loads with none."""
    from recommender.training.fit import train
    from tests.content.conftest import content_settings, sector_dataset

    trained = train(sector_dataset(), content_settings())
    assert trained.content is not None
    bundle_dir = write_bundle(trained, tmp_path)
    for name in ("words", "word_vectors", "word_weights", "job_vectors"):
        assert np.load(bundle_dir / f"content.{name}.npy", allow_pickle=False).size > 0
    loaded = load_bundle(tmp_path)
    assert loaded.content is not None
    for name, array in trained.content.arrays().items():
        np.testing.assert_array_equal(loaded.content.arrays()[name], array)
    assert loaded.manifest.content == trained.manifest.content
    assert load_bundle(tmp_path).manifest.describe()["content"]["cold_jobs"] == 6
    without = write_bundle(replace(trained, content=None), tmp_path / "old")
    assert not list(without.glob("content.*"))
    assert load_bundle(tmp_path / "old").content is None


def test_content_vectors_misaligned_with_the_jobs_are_refused(tmp_path: Path) -> None:
    from recommender.training.fit import train
    from tests.content.conftest import content_settings, sector_dataset

    trained = train(sector_dataset(), content_settings())
    bundle_dir = write_bundle(trained, tmp_path)
    path = bundle_dir / "content.job_vectors.npy"
    assert trained.content is not None
    np.save(path, trained.content.job_vectors[:-1], allow_pickle=False)
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    manifest["files"][path.name] = bundle_mod._sha256(path)
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleCorruptError, match="content has 35 job vectors, expected 36"):
        load_bundle(tmp_path)
