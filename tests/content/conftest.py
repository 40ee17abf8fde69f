"""A small world with a known answer for content: jobs of three sectors with their sector's
words, users who engage with their own sector's jobs and whose degree subject names it, jobs
nobody engaged with (cold) and users with a profile and no activity."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from recommender.content.params import ContentParams
from recommender.data.activities import ActivityLines
from recommender.data.catalogue import Catalogue
from recommender.data.dataset import Dataset
from recommender.settings import Settings
from tests.conftest import activities_frame, tiny_settings

SECTORS = {
    "finance": (
        "Accounting and Finance",
        ["Audit Trainee", "Tax Accountant", "Finance Analyst", "Ledger Clerk"],
        "accounting finance audit tax ledger budget banking accounts invoices",
    ),
    "nursing": (
        "Nursing",
        ["Ward Nurse", "Staff Nurse", "Clinical Nurse", "Care Assistant"],
        "nursing patients ward clinical hospital medication care wards nurse",
    ),
    "software": (
        "Computer Science",
        ["Software Developer", "Python Engineer", "Test Engineer", "Cloud Developer"],
        "computer software code python developer testing cloud deployment engineering",
    ),
}
BOILERPLATE = [
    "team",
    "growth",
    "hybrid",
    "working",
    "office",
    "friendly",
    "benefits",
    "graduate",
    "scheme",
]
JOBS_PER_SECTOR = 12
COLD_PER_SECTOR = 2
"""The last jobs of each sector have no activity."""
USERS_PER_SECTOR = 15
PROFILE_ONLY = {9000 + s: name for s, name in enumerate(SECTORS)}
"""Users with a profile and no activity, and their sector."""


def job_id(sector: int, k: int) -> int:
    return 2000 + sector * 100 + k


def sector_of_job() -> dict[int, str]:
    """Every listed job's sector."""
    return {job_id(s, k): name for s, name in enumerate(SECTORS) for k in range(JOBS_PER_SECTOR)}


def cold_jobs() -> list[int]:
    return [
        job_id(s, k)
        for s in range(len(SECTORS))
        for k in range(JOBS_PER_SECTOR - COLD_PER_SECTOR, JOBS_PER_SECTOR)
    ]


def sector_catalogue(seed: int = 0) -> Catalogue:
    """The listed jobs (title and HTML description from their sector's words) and profiles."""
    rng = np.random.default_rng(seed)
    jobs: list[dict[str, Any]] = []
    for s, (_, titles, text) in enumerate(SECTORS.values()):
        vocab = text.split()
        for k in range(JOBS_PER_SECTOR):
            picked = [*rng.choice(vocab, 6, replace=False), *rng.choice(BOILERPLATE, 3)]
            jobs.append(
                {
                    "job_id": job_id(s, k),
                    "title": titles[k % len(titles)],
                    "description": f"<p>{' '.join(picked)} &amp; more</p>",
                }
            )
    users = [
        {"user_id": user, "degree_subject": subject, "languages": ["English"]}
        for user, subject in _profiles()
    ]
    return Catalogue(pl.DataFrame(jobs), pl.DataFrame(users))


def _profiles() -> list[tuple[int, str]]:
    subjects = [subject for subject, _, _ in SECTORS.values()]
    active = [
        (100 + s * USERS_PER_SECTOR + u, subjects[s])
        for s in range(len(SECTORS))
        for u in range(USERS_PER_SECTOR)
    ]
    return active + [(user, SECTORS[name][0]) for user, name in PROFILE_ONLY.items()]


def sector_records(seed: int = 0) -> list[dict[str, Any]]:
    """Each active user sees and is redirected to 4 warm jobs of their own sector."""
    rng = np.random.default_rng(seed)
    records: list[dict[str, Any]] = []
    warm = JOBS_PER_SECTOR - COLD_PER_SECTOR
    for s in range(len(SECTORS)):
        for u in range(USERS_PER_SECTOR):
            user = 100 + s * USERS_PER_SECTOR + u
            for k in rng.choice(warm, 4, replace=False).tolist():
                for kind in ("impression", "redirect"):
                    records.append({"user_id": user, "job_id": job_id(s, k), "type": kind})
    return records


def sector_dataset(seed: int = 0) -> Dataset:
    return Dataset(
        ActivityLines.unweighted(activities_frame(sector_records(seed))),
        sector_catalogue(seed),
        (),
    )


def content_settings(**updates: Any) -> Settings:
    """Tiny ALS with content vectors sized for the small world."""
    params = ContentParams(dimensions=16, min_count=1, epochs=40, window=5)
    return tiny_settings().model_copy(
        update={"model": "als", "content": params.model_copy(update=updates)}
    )
