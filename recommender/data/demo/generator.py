"""Deterministic synthetic job-board data with realistic latent structure.

The generator writes the three JSON Lines files the rest of the service reads
(``jobs.jsonl``, ``users.jsonl`` and ``activities.jsonl``). The data are made to
look like a graduate job board: jobs belong to one of twelve sectors, employers
are concentrated in one sector and have a heavy-tailed number of postings, users
have one or two sector interests that also drive their degree subject, and the
activity log follows an impression -> redirect funnel whose conversion rate is
much higher for jobs in the user's sectors.

Everything is vectorised with numpy; the only Python loops run over sectors,
time slices and chunks. Activities are generated in blocks of users, spilled to
per-time-bucket binary files, then each bucket is sorted and appended to the
output, so ``activities.jsonl`` is globally sorted by timestamp while memory
stays bounded by the bucket size.
"""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from recommender.data.demo.vocabulary import (
    ALL_SUBJECTS,
    BULLET_HEADINGS,
    CITIES,
    EMPLOYER_QUALIFIERS,
    EMPLOYER_STEMS_A,
    EMPLOYER_STEMS_B,
    ETHNICITIES,
    GENDERS,
    GENERIC_CLOSINGS,
    INTROS,
    LANGUAGES,
    SCHOOL_TYPES,
    SECTORS,
    SENIORITY,
    SUBJECTS,
    UNIVERSITIES,
)

DEFAULT_REFERENCE_TIME = datetime(2026, 11, 1, tzinfo=UTC)

_DAY = 86_400
_POSTED_WINDOW_DAYS = 200
_ACTIVITY_WINDOW_DAYS = 180

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
_NEW_JOB_BOOST = 3.0
_SECOND_INTEREST_P = 0.45
_SECOND_SECTOR_SHARE = 0.35
_IN_INTEREST_P = 0.83
_IMPRESSION_GEOMETRIC_P = 0.5
_REDIRECT_P_INTEREST = 0.28
_REDIRECT_P_OTHER = 0.035
_REDIRECT_WITHOUT_IMPRESSION_P = 0.05
_EXTRA_REDIRECT_GEOMETRIC_P = 0.88
_USER_ACTIVITY_SIGMA = 1.5
# Expected lines per (user, job) pair, calibrated so that scale=1 gives about _BASE_LINES lines.
_LINES_PER_PAIR = 2.16
# Jobs drawn per wanted pair, so that enough distinct jobs remain after de-duplication.
_OVERSAMPLE = 2.0

# Chunking.
_TIME_SLICES = 12
_PAIRS_PER_BLOCK = 1_000_000
_LINES_PER_BUCKET = 4_000_000
_USERS_PER_CHUNK = 500_000

# Spilled activity record: timestamp, user and job positions (not ids) and the redirect flag.
_SPILL_DTYPE = np.dtype([("ts", "<i8"), ("user", "<i4"), ("job", "<i4"), ("redirect", "u1")])

# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


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
    a pair's impressions precede its redirect). Hidden structure: every user has one or two
    sector interests, driving both the degree subject and about 83% of their interactions;
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
    world = _build_world(seed, scale, reference_time)
    _, rng_text, rng_profiles, rng_activity = _streams(seed)

    jobs_path = out_dir / "jobs.jsonl"
    users_path = out_dir / "users.jsonl"
    activities_path = out_dir / "activities.jsonl"

    with _atomic_writer(jobs_path) as fh:
        _jobs_frame(world, rng_text).write_ndjson(fh)
    with _atomic_writer(users_path) as fh:
        _write_users(world, rng_profiles, fh)
    with _atomic_writer(activities_path) as fh:
        counts = _write_activities(world, rng_activity, fh, out_dir, progress)

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


# ---------------------------------------------------------------------------------------------
# Latent world
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _World:
    """Latent structure shared by the three files (indices are positions, not ids)."""

    reference: int  # epoch seconds
    window_start: int  # start of the activity window, epoch seconds
    target_lines: int
    # jobs, ordered by posting time (job ids increase with it)
    job_ids: NDArray[np.int64]
    job_sector: NDArray[np.int64]
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


