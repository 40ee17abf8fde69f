"""The one small interface every model sits behind.

A model learns from a users × jobs CSR matrix of confidences and then scores, for given user rows, every
job column; and, for a job column, every other job by similarity. It knows rows and columns only: ids,
filtering and fallbacks belong to :class:`recommender.recommender.Recommender`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]
Progress = Callable[[int, float | None], None]
"""Called after each training iteration with (iterations done, training loss or None)."""


class Model(ABC):
    """A recommendation model over contiguous user rows and job columns.

    Subclasses set :attr:`kind` (the name recorded in a bundle) and implement the methods below.
    """

    kind: ClassVar[str]

    @abstractmethod
    def fit(self, user_items: sp.csr_matrix, *, progress: Progress | None = None) -> None:
        """Learn from a users × jobs float32 CSR matrix of non-negative confidences.

        Parameters
        ----------
        user_items:
            One row per user, one column per job; a stored entry is an observed interaction.
        progress:
            Optional callback after each iteration.
        """

    @property
    @abstractmethod
    def n_users(self) -> int:
        """Number of user rows the model was fitted on."""

    @property
    @abstractmethod
    def n_items(self) -> int:
        """Number of job columns the model was fitted on."""

    @abstractmethod
    def user_scores(self, user_rows: NDArray[np.int64], user_items: sp.csr_matrix) -> FloatArray:
        """Scores of every job for each user row: shape ``(len(user_rows), n_items)``; higher is better.

        Parameters
        ----------
        user_rows:
            Rows of the users to score.
        user_items:
            The users × jobs matrix of the user rows' histories (the training matrix, or one with new
            events). Factor models ignore it; neighbourhood models score from the given rows of it.
        """

    @abstractmethod
    def similar_scores(self, item_rows: NDArray[np.int64]) -> FloatArray:
        """Similarity of every job to each given job: shape ``(len(item_rows), n_items)``, in [-1, 1]."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The hyper-parameters, JSON-serialisable, as recorded in a bundle."""

    @abstractmethod
    def arrays(self) -> dict[str, NDArray[Any]]:
        """The learned state as named arrays, for a bundle to write."""

    @classmethod
    @abstractmethod
    def from_arrays(cls, params: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]) -> Model:
        """Rebuild a fitted model from :meth:`params` and :meth:`arrays`."""


def normalize_rows(matrix: FloatArray) -> FloatArray:
    """Rows scaled to unit length; all-zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normed: FloatArray = (matrix / norms).astype(np.float32, copy=False)
    return normed
