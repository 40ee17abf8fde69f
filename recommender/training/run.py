"""A training run: read → fit → write → publish, once for every engine.

:func:`train_directory` reads a data directory and :func:`train_log` any interaction log (each
with the event store) locally, sharing everything after reading; the Spark engine
(:mod:`recommender.spark.train`) reads and scores with Spark and fits ``spark-als``. All end in
:func:`finish`, which stamps the run's timings on the manifest, writes the bundle and publishes
it to the model store.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from recommender.bundle.files import write_bundle
from recommender.bundle.store import ModelStore
from recommender.bundle.trained import TrainedModel
from recommender.data.dataset import Dataset, load_dataset, load_log_dataset
from recommender.data.interactions import ColumnMapping
from recommender.data.remote import is_url
from recommender.data.schema import ACTIVITIES_FILE, JOBS_FILE, USERS_FILE
from recommender.errors import InvalidDataError
from recommender.events import EventStore
from recommender.models.base import Progress
from recommender.settings import AUTO, EVENTS_FILE, Settings
from recommender.training.fit import fingerprint_files, train
from recommender.training.inputs import local_inputs, window_info_of, with_events

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LogSpec:
    """The log a run reads, as selection reads it again with its times
    (``evaluate``'s reader): a data directory (its ``activities.jsonl``) or a log file."""

    path: Path
    mapping: ColumnMapping | None = None
    skip_invalid: bool = False
    since: datetime | None = None
    """Only events from then on (the run's window), when set."""


@dataclass(frozen=True)
class Choice:
    """What selection chose: the settings to train with, and the manifest's ``selection``."""

    settings: Settings
    info: dict[str, Any]


Selector = Callable[[LogSpec, Settings], Choice]
"""Chooses the model and its settings for a run whose ``settings.model`` is ``auto``, from the
log it reads and the settings (:class:`recommender.evaluation.auto.AutoSelector` is one)."""


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
    select: Selector | None = None,
) -> TrainResult:
    """Read a data directory and the event store, train, and write a new bundle.

    Parameters
    ----------
    events:
        The store whose events are trained on with the files; by default the one at
        ``settings.events_file`` if that file exists, and for a local ``data_dir`` given here
        (``train --data DIR``), unless ``events_path`` is set, ``DIR/events.sqlite3``: the
        store beside the files, not the one of ``settings.data_dir``.
    window:
        Train on the activity of this last stretch of time only (``settings.window_days`` when
        None); activity lines without a timestamp are kept.
    make_current:
        Point ``CURRENT`` at the new bundle (a running service swaps it in itself otherwise).
    select:
        Chooses the model when ``settings.model`` is ``auto``; without one such a run trains
        ``settings.selection.fallback``.
    """
    events_file = settings.events_file
    if data_dir is not None and not is_url(data_dir) and settings.events_path is None:
        events_file = Path(data_dir) / EVENTS_FILE
    data_dir = local_inputs(settings, data_dir)
    log.info("reading %s", data_dir)

    def read(listings: Path, since: datetime | None) -> Dataset:
        return load_dataset(
            data_dir, listings_dir=listings, skip_invalid=skip_invalid, counts=True, since=since
        )

    inputs = [data_dir / name for name in (ACTIVITIES_FILE, JOBS_FILE, USERS_FILE)]
    source = Source(
        read,
        files=tuple(p for p in inputs if p.exists()),
        info={},
        log=LogSpec(data_dir, skip_invalid=skip_invalid),
        events_file=events_file,
    )
    return _train_local(
        settings,
        source,
        model_dir=model_dir,
        progress=progress,
        events=events,
        window=window,
        make_current=make_current,
        select=select,
    )


def train_log(
    settings: Settings,
    log_file: Path | str,
    mapping: ColumnMapping | None = None,
    *,
    model_dir: Path | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    events: EventStore | None = None,
    window: timedelta | None = None,
    make_current: bool = True,
    select: Selector | None = None,
) -> TrainResult:
    """Read an interaction log (and the event store), train, and write a new bundle.

    The log is read as ``evaluate`` reads it
    (:func:`~recommender.data.dataset.load_log_dataset`): CSV, TSV, Parquet or JSON Lines, with
    ``mapping`` (None: the file's own columns, ``activities.jsonl``'s fields or
    ``job_clicks.csv``'s), a weight counting as that many lines; ``jobs.jsonl`` and
    ``users.jsonl`` in the same directory, if there, form the catalogue. Everything after reading
    is :func:`train_directory`'s; the manifest records the log as ``data.source`` and the
    mapping as ``data.mapping``. The other parameters are :func:`train_directory`'s.

    Raises
    ------
    InvalidDataError
        ``log_file`` is a directory or a URL (the local engine reads one local file), or bad rows.
    """
    path = Path(log_file)
    if is_url(log_file) or path.is_dir():
        what = "a URL" if is_url(log_file) else "a directory"
        raise InvalidDataError(
            f"{what}, not a log file: a column mapping applies to one local log file (a data "
            "directory is trained on by its activities.jsonl, without a mapping; a log at a URL "
            "by --engine spark)",
            path=log_file,
        )
    log.info("reading %s", path)

    def read(listings: Path, since: datetime | None) -> Dataset:
        return load_log_dataset(
            path, mapping, listings_dir=listings, skip_invalid=skip_invalid, since=since
        )

    listed = [path.parent / name for name in (JOBS_FILE, USERS_FILE)]
    info = {"source": str(path), "mapping": None if mapping is None else asdict(mapping)}
    files = (path, *(p for p in listed if p.exists()))
    source = Source(read, files=files, info=info, log=LogSpec(path, mapping, skip_invalid))
    return _train_local(
        settings,
        source,
        model_dir=model_dir,
        progress=progress,
        events=events,
        window=window,
        make_current=make_current,
        select=select,
    )


