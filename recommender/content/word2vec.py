"""Train the content vectors: gensim Word2Vec on job text and on users' documents.

The sentences are every listed job's tokens (:func:`~recommender.content.text.job_tokens`) and,
for a seeded sample of the users with both a profile and a history, one document each: their
profile tokens with the title words of the jobs they engaged with most, shuffled together, so
that a profile value (``degree_subject=accounting_and_finance``) and the words of the jobs such
users choose share contexts, and so a profile embeds in the jobs' space. One worker and the seed
make a run reproducible (gensim's threads race otherwise). gensim is imported here only, inside
:func:`train_content`: a service loading a bundle never imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.content.params import NOT_JOB_FIELDS, ContentParams
from recommender.content.profiles import profile_map
from recommender.content.text import field_token, job_tokens, profile_tokens, words
from recommender.content.vectors import ContentVectors, sif_weights
from recommender.matrix import IdIndex

if TYPE_CHECKING:
    from recommender.data.catalogue import Catalogue

log = logging.getLogger(__name__)


def has_text(catalogue: Catalogue | None) -> bool:
    """Whether ``catalogue`` lists jobs with text to train content on."""
    return (
        catalogue is not None
        and catalogue.has_jobs()
        and "description" in catalogue.jobs.columns
        and catalogue.jobs.height > 0
    )


def _column(frame: Any, name: str) -> list[str | None]:
    return frame[name].to_list() if name in frame.columns else [None] * frame.height


WordVectors = tuple[NDArray[np.str_], NDArray[np.float32], NDArray[np.int64]]
"""A fitted vocabulary: its words, their vectors (one row each) and their corpus counts."""
WordVectorFitter = Callable[[list[list[str]], ContentParams, int], WordVectors]
"""Fits word vectors on sentences with the content settings and a seed: gensim's Word2Vec here
(:func:`gensim_word_vectors`), Spark MLlib's under ``train --engine spark``."""


def gensim_word_vectors(
    sentences: list[list[str]], params: ContentParams, seed: int
) -> WordVectors:
    """gensim's Word2Vec, one worker and ``seed`` (so that a run is reproducible)."""
    from gensim.models import Word2Vec  # noqa: PLC0415 - training only, never serving

    model = Word2Vec(
        vector_size=params.dimensions,
        window=params.window,
        min_count=params.min_count,
        sg=int(params.skip_gram),
        epochs=params.epochs,
        workers=1,
        seed=seed,
    )
    model.build_vocab(sentences)
    keys = np.asarray(model.wv.index_to_key, dtype=str)
    if keys.shape[0] == 0:
        return keys, np.zeros((0, params.dimensions), dtype=np.float32), np.zeros(0, np.int64)
    model.train(sentences, total_examples=model.corpus_count, epochs=model.epochs)
    counts = np.array([model.wv.get_vecattr(k, "count") for k in keys.tolist()], dtype=np.int64)
    return keys, np.asarray(model.wv.vectors, dtype=np.float32), counts


def train_content(
    catalogue: Catalogue,
    job_ids: NDArray[np.int64],
    interactions: sp.csr_matrix,
    users: IdIndex,
    *,
    params: ContentParams,
    seed: int,
    fit_words: WordVectorFitter | None = None,
    known_until: datetime | None = None,
) -> tuple[ContentVectors, int]:
    """Word2Vec on ``catalogue``'s jobs and users' documents: the vectors of ``job_ids`` (the
    model's columns, whose rows of ``interactions`` are ``users`` rows), and how many user
    documents were trained on. ``fit_words`` fits the word vectors (gensim's Word2Vec when
    None); everything else (the sentences, the SIF weights, the job and profile vectors) is the
    same whatever fits them. With ``known_until``, jobs posted after it are embedded but not
    trained on (their words are not yet known then). Text with no word seen ``min_count`` times
    gives no vocabulary
    and zero job vectors (logged): a cold job is then answered by the model, a profile user by
    the popular list.
    """
    jobs = catalogue.jobs
    titles = _column(jobs, "title")
    listed = [job_tokens(t, d) for t, d in zip(titles, _column(jobs, "description"), strict=True)]
    field_tokens = listed_field_tokens(catalogue, params)
    rows, known = catalogue.job_index.lookup(job_ids)
    title_words = [words(titles[r]) if k else [] for r, k in zip(rows, known, strict=True)]
    sample = _sample_profiles(catalogue, interactions, users, params, seed)
    documents = _user_documents(sample, interactions, title_words, params, seed)
    taught = _known_rows(catalogue, known_until)
    if params.phrases:
        from gensim.models.phrases import Phrases  # noqa: PLC0415 - training only

        phrases = Phrases(
            [listed[r] for r in taught], min_count=max(params.min_count, 5), threshold=10.0
        ).freeze()
        listed = [phrases[s] for s in listed]
    sentences = [listed[r] for r in taught] + documents
    keys, found, counts = (fit_words or gensim_word_vectors)(sentences, params, seed)
    if keys.shape[0] == 0:
        log.warning("content: no word of the jobs' text occurs %s times", params.min_count)
        empty = ContentVectors(
            words=keys,
            word_vectors=np.zeros((0, params.dimensions), dtype=np.float32),
            word_weights=np.zeros(0, dtype=np.float32),
            job_vectors=np.zeros((len(job_ids), params.dimensions), dtype=np.float32),
        )
        return empty, len(documents)
    order = np.argsort(keys, kind="stable")
    field_words = np.unique(np.asarray([t for r in taught for t in field_tokens[r]], dtype=str))
    vectors = ContentVectors(
        words=keys[order],
        word_vectors=np.ascontiguousarray(found[order], dtype=np.float32),
        word_weights=sif_weights(counts[order]),
        job_vectors=np.zeros((0, params.dimensions + field_words.shape[0]), dtype=np.float32),
        field_words=field_words,
        field_weight=params.field_weight if field_words.shape[0] else 0.0,
    )
    column_tokens = [
        listed[r] + field_tokens[r] if k else [] for r, k in zip(rows, known, strict=True)
    ]
    log.info(
        "content: %s words from %s job texts and %s user documents; %s field values (%s)",
        f"{keys.shape[0]:,}",
        f"{len(listed):,}",
        f"{len(documents):,}",
        f"{field_words.shape[0]:,}",
        ", ".join(vectors.field_names) or "no field",
    )
    job_vectors = vectors.embed_many(column_tokens)
    trained = replace(vectors, job_vectors=job_vectors)
    if sample.tokens:
        profile_words, profile_vectors = profile_map(
            sample.tokens, interactions[sample.rows], job_vectors, params.min_profile_users
        )
        trained = replace(trained, profile_words=profile_words, profile_vectors=profile_vectors)
    return trained, len(documents)