def _streams(seed: int) -> list[np.random.Generator]:
    """Independent generators for the latent world, job text, user profiles and activities."""
    return np.random.default_rng(seed).spawn(4)


def _build_world(seed: int, scale: float, reference_time: datetime) -> _World:
    """Draw the latent structure (sectors, popularity, activity levels) for a data set."""
    if reference_time.tzinfo is None:
        reference_time = reference_time.replace(tzinfo=UTC)
    reference = int(reference_time.timestamp())
    window_start = reference - _ACTIVITY_WINDOW_DAYS * _DAY
    rng_jobs, rng_users = _streams(seed)[0].spawn(2)
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
    return _World(
        reference=reference, window_start=window_start, target_lines=target_lines, **jobs, **users
    )


def _weights(pairs: Sequence[tuple[str, float]]) -> NDArray[np.float64]:
    w = np.array([p for _, p in pairs], dtype=np.float64)
    w /= w.sum()
    return w


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
    age = 3_600 + np.floor(rng.random(n_jobs) * (_POSTED_WINDOW_DAYS * _DAY - 3_600))
    order = np.argsort(-age, kind="stable")
    posted = (reference - age[order]).astype(np.int64)
    employer = employer[order]
    sector = sector[order]
    job_ids = 1_000 + np.cumsum(rng.choice(np.array([1, 1, 1, 2, 3, 5]), size=n_jobs))

    # ~10% already expired (after the start of their activity window), the rest 1-3 years out.
    expired = rng.random(n_jobs) < _EXPIRED_JOB_P
    lo = np.maximum(posted, window_start)
    expired_at = lo + np.ceil((0.15 + 0.8 * rng.random(n_jobs)) * (reference - lo))
    future_at = reference + np.floor((365 + 730 * rng.random(n_jobs)) * _DAY)
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
    window = _ACTIVITY_WINDOW_DAYS * _DAY
    window_start = reference - window
    duration = np.minimum(7 * _DAY * pairs**0.45 * rng.lognormal(0.0, 0.5, n_active), window)
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


# ---------------------------------------------------------------------------------------------
# Output helpers
# ---------------------------------------------------------------------------------------------


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


def _iso(seconds: NDArray[np.int64]) -> pl.Series:
    return (
        pl.from_epoch(pl.Series(seconds), time_unit="s")
        .dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        .cast(pl.String)
    )


def _distinct_choice(rng: np.random.Generator, n: int, k: int, m: int) -> NDArray[np.int64]:
    """``n`` rows of ``k`` distinct indices drawn uniformly from ``range(m)`` (k <= m)."""
    return np.argsort(rng.random((n, m)), axis=1)[:, :k].astype(np.int64)


# ---------------------------------------------------------------------------------------------
# jobs.jsonl
# ---------------------------------------------------------------------------------------------


