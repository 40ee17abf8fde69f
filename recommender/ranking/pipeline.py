"""The one post-processing path every list takes, whatever scored it.

The :class:`~recommender.recommender.Recommender` scores (or takes the lists ranked after
training) and hands the arrays down; a request's :class:`Ranking` runs the stages of
:mod:`recommender.ranking.stages` on them and hands ranked lists back::

    lists ranked ahead (TopLists) --+
                                     +--> Exclusions -> Filters -> TopN -> EmployerCap
    every job's score (live)  ------+                                          |
                                                                   Backfill -> Page

A job whose ``expires_at`` has passed or that the request excludes is dropped, so is one whose
fields the request's filters do not allow, at most ``max_per_employer`` jobs of one employer are
kept (greedily, in rank order), and each list is backfilled from deeper in the ranking so it
holds ``offset + n`` jobs whenever that many eligible jobs exist; the page is its last ``n``.
Every stage keeps or drops a job by its place in one ranked list, so the first ``offset + n``
jobs of a list are the same whatever its depth: pages of one list never repeat a job.

Nothing here calls back up: when the lists ranked ahead are too short for some rows, the
:class:`Ranked` answer names those rows and the caller scores them and calls
:meth:`Ranking.from_scores` (with the scores pinned to the lists ranked ahead,
:meth:`~recommender.ranking.topn.TopLists.pin`, so the live ranking continues those lists).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.data.catalogue import NEVER, Catalogue
from recommender.matrix import IdIndex
from recommender.models.base import FloatArray
from recommender.ranking.fields import JobFields
from recommender.ranking.rules import JobMeta, Rules
from recommender.ranking.stages import Backfill, EmployerCap, Exclusions, Filters, Ranked, TopN
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
        How many jobs each page holds at most.
    exclusions:
        The jobs blocked; None when nothing is (no stage to run).
    cap:
        The employer cap.
    n_jobs:
        How many job columns a score row has.
    filters:
        The jobs' fields the request filters on; None for no filter.
    offset:
        Where the page starts in the ranked list.
    """

    def __init__(
        self,
        n: int,
        exclusions: Exclusions | None,
        cap: EmployerCap,
        n_jobs: int,
        *,
        filters: Filters | None = None,
        offset: int = 0,
    ) -> None:
        self.n = n
        self.offset = offset
        self.end = offset + n
        """How deep each list is ranked: the page is its last ``n`` entries."""
        self.exclusions = exclusions
        self.filters = filters
        self.cap = cap
        self.backfill = Backfill(self.end, n_jobs)
        self.n_jobs = n_jobs

    @property
    def passthrough(self) -> bool:
        """Whether the stages change no list: the first ``end`` of a ranked list is the list."""
        return self.exclusions is None and self.filters is None and self.cap.cap is None

    def _keep(self, ranked: Ranked) -> Ranked:
        if self.exclusions is not None:
            ranked = self.exclusions.keep(ranked)
        if self.filters is not None:
            ranked = self.filters.keep(ranked)
        return self.cap.keep(ranked)

    def _page(self, ranked: Ranked) -> Ranked:
        """The page of a list ranked ``end`` deep."""
        if not self.offset:
            return ranked
        cols, vals = ranked
        return cols[self.offset :], vals[self.offset :]

    def from_lists(self, ahead: TopLists, rows: NDArray[np.int64]) -> Partial:
        """The pages of ``rows`` from lists ranked ahead (``end <= ahead.k``).

        Rows whose list the stages leave short, while more jobs are eligible, come back as
        :attr:`Partial.short`.
        """
        if self.passthrough:
            return Partial([self._page(got) for got in ahead.rows(rows, self.end)], [])
        lists: list[Ranked | None] = []
        for cols, vals in ahead.rows(rows, ahead.k):
            got = self.backfill.cut(self._keep((cols, vals)), cols.shape[0], ahead.k)
            lists.append(None if got is None else self._page(got))
        return Partial(lists, [i for i, got in enumerate(lists) if got is None])

    def from_scores(self, scores: FloatArray) -> list[Ranked]:
        """The page of each row of ``scores`` (every job's score, excluded entries -inf).

        ``scores`` is overwritten.
        """
        if self.exclusions is not None:
            self.exclusions.mask(scores)
        if self.filters is not None:
            self.filters.mask(scores)
        if self.cap.cap is None:
            return [self._page(got) for got in TopN(self.end).rank(scores)]
        depth = min(self.n_jobs, CAP_DEPTH * self.end)
        lists = [
            self.backfill.cut(self.cap.keep(ranked), ranked[0].shape[0], depth)
            for ranked in TopN(depth).rank(scores)
        ]
        return [
            self._page(got if got is not None else self._whole_row(scores[i : i + 1]))
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
    catalogue:
        The listed jobs, whose string fields filters name (read on a field's first filter);
        None: no field is known.
    """

    def __init__(
        self, jobs: IdIndex, meta: JobMeta | None, catalogue: Catalogue | None = None
    ) -> None:
        self.jobs = jobs
        self.meta = meta if meta is not None else JobMeta.empty(len(jobs))
        self.fields = JobFields(catalogue, jobs.ids)
        self.n_jobs = len(jobs)
        # the fast path compares one number: while no job has expired, nothing is masked
        self._first_expiry = int(self.meta.expires_at.min()) if self.n_jobs else NEVER

    def passthrough(self, rules: Rules) -> bool:
        """Whether ``rules`` change no list: nothing excluded or filtered, no cap, no job
        expired yet (the page may start anywhere)."""
        return (
            not rules.exclude_job_ids
            and rules.max_per_employer is None
            and not rules.filters
            and rules.now < self._first_expiry
        )

    def ranking(self, n: int, rules: Rules) -> Ranking:
        """The stages of a request for a page of ``n`` jobs under ``rules``.

        Raises
        ------
        UnknownFieldError
            A filter names a field the jobs do not have.
        """
        exclusions = None
        if rules.exclude_job_ids or rules.now >= self._first_expiry:
            exclusions = Exclusions.of(rules, self.jobs, self.meta.expires_at)
        filters = None
        if rules.filters:
            coded = [(self.fields.codes(field), values) for field, values in rules.filters]
            filters = Filters(tuple((f.codes, f.allowed(values)) for f, values in coded))
        cap = EmployerCap(self.meta.employer, rules.max_per_employer)
        return Ranking(n, exclusions, cap, self.n_jobs, filters=filters, offset=rules.offset)
