"""``jobs.jsonl``: titles, HTML descriptions, employers, cities, sectors and dates rendered from
the world.

A title is a seniority, a sector role and an optional suffix; a description strings together
an intro, sector sentences and bullets, an optional salary and a generic closing, all drawn
from :mod:`~recommender.data.demo.words`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from recommender.data.demo.words import (
    BULLET_HEADINGS,
    CITIES,
    GENERIC_CLOSINGS,
    INTROS,
    SECTORS,
    SENIORITY,
    probabilities,
)
from recommender.data.demo.world import World


def jobs_frame(world: World, rng: np.random.Generator) -> pl.DataFrame:
    """The ``jobs.jsonl`` rows, one per job in world order."""
    n = len(world.job_ids)
    sector = world.job_sector
    city = pl.Series([c[0] for c in CITIES]).gather(world.job_city)
    employer = pl.Series(world.employer_names).gather(world.job_employer)

    # Title: seniority + sector role + optional suffix.
    roles = [r for s in SECTORS for r in s.roles]
    role_start = np.cumsum([0] + [len(s.roles) for s in SECTORS])
    role_count = np.diff(role_start)
    role_idx = role_start[sector] + np.floor(rng.random(n) * role_count[sector]).astype(np.int64)
    seniority = rng.choice(len(SENIORITY), n, p=probabilities(SENIORITY))
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
            pl.col("city"),
            pl.Series("sector", [s.name for s in SECTORS]).gather(sector),
            _iso(world.posted).alias("posted_at"),
            _iso(world.expires).alias("expires_at"),
        )
    )


def _iso(seconds: NDArray[np.int64]) -> pl.Series:
    return (
        pl.from_epoch(pl.Series(seconds), time_unit="s")
        .dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        .cast(pl.String)
    )


def _distinct_choice(rng: np.random.Generator, n: int, k: int, m: int) -> NDArray[np.int64]:
    """``n`` rows of ``k`` distinct indices drawn uniformly from ``range(m)`` (k <= m)."""
    return np.argsort(rng.random((n, m)), axis=1)[:, :k].astype(np.int64)