def _jobs_frame(world: _World, rng: np.random.Generator) -> pl.DataFrame:
    n = len(world.job_ids)
    sector = world.job_sector
    city = pl.Series([c for c, _ in CITIES]).gather(rng.choice(len(CITIES), n, p=_weights(CITIES)))
    employer = pl.Series(world.employer_names).gather(world.job_employer)

    # Title: seniority + sector role + optional suffix.
    roles = [r for s in SECTORS for r in s.roles]
    role_start = np.cumsum([0] + [len(s.roles) for s in SECTORS])
    role_count = np.diff(role_start)
    role_idx = role_start[sector] + np.floor(rng.random(n) * role_count[sector]).astype(np.int64)
    seniority = rng.choice(len(SENIORITY), n, p=_weights(SENIORITY))
    year = datetime.fromtimestamp(world.reference, UTC).year
    suffix_kind = rng.choice(6, n, p=[0.55, 0.2, 0.1, 0.07, 0.05, 0.03])
    seniority = np.where((suffix_kind == 2) | (suffix_kind == 4), 0, seniority)
    fixed_suffixes = pl.Series(
        ["", "", " (Graduate Scheme)", f" - {year + 1} Intake", " Internship", " (Fixed Term)"]
    )

    # Description pieces: 1-3 sector sentences, 2-5 sector bullets, one generic closing.
    n_sent = len(SECTORS[0].sentences)
    n_bul = len(SECTORS[0].bullets)
    sentences = pl.Series([x for s in SECTORS for x in s.sentences])
    bullets = pl.Series([f"<li>{x}</li>" for s in SECTORS for x in s.bullets])
    sent_idx = sector[:, None] * n_sent + _distinct_choice(rng, n, 3, n_sent)
    bul_idx = sector[:, None] * n_bul + _distinct_choice(rng, n, 5, n_bul)
    sent_count = rng.integers(1, 4, n)
    bul_count = rng.integers(2, 6, n)
    intro = rng.integers(0, len(INTROS), n)
    salary_k = np.array([s.salary_k for s in SECTORS])[sector] + rng.integers(-3, 7, n)
    salary_hi = salary_k + rng.integers(2, 9, n)
    has_salary = rng.random(n) < 0.6

    cols: dict[str, Any] = {
        "employer": employer,
        "city": city,
        "seniority": pl.Series([s for s, _ in SENIORITY]).gather(seniority),
        "role": pl.Series(roles).gather(role_idx),
        "suffix_kind": suffix_kind,
        "fixed_suffix": fixed_suffixes.gather(suffix_kind),
        "closing": pl.Series(GENERIC_CLOSINGS).gather(rng.integers(0, len(GENERIC_CLOSINGS), n)),
        "heading": pl.Series(BULLET_HEADINGS).gather(rng.integers(0, len(BULLET_HEADINGS), n)),
        "has_salary": has_salary,
        "salary_lo": salary_k,
        "salary_hi": salary_hi,
    }
    for i in range(len(INTROS[0])):
        cols[f"intro{i}"] = pl.Series([t[i] for t in INTROS]).gather(intro)
    for i in range(3):
        cols[f"sent{i}"] = sentences.gather(sent_idx[:, i]).set(pl.Series(sent_count <= i), None)
    for i in range(5):
        cols[f"bul{i}"] = bullets.gather(bul_idx[:, i]).set(pl.Series(bul_count <= i), None)
    frame = pl.DataFrame(cols)

    title = pl.concat_str(
        [
            pl.col("seniority"),
            pl.col("role"),
            pl.when(pl.col("suffix_kind") == 1)
            .then(pl.concat_str([pl.lit(" - "), pl.col("city")]))
            .otherwise(pl.col("fixed_suffix")),
        ]
    )
    salary = pl.when(pl.col("has_salary")).then(
        pl.concat_str(
            [
                pl.lit("<p><b>Salary:</b> &pound;"),
                pl.col("salary_lo"),
                pl.lit(",000 &ndash; &pound;"),
                pl.col("salary_hi"),
                pl.lit(",000</p>"),
            ]
        )
    )
    description = pl.concat_str(
        [
            pl.col("intro0"),
            pl.col("employer"),
            pl.col("intro1"),
            pl.col("seniority"),
            pl.col("role"),
            pl.col("intro2"),
            pl.col("city"),
            pl.col("intro3"),
            pl.lit("<p>"),
            pl.concat_str([pl.col(f"sent{i}") for i in range(3)], separator=" ", ignore_nulls=True),
            pl.lit("</p>"),
            pl.col("heading"),
            *[pl.col(f"bul{i}") for i in range(5)],
            pl.lit("</ul>"),
            salary,
            pl.lit("<p>"),
            pl.col("closing"),
            pl.lit("</p>"),
        ],
        ignore_nulls=True,
    )
    return (
        frame.with_columns(title.alias("title"))
        .with_columns(description.alias("description"))
        .select(
            pl.Series("job_id", world.job_ids),
            pl.col("title"),
            pl.col("description"),
            pl.col("employer"),
            _iso(world.posted).alias("posted_at"),
            _iso(world.expires).alias("expires_at"),
        )
    )


# ---------------------------------------------------------------------------------------------
# users.jsonl
# ---------------------------------------------------------------------------------------------


def _json_frags(key: str, values: Sequence[Any]) -> pl.Series:
    """``,"key":<json value>`` for each value, to be gathered and concatenated into lines."""
    return pl.Series([f',"{key}":{json.dumps(v, separators=(",", ":"))}' for v in values])


