"""A ``CURRENT`` that is a directory: retraining, the watcher and start-up all refuse it, with a
clear log line, and none of them serves or moves anything because of it."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from recommender.api.deps import ModelSlot
from recommender.bundle.directory import CURRENT, list_bundles
from recommender.bundle.files import write_bundle
from recommender.bundle.trained import TrainedModel
from recommender.errors import BundleCorruptError
from recommender.lifecycle import BundleWatcher, ModelSwitch, RetrainManager
from recommender.lifecycle.startup import load_newest_valid, load_or_train, serve
from recommender.training.run import train_directory
from tests.conftest import WriteJsonl, block_activities, tiny_settings
from tests.lifecycle.conftest import serving, write_versions


def test_the_watcher_refuses_a_current_directory_and_never_serves_a_newer_bundle(
    tmp_path: Path, tiny_trained: TrainedModel, caplog: pytest.LogCaptureFixture
) -> None:
    (old,) = write_versions(tmp_path, tiny_trained, 1)
    switch, slot = serving(tmp_path, old)
    (tmp_path / CURRENT).unlink()
    (tmp_path / CURRENT).mkdir()
    write_bundle(tiny_trained, tmp_path, make_current=False)  # what a failed retrain leaves
    watcher = BundleWatcher(switch, interval=0)
    with caplog.at_level(logging.ERROR, logger="recommender.lifecycle"):
        assert watcher.check() is None
        assert watcher.check() is None
    assert slot.get().version == old
    assert caplog.text.count("is a directory, not a regular file: refusing it") == 1


def test_a_retrain_fails_clearly_on_a_current_directory_and_writes_nothing(
    tmp_path: Path, jsonl: WriteJsonl
) -> None:
    settings = tiny_settings(tmp_path)
    jsonl(settings.data_dir / "activities.jsonl", block_activities())
    slot = ModelSlot(serve(train_directory(settings).trained))
    old = slot.get().version
    (settings.model_dir / CURRENT).unlink()
    (settings.model_dir / CURRENT).mkdir()
    switch = ModelSwitch(slot, settings.model_dir, events=None, keep=settings.keep_bundles)
    manager = RetrainManager(settings, switch)
    try:
        job = manager.submit()
        deadline = time.monotonic() + 60
        while not (job := manager.get(job.id)).finished and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        manager.close()
    assert job.status == "failed"
    assert job.error is not None
    assert "CURRENT is a directory, not a regular file" in job.error
    assert "IsADirectoryError" not in job.error
    assert slot.get().version == old
    assert list_bundles(settings.model_dir) == [old]


def test_start_up_logs_a_current_directory_and_leaves_it(
    tmp_path: Path, tiny_trained: TrainedModel, caplog: pytest.LogCaptureFixture
) -> None:
    (only,) = write_versions(tmp_path, tiny_trained, 1)
    (tmp_path / CURRENT).unlink()
    (tmp_path / CURRENT).mkdir()
    with caplog.at_level(logging.ERROR, logger="recommender.lifecycle"):
        assert load_newest_valid(tmp_path).manifest.version == only
    assert "CURRENT is a directory, not a regular file: refusing it" in caplog.text
    assert (tmp_path / CURRENT).is_dir()


def test_start_up_with_no_bundle_refuses_a_current_symlink_instead_of_replacing_it(
    tmp_path: Path, jsonl: WriteJsonl
) -> None:
    settings = tiny_settings(tmp_path).model_copy(update={"train_if_missing": True})
    jsonl(settings.data_dir / "activities.jsonl", block_activities())
    settings.model_dir.mkdir()
    (tmp_path / "passwd").write_text("root:x:0:0\n")
    (settings.model_dir / CURRENT).symlink_to(tmp_path / "passwd")
    with pytest.raises(BundleCorruptError, match="symbolic link"):
        load_or_train(settings)
    assert (settings.model_dir / CURRENT).is_symlink()
    assert list_bundles(settings.model_dir) == []
