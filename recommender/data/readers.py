"""The three inputs, read strictly: ``activities.jsonl``, ``jobs.jsonl`` and ``users.jsonl``."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from recommender.data.jsonl import LoadReport, read_jsonl
from recommender.data.schema import ACTIVITY_FIELDS, JOB_FIELDS, USER_FIELDS
from recommender.errors import InvalidDataError


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
