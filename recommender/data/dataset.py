"""Everything read from a data directory: activities (as lines or as pair counts), jobs, users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from recommender.data.activities import ActivityLines, PairCounts
from recommender.data.catalogue import Catalogue
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
    dropped = 0
    activities: ActivityLines | PairCounts
    if counts:
        pairs, report, dropped = read_activity_counts(path, skip_invalid=skip_invalid, since=since)
        activities = PairCounts(pairs)
    else:
        lines, report = read_activities(path, skip_invalid=skip_invalid)
        if since is not None:
            kept = lines.filter(pl.col("timestamp").is_null() | (pl.col("timestamp") >= since))
            dropped, lines = lines.height - kept.height, kept
        activities = ActivityLines.unweighted(lines)
    reports = [report]
    listed: dict[str, Path | None] = {"jobs": None, "users": None}
    for name, file, copy in (("jobs", JOBS_FILE, copy_jobs), ("users", USERS_FILE, copy_users)):
        if (data_dir / file).exists():
            out = Path(listings_dir) / f"{name}.parquet"
            reports.append(copy(data_dir / file, out, skip_invalid=skip_invalid))
            listed[name] = out
    return Dataset(
        activities=activities,
        catalogue=Catalogue(listed["jobs"], listed["users"]),
        reports=tuple(reports),
        dropped_lines=dropped,
    )
