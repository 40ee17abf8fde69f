"""Trained content vectors: words, their weights, and every job column's vector (numpy only).

A text's vector is the SIF-weighted mean of its known words' vectors (Arora et al. 2017: a word
of probability ``p`` weighs ``a / (a + p)``, so boilerplate that every job repeats counts for
little), scaled to unit length; a text with no known word is the zero vector, whose cosine with
anything is 0. Jobs are embedded once at training; a profile at request time, in microseconds.

A job's metadata (its ``city``, ``sector``: short string fields that many jobs share) joins its
vector as exact values, not words: one dimension per ``field=value`` token after the text's, the
job vector being ``√(1 − w)·text ⊕ √w·fields`` (each part of unit length, ``w`` the
``field_weight``), so the cosine of two jobs is ``(1 − w)`` times their texts' plus ``w`` times
the share of the values they have in common. Word vectors learn what a sector's words mean; they
cannot learn that two jobs are in the same city, which the words of a description barely say.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

SIF_A = 1e-3
"""SIF's smoothing constant ``a``."""
ARRAY_NAMES = ("words", "word_vectors", "word_weights", "job_vectors")
PROFILE_ARRAYS = ("profile_words", "profile_vectors")
FIELD_ARRAYS = ("field_words", "field_weight")
FIELD_SEPARATOR = "="
"""Field tokens are ``field=value``; words never hold it."""


def sif_weights(counts: NDArray[np.int64], a: float = SIF_A) -> NDArray[np.float32]:
    """Each word's SIF weight ``a / (a + p(w))`` from its corpus count."""
    p = counts / max(int(counts.sum()), 1)
    weights: NDArray[np.float32] = (a / (a + p)).astype(np.float32)
    return weights


def _rows_in(vocabulary: NDArray[np.str_], tokens: Sequence[str]) -> NDArray[np.int64]:
    """The rows of the ``tokens`` found in the sorted ``vocabulary``, in order."""
    if not tokens or vocabulary.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    wanted = np.asarray(tokens, dtype=str)  # never cut to the vocabulary's width
    pos = np.minimum(np.searchsorted(vocabulary, wanted), vocabulary.shape[0] - 1)
    found: NDArray[np.int64] = pos[vocabulary[pos] == wanted].astype(np.int64)
    return found


