"""Jobs posted at serve time, laid over the model trained before them.

``POST /jobs`` (and ``PATCH``/``DELETE``) store job records; the served model takes them in at
once, without retraining, through :class:`ListedJobs`:

* a job the model has a column for (it had activity, or it was listed when the model was
  trained) gets the record's expiry, employer and text: a take-down (``expires_at`` in the past)
  leaves every list at once, and a new text moves it among the jobs like it;
* a new job becomes a column appended after the model's own (:class:`~recommender.matrix.
  AppendedIndex`): the model scores it 0 (:class:`~recommender.models.padded.PaddedModel`), its
  text is embedded with the bundle's word vectors, and the content hybrid gives it its place in
  users' lists as it does every cold job (its nearest warm jobs' scores), while
  ``find_similar_jobs`` answers from its text.

Each call builds a new :class:`TrainedModel` sharing the model's arrays (nothing is copied but
the per-job vectors and metadata), so a request that started on the previous one finishes on it.
The lists ranked after training are kept: :meth:`ListedJobs.rank_ahead` ranks the appended jobs
into them (each user's list score of a new job is found for every user at once, from its warm
neighbours' columns), so a default request stays a slice of a list. Only a change to the text of
a known cold job sends every list to be scored at request time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.bundle.trained import TrainedModel
from recommender.content.hybrid import Hybrid
from recommender.content.text import job_tokens
from recommender.data.catalogue import JOB_KEY, NEVER, Catalogue
from recommender.matrix import AppendedIndex, IdIndex
from recommender.models.base import FloatArray
from recommender.models.padded import PaddedModel
from recommender.ranking.rules import JobMeta
from recommender.ranking.topn import merged, padded

Record = Mapping[str, Any]


def _micros(text: str | None) -> int:
    """An ISO 8601 time of a checked record (with its zone) in epoch µs; :data:`NEVER` if none."""
    if text is None:
        return NEVER
    return int(datetime.fromisoformat(text).timestamp() * 1_000_000)


def _widened(matrix: sp.csr_matrix, n_cols: int) -> sp.csr_matrix:
    """``matrix`` with empty columns appended up to ``n_cols`` (its arrays shared)."""
    if matrix.shape[1] == n_cols:
        return matrix
    return sp.csr_matrix(
        (matrix.data, matrix.indices, matrix.indptr), shape=(matrix.shape[0], n_cols), copy=False
    )


class ListedJobs:
    """The job records taken since ``base`` was trained, laid over it; :attr:`trained` is the
    model with all of them. Not thread-safe: one caller at a time applies records."""

    def __init__(self, base: TrainedModel) -> None:
        self.base = base
        self.trained = base
        self._extra = np.zeros(0, dtype=np.int64)  # appended job ids, in column order
        self._employers: dict[str, int] | None = None
        self._base_cold = np.bincount(base.interactions.indices, minlength=len(base.jobs)) == 0
        self._top = base.user_top  # the lists ranked ahead with the posted jobs ranked in
        self._unranked = np.zeros(0, dtype=np.int64)  # appended columns not ranked in yet

    @property
    def appended(self) -> int:
        """How many jobs have a column the model does not know."""
        return int(self._extra.shape[0])

    def _employer_codes(self) -> dict[str, int]:
        """Employer name -> code, as the model's job rules number them (sorted names from 0)."""
        if self._employers is None:
            names: list[str] = []
            catalogue = self.base.catalogue
            if catalogue is not None and catalogue.has_jobs() and "employer" in catalogue.jobs:
                names = catalogue.jobs["employer"].drop_nulls().unique().sort().to_list()
            self._employers = {name: code for code, name in enumerate(names)}
        return self._employers

    def _employer(self, name: object) -> int:
        if not isinstance(name, str):
            return -1
        codes = self._employer_codes()
        return codes.setdefault(name, len(codes))

    def apply(self, records: Sequence[Record]) -> TrainedModel:
        """Lay ``records`` (checked job records; the last of a job wins) over the model: the new
        :attr:`trained`, which is also returned."""
        # polars only when jobs are posted (the service imports none to answer requests)
        from recommender.data.listings import overlay  # noqa: PLC0415

        newest = {int(r[JOB_KEY]): r for r in records}
        if not newest:
            return self.trained
        current, base = self.trained, self.base
        ids = np.fromiter(newest, dtype=np.int64, count=len(newest))
        cols, known = current.jobs.lookup(ids)
        new_ids = ids[~known]
        n_before = len(current.jobs)
        cols[~known] = n_before + np.arange(new_ids.shape[0])
        extra = np.concatenate([self._extra, new_ids])
        jobs: IdIndex = AppendedIndex(base.jobs, extra) if extra.shape[0] else base.jobs
        n_jobs = len(jobs)

        meta = current.job_meta or JobMeta.empty(n_before)
        expires = np.full(n_jobs, NEVER, dtype=np.int64)
        employer = np.full(n_jobs, -1, dtype=np.int32)
        expires[:n_before], employer[:n_before] = meta.expires_at, meta.employer
        listed = [newest[int(i)] for i in ids]
        expires[cols] = [_micros(r.get("expires_at")) for r in listed]
        employer[cols] = [self._employer(r.get("employer")) for r in listed]

        content, hybrid, rebuilt = self._content(current, cols, n_before, n_jobs, listed)
        if rebuilt:  # a known cold job's place moved: lists are scored live from now on
            self._top = None
        self._unranked = np.concatenate([self._unranked, np.arange(n_before, n_jobs)])
        catalogue = base.catalogue or Catalogue()
        appended = n_jobs > len(base.jobs)
        trained = TrainedModel(
            model=(
                PaddedModel(base.model, n_jobs - len(base.jobs), base.interactions)
                if appended
                else base.model
            ),
            users=base.users,
            jobs=jobs,
            interactions=_widened(base.interactions, n_jobs),
            redirected=_widened(base.redirected, n_jobs),
            popularity=np.concatenate(
                [base.popularity, np.zeros(n_jobs - len(base.jobs), dtype=np.float32)]
            ),
            manifest=base.manifest,
            user_top=self._top if self._unranked.shape[0] == 0 else None,
            similar_top=(
                base.similar_top
                if base.similar_top is None or not appended
                else padded(base.similar_top, n_jobs - len(base.jobs))
            ),
            job_meta=JobMeta(expires_at=expires, employer=employer),
            funnel=base.funnel,
            catalogue=catalogue.with_jobs(overlay(_jobs_of(current.catalogue), listed)),
            content=content,
        )
        trained.__dict__["hybrid"] = hybrid  # the cached property, extended rather than rebuilt
        self.trained, self._extra = trained, extra
        return trained

    def rank_ahead(self, list_scores: Callable[[NDArray[np.int64]], FloatArray]) -> None:
        """Rank the jobs appended since the last call into the lists ranked after training, with
        ``list_scores(cols)`` (every user's list score of those columns), so that lists stay a
        slice rather than being scored at request time; the served :attr:`trained` gets them."""
        cols = self._unranked
        if self._top is None or cols.shape[0] == 0:
            return
        self._top = merged(self._top, cols, list_scores)
        self._unranked = np.zeros(0, dtype=np.int64)
        self.trained.user_top = self._top

    def _content(
        self,
        current: TrainedModel,
        cols: NDArray[np.int64],
        n_before: int,
        n_jobs: int,
        listed: list[Record],
    ) -> tuple[Any, Hybrid | None, bool]:
        """The job vectors with the records' texts embedded, the hybrid over them, and whether
        it was built again (a known job's text changed)."""
        vectors = current.content
        if vectors is None:
            return None, current.hybrid, False
        fields = vectors.field_names
        texts = [
            job_tokens(r.get("title"), r.get("description"), {f: r.get(f) for f in fields})
            for r in listed
        ]
        embedded = vectors.embed_many(texts)
        job_vectors = np.zeros((n_jobs, vectors.dimensions), dtype=np.float32)
        job_vectors[:n_before] = vectors.job_vectors
        old = cols < n_before
        changed = bool(old.any()) and not np.array_equal(job_vectors[cols[old]], embedded[old])
        job_vectors[cols] = embedded
        content = dataclasses.replace(vectors, job_vectors=job_vectors)
        hybrid = current.hybrid
        if hybrid is None:
            return content, None, False
        if changed:  # a known job's text changed: its neighbours and its neighbours' change
            cold = np.ones(n_jobs, dtype=np.bool_)
            cold[: self._base_cold.shape[0]] = self._base_cold
            return content, Hybrid(content, cold, hybrid.params), True
        return content, hybrid.appended(job_vectors[n_before:]), False


def _jobs_of(catalogue: Catalogue | None) -> Any:
    import polars as pl  # noqa: PLC0415 - read when jobs are posted, never to answer a request

    if catalogue is None or not catalogue.has_jobs():
        return pl.DataFrame(schema={JOB_KEY: pl.Int64()})
    return catalogue.jobs