@dataclass(frozen=True)
class Source:
    """What a local run reads: how (``read(listings_dir, since)``), the files to fingerprint and
    what the manifest's data section says of them."""

    read: Callable[[Path, datetime | None], Dataset]
    files: tuple[Path, ...]
    info: dict[str, Any]
    log: LogSpec
    events_file: Path | None = None
    """The event store read when none is passed (None: ``settings.events_file``)."""


def _train_local(
    settings: Settings,
    source: Source,
    *,
    model_dir: Path | None,
    progress: Progress | None,
    events: EventStore | None,
    window: timedelta | None,
    make_current: bool,
    select: Selector | None,
) -> TrainResult:
    """Read ``source`` and the event store, choose the model (``auto``, with ``select``), fit,
    and :func:`finish`."""
    model_dir = Path(model_dir or settings.model_dir)
    settings = with_checkpoints(settings, model_dir)
    if window is None and settings.window_days is not None:
        window = timedelta(days=settings.window_days)
    started = time.perf_counter()
    since = None if window is None else datetime.now(UTC) - window
    # the checked jobs and profiles are streamed to Parquet here, and copied into the bundle
    with tempfile.TemporaryDirectory(prefix="recommender-listings-") as listings:
        dataset = source.read(Path(listings), since)  # checked first: its errors name the line
        log.info(
            "read %s records (%s activity lines) in %.1f s",
            f"{dataset.reports[0].records:,}",
            f"{dataset.activities.lines():,}",
            time.perf_counter() - started,
        )
        events_file = source.events_file or settings.events_file
        dataset, event_info = with_events(dataset, events, events_file, since)
        window_info = window_info_of(dataset, window, since)
        read = time.perf_counter()
        timings = {"read_seconds": round(read - started, 4)}
        selection: dict[str, Any] | None = None
        if settings.model == AUTO and select is not None:  # without one, fit trains the fallback
            choice = select(replace(source.log, since=since), settings)
            settings, selection = choice.settings, choice.info
            timings["select_seconds"] = round(time.perf_counter() - read, 4)
        fingerprint = fingerprint_files(source.files)
        trained = train(dataset, settings, fingerprint=fingerprint, progress=progress)
        trained.manifest.data = trained.manifest.data.model_copy(
            update=source.info | event_info | window_info
        )
        trained.manifest.selection = selection
        return finish(
            trained,
            settings,
            reports=dataset.reports,
            started=started,
            timings=timings,
            model_dir=model_dir,
            make_current=make_current,
        )


def with_checkpoints(settings: Settings, model_dir: Path) -> Settings:
    """``settings`` with the neural model's checkpoints kept beside the bundles, unless set:
    ``<model store>/checkpoints`` (an s3:// model directory), else ``<model_dir>/checkpoints``
    (never taken for a bundle: not a version's name)."""
    if settings.neural.checkpoint_dir is not None:
        return settings
    store = settings.model_store
    where = f"{store.rstrip('/')}/checkpoints" if store else str(model_dir / "checkpoints")
    neural = settings.neural.model_copy(update={"checkpoint_dir": where})
    return settings.model_copy(update={"neural": neural})


def finish(
    trained: TrainedModel,
    settings: Settings,
    *,
    reports: tuple[ReadReport, ...],
    started: float,
    timings: dict[str, float],
    model_dir: Path | None = None,
    make_current: bool = True,
) -> TrainResult:
    """The end of every training run: record how long it took (``timings`` of the reading
    phases first, then the fit's, then the total since ``started``), write the bundle into
    ``model_dir`` (default the setting) and publish it to the model store, if there is one."""
    seconds = time.perf_counter() - started
    manifest = trained.manifest
    manifest.timings = timings | manifest.timings | {"total_seconds": round(seconds, 4)}
    manifest.train_seconds = round(seconds, 4)
    bundle_dir = write_bundle(
        trained, Path(model_dir or settings.model_dir), make_current=make_current
    )
    if settings.model_store is not None:  # s3:// model directory: the bundle is published too
        ModelStore(settings.model_store).publish(bundle_dir, make_current=make_current)
        log.info("published %s to %s", bundle_dir.name, settings.model_store)
    return TrainResult(trained=trained, bundle_dir=bundle_dir, reports=reports, seconds=seconds)
