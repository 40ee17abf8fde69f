"""A job's audience: every user's score of a few job columns, from their own lists' scores.

A user's list ranks :meth:`~recommender.bundle.trained.TrainedModel.user_scores`: the model's
raw scores or, with the hybrid (:mod:`recommender.content.hybrid`), each row z-scored over the
warm jobs, a cold job inheriting ``cold_weight`` times its warm neighbours' z-scores, plus the
history term (in an audience at ``audience_history_weight``, at most the lists' weight: a list
ranks one user's jobs, an audience compares users, and a large weight there favours users with a
click or two whose text matches over those likely to click). An audience ranks users by that ``z``
put back on a scale comparable across users,
``μᵤ + σᵤ · z``, ``μᵤ`` and ``σᵤ`` the user's mean and deviation over the warm jobs of the model's
scores (for a warm job, history term aside, ``μᵤ + σᵤ · z`` is the model's own score). Per user it
orders jobs as their list does; across users it keeps what ``z`` divides out: how strongly the
model expects each user to engage at all. A blend standardises each user's row itself, so it
gives ``μᵤ, σᵤ`` of another score (:meth:`~recommender.models.base.Model.comparable_moments`).
Ranking ``z`` itself ("how far does the job stand out in this list") sent campaigns to users who
rarely click anything: on the demo data's cold-jobs split it recalled fewer test clickers than
the 100 most active users (``python -m bench --only audience`` shows both).

A cold job (listed, embedded, no activity) always inherits from its warm neighbours with weights
summing to 1 (``μᵤ + σᵤ · z`` is then the weighted mean of the user's model scores of those
jobs), whatever ``cold_weight`` the lists use: that weight sets how cold jobs compete with warm
ones inside a list (0: never), not who should hear of one. With ``cold_weight`` 1, the default,
``z`` is the list's score exactly (to float32 rounding). Without content vectors, ``z`` is taken
over the jobs with activity, and the lists' scores are the model's raw scores.

One column for every user takes each user's moments (:meth:`~recommender.models.base.Model.
score_moments`, found once per loaded model), the model's scores of that column or of its warm
neighbours (:meth:`~recommender.models.base.Model.column_scores`), and the history term in closed
form: an audience costs O(users × neighbours), not O(users × jobs).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.bundle.trained import TrainedModel
from recommender.content.hybrid import HistoryStats, Hybrid
from recommender.content.params import ContentParams
from recommender.models.base import SCORE_BUDGET, FloatArray
from recommender.ranking.topn import top_n

IntArray = NDArray[np.int64]
Scale = Literal["model", "list"]
"""An audience's scores: on the model's scale (what audiences rank) or the lists' own."""


def _audience_share(params: ContentParams) -> float:
    """The audience's history weight as a share of the lists' (the term is linear in it)."""
    lists = params.history_weight
    return 0.0 if lists <= 0 else min(params.audience_history_weight, lists) / lists


@dataclass(frozen=True)
class _Prepared:
    """What every audience of one loaded model shares, found on first use: with content, the
    hybrid that cold jobs inherit through (``cold_weight`` 1) and the history term's
    statistics; each user's mean and deviation (0 read as 1) over the warm jobs of the model's
    scores (for ``z``) and of the scores the model calls comparable across users (for ``μᵤ,
    σᵤ``; the same but for a blend); the redirected pairs by job."""

    hybrid: Hybrid | None
    mean: NDArray[np.float64]
    std: NDArray[np.float64]
    scale_mean: NDArray[np.float64]
    scale_std: NDArray[np.float64]
    history: HistoryStats | None
    redirected: sp.csc_matrix


@dataclass(frozen=True)
class RankedAudience:
    """One job's best user rows, best first, their scores, and whether the job's scores were
    inherited from its warm neighbours by text (a cold job)."""

    rows: IntArray
    scores: FloatArray
    inherited: bool


