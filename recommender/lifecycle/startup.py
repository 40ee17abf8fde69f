"""Start-up: the model a service begins with (from the model store, the newest valid bundle, or a
fresh training run), and the one path every served model goes through."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from recommender.bundle.directory import current_version, list_bundles, set_current
from recommender.bundle.files import load_bundle
from recommender.bundle.store import ModelStore
from recommender.bundle.trained import TrainedModel
from recommender.errors import BundleError, BundleNotFoundError, EventStoreError
from recommender.events import EventStore
from recommender.events.fresh import DEFAULT_MAX_BYTES
from recommender.recommender import Recommender
from recommender.settings import Settings

log = logging.getLogger(__name__)


def sync_from_store(settings: Settings) -> str | None:
    """Fetch the bundle the model store's ``CURRENT`` names into ``model_dir`` and point the local
    ``CURRENT`` at it; the version, or None when there is no store or no bundle in it yet."""
    if settings.model_store is None:
        return None
    store = ModelStore(settings.model_store)
    version = store.current_version()
    if version is None:
        return None
    store.fetch(version, settings.model_dir)
    set_current(settings.model_dir, version)
    log.info("fetched bundle %s from %s", version, settings.model_store)
    return version


def load_newest_valid(model_dir: Path) -> TrainedModel:
    """Load ``CURRENT``; if it is refused, the newest older bundle that loads, logging each refusal.

    Raises
    ------
    BundleNotFoundError
        No bundle at all.
    BundleError
        Bundles exist but none can be loaded (the error of the first one tried).
    """
    try:
        return load_bundle(model_dir)
    except BundleNotFoundError:
        raise
    except BundleError as first:
        log.error("refusing bundle: %s", first)
        tried = _pointed_to(model_dir)
        for version in reversed(list_bundles(model_dir)):
            if version == tried:
                continue
            try:
                trained = load_bundle(model_dir, version)
            except BundleError as exc:
                log.error("refusing bundle: %s", exc)
                continue
            log.warning("serving older bundle %s instead", version)
            return trained
        raise first


def _pointed_to(model_dir: Path) -> str | None:
    try:
        return current_version(model_dir)
    except BundleError:
        return None


def serve(
    trained: TrainedModel, events: EventStore | None = None, fresh_bytes: int = DEFAULT_MAX_BYTES
) -> Recommender:
    """The :class:`Recommender` that serves ``trained``: every model the service puts in front of
    clients (at start-up, after a retrain, a rollback or a pointer change) goes through here,
    with the job postings of ``events`` laid over it.
    ``fresh_bytes`` bounds the memory of the users' newer events (``fresh_cache_mib``)."""
    recommender = Recommender(trained, fresh_bytes)
    if events is not None:  # users with events newer than the model are recalculated at once
        try:
            recommender.catch_up(events)
        except EventStoreError as exc:  # serve all the same: the watcher catches up later
            log.error("cannot read the events newer than the model yet: %s", exc)
        try:  # and the jobs posted through the API are served, whenever they were posted
            recommender = recommender.catch_up_listings(events)
        except EventStoreError as exc:
            log.error("cannot read the job postings yet: %s", exc)
    return recommender


def load_or_train(settings: Settings, events: EventStore | None = None) -> Recommender:
    """The recommender the service starts with: the newest valid bundle, or a fresh training run,
    caught up with ``events`` newer than the model (see :func:`serve`)."""
    sync_from_store(settings)
    try:
        trained = load_newest_valid(settings.model_dir)
    except BundleNotFoundError:
        if not settings.train_if_missing:
            raise
        # several workers starting together: one trains, the others wait and load its bundle
        with exclusive_lock(Path(settings.model_dir) / ".training.lock"):
            try:
                trained = load_newest_valid(settings.model_dir)
            except BundleNotFoundError:
                log.info("no bundle in %s: training on %s", settings.model_dir, settings.data_dir)
                # a service starting from a bundle never loads the training code
                from recommender.evaluation.auto import AutoSelector  # noqa: PLC0415
                from recommender.training.run import train_directory  # noqa: PLC0415

                trained = train_directory(settings, events=events, select=AutoSelector()).trained
    return serve(trained, events, settings.fresh_bytes)


@contextmanager
def lock_if_free(path: Path) -> Iterator[bool]:
    """Take the exclusive lock on ``path`` if no process holds it (then True), without waiting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if missing) across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
