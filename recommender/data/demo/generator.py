"""Deterministic synthetic job-board data with realistic latent structure.

:func:`generate_demo_data` writes the three JSON Lines files the rest of the service reads
(``jobs.jsonl``, ``users.jsonl`` and ``activities.jsonl``). The data are made to look like a
graduate job board: jobs belong to one of twelve sectors and are posted in one of twelve UK
cities, employers are concentrated in one sector and have a heavy-tailed number of postings,
users have one or two sector interests that also drive their degree subject and a home city
where they look for most jobs of their sectors, and the activity log follows an impression ->
redirect funnel whose conversion rate is much higher for jobs in the user's sectors.

This module only orchestrates: ``world`` draws the latent structure, ``job_text`` and
``user_text`` render the jobs and users, ``activity`` simulates the funnels and
``activity_writer`` writes them sorted by time with bounded memory. Everything is vectorised
with numpy; the only Python loops run over sectors, time slices and chunks.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from recommender.data.demo.activity_writer import write_activities
from recommender.data.demo.job_text import jobs_frame
from recommender.data.demo.user_text import write_users
from recommender.data.demo.world import build_world, streams

DEFAULT_REFERENCE_TIME = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DemoSummary:
    """Counts and paths of one generated demo data set."""

    users: int
    active_users: int
    jobs: int
    jobs_with_activity: int
    activity_lines: int
    impressions: int
    redirects: int
    jobs_path: Path
    users_path: Path
    activities_path: Path


def generate_demo_data(
    out_dir: Path,
    *,
    seed: int = 0,
    scale: float = 1.0,
    reference_time: datetime = DEFAULT_REFERENCE_TIME,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Generate a deterministic synthetic job-board data set as three JSON Lines files.

    Parameters
    ----------
    out_dir : Path
        Directory receiving ``jobs.jsonl``, ``users.jsonl`` and ``activities.jsonl``;
        created if missing. Each file is written under a temporary name and renamed into
        place with :func:`os.replace`, so an interrupted run never leaves a partial file.
    seed : int, default 0
        Seed of the root :func:`numpy.random.default_rng`. The same ``seed``, ``scale`` and
        ``reference_time`` always produce byte-identical files.
    scale : float, default 1.0
        Size multiplier. At ``scale=1`` there are about 95,000 users (about 17,000 with
        activity), 7,500 jobs from 300 employers and 380,000 activity lines. Users, active
        users and activity lines grow linearly with ``scale``; jobs and employers grow with
        ``sqrt(scale)``. Small values are allowed (at least 100 users and 50 jobs are kept).
    reference_time : datetime, default ``DEFAULT_REFERENCE_TIME``
        "Now" of the data set. Jobs are posted during the 200 days before it, about 10% have
        already expired, and all activities fall in the 180 days before it. A naive datetime
        is taken to be UTC.
    progress : callable, optional
        Called with the number of activity lines written so far after each written chunk.

    Returns
    -------
    DemoSummary
        Counts of users, active users, jobs, jobs with activity, activity lines,
        impressions and redirects, and the three written paths.

    Notes
    -----
    ``activities.jsonl`` is globally sorted by timestamp (ties keep generation order, so
    a pair's impressions precede its redirect). ``jobs.jsonl`` names each job's ``city`` and
    ``sector``; ``users.jsonl`` most users' home ``city``. Hidden structure: every user has one
    or two sector interests, driving both the degree subject and about 83% of their
    interactions, and a home city, where about 60% of those interactions look;
    job popularity is Zipf-like within each sector; each (user, job) pair gets a geometric
    number of impressions and then a redirect with a probability about eight times higher
    for jobs in the user's sectors. About 5% of redirecting pairs have no impression and
    some pairs redirect more than once.
    """
    if scale <= 0 or not math.isfinite(scale):
        msg = f"scale must be a positive finite number, got {scale!r}"
        raise ValueError(msg)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    world = build_world(seed, scale, reference_time)
    _, rng_text, rng_profiles, rng_activity = streams(seed)

    jobs_path = out_dir / "jobs.jsonl"
    users_path = out_dir / "users.jsonl"
    activities_path = out_dir / "activities.jsonl"

    with _atomic_writer(jobs_path) as fh:
        jobs_frame(world, rng_text).write_ndjson(fh)
    with _atomic_writer(users_path) as fh:
        write_users(world, rng_profiles, fh)
    with _atomic_writer(activities_path) as fh:
        counts = write_activities(world, rng_activity, fh, out_dir, progress)

    return DemoSummary(
        users=len(world.user_ids),
        active_users=counts.active_users,
        jobs=len(world.job_ids),
        jobs_with_activity=counts.jobs_with_activity,
        activity_lines=counts.impressions + counts.redirects,
        impressions=counts.impressions,
        redirects=counts.redirects,
        jobs_path=jobs_path,
        users_path=users_path,
        activities_path=activities_path,
    )


@contextlib.contextmanager
def _atomic_writer(path: Path) -> Iterator[IO[bytes]]:
    """Open a temporary sibling of ``path`` and move it into place only on success."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("wb") as fh:
            yield fh
        tmp.replace(path)  # os.replace: atomic on POSIX
    finally:
        tmp.unlink(missing_ok=True)
