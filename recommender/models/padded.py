"""A fitted model seen over more job columns than it was fitted on (jobs posted since).

The jobs posted after training (:mod:`recommender.bundle.listed`) are columns appended after the
model's own: the model knows nothing of them, so it scores them 0 for every user (the content
hybrid then gives them their place, as it does every cold job), finds no job similar to them by
its own similarity (-inf) and none of them similar to a job it knows. Nothing is fitted or saved
here: it lives only in a serving process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.data.catalogue import Catalogue
from recommender.models.base import FloatArray, Model, Progress


def own_columns(matrix: sp.csr_matrix, n_items: int) -> sp.csr_matrix:
    """``matrix`` (rows × at least ``n_items`` columns) cut to its first ``n_items`` columns."""
    if matrix.shape[1] == n_items:
        return matrix
    return matrix[:, :n_items].tocsr()


class PaddedModel(Model):
    """``base`` with ``extra`` job columns appended, which it scores as knowing nothing of them.

    ``kind`` is the base model's: lists keep naming the model that ranked them. ``own`` is the
    matrix the base was trained on, which the served matrix widens (sharing its arrays): it is
    then used as it is rather than cut again.
    """

    def __init__(self, base: Model, extra: int, own: sp.csr_matrix | None = None) -> None:
        self.base: Model = base
        self.extra: int = extra
        # the served matrix is the same object on every request: cut to the base's columns once
        self._cut: tuple[sp.csr_matrix, sp.csr_matrix] | None = None
        self._trained = own  # the matrix the base was trained on: the served one, widened
        self.kind = base.kind  # type: ignore[misc]  # an instance's, not a registered kind
        self.scores_histories = base.scores_histories
        self.embeds_profiles = base.embeds_profiles

    def fit(
        self,
        user_items: sp.csr_matrix,
        *,
        catalogue: Catalogue | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Never: a padded model only serves."""
        raise TypeError("a padded model is not fitted; fit the base model")

    @property
    def n_users(self) -> int:
        """The base model's users."""
        return self.base.n_users

    @property
    def n_items(self) -> int:
        """The base model's jobs and the appended ones."""
        return self.base.n_items + self.extra

    def profile_scores(self, profiles: Sequence[Mapping[str, Any]]) -> list[FloatArray | None]:
        """The base model's profile scores, the appended jobs scored 0."""
        return [
            None if row is None else self._pad(row, 0.0)
            for row in self.base.profile_scores(profiles)
        ]

    def _pad(self, scores: FloatArray, value: float) -> FloatArray:
        out = np.full((scores.shape[0], self.n_items), value, dtype=np.float32)
        out[:, : scores.shape[1]] = scores
        return out

    def _own(self, user_items: sp.csr_matrix) -> sp.csr_matrix:
        """``user_items`` cut to the base model's columns (the last cut kept: a request passes
        the served matrix, and cutting all of it takes milliseconds)."""
        cut = self._cut
        if cut is not None and cut[0] is user_items:
            return cut[1]
        trained = self._trained
        if trained is not None and user_items.data is trained.data:  # widened, arrays shared
            return trained
        own = own_columns(user_items, self.base.n_items)
        self._cut = (user_items, own)
        return own

    def user_scores(self, user_rows: NDArray[np.int64], user_items: sp.csr_matrix) -> FloatArray:
        """The base model's scores, 0 for the appended jobs."""
        return self._pad(self.base.user_scores(user_rows, self._own(user_items)), 0.0)

    def history_scores(
        self, history: sp.csr_matrix, own_rows: NDArray[np.int64]
    ) -> FloatArray | None:
        """The base model's, over its own columns of ``history``; 0 for the appended jobs."""
        scores = self.base.history_scores(own_columns(history, self.base.n_items), own_rows)
        return None if scores is None else self._pad(scores, 0.0)

    def explain(
        self, history: sp.csr_matrix, item_rows: NDArray[np.int64], top: int
    ) -> list[list[tuple[int, float]]]:
        """The base model's explanations; none for an appended job."""
        known = item_rows < self.base.n_items
        own = own_columns(history, self.base.n_items)
        got = iter(self.base.explain(own, item_rows[known], top) if known.any() else [])
        return [next(got) if is_known else [] for is_known in known.tolist()]

    def column_scores(self, cols: NDArray[np.int64], user_items: sp.csr_matrix) -> FloatArray:
        """The base model's scores of its own columns, 0 for the appended jobs."""
        known = cols < self.base.n_items
        if known.all():
            return self.base.column_scores(cols, self._own(user_items))
        out = np.zeros((self.n_users, cols.shape[0]), dtype=np.float32)
        if known.any():
            out[:, known] = self.base.column_scores(cols[known], self._own(user_items))
        return out

    def mixed_scores(
        self, cols: NDArray[np.int64], mix: sp.csr_matrix, user_items: sp.csr_matrix
    ) -> FloatArray:
        """The base model's, when every column is its own (a posted job mixes warm ones)."""
        if (cols < self.base.n_items).all():
            return self.base.mixed_scores(cols, mix, self._own(user_items))
        return super().mixed_scores(cols, mix, user_items)

    def score_moments(
        self, cols: NDArray[np.int64], user_items: sp.csr_matrix
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The base model's, over its own columns (the warm jobs an audience asks for are)."""
        if (cols >= self.base.n_items).any():
            return super().score_moments(cols, user_items)
        return self.base.score_moments(cols, self._own(user_items))

    def comparable_moments(
        self, cols: NDArray[np.int64], user_items: sp.csr_matrix
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        """The base model's, over its own columns."""
        if (cols >= self.base.n_items).any():
            return super().comparable_moments(cols, user_items)
        return self.base.comparable_moments(cols, self._own(user_items))

    def similar_scores(self, item_rows: NDArray[np.int64]) -> FloatArray:
        """The base model's similarities; -inf to and from the appended jobs."""
        known = item_rows < self.base.n_items
        out = np.full((item_rows.shape[0], self.n_items), -np.inf, dtype=np.float32)
        if known.any():
            out[known, : self.base.n_items] = self.base.similar_scores(item_rows[known])
        return out

    def params(self) -> dict[str, Any]:
        """The base model's."""
        return self.base.params()

    def arrays(self) -> dict[str, NDArray[Any]]:
        """The base model's (the appended columns have no learned state)."""
        return self.base.arrays()

    @classmethod
    def from_arrays(cls, params: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]) -> Model:
        """Never: a padded model is not saved."""
        raise TypeError("a padded model is not loaded from a bundle")