def _subject_cdfs() -> NDArray[np.float64]:
    """Row ``s`` is the CDF over ``ALL_SUBJECTS`` for sector ``s``; last row is global."""
    table = np.zeros((len(SECTORS) + 1, len(ALL_SUBJECTS)))
    for s, sector in enumerate(SECTORS):
        for subject, w in sector.subjects:
            table[s, ALL_SUBJECTS.index(subject)] = w
    table[-1] = table[:-1].sum(axis=0) + 0.5
    cdf = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)
    cdf[:, -1] = 1.0
    return cdf


@dataclass(frozen=True)
class _UserVocab:
    """Pre-encoded JSON fragments and sampling tables for the user profiles."""

    frags: dict[str, pl.Series]
    languages: pl.Series
    language_logw: NDArray[np.float64]
    subject_cdf: NDArray[np.float64]
    university_p: NDArray[np.float64]


def _user_vocab() -> _UserVocab:
    uni_p = 1.0 / (np.arange(len(UNIVERSITIES)) + 3.0) ** 0.8
    return _UserVocab(
        frags={
            "ethnicity": _json_frags("ethnicity", [e for e, _ in ETHNICITIES]),
            "gender": _json_frags("gender", [g for g, _ in GENDERS]),
            "school_type": _json_frags("school_type", [s for s, _ in SCHOOL_TYPES]),
            "university": _json_frags("university", UNIVERSITIES),
            "degree_subject": _json_frags("degree_subject", ALL_SUBJECTS),
            "degree_subject_groups": _json_frags(
                "degree_subject_groups", [list(SUBJECTS[s][0]) for s in ALL_SUBJECTS]
            ),
            "degree_subject_categories": _json_frags(
                "degree_subject_categories", [list(SUBJECTS[s][1]) for s in ALL_SUBJECTS]
            ),
        },
        languages=pl.Series([json.dumps(lang) for lang, _ in LANGUAGES]),
        language_logw=np.log(np.array([w for _, w in LANGUAGES])),
        subject_cdf=_subject_cdfs(),
        university_p=uni_p / uni_p.sum(),
    )


def _write_users(world: _World, rng: np.random.Generator, fh: IO[bytes]) -> None:
    vocab = _user_vocab()
    for start in range(0, len(world.user_ids), _USERS_PER_CHUNK):
        stop = min(start + _USERS_PER_CHUNK, len(world.user_ids))
        lines = _user_lines(world, vocab, rng, slice(start, stop))
        lines.to_frame().write_csv(fh, include_header=False, quote_style="never")


