"""Job rules applied after scoring, on every path: expiry, exclusions, employer caps, backfill.

Every list the service returns passes through :meth:`JobRules.select`, whatever scored it (the
lists ranked after training, live scoring, the popular fallback): a job whose ``expires_at`` has
passed or that the request excludes is dropped, at most ``max_per_employer`` jobs of one employer
are kept (greedily, in rank order), and the list is backfilled from deeper in the ranking so it
holds ``n`` jobs whenever ``n`` eligible jobs exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from recommender.data.catalogue import NEVER, NO_EMPLOYER
from recommender.matrix import MISSING, IdIndex
from recommender.models.base import FloatArray
from recommender.ranking.topn import TopLists, top_n

Ranked = tuple[NDArray[np.int64], FloatArray]


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


class JobRules:
    """Applies :class:`Rules` to ranked lists over one model's job columns."""

    def __init__(self, jobs: IdIndex, meta: JobMeta | None) -> None:
        self.jobs = jobs
        self.meta = meta if meta is not None else JobMeta.empty(len(jobs))
        self.n_jobs = len(jobs)
        # the fast path compares one number: while no job has expired, nothing is masked
        self._first_expiry = int(self.meta.expires_at.min()) if self.n_jobs else NEVER

    def passthrough(self, rules: Rules) -> bool:
        """Whether ``rules`` change no list: nothing excluded, no cap, no job expired yet."""
        return (
            not rules.exclude_job_ids
            and rules.max_per_employer is None
            and rules.now < self._first_expiry
        )

    def blocked(self, rules: Rules) -> NDArray[np.bool_]:
        """One flag per job column: expired or excluded."""
        blocked: NDArray[np.bool_] = self.meta.expires_at <= rules.now
        if rules.exclude_job_ids:
            cols = self.jobs.rows(np.asarray(rules.exclude_job_ids, dtype=np.int64))
            blocked[cols[cols != MISSING]] = True
        return blocked

    def select(
        self,
        rows: NDArray[np.int64],
        n: int,
        rules: Rules,
        scores_of: Callable[[NDArray[np.int64]], FloatArray],
        ahead: TopLists | None,
    ) -> list[Ranked]:
        """Each row's best ``n`` eligible jobs, best first: the one post-processing step.

        ``ahead`` holds lists ranked beforehand (used when ``n <= ahead.k``); rows it cannot
        answer (too few eligible entries) are ranked live from ``scores_of(rows)``, whose
        excluded entries are -inf.
        """
        if ahead is not None and n <= ahead.k:
            if self.passthrough(rules):
                return ahead.rows(rows, n)
            blocked = self.blocked(rules)
            out: list[Ranked | None] = []
            for cols, vals in ahead.rows(rows, ahead.k):
                kept = self._keep(cols, vals, n, blocked, rules.max_per_employer)
                exhausted = cols.shape[0] < ahead.k or ahead.k >= self.n_jobs
                out.append(kept if kept[0].shape[0] == n or exhausted else None)
            short = [i for i, got in enumerate(out) if got is None]
            if short:
                live = self._rank(scores_of(rows[short]), n, blocked, rules.max_per_employer)
                for i, got in zip(short, live, strict=True):
                    out[i] = got
            return [got for got in out if got is not None]
        blocked = self.blocked(rules)
        return self._rank(scores_of(rows), n, blocked, rules.max_per_employer)

    def _rank(
        self, scores: FloatArray, n: int, blocked: NDArray[np.bool_], cap: int | None
    ) -> list[Ranked]:
        scores[:, blocked] = -np.inf
        if cap is None:
            return top_n(scores, n)
        # rank a little deeper than n, then the whole row for the few rows the cap still starves
        depth = min(self.n_jobs, 4 * n)
        out = [self._keep(c, v, n, None, cap) for c, v in top_n(scores, depth)]
        if depth < self.n_jobs:
            for i, (cols, _) in enumerate(out):
                if cols.shape[0] < n:
                    c, v = top_n(scores[i : i + 1], self.n_jobs)[0]
                    out[i] = self._keep(c, v, n, None, cap)
        return out

    def _keep(
        self,
        cols: NDArray[np.int64],
        vals: FloatArray,
        n: int,
        blocked: NDArray[np.bool_] | None,
        cap: int | None,
    ) -> Ranked:
        """The first ``n`` of a ranked list that are not blocked and fit the employer cap."""
        if blocked is not None:
            ok = ~blocked[cols]
            cols, vals = cols[ok], vals[ok]
        if cap is not None:
            ok = _within_cap(self.meta.employer[cols], cap)
            cols, vals = cols[ok], vals[ok]
        return cols[:n], vals[:n]


def _within_cap(employer: NDArray[np.int32], cap: int) -> NDArray[np.bool_]:
    """Keep each employer's first ``cap`` entries in list order; unknown employers always."""
    order = np.argsort(employer, kind="stable")
    ordered = employer[order]
    occurrence = np.empty(employer.shape[0], dtype=np.int64)
    occurrence[order] = np.arange(employer.shape[0]) - np.searchsorted(ordered, ordered)
    kept: NDArray[np.bool_] = (employer == NO_EMPLOYER) | (occurrence < cap)
    return kept
