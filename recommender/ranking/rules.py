"""What the job rules read: each job's expiry and employer (:class:`JobMeta`), and what one
request asks (:class:`Rules`): exclusions, an employer cap, filters on the jobs' fields and the
page of the list. :mod:`recommender.ranking.pipeline` applies them to every list.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from recommender.data.catalogue import NEVER, NO_EMPLOYER


@dataclass(frozen=True)
class JobMeta:
    """Per job column: expiry (int64 epoch µs, :data:`NEVER` if none) and employer code (int32),
    from the catalogue (:meth:`~recommender.data.catalogue.Catalogue.job_rules`)."""

    expires_at: NDArray[np.int64]
    employer: NDArray[np.int32]

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
    filters:
        ``(field, allowed values)`` pairs: a job is kept when its value of every field is one
        of that field's values (exact match); a job with no value for a field is dropped.
    offset:
        The page starts this far down the ranked list (after every other rule): a request for
        ``n`` jobs gets the list's entries ``[offset, offset + n)``.
    """

    now: int
    exclude_job_ids: tuple[int, ...] = ()
    max_per_employer: int | None = None
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    offset: int = 0

    @classmethod
    def at_now(
        cls,
        exclude_job_ids: Sequence[int] = (),
        max_per_employer: int | None = None,
        filters: Mapping[str, Sequence[str]] | None = None,
        offset: int = 0,
    ) -> Rules:
        """Rules evaluated at the current time."""
        fields = tuple((field, tuple(values)) for field, values in (filters or {}).items())
        return cls(now_us(), tuple(exclude_job_ids), max_per_employer, fields, offset)
