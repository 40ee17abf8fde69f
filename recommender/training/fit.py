"""From a dataset to a :class:`~recommender.bundle.trained.TrainedModel`: score, build the
matrix, fit."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.bundle.manifest import ContentInfo, Counts, DataInfo, Manifest, ModelInfo
from recommender.bundle.trained import Funnel, TrainedModel
from recommender.content.vectors import ContentVectors
from recommender.content.word2vec import (
    WordVectorFitter,
    gensim_word_vectors,
    has_text,
    train_content,
)
from recommender.data.catalogue import Catalogue
from recommender.data.dataset import Dataset
from recommender.data.funnel import PairScores
from recommender.matrix import IdIndex, build_matrix
from recommender.models.base import FitContext, Progress
from recommender.models.registry import create_model
from recommender.ranking.rules import JobMeta
from recommender.ranking.topn import rank_all
from recommender.settings import AUTO, Settings

log = logging.getLogger(__name__)


def train(
    dataset: Dataset,
    settings: Settings,
    *,
    fingerprint: str = "",
    progress: Progress | None = None,
) -> TrainedModel:
    """Score the activities, build the users × jobs matrix and fit the configured model."""
    started = time.perf_counter()
    pairs = dataset.activities.score(settings.scoring)
    scored = time.perf_counter()
    log.info(
        "scored %s activity lines into %s (user, job) pairs in %.1f s",
        f"{dataset.activities.lines():,}",
        f"{len(pairs):,}",
        scored - started,
    )
    catalogue = dataset.catalogue
    trained = fit_pairs(pairs, settings, catalogue=catalogue, progress=progress)
    trained.manifest.data = DataInfo(
        fingerprint=fingerprint,
        activity_lines=dataset.activities.lines(),
        catalogue_jobs=catalogue.jobs.height if catalogue.has_jobs() else None,
        profile_users=catalogue.user_count(),
        unlisted_jobs=catalogue.unlisted(dataset.activities.job_ids()),
    )
    trained.manifest.timings = {"score_seconds": round(scored - started, 4)} | (
        trained.manifest.timings
    )
    return trained


def progress_steps(settings: Settings) -> int | None:
    """How many progress calls fitting ``settings.model`` makes: ALS's and BPR's iterations, a
    blend's components' one after another (one for each other model); None for ``auto``, which
    is not known before selection."""
    if settings.model == AUTO:
        return None
    iterations = {
        "als": settings.als.iterations,
        "bpr": settings.bpr.iterations,
        "neural": settings.neural.epochs,  # at most: early stopping may end it sooner
    }
    fitted = settings.blend.components if settings.model == "blend" else (settings.model,)
    return sum(iterations.get(name, 1) for name in fitted)


def fit_pairs(
    pairs: PairScores,
    settings: Settings,
    *,
    catalogue: Catalogue | None = None,
    progress: Progress | None = None,
    word_vectors: tuple[str, WordVectorFitter] | None = None,
    known_until: datetime | None = None,
) -> TrainedModel:
    """Fit a model on scored pairs; the model's input is ``confidence_scale · score``.

    ``word_vectors`` names and gives what fits the content's word vectors (gensim's Word2Vec
    when None; the Spark engine passes Spark MLlib's).

    ``catalogue`` (the listed jobs and user profiles, also those with no activity) is handed to
    the model's fit and kept in the bundle; the job rules' expiry and employers come from it.
    ``settings.model`` ``auto`` fits ``settings.selection.fallback``: selecting happens before,
    in a training run given a selector (:mod:`recommender.training.run`).

    With content on (``settings.content.enabled``) and a catalogue listing jobs with text, the
    job columns are the jobs with activity and the listed jobs together (a listed job with no
    activity is a column of zeros, popularity 0: a cold job), and content vectors are trained
    (:func:`~recommender.content.word2vec.train_content`), before the model, which is given them
    (:class:`~recommender.models.base.FitContext`); otherwise the columns are the jobs with
    activity, as without a catalogue. ``known_until`` (the end of the training period, when
    evaluating) keeps the text of jobs posted later out of the word vectors: such a job is a
    column, embedded with the words known by then, but its words teach nothing.
    """
    if len(pairs) == 0:
        raise ValueError("no (user, job) pair has a positive score: nothing to train on")
    if settings.model == AUTO:
        settings = settings.model_copy(update={"model": settings.selection.fallback})
    started = time.perf_counter()
    with_content = settings.content.enabled and has_text(catalogue)
    users = IdIndex(pairs.user_ids)
    jobs = IdIndex(
        np.union1d(pairs.job_ids, catalogue.job_index.ids)
        if with_content and catalogue is not None
        else pairs.job_ids
    )
    rows = users.rows(pairs.user_ids, missing="error")
    cols = jobs.rows(pairs.job_ids, missing="error")
    shape = (len(users), len(jobs))
    interactions = build_matrix(rows, cols, pairs.scores.astype(np.float32), shape)
    redirected = _redirected(rows, cols, pairs, shape)
    built = time.perf_counter()
    log.info(
        "built the %s × %s matrix in %.1f s; fitting %s",
        f"{shape[0]:,}",
        f"{shape[1]:,}",
        built - started,
        settings.model,
    )
    content: tuple[ContentVectors, ContentInfo] | None = None
    if with_content and catalogue is not None:  # first: a model may learn from the vectors
        content = _content(
            catalogue,
            jobs,
            interactions,
            users,
            settings,
            word_vectors=word_vectors,
            known_until=known_until,
        )
    model = create_model(settings.model, settings)
    model.use_context(
        FitContext(
            user_ids=users.ids,
            job_ids=jobs.ids,
            content=None if content is None else content[0],
            redirected=redirected,
        )
    )
    confidence = interactions * np.float32(settings.als.confidence_scale)
    fitting = time.perf_counter()
    model.fit(sp.csr_matrix(confidence, dtype=np.float32), catalogue=catalogue, progress=progress)
    fitted = time.perf_counter()
    popularity = np.asarray(interactions.sum(axis=0, dtype=np.float64), dtype=np.float32).ravel()
    manifest = Manifest(
        model=ModelInfo(
            kind=model.kind,
            params=model.params(),
            confidence_scale=settings.als.confidence_scale,
        ),
        scoring=settings.scoring,
        counts=Counts(
            users=shape[0],
            jobs=shape[1],
            interactions=int(interactions.nnz),
            redirected_pairs=int(redirected.nnz),
        ),
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        timings={
            "matrix_seconds": round(built - started, 4),
            "fit_seconds": round(fitted - fitting, 4),
        },
        content=None if content is None else content[1],
    )
    if content is not None:
        manifest.timings["content_seconds"] = content[1].train_seconds
    trained = TrainedModel(
        model=model,
        users=users,
        jobs=jobs,
        interactions=interactions,
        redirected=redirected,
        popularity=popularity,
        funnel=_funnel(rows, cols, pairs, settings.scoring.clip),
        job_meta=JobMeta(*(catalogue or Catalogue()).job_rules(jobs.ids)),
        manifest=manifest,
        catalogue=catalogue,
        content=None if content is None else content[0],
    )
    log.info("fitted in %.1f s", fitted - fitting)
    ranking = time.perf_counter()
    if settings.precompute_top:
        _rank_ahead(trained, settings.precompute_top, settings.precompute_max_cells)
    manifest.timings["rank_seconds"] = round(time.perf_counter() - ranking, 4)
    return trained


def _content(
    catalogue: Catalogue,
    jobs: IdIndex,
    interactions: sp.csr_matrix,
    users: IdIndex,
    settings: Settings,
    *,
    word_vectors: tuple[str, WordVectorFitter] | None = None,
    known_until: datetime | None = None,
) -> tuple[ContentVectors, ContentInfo]:
    """Train the content vectors of the job columns, timed, with their manifest section."""
    started = time.perf_counter()
    engine, fit_words = word_vectors or ("gensim", gensim_word_vectors)
    vectors, documents = train_content(
        catalogue,
        jobs.ids,
        interactions,
        users,
        params=settings.content,
        seed=settings.seed,
        fit_words=fit_words,
        known_until=known_until,
    )
    seconds = time.perf_counter() - started
    info = ContentInfo(
        params=settings.content,
        words=int(vectors.words.shape[0]),
        dimensions=vectors.dimensions,
        jobs_embedded=int((np.abs(vectors.job_vectors).sum(axis=1) > 0).sum()),
        cold_jobs=int((np.diff(interactions.tocsc().indptr) == 0).sum()),
        user_documents=documents,
        train_seconds=round(seconds, 4),
        engine=engine,
        fields=vectors.field_names,
    )
    log.info(
        "content: %s words × %s dimensions (fields: %s), %s of %s jobs embedded (%s cold) in "
        "%.1f s",
        f"{info.words:,}",
        info.dimensions,
        ", ".join(info.fields) or "none",
        f"{info.jobs_embedded:,}",
        f"{len(jobs):,}",
        f"{info.cold_jobs:,}",
        seconds,
    )
    return vectors, info


def _rank_ahead(trained: TrainedModel, k: int, max_cells: int) -> None:
    """Rank each user's best jobs (redirected excluded) and each job's similar jobs once, for
    each of the two whose rows × jobs scores stay within ``max_cells``."""
    started = time.perf_counter()
    n_users, n_jobs = trained.interactions.shape
    if n_users * n_jobs <= max_cells:
        trained.user_top = rank_all(
            lambda rows: trained.user_scores(rows, "redirected"), (n_users, n_jobs), k
        )
    else:
        log.info("%s users × %s jobs: users' lists are ranked per request", n_users, n_jobs)
    if n_jobs * n_jobs <= max_cells:
        trained.similar_top = rank_all(trained.similar_scores, (n_jobs, n_jobs), k)
    else:
        log.info("%s jobs: similar jobs are ranked per request", n_jobs)
    log.info("ranked ahead in %.1f s", time.perf_counter() - started)


def _funnel(
    rows: np.ndarray[Any, Any], cols: np.ndarray[Any, Any], pairs: PairScores, clip: int
) -> Funnel:
    """The pairs' clipped counts in the matrix's order (pairs are unique: CSR sorts by row, col)."""
    order = np.lexsort((cols, rows))
    return Funnel(
        impressions=np.minimum(pairs.impressions[order], clip).astype(np.float32),
        redirects=np.minimum(pairs.redirects[order], clip).astype(np.float32),
    )


def _redirected(
    rows: np.ndarray[Any, Any],
    cols: np.ndarray[Any, Any],
    pairs: PairScores,
    shape: tuple[int, int],
) -> sp.csr_matrix:
    hit = pairs.redirects > 0
    return build_matrix(rows[hit], cols[hit], np.ones(int(hit.sum()), dtype=np.float32), shape)


def fingerprint_files(paths: Iterable[Path]) -> str:
    """A blake2b digest over the names and bytes of the given files, streamed in blocks."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(Path(p) for p in paths):
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
