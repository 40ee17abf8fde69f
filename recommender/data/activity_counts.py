"""``activities.jsonl`` aggregated while it is read: one row per (user, job, type) and its count.

Training needs only how often each user saw and clicked each job. DuckDB parses the file in
parallel, checks every line exactly as :func:`recommender.data.readers.read_activities` does, drops
lines outside the time window, and groups them, in one pass: memory grows with the number of
pairs, not of lines. If any line breaks the schema, the file is read again line by line so the
error names its line (or, with ``skip_invalid``, the bad lines are skipped and counted).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from recommender.data.jsonl import LoadReport
from recommender.data.lines import count_lines
from recommender.data.schema_sql import fast_query
from recommender.errors import MissingDataError

COUNT_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.Int64(),
    "job_id": pl.Int64(),
    "is_redirect": pl.Boolean(),
    "weight": pl.Float64(),
}
"""The columns :func:`read_activity_counts` returns; ``weight`` is the number of lines."""


def read_activity_counts(
    path: Path, *, skip_invalid: bool = False, since: datetime | None = None
) -> tuple[pl.DataFrame, LoadReport, int]:
    """Lines per (``user_id``, ``job_id``, ``is_redirect``) as ``weight``, and the lines dropped
    for being older than ``since`` (lines without a timestamp are kept).

    Accepts and refuses exactly the lines :func:`~recommender.data.readers.read_activities` does.

    Raises
    ------
    MissingDataError
        The file does not exist or holds no records.
    InvalidDataError
        On the first offending line, unless ``skip_invalid``.
    """
    from recommender.data.readers import ACTIVITY_FIELDS

    path = Path(path)
    if not path.is_file():
        raise MissingDataError("file not found", path=path)
    counted = _count_fast(path, since, fast_query(ACTIVITY_FIELDS))
    if counted is None:
        return _count_precise(path, skip_invalid, since)
    frame, lines, dropped = counted
    if lines == 0:
        raise MissingDataError("no records in file", path=path)
    blank = count_lines(path) - lines
    report = LoadReport(path=path, lines=lines + blank, records=lines, blank=blank)
    return frame, report, dropped


def _count_fast(
    path: Path, since: datetime | None, records: str
) -> tuple[pl.DataFrame, int, int] | None:
    """One parallel pass; None if any line is bad (or DuckDB cannot parse the file)."""
    if path.stat().st_size == 0:
        return None
    kept = "true" if since is None else '"timestamp" IS NULL OR "timestamp" >= $since'
    query = f"""
        WITH records AS ({records}),
        marked AS (SELECT *, ({kept}) AS in_window FROM records)
        SELECT user_id, job_id, type = 'redirect' AS is_redirect,
               count(*) FILTER (WHERE in_window)::DOUBLE AS weight,
               count(*) AS lines, count(error_reason) AS errors
        FROM marked GROUP BY ALL
    """
    params: dict[str, object] = {"path": str(path)}
    if since is not None:
        params["since"] = since
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        result: pl.DataFrame = con.sql(query, params=params).pl()
    except duckdb.Error:
        return None
    finally:
        con.close()
    if result.height and result["errors"].sum() > 0:
        return None
    lines = int(result["lines"].sum()) if result.height else 0
    frame = result.filter(pl.col("weight") > 0).select(list(COUNT_SCHEMA)).cast(COUNT_SCHEMA)  # type: ignore[arg-type]
    dropped = lines - int(frame["weight"].sum()) if frame.height else lines
    return frame, lines, dropped


def _count_precise(
    path: Path, skip_invalid: bool, since: datetime | None
) -> tuple[pl.DataFrame, LoadReport, int]:
    """Line by line (names the first bad line), then grouped."""
    from recommender.data.readers import read_activities

    frame, report = read_activities(path, skip_invalid=skip_invalid)
    kept = frame
    if since is not None:
        kept = frame.filter(pl.col("timestamp").is_null() | (pl.col("timestamp") >= since))
    counts = (
        kept.group_by("user_id", "job_id", "is_redirect")
        .agg(weight=pl.len().cast(pl.Float64))
        .cast(COUNT_SCHEMA)  # type: ignore[arg-type]
    )
    return counts, report, frame.height - kept.height
