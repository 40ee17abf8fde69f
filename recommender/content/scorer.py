"""Content at serve time: cold jobs' similar jobs and profile-only users' scores.

Built once per loaded bundle by the :class:`~recommender.recommender.Recommender`; every method
is numpy over the vectors a bundle holds (no gensim). A profile is embedded through its values'
places among the jobs (:mod:`recommender.content.profiles`), and its list's score is
``z(cosine(profile, job)) + β · z(log(1 + popularity))``, z standardising over the jobs, β the
bundle's ``popularity_weight``: content says which jobs fit, popularity which of those people
take up. On the demo data pure content (β = 0) ranks the right sector but obscure jobs (0.12×
the popular list's NDCG@10); β = 1 gives 2.0× (README, "Content").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from recommender.content.params import ContentParams
from recommender.content.text import profile_tokens
from recommender.content.vectors import ContentVectors

if TYPE_CHECKING:
    from recommender.data.catalogue import Catalogue

Profile = Mapping[str, Any]


def standardize_rows(scores: NDArray[np.float32]) -> NDArray[np.float32]:
    """Each row minus its mean over its finite entries, over their standard deviation (a
    constant row becomes zeros); -inf stays -inf."""
    finite = np.isfinite(scores)
    counts = np.maximum(finite.sum(axis=1, keepdims=True), 1)
    safe = np.where(finite, scores, 0.0)
    mean = safe.sum(axis=1, keepdims=True) / counts
    var = (np.where(finite, scores - mean, 0.0) ** 2).sum(axis=1, keepdims=True) / counts
    std = np.sqrt(var)
    out = np.divide(scores - mean, std, out=np.zeros_like(scores), where=std > 0)
    out[~finite] = scores[~finite]
    result: NDArray[np.float32] = out.astype(np.float32, copy=False)
    return result


class ContentScorer:
    """Content scores over one bundle's job columns.

    Parameters
    ----------
    vectors:
        The bundle's content vectors.
    job_users:
        How many users engaged with each job column (0: a cold job).
    popularity:
        Each job column's popularity (sum of implicit scores).
    params:
        The settings the vectors were trained with (profile fields, popularity weight).
    catalogue:
        Where users' profiles are looked up by id (read on first use).
    """

    def __init__(
        self,
        vectors: ContentVectors,
        job_users: NDArray[np.int64],
        popularity: NDArray[np.float32],
        params: ContentParams,
        catalogue: Catalogue | None,
    ) -> None:
        self.vectors = vectors
        self.cold = job_users == 0
        self.params = params
        self._catalogue = catalogue
        log_pop = np.log1p(popularity.astype(np.float64))[None, :]
        self._popularity_z = standardize_rows(log_pop.astype(np.float32))[0]

    def is_cold(self, col: int) -> bool:
        """Whether job column ``col`` has no activity (only its text places it)."""
        return bool(self.cold[col])

    def similar_scores(self, col: int) -> NDArray[np.float32] | None:
        """Every job's cosine with job ``col`` (``col`` itself at -inf), as one row; None when
        its text has no known word."""
        vector = self.vectors.job_vectors[col]
        if not vector.any():
            return None
        scores = self.vectors.scores(vector)
        scores[col] = -np.inf
        return scores[None, :]

    def profile(self, user_id: int) -> Profile | None:
        """The user's profile from ``users.jsonl``, looked up by id; None if none is listed."""
        return None if self._catalogue is None else self._catalogue.profile(user_id)

    def profile_scores(self, profiles: Sequence[Profile]) -> list[NDArray[np.float32] | None]:
        """Each profile's score for every job (a row), or None for a profile with no known
        word (the caller answers it as it would a stranger)."""
        fields = self.params.profile_fields
        embedded = self.vectors.embed_profiles([profile_tokens(p, fields) for p in profiles])
        known = embedded.any(axis=1)
        out: list[NDArray[np.float32] | None] = [None] * len(profiles)
        if not known.any():
            return out
        cosine = np.asarray(embedded[known] @ self.vectors.job_vectors.T, dtype=np.float32)
        scores = (
            standardize_rows(cosine)
            + np.float32(self.params.popularity_weight) * (self._popularity_z[None, :])
        )
        for i, row in zip(np.flatnonzero(known).tolist(), scores, strict=True):
            out[i] = row[None, :]
        return out