class AudienceScorer:
    """Scores and ranks the users of one :class:`TrainedModel` for given job columns.

    The per-user statistics are found once, on first use (under a lock, in the caller's thread),
    and kept for the life of the model.
    """

    def __init__(self, trained: TrainedModel) -> None:
        self.trained = trained
        self._lock = threading.Lock()
        self._prepared: _Prepared | None = None

    def extended(self, trained: TrainedModel) -> AudienceScorer:
        """The scorer of ``trained``, this one's model with jobs posted since laid over it
        (:mod:`recommender.bundle.listed`): the per-user statistics over the warm jobs are kept
        (posted jobs are cold), the hybrid grows by the appended jobs only, unless a known
        job's text changed."""
        grown = AudienceScorer(trained)
        prepared = self._prepared
        if prepared is None:
            return grown
        hybrid = prepared.hybrid
        if hybrid is not None and trained.content is not None:
            vectors = trained.content.job_vectors
            before = hybrid.n_jobs
            if np.array_equal(hybrid.vectors, vectors[:before]):
                hybrid = hybrid.appended(vectors[before:])
            else:  # a known job's text changed: its neighbours and its neighbours' change
                cold = np.bincount(trained.interactions.indices, minlength=vectors.shape[0]) == 0
                hybrid = Hybrid(trained.content, cold, hybrid.params)
        grown._prepared = dataclasses.replace(
            prepared,
            hybrid=hybrid,
            history=None if hybrid is None else hybrid.history_stats(trained.interactions),
            redirected=trained.redirected.tocsc(),
        )
        return grown

    def prepare(self) -> None:
        """Find the per-user statistics now rather than on the first audience."""
        self._ready()

    def _ready(self) -> _Prepared:
        prepared = self._prepared
        if prepared is not None:
            return prepared
        with self._lock:
            if self._prepared is None:
                self._prepared = self._prepare()
            return self._prepared

    def _prepare(self) -> _Prepared:
        trained = self.trained
        model, interactions = trained.model, trained.interactions
        info = trained.manifest.content
        hybrid = trained.hybrid
        if trained.content is not None and info is not None:
            if hybrid is None or hybrid.params.cold_weight != 1.0:
                cold = np.diff(interactions.tocsc().indptr) == 0
                params = info.params.model_copy(update={"cold_weight": 1.0})
                hybrid = Hybrid(trained.content, cold, params)
            warm = hybrid.warm
        else:
            hybrid = None
            warm = np.flatnonzero(np.diff(interactions.tocsc().indptr) > 0).astype(np.int64)
        mean, std = model.score_moments(warm, interactions)
        comparable = model.comparable_moments(warm, interactions)
        scale_mean, scale_std = (mean, std) if comparable is None else comparable
        history = None if hybrid is None else hybrid.history_stats(interactions)
        return _Prepared(
            hybrid,
            mean,
            np.where(std == 0, 1.0, std),
            scale_mean,
            np.where(scale_std == 0, 1.0, scale_std),
            history,
            trained.redirected.tocsc(),
        )

    def scores(
        self, cols: IntArray, scale: Scale = "model"
    ) -> tuple[FloatArray, NDArray[np.bool_]]:
        """Every user row's score of each job column (``users × len(cols)``, float32) and which
        columns inherit from warm neighbours; ``scale="list"`` gives the lists' scores (the
        model's raw scores without content, else ``z``: see the module docstring)."""
        prepared = self._ready()
        model, interactions = self.trained.model, self.trained.interactions
        hybrid = prepared.hybrid
        if hybrid is None:
            raw = model.column_scores(cols, interactions)
            inherited = np.zeros(cols.shape[0], dtype=bool)
            if scale == "list":
                return raw, inherited
            z = (raw - prepared.mean[:, None]) / prepared.std[:, None]
        else:
            sources, mix, inherited = hybrid.column_mix(cols)
            raw = model.column_scores(sources, interactions)
            parts = ((raw - prepared.mean[:, None]) / prepared.std[:, None]).astype(np.float32)
            listed: FloatArray = np.asarray(parts @ mix, dtype=np.float32)
            term = None
            if prepared.history is not None:
                term = hybrid.history_columns(prepared.history, cols)
            if scale == "list":
                return listed if term is None else listed + term, inherited
            z = listed.astype(np.float64)
            if term is not None:
                z += term * _audience_share(hybrid.params)
        scaled = prepared.scale_mean[:, None] + prepared.scale_std[:, None] * z
        return scaled.astype(np.float32), inherited

    def list_scores(self, cols: IntArray) -> FloatArray:
        """Every user row's score of each job column as their own list ranks it (the model's
        hybrid, with the lists' ``cold_weight``): what a posted job competes with in the lists
        ranked after training (:mod:`recommender.bundle.listed`)."""
        prepared = self._ready()
        model, interactions = self.trained.model, self.trained.interactions
        hybrid = self.trained.hybrid
        if hybrid is None:
            return model.column_scores(cols, interactions)
        sources, mix, _ = hybrid.column_mix(cols)
        # Σ w (s - μ)/σ = (Σ w s - μ Σ w)/σ: the columns mixed before the users are scored
        mixed = model.mixed_scores(sources, mix, interactions).astype(np.float64)
        weights = np.asarray(mix.sum(axis=0), dtype=np.float64)
        z = (mixed - prepared.mean[:, None] * weights) / prepared.std[:, None]
        listed: FloatArray = z.astype(np.float32)
        if prepared.history is not None and hybrid.params.history_weight > 0:
            listed += hybrid.history_columns(prepared.history, cols)
        return listed

    def top(
        self, cols: IntArray, n: int, excluded: Sequence[IntArray], scale: Scale = "model"
    ) -> list[RankedAudience]:
        """Each job column's ``n`` best user rows by :meth:`scores` on ``scale``, leaving out
        the users redirected to it in training and the rows ``excluded[i]`` for ``cols[i]``;
        ties go to the lower row.

        Columns are scored a few at a time, so that a batch holds about
        :data:`~recommender.models.base.SCORE_BUDGET` scores.
        """
        prepared = self._ready()
        n_users = self.trained.interactions.shape[0]
        hybrid = prepared.hybrid
        per_col = n_users * (1 + (hybrid.params.cold_neighbours if hybrid is not None else 0))
        step = max(1, SCORE_BUDGET // max(1, per_col))
        out: list[RankedAudience] = []
        redirected = prepared.redirected
        for start in range(0, cols.shape[0], step):
            chunk = cols[start : start + step]
            scores, inherited = self.scores(chunk, scale)
            by_job = np.ascontiguousarray(scores.T)
            starts, ends = redirected.indptr[chunk], redirected.indptr[chunk + 1]
            for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
                by_job[i, redirected.indices[a:b]] = -np.inf
                by_job[i, excluded[start + i]] = -np.inf
            for (rows, values), own in zip(top_n(by_job, n), inherited.tolist(), strict=True):
                out.append(RankedAudience(rows, values, own))
        return out
