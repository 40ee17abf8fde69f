"""The non-personalised baseline: every user gets the most popular jobs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.models.base import FloatArray, Model, Progress

if TYPE_CHECKING:
    from recommender.data.catalogue import Catalogue


class PopularityModel(Model):
    """Scores a job by its popularity: its total confidence over all users (the column sum).

    Every user gets the same scores. A popularity baseline has no notion of similarity between
    jobs: :meth:`similar_scores` gives every query job the same row, the popularity scaled to
    [0, 1], so "similar jobs" are simply the most popular other jobs.
    """

    kind: ClassVar[str] = "popular"
    scores_histories = True

    def __init__(self) -> None:
        self.popularity: FloatArray = np.zeros(0, dtype=np.float32)
        self._n_users = 0
        self._scaled: FloatArray | None = None

    def fit(
        self,
        user_items: sp.csr_matrix,
        *,
        catalogue: Catalogue | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Sum each job's confidences (in float64, stored as float32)."""
        del catalogue  # a collaborative model learns from the matrix alone
        sums = np.asarray(user_items.sum(axis=0, dtype=np.float64)).ravel()
        self.popularity = sums.astype(np.float32)
        self._n_users = int(user_items.shape[0])
        self._scaled = None
        if progress is not None:
            progress(1, None)

    @property
    def n_users(self) -> int:
        return self._n_users

    @property
    def n_items(self) -> int:
        return int(self.popularity.shape[0])

    def user_scores(self, user_rows: NDArray[np.int64], user_items: sp.csr_matrix) -> FloatArray:
        del user_items  # the same for everyone
        return np.tile(self.popularity, (user_rows.shape[0], 1))

    def column_scores(self, cols: NDArray[np.int64], user_items: sp.csr_matrix) -> FloatArray:
        del user_items  # the same for everyone
        return np.tile(self.popularity[cols], (self._n_users, 1))

    def similar_scores(self, item_rows: NDArray[np.int64]) -> FloatArray:
        """The popularity scaled to [0, 1] for every query job (there is no similarity here)."""
        if self._scaled is None:
            top = float(self.popularity.max(initial=0.0))
            self._scaled = self.popularity / np.float32(top if top > 0 else 1.0)
        return np.tile(self._scaled, (item_rows.shape[0], 1))

    def params(self) -> dict[str, Any]:
        return {}

    def arrays(self) -> dict[str, NDArray[Any]]:
        return {
            "popularity": self.popularity,
            "n_users": np.array([self._n_users], dtype=np.int64),
        }

    @classmethod
    def from_arrays(
        cls, params: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]
    ) -> PopularityModel:
        del params  # none
        model = cls()
        model.popularity = np.asarray(arrays["popularity"], dtype=np.float32)
        model._n_users = int(arrays["n_users"][0])
        return model
