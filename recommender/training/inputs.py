"""What a training run reads besides the data files: files fetched from ``s3://``, the event
store's events, and what the moving window left out."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from recommender.data.activities import ActivityLines
from recommender.data.catalogue import JOB_KEY
from recommender.data.dataset import Dataset
from recommender.data.listings import overlay
from recommender.data.remote import fetch_inputs, is_url
from recommender.data.schema import ACTIVITIES_FILE, JOBS_FILE, USERS_FILE
from recommender.errors import InvalidDataError
from recommender.events import EventStore, SQLiteEventStore
from recommender.settings import Settings

log = logging.getLogger(__name__)


def local_inputs(settings: Settings, data_dir: Path | str | None = None) -> Path:
    """The local directory of the input files: ``data_dir`` (default the setting), or, for a URL
    (``s3://…``, also ``settings.data_store``), a local cache its files are fetched into first."""
    url = str(data_dir) if data_dir is not None and is_url(data_dir) else None
    if data_dir is None and settings.data_store is not None:
        url = settings.data_store
    if url is None:
        return Path(data_dir or settings.data_dir)
    log.info("fetching the input files of %s", url)
    return fetch_inputs(url, [ACTIVITIES_FILE, JOBS_FILE, USERS_FILE], settings.cache_dir)


def with_events(
    dataset: Dataset, events: EventStore | None, default_path: Path, since: datetime | None
) -> tuple[Dataset, dict[str, Any]]:
    """``dataset`` with the event store's events (those since ``since``) added to its counts.

    ``events_through`` (the last event id read) and ``events_store`` (the store's identity) go
    into the bundle, so a service knows which events the model has seen and which it must still
    recalculate users for. Which store was read, and how many events it gave, is logged.
    """
    opened: EventStore | None = None
    if events is None and default_path.is_file():
        events = opened = SQLiteEventStore(default_path)
    try:
        rows = events.since(0) if events is not None else None
        identity = events.identity if events is not None else None
        postings = events.listings_since(0) if events is not None else []
    finally:
        if opened is not None:
            opened.close()
    if events is None or rows is None:
        log.info("no event store at %s: training on the files alone", default_path)
        return dataset, {"event_lines": 0, "events_through": 0}
    log.info("read %s events from the event store %s", f"{len(rows):,}", events.where)
    if postings:  # jobs posted through the API, laid over jobs.jsonl (the newest version wins)
        log.info("read %s job postings from the event store", f"{len(postings):,}")
        catalogue = dataset.catalogue
        jobs = catalogue.jobs if catalogue.has_jobs() else pl.DataFrame(schema={JOB_KEY: pl.Int64})
        dataset = dataclasses.replace(
            dataset, catalogue=catalogue.with_jobs(overlay(jobs, [p.record for p in postings]))
        )
    info = {
        "job_postings": len(postings),
        "event_lines": len(rows),
        "events_through": rows.through,
        "events_store": identity,
        "events_file": events.where,
    }
    if len(rows) == 0:
        return dataset, info
    frame = rows.frame()
    kept = frame if since is None else frame.filter(pl.col("timestamp") >= since)
    counts = dataset.activities
    if isinstance(counts, ActivityLines):
        counts = counts.counts()
    return dataclasses.replace(
        dataset,
        activities=counts.plus(ActivityLines.unweighted(kept).counts()),
        dropped_lines=dataset.dropped_lines + frame.height - kept.height,
    ), info


def window_info_of(
    dataset: Dataset, window: timedelta | None, since: datetime | None
) -> dict[str, Any]:
    """What the moving window left out, for the bundle; an error when it leaves nothing."""
    if window is None or since is None:
        return {"window_days": None}
    days = round(window / timedelta(days=1), 4)
    if len(dataset.activities) == 0:
        raise InvalidDataError(
            f"no activity in the last {days:g} days (since {since:%Y-%m-%d %H:%M}Z) to train on"
        )
    return {
        "window_days": days,
        "window_start": since.isoformat(timespec="seconds"),
        "window_dropped_lines": dataset.dropped_lines,
    }
