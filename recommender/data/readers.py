"""The three inputs, read strictly: ``activities.jsonl``, ``jobs.jsonl`` and ``users.jsonl``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from recommender.data.activity import ACTIVITY_TYPES
from recommender.data.activity_counts import read_activity_counts
from recommender.data.jsonl import FieldSpec, LoadReport, read_jsonl
from recommender.errors import InvalidDataError

ACTIVITY_FIELDS = (
    FieldSpec("user_id", "int", required=True),
    FieldSpec("job_id", "int", required=True),
    FieldSpec("type", "str", required=True, choices=ACTIVITY_TYPES),
    FieldSpec("timestamp", "timestamp"),
)
JOB_FIELDS = (
    FieldSpec("job_id", "int", required=True),
    FieldSpec("description", "str", required=True),
    FieldSpec("title", "str"),
    FieldSpec("employer", "str"),
    FieldSpec("posted_at", "timestamp"),
    FieldSpec("expires_at", "timestamp"),
)
USER_FIELDS = (
    FieldSpec("user_id", "int", required=True),
    FieldSpec("ethnicity", "str"),
    FieldSpec("gender", "str"),
    FieldSpec("graduation_year", "int"),
    FieldSpec("school_type", "str"),
    FieldSpec("languages", "str_list"),
    FieldSpec("university", "str"),
    FieldSpec("degree_subject", "str"),
    FieldSpec("degree_subject_groups", "str_list"),
    FieldSpec("degree_subject_categories", "str_list"),
)

ACTIVITIES_FILE = "activities.jsonl"
JOBS_FILE = "jobs.jsonl"
USERS_FILE = "users.jsonl"


def read_activities(path: Path, *, skip_invalid: bool = False) -> tuple[pl.DataFrame, LoadReport]:
    """Activities as ``user_id``, ``job_id`` (Int64), ``is_redirect`` (Boolean) and ``timestamp``.

    ``timestamp`` is ``Datetime(us, UTC)`` and null where the line has none.
    """
    frame, report = read_jsonl(path, ACTIVITY_FIELDS, skip_invalid=skip_invalid)
    frame = frame.select(
        "user_id", "job_id", (pl.col("type") == "redirect").alias("is_redirect"), "timestamp"
    )
    return frame, report


def read_jobs(path: Path, *, skip_invalid: bool = False) -> tuple[pl.DataFrame, LoadReport]:
    """Jobs, one row per ``job_id``; a repeated ``job_id`` is an error naming both lines."""
    frame, report = read_jsonl(path, JOB_FIELDS, skip_invalid=skip_invalid, with_line=True)
    _check_unique(frame, "job_id", path)
    return frame.drop("line"), report


def read_users(path: Path, *, skip_invalid: bool = False) -> tuple[pl.DataFrame, LoadReport]:
    """User profiles, one row per ``user_id``; a repeated ``user_id`` is an error."""
    frame, report = read_jsonl(path, USER_FIELDS, skip_invalid=skip_invalid, with_line=True)
    _check_unique(frame, "user_id", path)
    return frame.drop("line"), report


def _check_unique(frame: pl.DataFrame, column: str, path: Path) -> None:
    dup = frame.filter(pl.col(column).is_duplicated())
    if dup.height:
        value = dup[column][0]
        lines = dup.filter(pl.col(column) == value)["line"].to_list()
        raise InvalidDataError(
            f"repeated id, first given on line {lines[0]}",
            path=path,
            line=lines[1],
            field=column,
            value=value,
        )


@dataclass(frozen=True)
class Dataset:
    """Everything read from a data directory; ``jobs`` and ``users`` are None without their file."""

    activities: pl.DataFrame
    jobs: pl.DataFrame | None
    users: pl.DataFrame | None
    reports: tuple[LoadReport, ...]
    dropped_lines: int = 0
    """Activity lines left out for being older than the time window asked for."""


def load_dataset(
    data_dir: Path,
    *,
    skip_invalid: bool = False,
    counts: bool = False,
    since: datetime | None = None,
    with_users: bool = True,
) -> Dataset:
    """Read ``activities.jsonl`` (required) and, if present, ``jobs.jsonl`` and ``users.jsonl``.

    Parameters
    ----------
    counts:
        Read the activities aggregated, one row per (user, job) pair with its ``impressions`` and
        ``redirects`` (see :func:`~recommender.data.activity_counts.read_activity_counts`): what
        training needs,
        in memory that grows with pairs rather than lines.
    since:
        Leave out activity lines older than this (lines without a timestamp stay).
    with_users:
        Read ``users.jsonl`` too (training does not use the profiles).
    """
    data_dir = Path(data_dir)
    path = data_dir / ACTIVITIES_FILE
    dropped = 0
    if counts:
        activities, report, dropped = read_activity_counts(
            path, skip_invalid=skip_invalid, since=since
        )
    else:
        activities, report = read_activities(path, skip_invalid=skip_invalid)
        if since is not None:
            kept = activities.filter(pl.col("timestamp").is_null() | (pl.col("timestamp") >= since))
            dropped, activities = activities.height - kept.height, kept
    reports = [report]
    jobs = users = None
    if (data_dir / JOBS_FILE).exists():
        jobs, report = read_jobs(data_dir / JOBS_FILE, skip_invalid=skip_invalid)
        reports.append(report)
    if with_users and (data_dir / USERS_FILE).exists():
        users, report = read_users(data_dir / USERS_FILE, skip_invalid=skip_invalid)
        reports.append(report)
    return Dataset(
        activities=activities,
        jobs=jobs,
        users=users,
        reports=tuple(reports),
        dropped_lines=dropped,
    )
