"""A fitted model with all serving needs: id maps, filters, popularity, provenance."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.bundle.manifest import Manifest
from recommender.content.hybrid import Hybrid
from recommender.content.vectors import ContentVectors
from recommender.matrix import IdIndex
from recommender.models.base import FloatArray, Model, take_rows
from recommender.ranking.rules import JobMeta

if TYPE_CHECKING:  # the catalogue's frames are read only when asked for
    from recommender.data.catalogue import Catalogue
from recommender.ranking.topn import TopLists, mask_rows
from recommender.settings import ExcludeSeen


@dataclass(frozen=True)
class Funnel:
    """Each stored pair's impressions and redirects (clipped as the scoring rule clips them),
    aligned with ``interactions.data``: what a user's new events are added to."""

    impressions: NDArray[np.float32]
    redirects: NDArray[np.float32]


@dataclass
class TrainedModel:
    """What a bundle holds, in memory.

    Attributes
    ----------
    model:
        The fitted model; its rows are ``users`` rows and its columns ``jobs`` rows.
    users, jobs:
        The id maps.
    interactions:
        users × jobs float32 CSR of implicit scores; a stored entry means the user has seen the job.
    redirected:
        users × jobs CSR whose stored entries are the pairs with at least one redirect.
    popularity:
        One float32 per job: the sum of its implicit scores over all users.
    user_top:
        Each user's best jobs with redirected ones excluded, if ranked after training.
    similar_top:
        Each job's most similar other jobs, if ranked after training.
    funnel:
        The counts behind each score in ``interactions``; None in bundles written before it.
    job_meta:
        Each job's expiry and employer code, for the job rules; None when unknown (nothing
        expires, no employers).
    manifest:
        Provenance: model and settings, data fingerprint, counts, library versions, timings.
    catalogue:
        Every listed job and user profile with their attributes, also those with no activity;
        None when the inputs listed none (or the bundle predates the catalogue).
    content:
        Word and job vectors from the jobs' text (:mod:`recommender.content`), its job rows
        aligned with ``jobs``; None when content was off, the inputs had no job text, or the
        bundle predates it.
    """

    model: Model
    users: IdIndex
    jobs: IdIndex
    interactions: sp.csr_matrix
    redirected: sp.csr_matrix
    popularity: NDArray[np.float32]
    manifest: Manifest
    user_top: TopLists | None = None
    similar_top: TopLists | None = None
    job_meta: JobMeta | None = None
    funnel: Funnel | None = None
    catalogue: Catalogue | None = None
    content: ContentVectors | None = None

    def __post_init__(self) -> None:
        shape = (len(self.users), len(self.jobs))
        for name in ("interactions", "redirected"):
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} has shape {getattr(self, name).shape}, expected {shape}")
        if self.model.n_users != shape[0] or self.model.n_items != shape[1]:
            raise ValueError(
                f"model is {self.model.n_users}×{self.model.n_items}, "
                f"id maps are {shape[0]}×{shape[1]}"
            )
        for name, rows in (("user_top", shape[0]), ("similar_top", shape[1])):
            lists = getattr(self, name)
            if lists is not None and lists.cols.shape[0] != rows:
                raise ValueError(f"{name} has {lists.cols.shape[0]} rows, expected {rows}")
        if self.job_meta is not None:
            for name in ("expires_at", "employer"):
                if getattr(self.job_meta, name).shape != (shape[1],):
                    raise ValueError(f"job_meta.{name} has the wrong shape, expected ({shape[1]},)")
        if self.funnel is not None:
            for name in ("impressions", "redirects"):
                if getattr(self.funnel, name).shape != self.interactions.data.shape:
                    raise ValueError(f"funnel.{name} is not aligned with interactions")
        self._check_content(shape[1])
        if self.popularity.shape != (shape[1],):
            raise ValueError(
                f"popularity has shape {self.popularity.shape}, expected ({shape[1]},)"
            )

    @cached_property
    def hybrid(self) -> Hybrid | None:
        """The content blended into users' lists (:mod:`recommender.content.hybrid`), with the
        settings the bundle was trained with; None without content or when it changes nothing."""
        info = self.manifest.content
        if self.content is None or info is None:
            return None
        cold = np.diff(self.interactions.tocsc().indptr) == 0
        hybrid = Hybrid(self.content, cold, info.params)
        return hybrid if hybrid.active else None

    def _check_content(self, n_jobs: int) -> None:
        if self.content is not None and self.content.job_vectors.shape[0] != n_jobs:
            raise ValueError(
                f"content has {self.content.job_vectors.shape[0]} job vectors, expected {n_jobs}"
            )

    def user_scores(self, rows: NDArray[np.int64], exclude_seen: ExcludeSeen) -> FloatArray:
        """Every job's score for each user row, the excluded jobs (``exclude_seen``) at -inf.

        The one place lists are scored from: live requests, the lists ranked after training and
        the evaluation all rank these, so they cannot drift apart.
        """
        scores = self.model.user_scores(rows, self.interactions)
        if self.hybrid is not None:
            scores = self.hybrid.blend(scores, take_rows(self.interactions, rows))
        if exclude_seen == "all":
            mask_rows(scores, self.interactions, rows)
        elif exclude_seen == "redirected":
            mask_rows(scores, self.redirected, rows)
        return scores

    def similar_scores(self, cols: NDArray[np.int64]) -> FloatArray:
        """Every job's similarity to each given job column, the job itself at -inf."""
        scores = self.model.similar_scores(cols)
        scores[np.arange(cols.shape[0]), cols] = -np.inf
        return scores
