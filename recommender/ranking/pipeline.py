"""The one post-processing path every list takes, whatever scored it.

The :class:`~recommender.recommender.Recommender` scores (or takes the lists ranked after
training) and hands the arrays down; a request's :class:`Ranking` runs the stages of
:mod:`recommender.ranking.stages` on them and hands ranked lists back::

    lists ranked ahead (TopLists) --+
                                     +--> Exclusions -> TopN -> EmployerCap -> Backfill
    every job's score (live)  ------+

A job whose ``expires_at`` has passed or that the request excludes is dropped, at most
``max_per_employer`` jobs of one employer are kept (greedily, in rank order), and each list is
backfilled from deeper in the ranking so it holds ``n`` jobs whenever ``n`` eligible jobs exist.
Nothing here calls back up: when the lists ranked ahead are too short for some rows, the
:class:`Ranked` answer names those rows and the caller scores them and calls
:meth:`Ranking.from_scores`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.data.catalogue import NEVER
from recommender.matrix import IdIndex
from recommender.models.base import FloatArray
from recommender.ranking.rules import JobMeta, Rules
from recommender.ranking.stages import Backfill, EmployerCap, Exclusions, Ranked, TopN
from recommender.ranking.topn import TopLists

CAP_DEPTH = 4
"""With an employer cap, rank ``CAP_DEPTH * n`` deep first; a row the cap still starves is ranked
again in full (few are)."""


@dataclass
class Partial:
    """Lists ranked from the lists ranked ahead; ``None`` where those were too short.

    ``short`` holds the positions of the ``None`` entries: the rows to score and rank live.
    """

    lists: list[Ranked | None]
    short: list[int]

    def filled(self, live: list[Ranked]) -> list[Ranked]:
        """Every list, the short ones replaced by ``live`` (ranked for the ``short`` rows)."""
        lists = self.lists
        for i, got in zip(self.short, live, strict=True):
            lists[i] = got
        return [got for got in lists if got is not None]


class Ranking:
    """One request's stages over one model's job columns: what :class:`RankingPipeline` builds.

    Parameters
    ----------
    n:
        How many jobs each list holds at most.
    exclusions:
        The jobs blocked; None when nothing is (no stage to run).
    cap:
        The employer cap.
    n_jobs:
        How many job columns a score row has.
    """

    def __init__(
        self, n: int, exclusions: Exclusions | None, cap: EmployerCap, n_jobs: int
    ) -> None:
        self.n = n
        self.exclusions = exclusions
        self.cap = cap
        self.backfill = Backfill(n, n_jobs)
        self.n_jobs = n_jobs

    @property
    def passthrough(self) -> bool:
        """Whether the stages change no list: the first ``n`` of a ranked list is the answer."""
        return self.exclusions is None and self.cap.cap is None

    def _keep(self, ranked: Ranked) -> Ranked:
        if self.exclusions is not None:
            ranked = self.exclusions.keep(ranked)
        return self.cap.keep(ranked)

    def from_lists(self, ahead: TopLists, rows: NDArray[np.int64]) -> Partial:
        """The lists of ``rows`` from lists ranked ahead (``n <= ahead.k``).

        Rows whose list the stages leave short, while more jobs are eligible, come back as
        :attr:`Partial.short`.
        """
        if self.passthrough:
            return Partial(list(ahead.rows(rows, self.n)), [])
        lists: list[Ranked | None] = []
        for cols, vals in ahead.rows(rows, ahead.k):
            lists.append(self.backfill.cut(self._keep((cols, vals)), cols.shape[0], ahead.k))
        return Partial(lists, [i for i, got in enumerate(lists) if got is None])

    def from_scores(self, scores: FloatArray) -> list[Ranked]:
        """The list of each row of ``scores`` (every job's score, excluded entries -inf).

        ``scores`` is overwritten.
        """
        if self.exclusions is not None:
            self.exclusions.mask(scores)
        if self.cap.cap is None:
            return TopN(self.n).rank(scores)
        depth = min(self.n_jobs, CAP_DEPTH * self.n)
        lists = [
            self.backfill.cut(self.cap.keep(ranked), ranked[0].shape[0], depth)
            for ranked in TopN(depth).rank(scores)
        ]
        return [
            got if got is not None else self._whole_row(scores[i : i + 1])
            for i, got in enumerate(lists)
        ]

    def _whole_row(self, row: FloatArray) -> Ranked:
        """The list of a row the cap starved at the first depth, from all its scores."""
        ranked = TopN(self.n_jobs).rank(row)[0]
        got = self.backfill.cut(self.cap.keep(ranked), ranked[0].shape[0], self.n_jobs)
        assert got is not None  # a ranking of every job is complete
        return got


class RankingPipeline:
    """Builds each request's :class:`Ranking` over one model's job columns.

    Parameters
    ----------
    jobs:
        The model's job columns.
    meta:
        Expiry and employer of each column; None: no job expires and none has an employer.
    """

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

    def ranking(self, n: int, rules: Rules) -> Ranking:
        """The stages of a request for ``n`` jobs under ``rules``."""
        exclusions = None
        if rules.exclude_job_ids or rules.now >= self._first_expiry:
            exclusions = Exclusions.of(rules, self.jobs, self.meta.expires_at)
        cap = EmployerCap(self.meta.employer, rules.max_per_employer)
        return Ranking(n, exclusions, cap, self.n_jobs)