def _unit_rows(matrix: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: NDArray[np.float32] = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return unit


@dataclass(frozen=True)
class ContentVectors:
    """Word vectors and the job vectors built from them.

    Attributes
    ----------
    words:
        The vocabulary, sorted (a numpy str array: searched with ``searchsorted``).
    word_vectors:
        ``V × d`` float32, row ``k`` the vector of ``words[k]``.
    word_weights:
        ``V`` float32 SIF weights.
    job_vectors:
        ``n_jobs × d`` float32 unit rows aligned with the model's job columns; a job with no
        known word (or not listed) has a zero row.
    profile_words, profile_vectors:
        Profile tokens (sorted) and their places in the job vectors' space
        (:mod:`recommender.content.profiles`); None when no user had a profile and a history
        (a profile is then embedded from its words, as a text).
    field_words:
        The jobs' field tokens (``city=london``, sorted): dimensions ``d_text`` onwards of a
        job vector, one each; empty when no field is embedded.
    field_weight:
        The share ``w`` of a job vector's squared length given to its field values.
    """

    words: NDArray[np.str_]
    word_vectors: NDArray[np.float32]
    word_weights: NDArray[np.float32]
    job_vectors: NDArray[np.float32]
    profile_words: NDArray[np.str_] | None = None
    profile_vectors: NDArray[np.float32] | None = None
    field_words: NDArray[np.str_] = dataclasses.field(
        default_factory=lambda: np.zeros(0, dtype=str)
    )
    field_weight: float = 0.0

    def __post_init__(self) -> None:
        v = self.words.shape[0]
        for name in ("words", "field_words"):
            got = getattr(self, name)
            if got.ndim != 1 or (got.shape[0] > 1 and not (got[1:] > got[:-1]).all()):
                raise ValueError(f"content {name} must be a sorted vector of distinct tokens")
        if not 0.0 <= self.field_weight < 1.0:
            raise ValueError(f"content field_weight {self.field_weight} is not in [0, 1)")
        if self.word_vectors.ndim != 2 or self.word_vectors.shape[0] != v:
            raise ValueError(
                f"content word_vectors has shape {self.word_vectors.shape}, expected ({v}, d)"
            )
        if self.word_weights.shape != (v,):
            raise ValueError(
                f"content word_weights has shape {self.word_weights.shape}, expected ({v},)"
            )
        if self.job_vectors.ndim != 2 or self.job_vectors.shape[1] != self.dimensions:
            raise ValueError(
                f"content job_vectors has shape {self.job_vectors.shape}, "
                f"expected (jobs, {self.dimensions})"
            )

        if (self.profile_words is None) != (self.profile_vectors is None) or (
            self.profile_words is not None
            and self.profile_vectors is not None
            and self.profile_vectors.shape != (self.profile_words.shape[0], self.dimensions)
        ):
            raise ValueError("content profile_words and profile_vectors do not match")

    @property
    def text_dimensions(self) -> int:
        """The word vectors' length ``d_text``."""
        return int(self.word_vectors.shape[1])

    @property
    def dimensions(self) -> int:
        """The job vectors' length ``d``: the text's and one per field token."""
        return self.text_dimensions + int(self.field_words.shape[0])

    @property
    def field_names(self) -> list[str]:
        """The job fields embedded (``city``, ``sector``), sorted."""
        return sorted({str(t).split(FIELD_SEPARATOR, 1)[0] for t in self.field_words.tolist()})

    @property
    def nbytes(self) -> int:
        """Bytes the arrays take."""
        return sum(int(a.nbytes) for a in self.arrays().values())

    def word_ids(self, tokens: Sequence[str]) -> NDArray[np.int64]:
        """The vocabulary rows of the known ``tokens`` (unknown ones dropped), in order."""
        return _rows_in(self.words, tokens)

    def embed(self, tokens: Sequence[str]) -> NDArray[np.float32]:
        """The unit SIF-weighted mean vector of ``tokens`` (zeros if none is known)."""
        vector: NDArray[np.float32] = self.embed_many([tokens])[0]
        return vector

    def embed_many(self, documents: Iterable[Sequence[str]]) -> NDArray[np.float32]:
        """One unit vector per token list, as :meth:`embed`: the text's words in one sparse
        product, then its field tokens (module docstring)."""
        listed = [list(doc) for doc in documents]
        counts = self.counts(listed)
        text = _unit_rows(np.asarray(counts @ self.word_vectors, dtype=np.float32))
        if self.field_words.shape[0] == 0:
            return text
        values = np.zeros((len(listed), self.field_words.shape[0]), dtype=np.float32)
        for i, doc in enumerate(listed):
            values[i, _rows_in(self.field_words, [t for t in doc if FIELD_SEPARATOR in t])] = 1.0
        w = np.float32(self.field_weight)
        both = np.hstack([np.sqrt(1 - w) * text, np.sqrt(w) * _unit_rows(values)])
        return _unit_rows(both.astype(np.float32))

    def embed_profiles(self, documents: Sequence[Sequence[str]]) -> NDArray[np.float32]:
        """One unit vector per profile's tokens: the sum of its known profile tokens' vectors
        (each token once), or, without profile vectors, :meth:`embed_many`; zeros when none is
        known."""
        if self.profile_words is None or self.profile_vectors is None:
            return self.embed_many(documents)
        out = np.zeros((len(documents), self.dimensions), dtype=np.float32)
        for i, tokens in enumerate(documents):
            rows = np.unique(_rows_in(self.profile_words, tokens))
            out[i] = self.profile_vectors[rows].sum(axis=0)
        return _unit_rows(out)

    def counts(self, documents: Iterable[Sequence[str]]) -> sp.csr_matrix:
        """documents × vocabulary CSR of SIF-weighted word counts."""
        ids = [self.word_ids(doc) for doc in documents]
        lengths = np.array([i.shape[0] for i in ids], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        cols = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        matrix = sp.csr_matrix(
            (self.word_weights[cols], cols, indptr), shape=(len(ids), self.words.shape[0])
        )
        matrix.sum_duplicates()
        return matrix

    def scores(self, vector: NDArray[np.float32]) -> NDArray[np.float32]:
        """Every job column's cosine with the unit ``vector``."""
        return np.asarray(self.job_vectors @ vector, dtype=np.float32)

    def arrays(self) -> dict[str, NDArray[Any]]:
        """The arrays a bundle stores (as ``content.<name>.npy``)."""
        names = ARRAY_NAMES + (PROFILE_ARRAYS if self.profile_words is not None else ())
        arrays = {name: getattr(self, name) for name in names}
        if self.field_words.shape[0]:
            arrays["field_words"] = self.field_words
            arrays["field_weight"] = np.asarray([self.field_weight], dtype=np.float64)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[Any]]) -> ContentVectors:
        """Rebuilt from :meth:`arrays`."""
        return cls(
            words=np.asarray(arrays["words"]),
            word_vectors=np.asarray(arrays["word_vectors"], dtype=np.float32),
            word_weights=np.asarray(arrays["word_weights"], dtype=np.float32),
            job_vectors=np.asarray(arrays["job_vectors"], dtype=np.float32),
            profile_words=np.asarray(arrays["profile_words"])
            if "profile_words" in arrays
            else None,
            profile_vectors=(
                np.asarray(arrays["profile_vectors"], dtype=np.float32)
                if "profile_vectors" in arrays
                else None
            ),
            field_words=np.asarray(arrays.get("field_words", np.zeros(0, dtype=str))),
            field_weight=float(np.asarray(arrays.get("field_weight", [0.0])).reshape(-1)[0]),
        )