def _user_lines(
    world: _World, vocab: _UserVocab, rng: np.random.Generator, users: slice
) -> pl.Series:
    """One JSON object per user of the chunk; missing profile fields are absent keys."""
    s1, s2 = world.user_sector1[users], world.user_sector2[users]
    n = len(s1)
    # Active users fill in more of their profile; some users never fill it in at all.
    missing_scale = np.where(world.user_active[users], 0.6, 1.0)
    bare = rng.random(n) < 0.12 * missing_scale

    def present(p_missing: float) -> pl.Series:
        return pl.Series(~bare & (rng.random(n) >= p_missing * missing_scale))

    def pick(name: str, idx: NDArray[np.int64], mask: pl.Series) -> pl.Series:
        return vocab.frags[name].gather(idx).set(~mask, None)

    # Degree subject mostly from the primary sector, sometimes the secondary or anything.
    u = rng.random(n)
    source = np.where(u < 0.72, s1, np.where((u < 0.84) & (s2 >= 0), s2, len(SECTORS)))
    subject = np.empty(n, dtype=np.int64)
    draw = rng.random(n)
    for s in range(len(SECTORS) + 1):
        mask = source == s
        subject[mask] = np.searchsorted(vocab.subject_cdf[s], draw[mask], side="right")
    has_subject = present(0.3)

    # 1-3 distinct languages, weighted, via the Gumbel top-k trick.
    keys = vocab.language_logw - np.log(-np.log(rng.random((n, len(LANGUAGES)))))
    top = np.argsort(-keys, axis=1)[:, :3]
    n_lang = rng.choice(np.array([1, 2, 3]), size=n, p=[0.55, 0.33, 0.12])
    year = datetime.fromtimestamp(world.reference, UTC).year
    grad_year = year + rng.choice(
        np.arange(-4, 4), size=n, p=[0.05, 0.08, 0.12, 0.18, 0.22, 0.18, 0.11, 0.06]
    )

    frame = pl.DataFrame(
        {
            "user_id": world.user_ids[users],
            "ethnicity": pick(
                "ethnicity",
                rng.choice(len(ETHNICITIES), n, p=_weights(ETHNICITIES)),
                present(0.35),
            ),
            "gender": pick(
                "gender", rng.choice(len(GENDERS), n, p=_weights(GENDERS)), present(0.2)
            ),
            "grad_year": pl.Series(grad_year).set(~present(0.15), None),
            "school_type": pick(
                "school_type",
                rng.choice(len(SCHOOL_TYPES), n, p=_weights(SCHOOL_TYPES)),
                present(0.45),
            ),
            **{
                f"lang{i}": vocab.languages.gather(top[:, i]).set(pl.Series(n_lang <= i), None)
                for i in range(3)
            },
            "has_lang": present(0.5),
            "university": pick(
                "university",
                rng.choice(len(UNIVERSITIES), n, p=vocab.university_p),
                present(0.25),
            ),
            "degree_subject": pick("degree_subject", subject, has_subject),
            "groups": pick("degree_subject_groups", subject, has_subject & present(0.1)),
            "categories": pick("degree_subject_categories", subject, has_subject & present(0.1)),
        }
    )
    langs = pl.when(pl.col("has_lang")).then(
        pl.concat_str(
            [
                pl.lit(',"languages":['),
                pl.concat_str(
                    [pl.col(f"lang{i}") for i in range(3)], separator=",", ignore_nulls=True
                ),
                pl.lit("]"),
            ]
        )
    )
    line = pl.concat_str(
        [
            pl.lit('{"user_id":'),
            pl.col("user_id"),
            pl.col("ethnicity"),
            pl.col("gender"),
            pl.concat_str([pl.lit(',"graduation_year":'), pl.col("grad_year")]),
            pl.col("school_type"),
            langs,
            pl.col("university"),
            pl.col("degree_subject"),
            pl.col("groups"),
            pl.col("categories"),
            pl.lit("}"),
        ],
        ignore_nulls=True,
    )
    return frame.select(line.alias("line")).to_series()


# ---------------------------------------------------------------------------------------------
# activities.jsonl
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _JobSampler:
    """Popularity-weighted job sampling by (time slice, sector).

    Slice ``T`` (the last) covers the whole window; sector ``S`` (the last) means any sector.
    """

    cum: NDArray[np.float64]  # (T + 1) * n_jobs cumulative weights, slices concatenated
    order: NDArray[np.int64]  # job indices sorted by sector
    seg_lo: NDArray[np.float64]  # [t, s] cumulative weight before the segment
    seg_w: NDArray[np.float64]  # [t, s] total weight of the segment
    seg_first: NDArray[np.int64]  # [t, s] first position of the segment in ``cum``
    seg_last: NDArray[np.int64]  # [t, s] last position of the segment in ``cum``

    def sample(
        self, t: NDArray[np.int64], s: NDArray[np.int64], u: NDArray[np.float64]
    ) -> NDArray[np.int64]:
        n_slices, n_sectors = self.seg_w.shape
        whole, anywhere = n_slices - 1, n_sectors - 1
        t = np.where(self.seg_w[t, s] > 0, t, whole)
        s = np.where(self.seg_w[t, s] > 0, s, anywhere)
        pos = np.searchsorted(self.cum, self.seg_lo[t, s] + u * self.seg_w[t, s], side="right")
        pos = np.clip(pos, self.seg_first[t, s], self.seg_last[t, s])
        return self.order[pos % len(self.order)]


