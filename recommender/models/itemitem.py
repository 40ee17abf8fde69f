"""What the item-item models share: a user's scores are their history row times a jobs × jobs
weight matrix (item-KNN's similarities, RP3beta's walk, EASE's ``B``), so a new user's events or
a known user's newer ones are scored without refitting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.models.base import (
    FloatArray,
    Model,
    sparse_arrays,
    sparse_from_arrays,
    take_rows,
)


class ItemItemModel(Model):
    """A model that scores ``history @ item_weights()``; subclasses fit the weights and say how
    jobs are similar. Sets ``_n_users`` when fitted."""

    scores_histories = True
    _n_users: int = 0

    def item_weights(self) -> sp.csr_matrix | FloatArray:
        """The jobs × jobs weights a history row is multiplied by (sparse or dense)."""
        raise NotImplementedError

    @property
    def n_users(self) -> int:
        return self._n_users

    @property
    def n_items(self) -> int:
        return int(self.item_weights().shape[0])

    def user_scores(self, user_rows: NDArray[np.int64], user_items: sp.csr_matrix) -> FloatArray:
        """Sum over the user's jobs of their value times the job's row of the weights."""
        history = take_rows(user_items, user_rows).astype(np.float32, copy=False)
        product = history @ self.item_weights()
        dense = product.toarray() if sp.issparse(product) else product
        scores: FloatArray = np.asarray(dense, dtype=np.float32)
        return scores

    def column_scores(self, cols: NDArray[np.int64], user_items: sp.csr_matrix) -> FloatArray:
        """Every user's history times the columns' weights: ``X @ W[:, cols]``."""
        weights = self.item_weights()
        taken = weights[:, cols]
        product = user_items.astype(np.float32, copy=False) @ taken
        dense = product.toarray() if sp.issparse(product) else product
        scores: FloatArray = np.asarray(dense, dtype=np.float32)
        return scores

    def _users_array(self) -> NDArray[np.int64]:
        return np.array([self._n_users], dtype=np.int64)


class SparseItemItemModel(ItemItemModel):
    """An item-item model whose weights are a sparse ``similarity`` matrix (item-KNN, RP3beta),
    kept in a bundle as the arrays of one CSR matrix."""

    similarity: sp.csr_matrix

    def item_weights(self) -> sp.csr_matrix:
        return self.similarity

    def arrays(self) -> dict[str, NDArray[Any]]:
        return {**sparse_arrays("similarity", self.similarity), "n_users": self._users_array()}

    def _restore(self, arrays: Mapping[str, NDArray[Any]]) -> Self:
        """This (unfitted) model with the fitted state :meth:`arrays` wrote."""
        self.similarity = sparse_from_arrays("similarity", arrays)
        self._n_users = int(arrays["n_users"][0])
        return self
