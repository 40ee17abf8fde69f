"""What the job rules read: each job's expiry and employer (:class:`JobMeta`), and what one
request asks (:class:`Rules`). :mod:`recommender.ranking.pipeline` applies them to every list.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # polars is needed only in training, not by the service at start-up
    import polars as pl

NEVER = np.iinfo(np.int64).max
"""``expires_at`` of a job that never expires."""
NO_EMPLOYER = -1
"""``employer`` code of a job whose employer is unknown (never capped)."""


@dataclass(frozen=True)
class JobMeta:
    """Per job column: expiry (int64 epoch µs, :data:`NEVER` if none) and employer code (int32)."""

    expires_at: NDArray[np.int64]
    employer: NDArray[np.int32]

    @classmethod
    def of(cls, job_ids: NDArray[np.int64], jobs: pl.DataFrame | None) -> JobMeta:
        """Metadata for ``job_ids`` from a ``jobs.jsonl`` frame; absent jobs never expire.

        Employer codes number the distinct employer strings in sorted order, from 0.
        """
        if jobs is None:
            return cls.empty(job_ids.shape[0])
        import polars as pl  # noqa: PLC0415 - serving reads job rules from the bundle, not polars

        employer = pl.col("employer").cast(pl.Utf8)
        meta = jobs.select(
            "job_id",
            pl.col("expires_at").dt.epoch("us").alias("expires_at"),
            (employer.rank("dense") - 1).cast(pl.Int32).alias("employer"),
        )
        joined = pl.DataFrame({"job_id": job_ids}).join(meta, on="job_id", how="left")
        return cls(
            expires_at=joined["expires_at"].fill_null(NEVER).to_numpy().astype(np.int64),
            employer=joined["employer"].fill_null(NO_EMPLOYER).to_numpy().astype(np.int32),
        )

    @classmethod
    def empty(cls, n_jobs: int) -> JobMeta:
        """No job expires and none has an employer (a bundle written before job rules)."""
        return cls(
            expires_at=np.full(n_jobs, NEVER, dtype=np.int64),
            employer=np.full(n_jobs, NO_EMPLOYER, dtype=np.int32),
        )


def now_us() -> int:
    """The current time in epoch microseconds, the unit of :attr:`JobMeta.expires_at`."""
    return time.time_ns() // 1000


class Rules(NamedTuple):
    """What one request asks of its lists, beyond the model's scores.

    A named tuple rather than a frozen dataclass: it is built on every request, and this is
    three times cheaper to build.

    Attributes
    ----------
    now:
        Epoch microseconds; jobs with ``expires_at <= now`` are dropped.
    exclude_job_ids:
        Jobs never to return (unknown ids are ignored).
    max_per_employer:
        At most this many jobs of one employer per list; None for no cap.
    """

    now: int
    exclude_job_ids: tuple[int, ...] = ()
    max_per_employer: int | None = None

    @classmethod
    def at_now(
        cls, exclude_job_ids: Sequence[int] = (), max_per_employer: int | None = None
    ) -> Rules:
        """Rules evaluated at the current time."""
        return cls(now_us(), tuple(exclude_job_ids), max_per_employer)
