"""Profile values placed among the jobs by what the users who hold them engaged with.

A profile token (``degree_subject=nursing``, ``nursing``) gets the mean history vector of the
training users whose profile holds it, centred on all those users' mean: a value that says
something about the jobs people choose (a degree subject) points toward those jobs, one that says
little (a common language, most universities) sits near zero and barely moves a profile. A
history vector is the mean of the user's job vectors weighted by their implicit scores, so the
tokens live in the job vectors' space and a profile's cosine with a job means what a job's does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray


def profile_map(
    tokens: Sequence[Sequence[str]],
    histories: sp.csr_matrix,
    job_vectors: NDArray[np.float32],
    min_users: int,
) -> tuple[NDArray[np.str_], NDArray[np.float32]]:
    """The tokens held by at least ``min_users`` users (sorted) and their vectors.

    ``tokens[i]`` is user ``i``'s profile tokens and row ``i`` of ``histories`` their implicit
    scores over the job columns of ``job_vectors``.
    """
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for user, held in enumerate(tokens):
        for token in set(held):
            rows.append(vocabulary.setdefault(token, len(vocabulary)))
            cols.append(user)
    d = job_vectors.shape[1]
    if not vocabulary:
        return np.zeros(0, dtype=str), np.zeros((0, d), dtype=np.float32)
    holders = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(len(vocabulary), len(tokens))
    )
    totals = np.asarray(histories.sum(axis=1), dtype=np.float64).ravel()
    weights = sp.diags(np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0))
    user_vectors = np.asarray((weights @ histories) @ job_vectors, dtype=np.float64)
    counts = np.asarray(holders.sum(axis=1)).ravel()
    means = np.asarray(holders @ user_vectors) / np.maximum(counts, 1)[:, None]
    vectors = (means - user_vectors.mean(axis=0)).astype(np.float32)
    words = np.asarray(list(vocabulary), dtype=str)
    keep = np.flatnonzero(counts >= min_users)
    order = keep[np.argsort(words[keep], kind="stable")]
    return words[order], vectors[order]
