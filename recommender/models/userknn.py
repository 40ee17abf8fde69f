"""User-user collaborative filtering: find similar users, recommend what they liked."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from recommender.models.base import (
    FloatArray,
    Model,
    Progress,
    normalize_sparse_rows,
    params_of,
    sparse_arrays,
    sparse_from_arrays,
    take_rows,
)

if TYPE_CHECKING:
    from recommender.data.catalogue import Catalogue

SIMILARITY_BUDGET = 1 << 22
"""Query users are scored in batches of at most about this many user-user similarities."""


class UserKNNParams(BaseModel):
    """Hyper-parameters of user-user collaborative filtering: how many similar users to ask."""

    model_config = ConfigDict(frozen=True)

    neighbours: int = Field(default=50, ge=1, le=10_000)


class UserKNNModel(Model):
    """Scores a job by how much a user's most similar other users liked it.

    For a query user with history ``q`` (a row of the matrix given to :meth:`user_scores`), the
    similarity to each stored user ``v`` is the cosine of ``q`` and ``v``'s row of the fitted
    matrix. The user's own stored row is left out, the ``neighbours`` most similar remaining users
    are kept, and ``score(job) = Σ similarity(v) · value(v, job)`` over them. Everything runs on
    sparse matrices per batch of users; the model is the fitted users × jobs matrix itself
    (stored as ``user_items.data/.indices/.indptr/.shape``). Fitting is deterministic.

    A user unseen at fit time has no stored row, but can be scored from a matrix holding their
    history: the similarity only needs their row of ``user_items``.

    Parameters
    ----------
    params:
        How many neighbours to sum over.
    """

    kind: ClassVar[str] = "userknn"
    scores_histories = True

    def __init__(self, params: UserKNNParams | None = None) -> None:
        self.knn_params = params or UserKNNParams()
        self.user_items: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self._users_normed_t: sp.csr_matrix | None = None
        self._items_normed: tuple[sp.csr_matrix, sp.csr_matrix] | None = None
        self._users_per_item: NDArray[np.int64] | None = None
        self._all_neighbours: tuple[sp.csr_matrix, sp.csr_matrix] | None = None

    def fit(
        self,
        user_items: sp.csr_matrix,
        *,
        catalogue: Catalogue | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Keep a float32 copy of the matrix (one step: ``progress`` is called once)."""
        del catalogue  # a collaborative model learns from the matrix alone
        matrix = sp.csr_matrix(user_items, dtype=np.float32, copy=True)
        matrix.sum_duplicates()
        matrix.sort_indices()
        self._adopt(matrix)
        if progress is not None:
            progress(1, None)

    def _adopt(self, matrix: sp.csr_matrix) -> None:
        self.user_items = matrix
        self._users_normed_t = None
        self._items_normed = None
        self._users_per_item = None
        self._all_neighbours = None

    @property
    def n_users(self) -> int:
        return int(self.user_items.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.user_items.shape[1])

    def user_scores(self, user_rows: NDArray[np.int64], user_items: sp.csr_matrix) -> FloatArray:
        """Scores from each user's ``neighbours`` most similar other users, in batches of users."""
        return self._scores(take_rows(user_items, user_rows), user_rows)

    def history_scores(self, history: sp.csr_matrix, own_rows: NDArray[np.int64]) -> FloatArray:
        """Neighbours of the new histories; a known user is never their own (old) neighbour."""
        return self._scores(history, own_rows)

    def _scores(self, history: sp.csr_matrix, own_rows: NDArray[np.int64]) -> FloatArray:
        scores = np.zeros((history.shape[0], self.n_items), dtype=np.float32)
        for start, stop, weights in self._neighbours(history, own_rows):
            scores[start:stop] = (weights @ self.user_items).toarray()
        return scores

    def _neighbours(
        self, history: sp.csr_matrix, own_rows: NDArray[np.int64]
    ) -> Iterator[tuple[int, int, sp.csr_matrix]]:
        """Each batch of history rows with its users' neighbour weights (rows × stored users)."""
        if self._users_normed_t is None:
            self._users_normed_t = normalize_sparse_rows(self.user_items).T.tocsr()
        history = normalize_sparse_rows(history)
        for start, stop in self._batches(history):
            sims = history[start:stop] @ self._users_normed_t
            yield start, stop, _nearest(sims, own_rows[start:stop], self.knn_params.neighbours)

    def column_scores(self, cols: NDArray[np.int64], user_items: sp.csr_matrix) -> FloatArray:
        """Every user's neighbour weights times the columns of the fitted matrix; the weights
        (``neighbours`` per user) are found once per ``user_items`` and kept."""
        cached = self._all_neighbours
        if cached is None or cached[0] is not user_items:
            rows = np.arange(self.n_users, dtype=np.int64)
            parts = [w for _, _, w in self._neighbours(take_rows(user_items, rows), rows)]
            weights = sp.vstack(parts, format="csr") if parts else sp.csr_matrix((0, 0))
            cached = self._all_neighbours = (user_items, weights)
        columns = self.user_items[:, cols]
        scores: FloatArray = np.asarray((cached[1] @ columns).toarray(), dtype=np.float32)
        return scores

    def _batches(self, history: sp.csr_matrix) -> list[tuple[int, int]]:
        """Consecutive row ranges of ``history`` with about :data:`SIMILARITY_BUDGET` similarities.

        A query user can only be similar to the users of its jobs: their count bounds its row.
        """
        if self._users_per_item is None:
            self._users_per_item = np.bincount(self.user_items.indices, minlength=self.n_items)
        n_rows = history.shape[0]
        row_of = np.repeat(np.arange(n_rows), np.diff(history.indptr))
        bound = np.bincount(row_of, weights=self._users_per_item[history.indices], minlength=n_rows)
        window = (np.cumsum(np.minimum(bound, self.n_users)) - 1) // SIMILARITY_BUDGET
        edges = [0, *(np.flatnonzero(np.diff(window)) + 1).tolist(), n_rows]
        return [(a, b) for a, b in itertools.pairwise(edges) if b > a]

    def similar_scores(self, item_rows: NDArray[np.int64]) -> FloatArray:
        """Cosine similarity of the jobs' columns of the fitted matrix."""
        if self._items_normed is None:
            items = normalize_sparse_rows(self.user_items.T.tocsr())
            self._items_normed = (items, items.T.tocsr())
        items, items_t = self._items_normed
        sims: FloatArray = (take_rows(items, item_rows) @ items_t).toarray()
        return sims

    def params(self) -> dict[str, Any]:
        return self.knn_params.model_dump()

    def arrays(self) -> dict[str, NDArray[Any]]:
        return sparse_arrays("user_items", self.user_items)

    @classmethod
    def from_arrays(
        cls, params: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]
    ) -> UserKNNModel:
        model = cls(params_of(UserKNNParams, params))
        model._adopt(sparse_from_arrays("user_items", arrays))
        return model


def _nearest(sims: sp.csr_matrix, own: NDArray[np.int64], k: int) -> sp.csr_matrix:
    """Each row's ``k`` largest positive similarities, leaving out column ``own[row]`` (oneself).

    Ties go to the lower user row, so the result is deterministic.
    """
    sims.sort_indices()
    n_rows = sims.shape[0]
    rows = np.repeat(np.arange(n_rows), np.diff(sims.indptr))
    keep = (sims.indices != own[rows]) & (sims.data > 0)
    rows, cols, values = rows[keep], sims.indices[keep], sims.data[keep]
    # One stable sort: by row, then by falling similarity (cosines are at most 1, rows 4 apart).
    order = np.argsort(4.0 * rows - values.astype(np.float64), kind="stable")
    counts = np.bincount(rows, minlength=n_rows)
    rank = np.arange(rows.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
    top = order[rank < k]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.minimum(counts, k), out=indptr[1:])
    return sp.csr_matrix((values[top], cols[top], indptr), shape=sims.shape)