def _job_sampler(world: _World) -> _JobSampler:
    n_jobs = len(world.job_ids)
    n_sectors = len(SECTORS)
    order = np.argsort(world.job_sector, kind="stable").astype(np.int64)
    bounds = np.searchsorted(world.job_sector[order], np.arange(n_sectors + 1))
    first = np.append(bounds[:-1], 0)  # segment S (any sector) spans the whole slice
    last = np.append(bounds[1:], n_jobs) - 1

    slice_len = _ACTIVITY_WINDOW_DAYS * _DAY / _TIME_SLICES
    starts = world.window_start + slice_len * np.arange(_TIME_SLICES)
    live = (world.job_lo[None, :] < starts[:, None] + slice_len) & (
        world.job_hi[None, :] >= starts[:, None]
    )
    # Jobs posted during a slice are promoted as new during that slice.
    fresh = world.posted[None, :] >= starts[:, None]
    boost = np.vstack([live * np.where(fresh, _NEW_JOB_BOOST, 1.0), np.ones((1, n_jobs))])
    weights = boost[:, order] * world.job_weight[order][None, :]
    cum = np.cumsum(weights.ravel())
    before = np.concatenate([[0.0], cum])  # before[i] = cumulative weight before position i
    offsets = np.arange(_TIME_SLICES + 1)[:, None] * n_jobs
    seg_first = offsets + first[None, :]
    seg_last = offsets + last[None, :]
    seg_lo = before[seg_first]
    seg_w = before[seg_last + 1] - seg_lo
    return _JobSampler(
        cum=cum,
        order=order,
        seg_lo=seg_lo,
        seg_w=seg_w,
        seg_first=seg_first.astype(np.int64),
        seg_last=seg_last.astype(np.int64),
    )


@dataclass(frozen=True)
class _ActivityCounts:
    active_users: int
    jobs_with_activity: int
    impressions: int
    redirects: int


