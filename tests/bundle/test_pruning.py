from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from recommender.bundle.directory import current_version, list_bundles, set_current
from recommender.bundle.pruning import STALE_SECONDS
from recommender.bundle.trained import TrainedModel
from recommender.lifecycle import prune_bundles
from tests.lifecycle.conftest import write_versions


def test_keeps_the_newest_n(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    versions = write_versions(tmp_path, tiny_trained, 5)
    assert prune_bundles(tmp_path, keep=2) == versions[:3]
    assert list_bundles(tmp_path) == versions[3:]
    assert prune_bundles(tmp_path, keep=2) == []


def test_never_deletes_current_nor_a_protected_one(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    versions = write_versions(tmp_path, tiny_trained, 5)
    set_current(tmp_path, versions[0])  # rolled back to the oldest
    deleted = prune_bundles(tmp_path, keep=2, protect=[versions[1], None])
    assert deleted == [versions[2]]
    assert list_bundles(tmp_path) == [versions[0], versions[1], versions[3], versions[4]]
    assert current_version(tmp_path) == versions[0]


def test_keep_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        prune_bundles(tmp_path, keep=0)


def test_stale_leftovers_go_and_fresh_ones_stay(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    write_versions(tmp_path, tiny_trained, 1)
    stale, fresh = tmp_path / ".tmp-stale", tmp_path / ".tmp-fresh"
    for path in (stale, fresh):
        path.mkdir()
        (path / "user_ids.npy").write_bytes(b"half written")
    stale_pointer = tmp_path / ".CURRENT.0badf00d"
    stale_pointer.write_text("x\n")
    interrupted = tmp_path / ".deleting-20200101T000000000000Z-00000000"
    interrupted.mkdir()
    old = time.time() - STALE_SECONDS - 60
    for path in (stale, stale_pointer):
        os.utime(path, (old, old))

    prune_bundles(tmp_path, keep=3)
    assert not stale.exists()
    assert not stale_pointer.exists()
    assert not interrupted.exists()
    assert fresh.is_dir()  # perhaps a writer at work right now


def test_a_missing_model_dir_prunes_nothing(tmp_path: Path) -> None:
    assert prune_bundles(tmp_path / "none", keep=2) == []
