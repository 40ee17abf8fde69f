from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from recommender.bundle.directory import CURRENT, current_version, set_current
from recommender.bundle.files import write_bundle
from recommender.bundle.trained import TrainedModel
from recommender.lifecycle import BundleWatcher
from tests.lifecycle.conftest import flip_byte, serving, write_versions


def test_follows_current_when_someone_else_moves_it(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    (old,) = write_versions(tmp_path, tiny_trained, 1)
    switch, slot = serving(tmp_path, old)
    watcher = BundleWatcher(switch, interval=0)
    assert watcher.check() is None  # CURRENT names what is served

    new = write_bundle(tiny_trained, tmp_path).name  # as `python -m recommender train` does
    swap = watcher.check()
    assert swap is not None
    assert (swap.version, swap.previous) == (new, old)
    assert slot.get().version == new
    assert watcher.check() is None

    set_current(tmp_path, old)  # another worker rolled back
    assert watcher.check() is not None
    assert slot.get().version == old


def test_a_corrupt_bundle_is_refused_once_and_the_old_one_served(
    tmp_path: Path, tiny_trained: TrainedModel, caplog: pytest.LogCaptureFixture
) -> None:
    (old,) = write_versions(tmp_path, tiny_trained, 1)
    switch, slot = serving(tmp_path, old)
    watcher = BundleWatcher(switch, interval=0)
    bad = write_bundle(tiny_trained, tmp_path)
    flip_byte(bad / "model.item_factors.npy")  # flip bytes in a .npy of the new bundle

    with caplog.at_level(logging.ERROR, logger="recommender.lifecycle"):
        assert watcher.check() is None
        assert watcher.check() is None
    assert slot.get().version == old
    assert current_version(tmp_path) == bad.name
    refusals = [r for r in caplog.records if "refusing the bundle CURRENT names" in r.message]
    assert len(refusals) == 1  # logged once per version, not at every check
    assert f"still serving {old}" in refusals[0].message
    assert "model.item_factors.npy fails its checksum: the bundle is corrupt" in refusals[0].message

    good = write_bundle(tiny_trained, tmp_path).name  # the next good one is followed
    assert watcher.check() is not None
    assert slot.get().version == good


def test_an_unreadable_pointer_is_refused_once(
    tmp_path: Path, tiny_trained: TrainedModel, caplog: pytest.LogCaptureFixture
) -> None:
    (old,) = write_versions(tmp_path, tiny_trained, 1)
    switch, slot = serving(tmp_path, old)
    watcher = BundleWatcher(switch, interval=0)
    (tmp_path / CURRENT).write_text("../../etc\n")
    with caplog.at_level(logging.ERROR, logger="recommender.lifecycle"):
        assert watcher.check() is None
        assert watcher.check() is None
    assert slot.get().version == old
    assert caplog.text.count("which is not a bundle version") == 1


def test_the_thread_polls_and_stops(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    (old,) = write_versions(tmp_path, tiny_trained, 1)
    switch, slot = serving(tmp_path, old)
    watcher = BundleWatcher(switch, interval=0.02)
    watcher.start()
    try:
        new = write_bundle(tiny_trained, tmp_path).name
        deadline = time.monotonic() + 10
        while slot.get().version != new and time.monotonic() < deadline:
            time.sleep(0.01)
        assert slot.get().version == new
        assert watcher.running
    finally:
        watcher.stop()
    assert not watcher.running


def test_an_interval_of_zero_starts_no_thread(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    (old,) = write_versions(tmp_path, tiny_trained, 1)
    switch, _ = serving(tmp_path, old)
    watcher = BundleWatcher(switch, interval=0)
    watcher.start()
    assert not watcher.running
    watcher.stop()