def _activity_block(
    world: _World, sampler: _JobSampler, rng: np.random.Generator, users: slice
) -> NDArray[np.void]:
    """Activity records (``_SPILL_DTYPE``, unsorted) of a block of active users."""
    n_sectors = len(SECTORS)
    n_jobs = len(world.job_ids)
    pairs = world.active_pairs[users]
    draws = np.ceil(pairs * _OVERSAMPLE).astype(np.int64) + 2
    local = np.repeat(np.arange(users.start, users.stop), draws)
    n = len(local)

    # Pair time within the user's active period; job from their sectors or anywhere.
    lo, hi = world.active_lo[local], world.active_hi[local]
    when = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    window = _ACTIVITY_WINDOW_DAYS * _DAY
    t_slice = np.minimum((when - world.window_start) * _TIME_SLICES // window, _TIME_SLICES - 1)
    user = world.active_index[local]
    s1, s2 = world.user_sector1[user], world.user_sector2[user]
    sector = np.where((s2 >= 0) & (rng.random(n) < _SECOND_SECTOR_SHARE), s2, s1)
    sector = np.where(rng.random(n) < _IN_INTEREST_P, sector, n_sectors)
    job = sampler.sample(t_slice, sector, rng.random(n))

    # One funnel per distinct (user, job) pair: each user's first ``pairs`` distinct draws.
    _, keep = np.unique(local * n_jobs + job, return_index=True)
    keep = np.sort(keep)
    rank = np.arange(len(keep)) - np.searchsorted(local[keep], local[keep], side="left")
    keep = keep[rank < world.active_pairs[local[keep]]]
    local, user, job, when = local[keep], user[keep], job[keep], when[keep]
    n = len(keep)
    job_sector = world.job_sector[job]
    interest = (job_sector == world.user_sector1[user]) | (job_sector == world.user_sector2[user])
    p_redirect = np.where(interest, _REDIRECT_P_INTEREST, _REDIRECT_P_OTHER)
    p_redirect = p_redirect * world.job_appeal[job] * world.active_propensity[local]
    redirect = rng.random(n) < np.minimum(p_redirect, 0.95)
    n_imp = rng.geometric(_IMPRESSION_GEOMETRIC_P, n)
    n_imp[redirect & (rng.random(n) < _REDIRECT_WITHOUT_IMPRESSION_P)] = 0
    n_red = np.where(redirect, rng.geometric(_EXTRA_REDIRECT_GEOMETRIC_P, n), 0)
    n_lines = n_imp + n_red

    # Lines: gaps within a pair (browsing back minutes or days later, click soon after).
    pair = np.repeat(np.arange(n), n_lines)
    first = np.cumsum(n_lines) - n_lines
    pos = np.arange(len(pair)) - first[pair]
    is_redirect = pos >= n_imp[pair]
    click = is_redirect & (pos == n_imp[pair]) & (pos > 0)
    revisit = rng.random(len(pair)) < 0.5
    mean_gap = np.where(click, 60.0, np.where(revisit & ~is_redirect, 120.0, 2.0 * _DAY))
    gap = np.where(pos == 0, 0, 1 + np.floor(rng.exponential(1.0, len(pair)) * mean_gap))
    cum = np.cumsum(gap)
    offset = cum - cum[first[pair]]

    # The funnel starts at the pair time (moved into the job's live window); lines that would
    # fall after the job expired or after the reference time have not happened (censoring).
    job_hi = world.job_hi[job]
    ts = np.clip(when, world.job_lo[job], job_hi)[pair] + offset.astype(np.int64)
    kept = ts <= job_hi[pair]

    records = np.empty(int(kept.sum()), dtype=_SPILL_DTYPE)
    records["ts"] = ts[kept]
    records["user"] = user[pair[kept]]
    records["job"] = job[pair[kept]]
    records["redirect"] = is_redirect[kept]
    return records


def _write_activities(
    world: _World,
    rng: np.random.Generator,
    fh: IO[bytes],
    out_dir: Path,
    progress: Callable[[int], None] | None,
) -> _ActivityCounts:
    sampler = _job_sampler(world)
    n_buckets = max(1, math.ceil(world.target_lines / _LINES_PER_BUCKET))
    window = _ACTIVITY_WINDOW_DAYS * _DAY
    job_seen = np.zeros(len(world.job_ids), dtype=np.bool_)
    user_seen = np.zeros(len(world.user_ids), dtype=np.bool_)
    cum_pairs = np.cumsum(world.active_pairs)
    targets = np.arange(1, cum_pairs[-1] // _PAIRS_PER_BLOCK + 1) * _PAIRS_PER_BLOCK
    block_ends = np.unique(
        np.append(np.searchsorted(cum_pairs, targets, side="right"), len(cum_pairs))
    )
    impressions = redirects = 0

    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".demo-spill-") as spill_dir:
        spill_paths = [Path(spill_dir) / f"bucket-{k:04d}.bin" for k in range(n_buckets)]
        with contextlib.ExitStack() as stack:
            spills = [stack.enter_context(p.open("wb")) for p in spill_paths]
            start = 0
            for stop in block_ends:
                if stop <= start:
                    continue
                records = _activity_block(world, sampler, rng, slice(start, int(stop)))
                start = int(stop)
                bucket = ((records["ts"] - world.window_start) * n_buckets // window).astype(
                    np.int16 if n_buckets < 2**15 else np.int64
                )
                order = np.argsort(bucket, kind="stable")  # radix sort for int16
                records = records[order]
                bounds = np.searchsorted(bucket[order], np.arange(n_buckets + 1))
                for k in range(n_buckets):
                    records[bounds[k] : bounds[k + 1]].tofile(spills[k])

        written = 0
        for path in spill_paths:
            records = np.fromfile(path, dtype=_SPILL_DTYPE)
            path.unlink()
            records = records[np.argsort(records["ts"], kind="stable")]
            n_red = int(records["redirect"].sum())
            redirects += n_red
            impressions += len(records) - n_red
            job_seen[records["job"]] = True
            user_seen[records["user"]] = True
            pl.DataFrame(
                {
                    "user_id": world.user_ids[records["user"]],
                    "job_id": world.job_ids[records["job"]],
                    "type": pl.Series(records["redirect"]).replace_strict(
                        {0: "impression", 1: "redirect"}, return_dtype=pl.String
                    ),
                    "timestamp": records["ts"],
                }
            ).write_ndjson(fh)
            written += len(records)
            if progress is not None:
                progress(written)

    return _ActivityCounts(
        active_users=int(user_seen.sum()),
        jobs_with_activity=int(job_seen.sum()),
        impressions=impressions,
        redirects=redirects,
    )
