"""``activities.jsonl`` aggregated while it is read: one row per (user, job) pair and its funnel.

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

from recommender.data.funnel import DEFAULT_RULE, PairScores, ScoringRule, score_pair_counts
from recommender.data.input_file import readable_file
from recommender.data.jsonl import LoadReport
from recommender.data.lines import count_lines
from recommender.data.readers import read_activities
from recommender.data.schema import ACTIVITY_FIELDS
from recommender.data.schema_sql import fast_query
from recommender.errors import MissingDataError

PAIR_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.Int64(),
    "job_id": pl.Int64(),
    "impressions": pl.Float64(),
    "redirects": pl.Float64(),
}
"""The columns :func:`read_activity_counts` returns: each pair's impression and redirect lines."""


def read_activity_counts(
    path: Path, *, skip_invalid: bool = False, since: datetime | None = None
) -> tuple[pl.DataFrame, LoadReport, int]:
    """Each (``user_id``, ``job_id``) pair's ``impressions`` and ``redirects`` (lines of each
    type), and the lines dropped for being older than ``since`` (undated lines are kept).

    Accepts and refuses exactly the lines :func:`~recommender.data.readers.read_activities` does.

    Raises
    ------
    MissingDataError
        The file does not exist or holds no records.
    InvalidDataError
        On the first offending line, unless ``skip_invalid``; or the file is not a regular file
        or cannot be read.
    """
    path = readable_file(Path(path))
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
    kept = "" if since is None else 'AND ("timestamp" IS NULL OR "timestamp" >= $since)'
    query = f"""
        WITH records AS ({records})
        SELECT user_id, job_id,
               count(*) FILTER (WHERE type = 'impression' {kept})::DOUBLE AS impressions,
               count(*) FILTER (WHERE type = 'redirect' {kept})::DOUBLE AS redirects,
               count(*) AS lines, bool_or(invalid) AS invalid
        FROM records GROUP BY ALL
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
    if result["invalid"].any():
        return None
    lines = int(result["lines"].sum())
    frame = result.select(list(PAIR_SCHEMA)).cast(PAIR_SCHEMA)  # type: ignore[arg-type]
    if since is None:  # every pair has a line, and every valid line is counted
        return frame, lines, 0
    frame = frame.filter((pl.col("impressions") + pl.col("redirects")) > 0)
    return frame, lines, lines - total_lines(frame)


def total_lines(pairs: pl.DataFrame) -> int:
    """The activity lines behind pair counts."""
    if pairs.height == 0:
        return 0
    return int(pairs.select(pl.sum("impressions") + pl.sum("redirects")).item())


def count_pairs(lines: pl.DataFrame) -> pl.DataFrame:
    """Activity lines (``user_id``, ``job_id``, ``is_redirect``) grouped into pair counts."""
    return (
        lines.group_by("user_id", "job_id")
        .agg(
            impressions=(~pl.col("is_redirect")).sum().cast(pl.Float64),
            redirects=pl.col("is_redirect").sum().cast(pl.Float64),
        )
        .cast(PAIR_SCHEMA)  # type: ignore[arg-type]
    )


def add_pairs(pairs: pl.DataFrame, more: pl.DataFrame) -> pl.DataFrame:
    """``pairs`` with the counts of ``more`` (a few pairs) added; only the pairs ``more`` touches
    are regrouped, so adding a day of events to a year of counts stays cheap."""
    if more.height == 0:
        return pairs
    keys = ["user_id", "job_id"]
    touched = pairs.join(more.select(keys), on=keys, how="semi")
    untouched = pairs.join(more.select(keys), on=keys, how="anti")
    summed = pl.concat([touched, more]).group_by(keys).agg(pl.col("impressions", "redirects").sum())
    return pl.concat([untouched, summed.cast(PAIR_SCHEMA)])  # type: ignore[arg-type]


def _count_precise(
    path: Path, skip_invalid: bool, since: datetime | None
) -> tuple[pl.DataFrame, LoadReport, int]:
    """Line by line (names the first bad line), then grouped."""
    frame, report = read_activities(path, skip_invalid=skip_invalid)
    kept = frame
    if since is not None:
        kept = frame.filter(pl.col("timestamp").is_null() | (pl.col("timestamp") >= since))
    return count_pairs(kept), report, frame.height - kept.height


def score_activities(activities: pl.DataFrame, rule: ScoringRule = DEFAULT_RULE) -> PairScores:
    """Count each pair's impressions and redirects and score them; pairs scoring 0 are dropped.

    ``activities`` has the columns ``user_id`` and ``job_id`` (Int64) and ``is_redirect`` (Boolean),
    as :func:`recommender.data.readers.read_activities` returns them, and optionally ``weight``
    (each row counts ``weight`` times; 1 without the column).
    """
    weight = pl.col("weight").cast(pl.Float64) if "weight" in activities.columns else pl.lit(1.0)
    counts = (
        activities.lazy()
        .group_by("user_id", "job_id")
        .agg(
            redirects=weight.filter(pl.col("is_redirect")).sum(),
            impressions=weight.filter(~pl.col("is_redirect")).sum(),
        )
        .sort("user_id", "job_id")
        .collect()
    )
    return score_pair_counts(
        counts["user_id"].to_numpy(),
        counts["job_id"].to_numpy(),
        counts["impressions"].to_numpy(),
        counts["redirects"].to_numpy(),
        rule,
    )
