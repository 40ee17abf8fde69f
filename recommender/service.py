"""Entry points shared by the API and the CLI: train a data directory, load or train a model."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from recommender.bundle import (
    current_version,
    list_bundles,
    load_bundle,
    set_current,
    write_bundle,
)
from recommender.errors import BundleError, BundleNotFoundError
from recommender.events import EventStore
from recommender.models.base import Progress
from recommender.recommender import Recommender
from recommender.settings import Settings
from recommender.storage import ModelStore
from recommender.trained import TrainedModel

log = logging.getLogger(__name__)


class ReadReport(Protocol):
    """What reading one input found (a local reader's or Spark's), summed up for people."""

    def summary(self) -> str:
        """One line."""


@dataclass(frozen=True)
class TrainResult:
    """A finished training run, on either engine: the model, its bundle, what reading found."""

    trained: TrainedModel
    bundle_dir: Path
    reports: tuple[ReadReport, ...]
    seconds: float


def train_directory(
    settings: Settings,
    *,
    data_dir: Path | str | None = None,
    model_dir: Path | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    events: EventStore | None = None,
    window: timedelta | None = None,
    make_current: bool = True,
) -> TrainResult:
    """Read a data directory and the event store, train, and write a new bundle.

    Parameters
    ----------
    events:
        The store whose events are trained on with the files; by default the one at
        ``settings.events_file``, if that file exists.
    window:
        Train on the activity of this last stretch of time only (``settings.window_days`` when
        None); activity lines without a timestamp are kept.
    make_current:
        Point ``CURRENT`` at the new bundle (a running service swaps it in itself otherwise).
    """
    from recommender.data.readers import ACTIVITIES_FILE, JOBS_FILE, USERS_FILE, load_dataset
    from recommender.training import fingerprint_files, train
    from recommender.training_inputs import local_inputs, window_info_of, with_events

    data_dir = local_inputs(settings, data_dir)
    model_dir = Path(model_dir or settings.model_dir)
    if window is None and settings.window_days is not None:
        window = timedelta(days=settings.window_days)
    started = time.perf_counter()
    log.info("reading %s", data_dir)
    since = None if window is None else datetime.now(UTC) - window
    dataset = load_dataset(
        data_dir, skip_invalid=skip_invalid, counts=True, since=since, with_users=False
    )
    log.info(
        "read %s activity lines (%s (user, job) pairs) in %.1f s",
        f"{dataset.reports[0].records:,}",
        f"{dataset.activities.height:,}",
        time.perf_counter() - started,
    )
    dataset, event_info = with_events(dataset, events, settings.events_file, since)
    window_info = window_info_of(dataset, window, since)
    read = time.perf_counter()
    inputs = [data_dir / name for name in (ACTIVITIES_FILE, JOBS_FILE, USERS_FILE)]
    fingerprint = fingerprint_files(p for p in inputs if p.exists())
    trained = train(dataset, settings, fingerprint=fingerprint, progress=progress)
    seconds = time.perf_counter() - started
    trained.info["data"].update(event_info, **window_info)
    trained.info["timings"] = {
        "read_seconds": round(read - started, 4),
        **trained.info["timings"],
        "total_seconds": round(seconds, 4),
    }
    trained.info["train_seconds"] = round(seconds, 4)
    bundle_dir = write_bundle(trained, model_dir, make_current=make_current)
    if settings.model_store is not None:
        ModelStore(settings.model_store).publish(bundle_dir, make_current=make_current)
        log.info("published %s to %s", bundle_dir.name, settings.model_store)
    return TrainResult(
        trained=trained, bundle_dir=bundle_dir, reports=dataset.reports, seconds=seconds
    )


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


def serve(trained: TrainedModel, events: EventStore | None = None) -> Recommender:
    """The :class:`Recommender` that serves ``trained``: every model the service puts in front of
    clients (at start-up, after a retrain, a rollback or a pointer change) goes through here."""
    recommender = Recommender(trained)
    if events is not None:  # users with events newer than the model are recalculated at once
        recommender.catch_up(events)
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
                trained = train_directory(settings, events=events).trained
    return serve(trained, events)


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if missing) across processes."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
