from __future__ import annotations

import logging
from pathlib import Path

import pytest

from recommender.api.deps import ModelSlot
from recommender.bundle.directory import current_version, list_bundles
from recommender.bundle.files import write_bundle
from recommender.bundle.trained import TrainedModel
from recommender.errors import BundleCorruptError, NoPreviousBundleError
from recommender.lifecycle import ModelSwitch
from recommender.recommender import Recommender
from tests.lifecycle.conftest import flip_byte, serving, write_versions


def test_activate_verifies_swaps_and_moves_current(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    (old,) = write_versions(tmp_path, tiny_trained, 1)
    switch, slot = serving(tmp_path, old)
    before = slot.get()
    new = write_bundle(tiny_trained, tmp_path, make_current=False).name
    assert current_version(tmp_path) == old  # written beside the live one, not yet in use

    swap = switch.activate(new)
    assert (swap.version, swap.previous) == (new, old)
    assert slot.get().version == new
    assert slot.get() is not before
    assert current_version(tmp_path) == new
    assert swap.load_seconds > 0
    assert 0 <= swap.swap_seconds < swap.load_seconds


def test_activate_refuses_a_corrupt_bundle_and_changes_nothing(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    (old,) = write_versions(tmp_path, tiny_trained, 1)
    switch, slot = serving(tmp_path, old)
    new = write_bundle(tiny_trained, tmp_path, make_current=False)
    flip_byte(new / "model.user_factors.npy")

    with pytest.raises(BundleCorruptError, match=r"model\.user_factors\.npy fails its checksum"):
        switch.activate(new.name)
    assert slot.get().version == old
    assert current_version(tmp_path) == old


def test_activate_prunes_beyond_keep_but_not_what_is_served(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    versions = write_versions(tmp_path, tiny_trained, 3)
    switch, _ = serving(tmp_path, versions[0], keep=2)  # serving the oldest (a rollback, say)
    new = write_bundle(tiny_trained, tmp_path, make_current=False).name
    switch.activate(new)
    # the newest two stay; the one served until the swap is kept for a rollback
    assert list_bundles(tmp_path) == [versions[0], versions[2], new]


def test_rollback_serves_the_previous_bundle(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    versions = write_versions(tmp_path, tiny_trained, 3)
    switch, slot = serving(tmp_path, versions[2])
    swap = switch.rollback()
    assert (swap.version, swap.previous, swap.skipped) == (versions[1], versions[2], ())
    assert slot.get().version == versions[1]
    assert current_version(tmp_path) == versions[1]
    assert switch.rollback().version == versions[0]  # and again, further back


def test_rollback_with_nothing_older_is_refused(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    versions = write_versions(tmp_path, tiny_trained, 2)
    switch, slot = serving(tmp_path, versions[0])
    with pytest.raises(NoPreviousBundleError, match=f"no bundle older than {versions[0]}"):
        switch.rollback()
    assert slot.get().version == versions[0]


def test_rollback_skips_a_corrupt_bundle(
    tmp_path: Path, tiny_trained: TrainedModel, caplog: pytest.LogCaptureFixture
) -> None:
    versions = write_versions(tmp_path, tiny_trained, 3)
    flip_byte(tmp_path / versions[1] / "popularity.npy")
    switch, slot = serving(tmp_path, versions[2])
    with caplog.at_level(logging.ERROR, logger="recommender.lifecycle"):
        swap = switch.rollback()
    assert (swap.version, swap.skipped) == (versions[0], (versions[1],))
    assert slot.get().version == versions[0]
    assert f"rollback skips bundle {versions[1]}" in caplog.text
    assert "fails its checksum" in caplog.text


def test_rollback_when_every_older_bundle_is_corrupt(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    versions = write_versions(tmp_path, tiny_trained, 2)
    flip_byte(tmp_path / versions[0] / "job_ids.npy")
    switch, slot = serving(tmp_path, versions[1])
    with pytest.raises(NoPreviousBundleError, match=f"1 refused: {versions[0]}"):
        switch.rollback()
    assert slot.get().version == versions[1]
    assert current_version(tmp_path) == versions[1]


def test_rollback_from_a_model_that_is_no_bundle(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    slot = ModelSlot(Recommender(tiny_trained))  # never written: "unsaved"
    switch = ModelSwitch(slot, tmp_path, events=None, keep=5)
    with pytest.raises(NoPreviousBundleError, match="not loaded from a bundle"):
        switch.rollback()


def test_bundles_lists_current_served_and_problems(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    versions = write_versions(tmp_path, tiny_trained, 3)
    switch, _ = serving(tmp_path, versions[1])
    (tmp_path / versions[0] / "manifest.json").write_text("{")
    listed = switch.bundles()
    assert [b.version for b in listed] == versions
    assert [(b.current, b.served) for b in listed] == [(False, False), (False, True), (True, False)]
    assert listed[0].problem is not None and "unreadable" in listed[0].problem
    assert listed[1].model == "als"
    assert listed[1].trained_at is not None
