"""The stages a scored list passes, each one component with its configuration beside it.

:class:`~recommender.ranking.pipeline.Ranking` runs them in this order::

    Exclusions -> Filters -> TopN -> EmployerCap -> Backfill

A stage sees arrays only (scores, or ranked columns with their scores) and never calls back
into whatever scored them: a list the stages leave short is reported by :class:`Backfill`, and
the caller scores it deeper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.data.catalogue import NO_EMPLOYER
from recommender.matrix import IdIndex
from recommender.models.base import FloatArray
from recommender.ranking.rules import Rules
from recommender.ranking.topn import top_n

Ranked = tuple[NDArray[np.int64], FloatArray]
"""Job columns best first, and their scores."""

_NO_COLUMNS = np.empty(0, dtype=np.int64)
_NO_COLUMNS.setflags(write=False)


@dataclass(frozen=True)
class Exclusions:
    """Drops the jobs expired at the request's time and those the request excludes.

    Attributes
    ----------
    now:
        Epoch microseconds; jobs with ``expires_at <= now`` are dropped.
    expires_at:
        Each job column's expiry.
    excluded:
        The job columns the request excludes.
    """

    now: int
    expires_at: NDArray[np.int64]
    excluded: NDArray[np.int64]

    @classmethod
    def of(cls, rules: Rules, jobs: IdIndex, expires_at: NDArray[np.int64]) -> Exclusions:
        """The jobs ``rules`` block: expired at ``rules.now``, or excluded (unknown ids ignored)."""
        excluded = _NO_COLUMNS
        if rules.exclude_job_ids:
            ids = np.asarray(rules.exclude_job_ids, dtype=np.int64)
            excluded = jobs.rows(ids[jobs.contains(ids)], missing="error")
        return cls(rules.now, expires_at, excluded)

    def blocked(self) -> NDArray[np.bool_]:
        """One flag per job column: expired or excluded."""
        blocked: NDArray[np.bool_] = self.expires_at <= self.now
        blocked[self.excluded] = True
        return blocked

    def mask(self, scores: FloatArray) -> None:
        """Set every row's score of a blocked job to -inf, in place."""
        scores[:, self.blocked()] = -np.inf

    def keep(self, ranked: Ranked) -> Ranked:
        """The entries of a ranked list that are not blocked, in order.

        Reads the expiry of the listed jobs only: a list ranked ahead is ~100 jobs, the
        catalogue thousands.
        """
        cols, vals = ranked
        ok = self.expires_at[cols] > self.now
        if self.excluded.shape[0]:
            ok &= ~np.isin(cols, self.excluded)
        return cols[ok], vals[ok]


@dataclass(frozen=True)
class Filters:
    """Keeps the jobs whose value of each filtered field is allowed: AND across fields, OR
    within one. A job with no value for a filtered field is dropped.

    Attributes
    ----------
    fields:
        For each filtered field: the code of each job column (0: no value), and by code
        whether the request allows it
        (:meth:`~recommender.ranking.fields.FieldCodes.allowed`).
    """

    fields: tuple[tuple[NDArray[np.int32], NDArray[np.bool_]], ...]

    def allowed(self) -> NDArray[np.bool_]:
        """One flag per job column: every field's value allowed."""
        ok: NDArray[np.bool_] | None = None
        for codes, allowed in self.fields:
            ok = allowed[codes] if ok is None else ok & allowed[codes]
        assert ok is not None, "a Filters stage filters at least one field"
        return ok

    def mask(self, scores: FloatArray) -> None:
        """Set every row's score of a job not allowed to -inf, in place."""
        scores[:, ~self.allowed()] = -np.inf

    def keep(self, ranked: Ranked) -> Ranked:
        """The entries of a ranked list that are allowed, in order (reads the listed jobs'
        codes only)."""
        cols, vals = ranked
        ok = np.ones(cols.shape[0], dtype=np.bool_)
        for codes, allowed in self.fields:
            ok &= allowed[codes[cols]]
        return cols[ok], vals[ok]


@dataclass(frozen=True)
class TopN:
    """Each row's ``depth`` highest finite scores, best first; ties go to the lower column.

    A row comes back shorter than ``depth`` only when it has fewer finite scores.
    """

    depth: int

    def rank(self, scores: FloatArray) -> list[Ranked]:
        """The ranked list of each row of ``scores`` (excluded entries are -inf)."""
        return top_n(scores, self.depth)


@dataclass(frozen=True)
class EmployerCap:
    """At most ``cap`` jobs of one employer per list: the first ones in rank order.

    Attributes
    ----------
    employer:
        The employer code of each job column; :data:`NO_EMPLOYER` is never capped.
    cap:
        None for no cap.
    """

    employer: NDArray[np.int32]
    cap: int | None

    def keep(self, ranked: Ranked) -> Ranked:
        """The entries of a ranked list within the cap, in order."""
        if self.cap is None:
            return ranked
        cols, vals = ranked
        ok = within_cap(self.employer[cols], self.cap)
        return cols[ok], vals[ok]


@dataclass(frozen=True)
class Backfill:
    """Cuts each list to ``n`` and reports one the stages before left short while deeper in the
    ranking more jobs may be eligible: its caller then ranks it again, deeper.

    A list is complete when it holds ``n`` jobs, or when the ranking it came from held every
    eligible job: that ranking was shorter than its depth (it ran out of finite scores), or
    reached ``n_jobs`` deep.
    """

    n: int
    n_jobs: int

    def cut(self, kept: Ranked, ranked: int, depth: int) -> Ranked | None:
        """``kept`` cut to ``n``, or None when it is short and a deeper ranking may fill it.

        ``ranked`` is how many entries the ranking held before the stages dropped some, and
        ``depth`` how deep it was asked for.
        """
        cols, vals = kept
        if cols.shape[0] >= self.n or ranked < depth or depth >= self.n_jobs:
            return cols[: self.n], vals[: self.n]
        return None


def within_cap(employer: NDArray[np.int32], cap: int) -> NDArray[np.bool_]:
    """Keep each employer's first ``cap`` entries in list order; unknown employers always."""
    order = np.argsort(employer, kind="stable")
    ordered = employer[order]
    occurrence = np.empty(employer.shape[0], dtype=np.int64)
    occurrence[order] = np.arange(employer.shape[0]) - np.searchsorted(ordered, ordered)
    kept: NDArray[np.bool_] = (employer == NO_EMPLOYER) | (occurrence < cap)
    return kept
