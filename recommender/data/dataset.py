"""Everything read for training: activities (as lines or as pair counts), jobs, users.

The activities come from a data directory's ``activities.jsonl`` (:func:`load_dataset`) or from
any interaction log with a column mapping (:func:`load_log_dataset`); ``jobs.jsonl`` and
``users.jsonl`` beside either are read into the catalogue the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from recommender.data.activities import LINE_SCHEMA, ActivityLines, PairCounts
from recommender.data.catalogue import Catalogue
from recommender.data.interactions import ColumnMapping, read_interactions
from recommender.data.jsonl import LoadReport
from recommender.data.pair_counts import read_activity_counts
from recommender.data.readers import copy_jobs, copy_users, read_activities
from recommender.data.schema import ACTIVITIES_FILE, JOBS_FILE, USERS_FILE


@dataclass(frozen=True)
class Dataset:
    """Everything read from a data directory: the activities, and the catalogue of the listed
    jobs and user profiles (empty without ``jobs.jsonl`` and ``users.jsonl``)."""

    activities: ActivityLines | PairCounts
    catalogue: Catalogue
    reports: tuple[LoadReport, ...]
    dropped_lines: int = 0
    """Activity lines left out for being older than the time window asked for."""


def load_dataset(
    data_dir: Path,
    *,
    listings_dir: Path,
    skip_invalid: bool = False,
    counts: bool = False,
    since: datetime | None = None,
) -> Dataset:
    """Read ``activities.jsonl`` (required) and, if present, ``jobs.jsonl`` and ``users.jsonl``.

    Parameters
    ----------
    listings_dir:
        Where the checked jobs and profiles are written as Parquet (the catalogue reads them
        from there, when asked; a bundle copies them): a million profiles are streamed, never
        held in memory. The caller keeps it until the bundle is written.
    counts:
        Read the activities aggregated, one row per (user, job) pair with its ``impressions`` and
        ``redirects`` (:class:`~recommender.data.activities.PairCounts`, see
        :func:`~recommender.data.pair_counts.read_activity_counts`): what training needs, in
        memory that grows with pairs rather than lines. Otherwise the lines
        (:class:`~recommender.data.activities.ActivityLines`).
    since:
        Leave out activity lines older than this (lines without a timestamp stay).
    """
    data_dir = Path(data_dir)
    path = data_dir / ACTIVITIES_FILE
    activities: ActivityLines | PairCounts
    if counts:
        pairs, report, dropped = read_activity_counts(path, skip_invalid=skip_invalid, since=since)
        activities = PairCounts(pairs)
    else:
        lines, report = read_activities(path, skip_invalid=skip_invalid)
        activities, dropped = _since(ActivityLines.unweighted(lines), since)
    catalogue, listed_reports = _read_catalogue(data_dir, listings_dir, skip_invalid)
    return Dataset(
        activities=activities,
        catalogue=catalogue,
        reports=(report, *listed_reports),
        dropped_lines=dropped,
    )


def load_log_dataset(
    path: Path,
    mapping: ColumnMapping | None = None,
    *,
    listings_dir: Path,
    skip_invalid: bool = False,
    since: datetime | None = None,
) -> Dataset:
    """Read an interaction log (CSV, TSV, Parquet, JSON Lines) and, if present in its directory,
    ``jobs.jsonl`` and ``users.jsonl``.

    The log is read by :func:`~recommender.data.interactions.read_interactions`, as ``evaluate``
    reads it (same checks, same errors naming file, line, column and value): a weight column
    makes a row count that many activity lines of its type (a redirect without a type column).
    The activities are :class:`~recommender.data.activities.ActivityLines`, weighted.

    Parameters
    ----------
    listings_dir:
        As for :func:`load_dataset`.
    since:
        Leave out rows older than this (rows without a time stay); ``dropped_lines`` counts the
        activity lines they stood for (their summed weight).
    """
    path = Path(path)
    frame, report = read_interactions(path, mapping, skip_invalid=skip_invalid)
    lines, dropped = _since(ActivityLines(frame.select(list(LINE_SCHEMA))), since)
    catalogue, listed_reports = _read_catalogue(path.parent, listings_dir, skip_invalid)
    return Dataset(
        activities=lines,
        catalogue=catalogue,
        reports=(report, *listed_reports),
        dropped_lines=dropped,
    )


def _since(lines: ActivityLines, since: datetime | None) -> tuple[ActivityLines, int]:
    """The lines since ``since`` (undated ones stay), and how many activity lines were left out."""
    if since is None:
        return lines, 0
    when = pl.col("timestamp")
    kept = ActivityLines(lines.frame.filter(when.is_null() | (when >= since)))
    return kept, lines.lines() - kept.lines()


def _read_catalogue(
    data_dir: Path, listings_dir: Path, skip_invalid: bool
) -> tuple[Catalogue, list[LoadReport]]:
    """``jobs.jsonl`` and ``users.jsonl`` in ``data_dir``, those present, checked into Parquet."""
    reports: list[LoadReport] = []
    listed: dict[str, Path | None] = {"jobs": None, "users": None}
    for name, file, copy in (("jobs", JOBS_FILE, copy_jobs), ("users", USERS_FILE, copy_users)):
        if (data_dir / file).exists():
            out = Path(listings_dir) / f"{name}.parquet"
            reports.append(copy(data_dir / file, out, skip_invalid=skip_invalid))
            listed[name] = out
    return Catalogue(listed["jobs"], listed["users"]), reports