def _known_rows(catalogue: Catalogue, known_until: datetime | None) -> list[int]:
    """The catalogue rows of the jobs posted by ``known_until`` (all of them when it is None,
    and the jobs with no ``posted_at``)."""
    jobs = catalogue.jobs
    if known_until is None or "posted_at" not in jobs.columns:
        return list(range(jobs.height))
    import polars as pl  # noqa: PLC0415 - as the catalogue does

    posted = jobs["posted_at"]
    cutoff = pl.lit(known_until).cast(posted.dtype)
    later = jobs.select((pl.col("posted_at") > cutoff).fill_null(False)).to_series()
    return np.flatnonzero(~later.to_numpy()).tolist()


def embedded_fields(catalogue: Catalogue, params: ContentParams) -> list[str]:
    """The job fields whose values join the job vectors: ``params.job_fields`` where the jobs
    have them, or else every string field of the jobs' other fields (not :data:`NOT_JOB_FIELDS`)
    with at most ``max_field_values`` values, two jobs a value or more on average (a reference
    number, unique to a job, says nothing of its likeness to others). None when
    ``field_weight`` is 0."""
    return [field for field, _, _ in _field_values(catalogue, params)]


def listed_field_tokens(catalogue: Catalogue, params: ContentParams) -> list[list[str]]:
    """Each listed job's field tokens (``city=london``), in the catalogue's row order."""
    tokens: list[list[str]] = [[] for _ in range(catalogue.jobs.height)]
    for field, codes, values in _field_values(catalogue, params):
        names = [field_token(field, v) for v in values]
        for row in np.flatnonzero(codes >= 0).tolist():
            tokens[row].append(names[codes[row]])
    return tokens


def _field_values(
    catalogue: Catalogue, params: ContentParams
) -> list[tuple[str, NDArray[np.int32], list[str]]]:
    """The embedded fields (see :func:`embedded_fields`), each with every listed job's value
    code and the values, read once."""
    if params.field_weight <= 0 or not catalogue.has_jobs():
        return []
    ids = catalogue.jobs["job_id"].to_numpy()
    if params.job_fields is not None:
        named = [f for f in params.job_fields if f in catalogue.job_fields]
        return [(f, *catalogue.job_values(f, ids)) for f in named]
    chosen = []
    for field in catalogue.job_fields:
        if field in NOT_JOB_FIELDS or field in catalogue.jobs.columns:
            continue
        codes, values = catalogue.job_values(field, ids)
        if len(values) <= min(params.max_field_values, int((codes >= 0).sum()) // 2):
            chosen.append((field, codes, values))
    return chosen


@dataclass(frozen=True)
class _Sample:
    """The users sampled for profile training: their rows and profile tokens."""

    rows: NDArray[np.int64]
    tokens: list[list[str]]


def _sample_profiles(
    catalogue: Catalogue,
    interactions: sp.csr_matrix,
    users: IdIndex,
    params: ContentParams,
    seed: int,
) -> _Sample:
    """A seeded sample of at most ``user_documents`` users with a profile and a history."""
    none = _Sample(np.zeros(0, dtype=np.int64), [])
    if params.user_documents == 0 or not catalogue.has_users() or len(users) == 0:
        return none
    profile_rows, has_profile = catalogue.user_index.lookup(users.ids)
    active = np.diff(interactions.indptr) > 0
    candidates = np.flatnonzero(has_profile & active)
    if candidates.shape[0] > params.user_documents:
        rng = np.random.default_rng(seed)
        candidates = np.sort(rng.choice(candidates, params.user_documents, replace=False))
    if candidates.shape[0] == 0:
        return none
    fields = [
        c
        for c in catalogue.users.columns
        if c != "user_id" and (params.profile_fields is None or c in params.profile_fields)
    ]
    profiles = catalogue.users.select(fields)[profile_rows[candidates].tolist()].to_dicts()
    return _Sample(candidates.astype(np.int64), [profile_tokens(p) for p in profiles])


def _user_documents(
    sample: _Sample,
    interactions: sp.csr_matrix,
    title_words: list[list[str]],
    params: ContentParams,
    seed: int,
) -> list[list[str]]:
    """Each sampled user's profile tokens with the title words of their best-scored jobs,
    shuffled."""
    rng = np.random.default_rng(seed + 1)
    documents: list[list[str]] = []
    for user_row, tokens in zip(sample.rows.tolist(), sample.tokens, strict=True):
        start, end = interactions.indptr[user_row], interactions.indptr[user_row + 1]
        cols, scores = interactions.indices[start:end], interactions.data[start:end]
        best = cols[np.argsort(-scores, kind="stable")[: params.titles_per_user]]
        document = tokens + [w for col in best.tolist() for w in title_words[col]]
        rng.shuffle(document)
        documents.append(document)
    return documents
