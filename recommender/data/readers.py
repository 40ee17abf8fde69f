"""The three inputs, read strictly: ``activities.jsonl``, ``jobs.jsonl`` and ``users.jsonl``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from recommender.data.jsonl import LoadReport, copy_jsonl_to_parquet, keep_other_fields, read_jsonl
from recommender.data.schema import ACTIVITY_FIELDS, JOB_FIELDS, USER_FIELDS
from recommender.data.schema_sql import FieldSpec
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
    return _read_unique(path, JOB_FIELDS, "job_id", skip_invalid)


def read_users(path: Path, *, skip_invalid: bool = False) -> tuple[pl.DataFrame, LoadReport]:
    """User profiles, one row per ``user_id``; a repeated ``user_id`` is an error."""
    return _read_unique(path, USER_FIELDS, "user_id", skip_invalid)


def copy_jobs(path: Path, out: Path, *, skip_invalid: bool = False) -> LoadReport:
    """``jobs.jsonl`` checked as :func:`read_jobs` checks it, written to the Parquet file ``out``
    sorted by ``job_id`` (see :func:`copy_listed`), with one more column, ``attributes``: the
    job's other fields (a salary, tags, ...) as a JSON object, or null when it has none."""
    report = copy_listed(path, JOB_FIELDS, "job_id", out, skip_invalid)
    keep_other_fields(path, out, JOB_FIELDS, "job_id")
    return report


def copy_users(path: Path, out: Path, *, skip_invalid: bool = False) -> LoadReport:
    """``users.jsonl`` checked as :func:`read_users` checks it, written to the Parquet file
    ``out`` sorted by ``user_id``; see :func:`copy_listed`."""
    return copy_listed(path, USER_FIELDS, "user_id", out, skip_invalid)


def copy_listed(
    path: Path, fields: Sequence[FieldSpec], key: str, out: Path, skip_invalid: bool
) -> LoadReport:
    """A listing file (jobs, users) to Parquet: streamed by DuckDB when every line is good, so a
    million profiles never sit in memory; otherwise read line by line, which names the first bad
    line or repeated id (or, with ``skip_invalid``, skips the bad lines)."""
    report = copy_jsonl_to_parquet(path, fields, out, key=key)
    if report is not None:
        return report
    frame, report = _read_unique(path, fields, key, skip_invalid)
    frame.sort(key).write_parquet(out)
    return report


def _read_unique(
    path: Path, fields: Sequence[FieldSpec], key: str, skip_invalid: bool
) -> tuple[pl.DataFrame, LoadReport]:
    """Read ``path`` in one parallel pass; only if ``key`` repeats, read it again with line
    numbers to name both lines (numbering every line costs the fast path)."""
    frame, report = read_jsonl(path, fields, skip_invalid=skip_invalid)
    if frame[key].is_duplicated().any():
        lined, _ = read_jsonl(path, fields, skip_invalid=skip_invalid, with_line=True)
        _check_unique(lined, key, path)
    return frame, report


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
