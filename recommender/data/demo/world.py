"""The latent world behind a demo data set: jobs, employers, users, their sectors and cities.

Jobs belong to one of the sectors in :mod:`~recommender.data.demo.words` and are posted in one of
its UK cities; employers are concentrated in one sector and have a heavy-tailed number of
postings; users have one or two sector interests, a home city and, when active, a heavy-tailed
number of (user, job) pairs to generate over an active period. The text and activity modules
render and simulate from this structure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from recommender.data.demo.words import (
    CITIES,
    EMPLOYER_QUALIFIERS,
    EMPLOYER_STEMS_A,
    EMPLOYER_STEMS_B,
    SECTORS,
)

DAY = 86_400
ACTIVITY_WINDOW_DAYS = 180
_POSTED_WINDOW_DAYS = 200

# Sizes at scale 1.
_BASE_USERS = 95_000
_BASE_ACTIVE_USERS = 17_000
_BASE_LINES = 380_000
_BASE_JOBS = 7_500
_BASE_EMPLOYERS = 300
_MIN_USERS = 100
_MIN_ACTIVE_USERS = 20
_MIN_JOBS = 50
_MIN_EMPLOYERS = 10

# Behaviour.
_EMPLOYER_HOME_SECTOR_P = 0.85
_DORMANT_JOB_P = 0.03
_EXPIRED_JOB_P = 0.10
_ZIPF_EXPONENT = 1.0
_SECOND_INTEREST_P = 0.45
_USER_ACTIVITY_SIGMA = 1.5
# Expected lines per (user, job) pair, calibrated so that scale=1 gives about _BASE_LINES lines.
_LINES_PER_PAIR = 2.16


@dataclass(frozen=True)
class World:
    """Latent structure shared by the three files (indices are positions, not ids)."""

    reference: int  # epoch seconds
    window_start: int  # start of the activity window, epoch seconds
    target_lines: int
    # jobs, ordered by posting time (job ids increase with it)
    job_ids: NDArray[np.int64]
    job_sector: NDArray[np.int64]
    job_city: NDArray[np.int64]  # index into CITIES
    job_employer: NDArray[np.int64]
    posted: NDArray[np.int64]
    expires: NDArray[np.int64]
    job_weight: NDArray[np.float64]  # popularity (0 for jobs that never get activity)
    job_appeal: NDArray[np.float64]  # multiplies the redirect probability
    employer_sector: NDArray[np.int64]
    employer_names: list[str]
    # users
    user_ids: NDArray[np.int64]
    user_sector1: NDArray[np.int64]
    user_sector2: NDArray[np.int64]  # -1 when the user has a single interest
    user_city: NDArray[np.int64]  # home city, index into CITIES
    user_active: NDArray[np.bool_]
    # active users (in user order)
    active_index: NDArray[np.int64]
    active_pairs: NDArray[np.int64]  # number of (user, job) pairs to generate
    active_propensity: NDArray[np.float64]  # multiplies the redirect probability
    active_lo: NDArray[np.int64]  # period in which the user is active, epoch seconds
    active_hi: NDArray[np.int64]

    @property
    def job_lo(self) -> NDArray[np.int64]:
        """First second at which each job can receive activity."""
        return np.maximum(self.posted, self.window_start)

    @property
    def job_hi(self) -> NDArray[np.int64]:
        """Last second at which each job can receive activity."""
        return np.minimum(self.expires, self.reference) - 1


def streams(seed: int) -> list[np.random.Generator]:
    """Independent generators for the latent world, job text, user profiles and activities."""
    return np.random.default_rng(seed).spawn(4)


def build_world(seed: int, scale: float, reference_time: datetime) -> World:
    """Draw the latent structure (sectors, popularity, activity levels) for a data set."""
    if reference_time.tzinfo is None:
        reference_time = reference_time.replace(tzinfo=UTC)
    reference = int(reference_time.timestamp())
    window_start = reference - ACTIVITY_WINDOW_DAYS * DAY
    # cities come from a stream of their own, so the rest of the world is what it was before them
    rng_jobs, rng_users, rng_cities = streams(seed)[0].spawn(3)
    n_jobs = max(_MIN_JOBS, round(_BASE_JOBS * math.sqrt(scale)))
    n_employers = max(_MIN_EMPLOYERS, round(_BASE_EMPLOYERS * math.sqrt(scale)))
    n_users = max(_MIN_USERS, round(_BASE_USERS * scale))
    if n_users >= 2**31:  # spilled records hold user positions as int32
        msg = f"scale {scale} is too large"
        raise ValueError(msg)
    n_active = min(n_users, max(_MIN_ACTIVE_USERS, round(_BASE_ACTIVE_USERS * scale)))
    target_lines = max(n_active, round(_BASE_LINES * scale))

    jobs = _draw_jobs(rng_jobs, n_jobs, n_employers, reference, window_start)
    users = _draw_users(
        rng_users,
        n_users=n_users,
        n_active=n_active,
        n_jobs=n_jobs,
        target_lines=target_lines,
        reference=reference,
    )
    job_p, user_p = (np.array([c[i] for c in CITIES]) for i in (1, 2))
    return World(
        reference=reference,
        window_start=window_start,
        target_lines=target_lines,
        job_city=rng_cities.choice(len(CITIES), n_jobs, p=job_p / job_p.sum()).astype(np.int64),
        user_city=rng_cities.choice(len(CITIES), n_users, p=user_p / user_p.sum()).astype(np.int64),
        **jobs,
        **users,
    )


def _draw_jobs(
    rng: np.random.Generator, n_jobs: int, n_employers: int, reference: int, window_start: int
) -> dict[str, Any]:
    n_sectors = len(SECTORS)
    sector_p = np.array([s.job_weight for s in SECTORS])
    sector_p /= sector_p.sum()

    # Employers: a home sector, a heavy-tailed size and a brand strength.
    employer_sector = rng.choice(n_sectors, size=n_employers, p=sector_p)
    employer_size = rng.lognormal(0.0, 1.3, n_employers)
    employer_brand = rng.lognormal(0.0, 0.4, n_employers)
    # Every employer posts at least one job (when possible); the rest follow size.
    n_seed = min(n_employers, n_jobs)
    employer = np.concatenate(
        [
            rng.permutation(n_employers)[:n_seed],
            rng.choice(n_employers, size=n_jobs - n_seed, p=employer_size / employer_size.sum()),
        ]
    )
    off_sector = rng.random(n_jobs) >= _EMPLOYER_HOME_SECTOR_P
    sector = np.where(
        off_sector, rng.choice(n_sectors, size=n_jobs, p=sector_p), employer_sector[employer]
    )

    # Posting times over the 200 days before the reference (at least an hour before it);
    # job ids increase with posting time, with small gaps.
    age = 3_600 + np.floor(rng.random(n_jobs) * (_POSTED_WINDOW_DAYS * DAY - 3_600))
    order = np.argsort(-age, kind="stable")
    posted = (reference - age[order]).astype(np.int64)
    employer = employer[order]
    sector = sector[order]
    job_ids = 1_000 + np.cumsum(rng.choice(np.array([1, 1, 1, 2, 3, 5]), size=n_jobs))

    # ~10% already expired (after the start of their activity window), the rest 10-13 years out:
    # the demo's dates are fixed by its reference time, and a nearer expiry would make the demo
    # (and the tests on it) lose its open jobs as the calendar passes it.
    expired = rng.random(n_jobs) < _EXPIRED_JOB_P
    lo = np.maximum(posted, window_start)
    expired_at = lo + np.ceil((0.15 + 0.8 * rng.random(n_jobs)) * (reference - lo))
    future_at = reference + np.floor((3650 + 1095 * rng.random(n_jobs)) * DAY)
    expires = np.where(expired, expired_at, future_at).astype(np.int64)

    # Zipf-like popularity within each sector, times employer brand; a few dormant jobs.
    by_sector = np.lexsort((rng.random(n_jobs), sector))
    sector_start = np.searchsorted(sector[by_sector], np.arange(n_sectors))
    rank = np.empty(n_jobs, dtype=np.int64)
    rank[by_sector] = np.arange(n_jobs) - sector_start[sector[by_sector]]
    weight = (rank + 2.0) ** -_ZIPF_EXPONENT * employer_brand[employer]
    dormant = rng.random(n_jobs) < _DORMANT_JOB_P
    dormant[np.argmax(weight)] = False
    weight[dormant] = 0.0
    appeal = rng.lognormal(-0.125, 0.5, n_jobs)

    return {
        "job_ids": job_ids.astype(np.int64),
        "job_sector": sector.astype(np.int64),
        "job_employer": employer.astype(np.int64),
        "posted": posted,
        "expires": expires,
        "job_weight": weight,
        "job_appeal": appeal,
        "employer_sector": employer_sector.astype(np.int64),
        "employer_names": _employer_names(rng, employer_sector),
    }


def _employer_names(rng: np.random.Generator, employer_sector: NDArray[np.int64]) -> list[str]:
    n = len(employer_sector)
    n_suffix = len(SECTORS[0].employer_suffixes)
    suffixes = pl.Series([x for s in SECTORS for x in s.employer_suffixes])
    suffix_idx = employer_sector * n_suffix + rng.integers(0, n_suffix, n)
    stem_a = pl.Series(EMPLOYER_STEMS_A).gather(rng.integers(0, len(EMPLOYER_STEMS_A), n))
    stem_b = pl.Series(EMPLOYER_STEMS_B).gather(rng.integers(0, len(EMPLOYER_STEMS_B), n))
    frame = pl.DataFrame({"a": stem_a, "b": stem_b, "s": suffixes.gather(suffix_idx)})
    name = pl.concat_str([pl.col("a"), pl.col("b"), pl.lit(" "), pl.col("s")])
    dup = name.cum_count().over(name) - 1  # 0 for the first employer with a given name
    qualifier = pl.lit(pl.Series(EMPLOYER_QUALIFIERS)).gather((dup - 1) % len(EMPLOYER_QUALIFIERS))
    deduped = (
        pl.when(dup == 0)
        .then(name)
        .when(dup <= len(EMPLOYER_QUALIFIERS))
        .then(pl.concat_str([name, pl.lit(" "), qualifier]))
        .otherwise(pl.concat_str([name, pl.lit(" "), qualifier, pl.lit(" "), dup.cast(pl.String)]))
    )
    return frame.select(deduped.alias("name")).to_series().to_list()


def _draw_users(
    rng: np.random.Generator,
    *,
    n_users: int,
    n_active: int,
    n_jobs: int,
    target_lines: int,
    reference: int,
) -> dict[str, Any]:
    n_sectors = len(SECTORS)
    sector_p = np.array([s.user_weight for s in SECTORS])
    sector_p /= sector_p.sum()
    user_ids = 100_000 + np.cumsum(rng.choice(np.array([1, 1, 2, 3, 7]), size=n_users))
    sector1 = rng.choice(n_sectors, size=n_users, p=sector_p)
    other = rng.choice(n_sectors, size=n_users, p=sector_p)
    other = np.where(
        other == sector1, (sector1 + rng.integers(1, n_sectors, n_users)) % n_sectors, other
    )
    sector2 = np.where(rng.random(n_users) < _SECOND_INTEREST_P, other, -1)

    active_index = np.sort(rng.choice(n_users, size=n_active, replace=False))
    active = np.zeros(n_users, dtype=np.bool_)
    active[active_index] = True

    # Heavy-tailed number of (user, job) pairs per active user, scaled to hit target_lines.
    target_pairs = target_lines / _LINES_PER_PAIR
    level = rng.lognormal(0.0, _USER_ACTIVITY_SIGMA, n_active)
    cap = max(5, min(1_500, n_jobs // 15))
    factor = target_pairs / level.sum()
    for _ in range(4):  # re-scale to make up for the mass lost to rounding and the cap
        pairs = np.clip(np.rint(level * factor), 1, cap).astype(np.int64)
        factor *= target_pairs / pairs.sum()
    propensity = rng.lognormal(-0.18, 0.6, n_active)

    # Each active user is active over a period whose length grows with their activity.
    window = ACTIVITY_WINDOW_DAYS * DAY
    window_start = reference - window
    duration = np.minimum(7 * DAY * pairs**0.45 * rng.lognormal(0.0, 0.5, n_active), window)
    center = window_start + rng.random(n_active) * window
    lo = np.maximum(window_start, center - duration / 2).astype(np.int64)
    hi = np.minimum(reference - 1, center + duration / 2).astype(np.int64)

    return {
        "user_ids": user_ids.astype(np.int64),
        "user_sector1": sector1.astype(np.int64),
        "user_sector2": sector2.astype(np.int64),
        "user_active": active,
        "active_index": active_index.astype(np.int64),
        "active_pairs": pairs,
        "active_propensity": propensity,
        "active_lo": lo,
        "active_hi": hi,
    }
