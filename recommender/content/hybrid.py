"""The hybrid: collaborative scores with content filling in where collaboration knows nothing.

Every list a model scores passes through :meth:`Hybrid.blend` (from
:meth:`~recommender.bundle.trained.TrainedModel.user_scores` and a fresh history's rescoring), so
whatever model won selection, the lists it serves, precomputed or live, are the hybrid's:

1. each row's collaborative scores become z-scores over the **warm** jobs (those with activity);
2. a **cold** job (listed, never engaged with) gets ``cold_weight`` times the mean z-score of its
   ``cold_neighbours`` nearest warm jobs by text, weighted by their cosine: a new nursing job
   scores, for a user, what the nursing jobs they would be shown score, a little less (a mean of
   neighbours sits below the best of them), so new jobs get exposure without burying the
   collaborative signal;
3. optionally, ``history_weight · s/(s + n)`` times the z-scored cosine of the user's history
   vector (their jobs' text vectors weighted by implicit score) with every job, ``n`` the jobs in
   their history and ``s`` ``history_shrink``: content counts most for users with little history
   and fades as it grows.

With ``cold_weight`` 0 and ``history_weight`` 0 the order of every list is the model's own.
Everything is numpy over the bundle's arrays.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.content.params import ContentParams
from recommender.content.vectors import ContentVectors

FloatArray = NDArray[np.float32]


def _z_over(scores: FloatArray, cols: NDArray[np.int64]) -> FloatArray:
    """``scores`` minus each row's mean over ``cols``, over their standard deviation (float32;
    a row constant there becomes zeros there)."""
    part = scores[:, cols].astype(np.float64)
    mean = part.mean(axis=1, keepdims=True)
    std = part.std(axis=1, keepdims=True)
    std[std == 0] = 1.0
    out: FloatArray = ((scores - mean) / std).astype(np.float32)
    return out


@dataclass(frozen=True)
class HistoryStats:
    """Every user's normalised history vector (float32, users × dimensions), the mean and
    deviation of its cosines with all jobs (float64; a deviation of 0 is 1, as in the z-scores)
    and the weight of their history term."""

    users: FloatArray
    mean: NDArray[np.float64]
    std: NDArray[np.float64]
    weight: FloatArray


class Hybrid:
    """Blends one bundle's collaborative scores with its content vectors.

    Parameters
    ----------
    vectors:
        The bundle's content vectors (job rows aligned with the model's columns).
    cold:
        Which job columns have no activity.
    params:
        ``cold_weight``, ``cold_neighbours``, ``history_weight``, ``history_shrink``.
    """

    def __init__(self, vectors: ContentVectors, cold: NDArray[np.bool_], params: ContentParams):
        self.params = params
        self._vectors = vectors.job_vectors
        embedded = np.abs(self._vectors).sum(axis=1) > 0
        self._warm = np.flatnonzero(~cold).astype(np.int64)
        self._cold = np.flatnonzero(cold & embedded).astype(np.int64)
        self._inherit = self._neighbours(self._cold)

    def appended(self, vectors: FloatArray) -> Hybrid:
        """This hybrid over more job columns, appended after the ones it has: cold jobs (no
        activity) with these text vectors. Only their own neighbours are searched: a job posted
        at serve time costs one pass over the warm jobs, not a rebuild."""
        grown = copy.copy(self)
        start = self._vectors.shape[0]
        grown._vectors = np.vstack([self._vectors, vectors.astype(np.float32)])
        added = start + np.flatnonzero(np.abs(vectors).sum(axis=1) > 0).astype(np.int64)
        grown._cold = np.concatenate([self._cold, added])
        grown._inherit = sp.vstack([self._inherit, grown._neighbours(added)], format="csr")
        return grown

    @property
    def active(self) -> bool:
        """Whether blending changes anything (else lists are the model's own)."""
        p = self.params
        return (p.cold_weight > 0 and self._cold.shape[0] > 0) or p.history_weight > 0

    def _neighbours(self, cold: NDArray[np.int64]) -> sp.csr_matrix:
        """``cold`` × warm weights: each of these cold jobs' ``cold_neighbours`` nearest warm
        jobs by cosine (positive ones only), summing to ``cold_weight``."""
        n_cold, n_warm = cold.shape[0], self._warm.shape[0]
        if n_cold == 0 or n_warm == 0:
            return sp.csr_matrix((n_cold, n_warm), dtype=np.float32)
        k = min(self.params.cold_neighbours, n_warm)
        indptr = [0]
        cols: list[NDArray[np.int64]] = []
        vals: list[FloatArray] = []
        warm_vectors = self._vectors[self._warm]
        for start in range(0, n_cold, 1024):  # cold × warm cosines, a block at a time
            block = self._vectors[cold[start : start + 1024]] @ warm_vectors.T
            top = np.argpartition(-block, k - 1, axis=1)[:, :k]
            sims = np.take_along_axis(block, top, axis=1)
            for row_cols, row_sims in zip(top, sims, strict=True):
                keep = row_sims > 0
                weights = row_sims[keep]
                total = weights.sum()
                if total > 0:
                    weights = weights / total * self.params.cold_weight
                cols.append(row_cols[keep].astype(np.int64))
                vals.append(weights.astype(np.float32))
                indptr.append(indptr[-1] + int(keep.sum()))
        return sp.csr_matrix(
            (np.concatenate(vals), np.concatenate(cols), np.asarray(indptr, dtype=np.int64)),
            shape=(n_cold, n_warm),
        )

    def blend(self, scores: FloatArray, histories: sp.csr_matrix) -> FloatArray:
        """The hybrid's scores for rows of collaborative ``scores`` (users × jobs, finite), the
        users' ``histories`` (same rows, implicit scores) giving their content vectors."""
        if not self.active:
            return scores
        z = _z_over(scores, self._warm)
        if self._cold.shape[0] and self.params.cold_weight > 0:
            z[:, self._cold] = np.asarray(self._inherit @ z[:, self._warm].T).T
        if self.params.history_weight > 0:
            z += self._history_term(histories)
        return z

    @property
    def n_jobs(self) -> int:
        """The job columns this hybrid covers."""
        return int(self._vectors.shape[0])

    @property
    def vectors(self) -> FloatArray:
        """Every job column's text vector (do not modify)."""
        return self._vectors

    @property
    def warm(self) -> NDArray[np.int64]:
        """The job columns with activity: each row's z-scores are taken over these."""
        return self._warm

    def column_mix(
        self, cols: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], sp.csr_matrix, NDArray[np.bool_]]:
        """How :meth:`blend`'s z-scores of the job columns ``cols`` are made from the z-scores
        of other columns, for scoring a few columns for every user (a job's audience).

        Returns ``sources`` (sorted job columns), a float32 ``sources × cols`` matrix ``mix``
        with ``z[:, cols] == z[:, sources] @ mix``, and which of ``cols`` inherit from their
        warm neighbours (cold, embedded, ``cold_weight`` above 0) rather than being their own.
        """
        inherits = np.zeros(cols.shape[0], dtype=bool)
        at = np.zeros(cols.shape[0], dtype=np.int64)
        if self._cold.shape[0] and self.params.cold_weight > 0:
            at = np.minimum(np.searchsorted(self._cold, cols), self._cold.shape[0] - 1)
            inherits = self._cold[at] == cols
        rows = self._inherit[at[inherits]]  # inherited columns' weights over the warm jobs
        own = np.flatnonzero(~inherits)
        from_cols = np.concatenate([cols[own], self._warm[rows.indices]])
        to_cols = np.concatenate([own, np.repeat(np.flatnonzero(inherits), np.diff(rows.indptr))])
        weights = np.concatenate([np.ones(own.shape[0], np.float32), rows.data]).astype(np.float32)
        sources, source_of = np.unique(from_cols, return_inverse=True)
        mix = sp.csr_matrix(
            (weights, (source_of.ravel(), to_cols)), shape=(sources.shape[0], cols.shape[0])
        )
        return sources.astype(np.int64), mix, inherits

    def history_stats(self, histories: sp.csr_matrix) -> HistoryStats | None:
        """What :meth:`history_columns` needs of the users with these ``histories`` (all rows of
        the model), or None when ``history_weight`` is 0."""
        if self.params.history_weight <= 0:
            return None
        users = self._user_vectors(histories)
        jobs = self._vectors.astype(np.float64)
        centre = jobs.mean(axis=0)
        covariance = (jobs - centre).T @ (jobs - centre) / max(1, jobs.shape[0])
        wide = users.astype(np.float64)
        std = np.sqrt(np.maximum(np.einsum("ud,de,ue->u", wide, covariance, wide), 0.0))
        std[std == 0] = 1.0
        return HistoryStats(users, wide @ centre, std, self._history_weights(histories))

    def history_columns(self, stats: HistoryStats, cols: NDArray[np.int64]) -> FloatArray:
        """The history term :meth:`blend` adds to the columns ``cols``, for every user of
        ``stats``: their cosines with these jobs, z-scored over all jobs in closed form (the
        mean cosine is the cosine with the mean job vector, the variance ``uᵀ C u``)."""
        cosine = (stats.users @ self._vectors[cols].T).astype(np.float64)
        z = (cosine - stats.mean[:, None]) / stats.std[:, None]
        out: FloatArray = (z * stats.weight[:, None]).astype(np.float32)
        return out

    def _user_vectors(self, histories: sp.csr_matrix) -> FloatArray:
        users = np.asarray(histories @ self._vectors, dtype=np.float32)
        norms = np.linalg.norm(users, axis=1, keepdims=True)
        out: FloatArray = np.divide(users, norms, out=np.zeros_like(users), where=norms > 0)
        return out

    def _history_weights(self, histories: sp.csr_matrix) -> FloatArray:
        n = np.diff(histories.indptr).astype(np.float32)
        shrink = np.float32(self.params.history_shrink)
        weight: FloatArray = np.float32(self.params.history_weight) * shrink / (shrink + n)
        weight[n == 0] = 0.0
        return weight

    def _history_term(self, histories: sp.csr_matrix) -> FloatArray:
        cosine = self._user_vectors(histories) @ self._vectors.T
        z = _z_over(cosine.astype(np.float32), np.arange(cosine.shape[1], dtype=np.int64))
        out: FloatArray = (z * self._history_weights(histories)[:, None]).astype(np.float32)
        return out
