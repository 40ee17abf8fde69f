"""What the two towers read, as numpy arrays built from the training period only.

Every input is a function of the fit's matrix, its :class:`~recommender.models.base.FitContext`
and the catalogue: the jobs' content vectors (trained on the jobs listed by the end of the
training period), their employers, the users' profile values (a vocabulary of the values held
by enough training users), each history's weights, and the popularity that corrects the sampled
softmax (the training matrix's). Nothing here imports torch: serving embeds a new user's
history and profile with the same functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.content.text import profile_tokens
from recommender.models.base import FloatArray

if TYPE_CHECKING:
    from recommender.data.catalogue import Catalogue
    from recommender.models.base import FitContext


@dataclass(frozen=True)
class TowerInputs:
    """The towers' inputs over the fit's rows and columns.

    ``content`` is the jobs' content vectors (``n_items × m``, ``m`` may be 0); ``employers``
    each job's employer code (``n_employers`` for none); ``warm`` whether a job has training
    activity (only those learn an id); ``profiles`` the users × profile-values matrix (rows
    scaled to sum 1) over ``profile_words``.
    """

    content: NDArray[np.float32]
    employers: NDArray[np.int64]
    n_employers: int
    warm: NDArray[np.bool_]
    profiles: sp.csr_matrix
    profile_words: NDArray[np.str_]


def history_weights(history: sp.csr_matrix) -> sp.csr_matrix:
    """A history's pooling weights: ``log(1 + confidence)`` of each stored pair, rows scaled to
    sum 1 (an empty row stays empty), so a user is the weighted mean of their jobs."""
    weights = sp.csr_matrix(history, dtype=np.float32, copy=True)
    weights.data = np.log1p(np.maximum(weights.data, 0.0)).astype(np.float32)
    totals = np.asarray(weights.sum(axis=1, dtype=np.float64)).ravel()
    scale = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
    weights.data *= np.repeat(scale, np.diff(weights.indptr)).astype(np.float32)
    return weights


def profile_matrix(tokens: Sequence[Sequence[str]], words: NDArray[np.str_]) -> sp.csr_matrix:
    """Users × ``words`` (sorted): each user's known tokens, each row summing to 1."""
    rows: list[int] = []
    cols: list[int] = []
    for row, held in enumerate(tokens):
        if not held or words.shape[0] == 0:
            continue
        wanted = np.unique(np.asarray(held, dtype=str))
        pos = np.minimum(np.searchsorted(words, wanted), words.shape[0] - 1)
        found = np.unique(pos[words[pos] == wanted])
        rows.extend([row] * found.shape[0])
        cols.extend(found.tolist())
    matrix = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)),
        shape=(len(tokens), words.shape[0]),
    )
    counts = np.diff(matrix.indptr)
    matrix.data /= np.repeat(np.maximum(counts, 1), counts).astype(np.float32)
    return matrix


def tower_inputs(
    matrix: sp.csr_matrix,
    context: FitContext | None,
    catalogue: Catalogue | None,
    min_profile_users: int,
) -> TowerInputs:
    """The towers' inputs for a fit on ``matrix`` (users × jobs confidences)."""
    n_users, n_items = matrix.shape
    warm = np.diff(sp.csc_matrix(matrix).indptr) > 0
    content = np.zeros((n_items, 0), dtype=np.float32)
    if context is not None and context.content is not None:
        content = np.ascontiguousarray(context.content.job_vectors, dtype=np.float32)
    employers = np.full(n_items, 0, dtype=np.int64)
    n_employers = 0
    tokens: list[list[str]] = [[] for _ in range(n_users)]
    if context is not None and catalogue is not None:
        _, codes = catalogue.job_rules(context.job_ids)
        n_employers = int(codes.max()) + 1 if codes.shape[0] and codes.max() >= 0 else 0
        employers = np.where(codes >= 0, codes, n_employers).astype(np.int64)
        tokens = user_profile_tokens(catalogue, context.user_ids)
    words = profile_vocabulary(tokens, min_profile_users)
    return TowerInputs(
        content=content,
        employers=employers,
        n_employers=n_employers,
        warm=warm,
        profiles=profile_matrix(tokens, words),
        profile_words=words,
    )


