"""``users.jsonl``: one profile line per user, assembled from pre-encoded JSON fragments.

The degree subject follows the user's latent sectors and the city is their home city; active
users fill in more of their profile, and missing fields are absent keys rather than nulls.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from recommender.data.demo.words import (
    ALL_SUBJECTS,
    CITIES,
    ETHNICITIES,
    GENDERS,
    LANGUAGES,
    SCHOOL_TYPES,
    SECTORS,
    SUBJECTS,
    UNIVERSITIES,
    probabilities,
)
from recommender.data.demo.world import World

_USERS_PER_CHUNK = 500_000


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
            "city": _json_frags("city", [c[0] for c in CITIES]),
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


def write_users(world: World, rng: np.random.Generator, fh: IO[bytes]) -> None:
    """Write one profile line per user to ``fh``, in chunks of users."""
    vocab = _user_vocab()
    for start in range(0, len(world.user_ids), _USERS_PER_CHUNK):
        stop = min(start + _USERS_PER_CHUNK, len(world.user_ids))
        lines = _user_lines(world, vocab, rng, slice(start, stop))
        lines.to_frame().write_csv(fh, include_header=False, quote_style="never")


def _user_lines(
    world: World, vocab: _UserVocab, rng: np.random.Generator, users: slice
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
            "city": pick("city", world.user_city[users], present(0.1)),
            "ethnicity": pick(
                "ethnicity",
                rng.choice(len(ETHNICITIES), n, p=probabilities(ETHNICITIES)),
                present(0.35),
            ),
            "gender": pick(
                "gender", rng.choice(len(GENDERS), n, p=probabilities(GENDERS)), present(0.2)
            ),
            "grad_year": pl.Series(grad_year).set(~present(0.15), None),
            "school_type": pick(
                "school_type",
                rng.choice(len(SCHOOL_TYPES), n, p=probabilities(SCHOOL_TYPES)),
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
            pl.col("city"),
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
