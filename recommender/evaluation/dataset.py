"""A log to evaluate on: a data directory, the Spark write-up's CSVs, or any log file; and the
catalogue beside it (``jobs.jsonl``, ``users.jsonl``), read as training reads it."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from recommender.data.catalogue import Catalogue
from recommender.data.input_file import readable_file
from recommender.data.interactions import ColumnMapping, read_interactions, read_job_categories
from recommender.data.jsonl import LoadReport
from recommender.data.readers import copy_jobs, copy_users
from recommender.data.schema import ACTIVITIES_FILE, JOBS_FILE, USERS_FILE
from recommender.errors import MissingDataError

JOB_CLICKS_FILE = "job_clicks.csv"
JOB_CATEGORIES_FILE = "jobs.csv"


@dataclass(frozen=True)
class EventLog:
    """Events (user_id, job_id, is_redirect, weight, timestamp), where they came from, and the
    catalogue of listed jobs and user profiles (empty unless asked for and found)."""

    events: pl.DataFrame
    name: str
    reports: tuple[LoadReport, ...]
    catalogue_jobs: int | None = None
    catalogue: Catalogue = field(default_factory=Catalogue)


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
    path: Path,
    mapping: ColumnMapping | None = None,
    *,
    skip_invalid: bool = False,
    with_catalogue: bool = False,
    jobs: Path | None = None,
    users: Path | None = None,
) -> EventLog:
    """Read a log: a directory (its ``activities.jsonl`` or ``job_clicks.csv``) or a file.

    Beside ``job_clicks.csv``, the write-up's ``jobs.csv`` (``jobID,job_category``) is read too and
    its size recorded as the catalogue.

    With ``with_catalogue``, the listed jobs and user profiles are read as training reads them
    (:func:`~recommender.data.readers.copy_jobs`, ``copy_users``): ``jobs`` and ``users`` when
    given, else ``jobs.jsonl`` and ``users.jsonl`` beside the log when they are there. They give
    the models text and profiles only: no interaction comes from them.
    """
    path = Path(path)
    log_file = log_file_of(path)
    events, report = read_interactions(log_file, mapping, skip_invalid=skip_invalid)
    reports = [report]
    count = None
    categories = log_file.parent / JOB_CATEGORIES_FILE
    if log_file.name == JOB_CLICKS_FILE and categories.is_file():
        listed, jobs_report = read_job_categories(categories)
        reports.append(jobs_report)
        count = listed.height
    catalogue = Catalogue()
    if with_catalogue:
        catalogue, listed_reports = read_catalogue(
            _beside(log_file, JOBS_FILE, jobs), _beside(log_file, USERS_FILE, users), skip_invalid
        )
        reports.extend(listed_reports)
        if catalogue.has_jobs():
            count = catalogue.jobs.height
    return EventLog(
        events=events,
        name=str(path),
        reports=tuple(reports),
        catalogue_jobs=count,
        catalogue=catalogue,
    )


def _beside(log_file: Path, name: str, given: Path | None) -> Path | None:
    """The listing file given, else the one named ``name`` beside the log if it is there."""
    if given is not None:
        return readable_file(Path(given))
    default = log_file.parent / name
    return default if default.is_file() else None


def read_catalogue(
    jobs: Path | None, users: Path | None, skip_invalid: bool = False
) -> tuple[Catalogue, list[LoadReport]]:
    """The catalogue of a ``jobs.jsonl`` and a ``users.jsonl`` (either may be None), checked and
    read as training reads them (through Parquet, with the jobs' other fields as
    ``attributes``), held in memory."""
    reports: list[LoadReport] = []
    frames: dict[str, pl.DataFrame | None] = {"jobs": None, "users": None}
    with tempfile.TemporaryDirectory(prefix="evaluate-listings-") as tmp:
        for name, source, copy in (("jobs", jobs, copy_jobs), ("users", users, copy_users)):
            if source is None:
                continue
            out = Path(tmp) / f"{name}.parquet"
            reports.append(copy(source, out, skip_invalid=skip_invalid))
            frames[name] = pl.read_parquet(out)
    return Catalogue(frames["jobs"], frames["users"]), reports