def user_profile_tokens(catalogue: Catalogue, user_ids: NDArray[np.int64]) -> list[list[str]]:
    """Each user's profile tokens (none for a user without a listed profile)."""
    tokens: list[list[str]] = [[] for _ in range(user_ids.shape[0])]
    if not catalogue.has_users():
        return tokens
    rows, known = catalogue.user_index.lookup(user_ids)
    listed = np.flatnonzero(known)
    if listed.shape[0] == 0:
        return tokens
    profiles: list[dict[str, Any]] = catalogue.users[rows[listed].tolist()].to_dicts()
    for position, profile in zip(listed.tolist(), profiles, strict=True):
        tokens[position] = profile_tokens(profile)
    return tokens


def profile_vocabulary(tokens: Sequence[Sequence[str]], min_users: int) -> NDArray[np.str_]:
    """The profile tokens held by at least ``min_users`` users, sorted."""
    counts: dict[str, int] = {}
    for held in tokens:
        for token in set(held):
            counts[token] = counts.get(token, 0) + 1
    kept = sorted(token for token, count in counts.items() if count >= min_users)
    return np.asarray(kept, dtype=str)


def validation_split(
    matrix: sp.csr_matrix, share: float, seed: int
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The matrix without a seeded ``share`` of the pairs of users with 3 or more, and those
    held-out pairs (at least one pair stays with each user)."""
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    counts = np.diff(matrix.indptr)
    if share <= 0:
        return matrix, sp.csr_matrix(matrix.shape, dtype=np.float32)
    rng = np.random.default_rng([seed, 1])
    draw = rng.random(matrix.nnz) < share
    owner = np.repeat(np.arange(matrix.shape[0]), counts)
    draw &= counts[owner] >= 3
    first = matrix.indptr[:-1][counts > 0]
    draw[first] = False  # every user keeps a pair to be known by
    coo = matrix.tocoo()
    keep = ~draw
    train = sp.csr_matrix(
        (coo.data[keep], (coo.row[keep], coo.col[keep])), shape=matrix.shape, dtype=np.float32
    )
    held = sp.csr_matrix(
        (coo.data[draw], (coo.row[draw], coo.col[draw])), shape=matrix.shape, dtype=np.float32
    )
    return train, held


def user_tower(
    pooled: NDArray[Any], profiles: NDArray[Any], weights: Mapping[str, NDArray[Any]]
) -> FloatArray:
    """``pooled + relu([pooled, profiles] W1 + b1) W2 + b2``: the user tower's layer, in
    float32 numpy (what training's torch layer computes)."""
    pooled = np.asarray(pooled, dtype=np.float32)
    joined = np.concatenate([pooled, np.asarray(profiles, dtype=np.float32)], axis=1)
    hidden = np.maximum(joined @ weights["user_w1"] + weights["user_b1"], 0.0)
    users: FloatArray = (pooled + hidden @ weights["user_w2"] + weights["user_b2"]).astype(
        np.float32, copy=False
    )
    return users


def words_to_codes(words: NDArray[np.str_]) -> NDArray[np.uint32]:
    """Words as a (words × longest) array of their characters' code points (0-padded): plain
    numbers, as a bundle's arrays are."""
    width = max([1, *(len(w) for w in words.tolist())])
    fixed = np.ascontiguousarray(np.asarray(words, dtype=f"<U{width}"))
    return fixed.view(np.uint32).reshape(fixed.shape[0], width)


def codes_to_words(codes: NDArray[Any]) -> NDArray[np.str_]:
    """The words :func:`words_to_codes` encoded."""
    codes = np.ascontiguousarray(codes, dtype=np.uint32)
    if codes.shape[0] == 0:
        return np.zeros(0, dtype=str)
    return codes.view(f"<U{codes.shape[1]}").ravel()
