"""Workers sharing an object store: each follows the store's CURRENT into its own local cache,
and every worker takes in the events any of them stored."""

from __future__ import annotations

from pathlib import Path

import fsspec

from recommender.api.deps import ModelSlot
from recommender.bundle.directory import current_version
from recommender.bundle.files import load_bundle, write_bundle
from recommender.bundle.store import ModelStore
from recommender.bundle.trained import TrainedModel
from recommender.events import Event, SQLiteEventStore
from recommender.lifecycle import BundleWatcher, ModelSwitch
from recommender.lifecycle.startup import serve


def _worker(
    cache: Path, store: ModelStore, events: SQLiteEventStore | None = None
) -> tuple[ModelSwitch, ModelSlot]:
    """A worker that fetched the store's CURRENT bundle into ``cache`` and serves it."""
    version = store.current_version()
    assert version is not None
    store.fetch(version, cache)
    slot = ModelSlot(serve(load_bundle(cache, version), events))
    return ModelSwitch(slot, cache, events, keep=5, store=store), slot


def test_a_worker_follows_the_store_and_refuses_a_corrupt_upload(
    tmp_path: Path, bucket: str, tiny_trained: TrainedModel
) -> None:
    store = ModelStore(f"{bucket}/models")
    first = store.publish(write_bundle(tiny_trained, tmp_path / "trainer"))
    switch, slot = _worker(tmp_path / "worker", store)
    watcher = BundleWatcher(switch, interval=0)
    assert watcher.check() is None

    second = store.publish(write_bundle(tiny_trained, tmp_path / "trainer"))  # a retrain elsewhere
    swap = watcher.check()
    assert swap is not None and (swap.previous, swap.version) == (first, second)
    assert slot.get().version == second
    assert current_version(tmp_path / "worker") == second  # the local cache follows too

    bad = write_bundle(tiny_trained, tmp_path / "trainer")
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    store.publish(bad, make_current=False)
    key = f"{bucket[5:]}/models/{bad.name}/popularity.npy"
    data = bytearray(fs.cat_file(key))
    data[-3] ^= 0xFF
    fs.pipe_file(key, bytes(data))
    store.set_current(bad.name)
    assert watcher.check() is None  # refused: checksum
    assert slot.get().version == second


def test_activating_a_local_bundle_publishes_it_and_moves_the_store(
    tmp_path: Path, bucket: str, tiny_trained: TrainedModel
) -> None:
    store = ModelStore(f"{bucket}/models")
    store.publish(write_bundle(tiny_trained, tmp_path / "trainer"))
    switch, slot = _worker(tmp_path / "worker", store)
    local = write_bundle(tiny_trained, tmp_path / "worker", make_current=False).name

    switch.activate(local)

    assert store.current_version() == local and local in store.versions()
    assert slot.get().version == local


def test_every_worker_takes_in_every_workers_events(
    tmp_path: Path, bucket: str, tiny_trained: TrainedModel
) -> None:
    store = ModelStore(f"{bucket}/models")
    store.publish(write_bundle(tiny_trained, tmp_path / "trainer"))
    mine = SQLiteEventStore(tmp_path / "events.sqlite3")
    theirs = SQLiteEventStore(tmp_path / "events.sqlite3")  # another worker's connection
    switch, slot = _worker(tmp_path / "worker", store, mine)
    theirs.append([Event(7777, 1005, "redirect")])
    assert slot.get().recommend(7777, 3).source == "popular"

    BundleWatcher(switch, interval=0).check()

    assert slot.get().recommend(7777, 3).source == "recalculated"
    mine.close()
    theirs.close()


def test_an_activation_prunes_the_store_to_the_newest_bundles(
    tmp_path: Path, bucket: str, tiny_trained: TrainedModel
) -> None:
    store = ModelStore(f"{bucket}/models")
    published = [store.publish(write_bundle(tiny_trained, tmp_path / "trainer")) for _ in range(4)]
    switch, _slot = _worker(tmp_path / "worker", store)  # serves the newest, published[-1]
    switch.keep = 2
    newest = write_bundle(tiny_trained, tmp_path / "worker", make_current=False).name

    switch.activate(newest)

    assert store.versions() == [published[-1], newest]  # the one replaced stays too
    assert store.current_version() == newest
