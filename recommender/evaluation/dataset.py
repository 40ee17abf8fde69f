"""A log to evaluate on: a data directory, the Spark write-up's CSVs, or any log file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from recommender.data.interactions import ColumnMapping, read_interactions, read_job_categories
from recommender.data.jsonl import LoadReport
from recommender.data.schema import ACTIVITIES_FILE
from recommender.errors import MissingDataError

JOB_CLICKS_FILE = "job_clicks.csv"
JOB_CATEGORIES_FILE = "jobs.csv"


@dataclass(frozen=True)
class EventLog:
    """Events (user_id, job_id, is_redirect, weight, timestamp) and where they came from."""

    events: pl.DataFrame
    name: str
    reports: tuple[LoadReport, ...]
    catalogue_jobs: int | None = None


def log_file_of(path: Path) -> Path:
    """The log a path names: the file itself, or a directory's activities.jsonl or
    job_clicks.csv."""
    if not path.is_dir():
        return path
    for name in (ACTIVITIES_FILE, JOB_CLICKS_FILE):
        if (path / name).is_file():
            return path / name
    raise MissingDataError(f"no {ACTIVITIES_FILE} or {JOB_CLICKS_FILE} in the directory", path=path)


def load_log(
    path: Path, mapping: ColumnMapping | None = None, *, skip_invalid: bool = False
) -> EventLog:
    """Read a log: a directory (its ``activities.jsonl`` or ``job_clicks.csv``) or a file.

    Beside ``job_clicks.csv``, the write-up's ``jobs.csv`` (``jobID,job_category``) is read too and
    its size recorded as the catalogue.
    """
    path = Path(path)
    log_file = log_file_of(path)
    events, report = read_interactions(log_file, mapping, skip_invalid=skip_invalid)
    reports = [report]
    catalogue = None
    categories = log_file.parent / JOB_CATEGORIES_FILE
    if log_file.name == JOB_CLICKS_FILE and categories.is_file():
        jobs, jobs_report = read_job_categories(categories)
        reports.append(jobs_report)
        catalogue = jobs.height
    return EventLog(events=events, name=str(path), reports=tuple(reports), catalogue_jobs=catalogue)
