"""What factor models share: fitting implicit, dot-product scores, cosine similarity of jobs."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.models.base import FloatArray, Model, Progress, normalize_rows

if TYPE_CHECKING:
    from recommender.data.catalogue import Catalogue


class FactorModel(Model):
    """A model of user and job factors: a user's score of a job is the dot product of their factors.

    Subclasses say how to build the implicit model (:meth:`_factory`) and rebuild themselves from
    bundle params (:meth:`_from_params`); fitting, scoring, similarity and the bundle arrays
    (``user_factors``, ``item_factors``, float32) are written here once.

    Parameters
    ----------
    factors:
        Width of the (empty) factor arrays before :meth:`fit`.
    seed:
        implicit's ``random_state``.
    """

    def __init__(self, *, factors: int, seed: int) -> None:
        self.seed = seed
        self.user_factors: FloatArray = np.zeros((0, factors), dtype=np.float32)
        self.item_factors: FloatArray = np.zeros((0, factors), dtype=np.float32)
        self._item_normed: FloatArray | None = None

    @abstractmethod
    def _factory(self, *, track_loss: bool) -> Callable[[], Any]:
        """A builder of the unfitted implicit model, with implicit imported already.

        The builder is called while BLAS is held to one thread; the import must happen before
        that, as :func:`threadpoolctl.threadpool_limits` only limits libraries already loaded.
        """

    @classmethod
    @abstractmethod
    def _from_params(cls, params: Mapping[str, Any]) -> Self:
        """An unfitted model configured from a bundle's :meth:`params`."""

    def _callback(self, progress: Progress) -> Callable[..., None]:
        """implicit's per-iteration callback reporting to ``progress`` (no loss by default)."""

        def callback(iteration: int, _elapsed: float, *_rest: Any) -> None:
            progress(iteration + 1, None)

        return callback

    def fit(
        self,
        user_items: sp.csr_matrix,
        *,
        catalogue: Catalogue | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Fit with implicit, BLAS held to one thread (implicit is slower and warns otherwise)."""
        del catalogue  # a collaborative model learns from the matrix alone
        from threadpoolctl import threadpool_limits

        build = self._factory(track_loss=progress is not None)
        # implicit checks the BLAS pool when the model is built, so build it inside the limit too.
        with threadpool_limits(1, "blas"):
            model = build()
            model.fit(
                sp.csr_matrix(user_items, dtype=np.float32),
                show_progress=False,
                callback=None if progress is None else self._callback(progress),
            )
            if type(model).__module__.startswith("implicit.gpu"):
                model = model.to_cpu()  # a model fitted on the GPU serves from numpy arrays
        self.set_factors(model.user_factors, model.item_factors)

    def set_factors(self, user_factors: NDArray[Any], item_factors: NDArray[Any]) -> None:
        """Adopt fitted factors as contiguous float32 arrays."""
        self.user_factors = np.ascontiguousarray(user_factors, dtype=np.float32)
        self.item_factors = np.ascontiguousarray(item_factors, dtype=np.float32)
        self._item_normed = None

    @property
    def n_users(self) -> int:
        return int(self.user_factors.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.item_factors.shape[0])

    def user_scores(self, user_rows: NDArray[np.int64], user_items: sp.csr_matrix) -> FloatArray:
        del user_items  # the factors already encode each user's history
        if user_rows.shape[0] == 1:  # a matrix-vector product over contiguous rows is ~2× faster
            single: FloatArray = (self.item_factors @ self.user_factors[user_rows[0]])[None, :]
            return single
        return self.user_factors[user_rows] @ self.item_factors.T

    def column_scores(self, cols: NDArray[np.int64], user_items: sp.csr_matrix) -> FloatArray:
        """Every user's factors times the columns' factors: ``U @ V[cols].T``."""
        del user_items
        scores: FloatArray = self.user_factors @ self.item_factors[cols].T
        return scores

    def mixed_scores(
        self, cols: NDArray[np.int64], mix: sp.csr_matrix, user_items: sp.csr_matrix
    ) -> FloatArray:
        """``U @ (V[cols].T @ mix)``: the columns' factors mixed first."""
        del user_items
        factors = np.asarray(mix.T @ self.item_factors[cols], dtype=np.float32)
        scores: FloatArray = self.user_factors @ factors.T
        return scores

    def score_moments(
        self, cols: NDArray[np.int64], user_items: sp.csr_matrix
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """In closed form, without scoring a job: a score is ``u · v``, so its mean over the
        columns is ``u · mean(v)`` and its variance ``uᵀ C u``, ``C`` the columns' factors'
        (population) covariance; O(users × factors²)."""
        del user_items
        items = self.item_factors[cols].astype(np.float64)
        centre = items.mean(axis=0) if cols.shape[0] else np.zeros(items.shape[1])
        centred = items - centre
        covariance = centred.T @ centred / max(1, cols.shape[0])
        users = self.user_factors.astype(np.float64)
        variance = np.einsum("uf,fg,ug->u", users, covariance, users)
        return users @ centre, np.sqrt(np.maximum(variance, 0.0))

    def similar_scores(self, item_rows: NDArray[np.int64]) -> FloatArray:
        """Cosine similarity of the jobs' factors."""
        if self._item_normed is None:
            self._item_normed = normalize_rows(self.item_factors)
        normed = self._item_normed
        return normed[item_rows] @ normed.T

    def arrays(self) -> dict[str, NDArray[Any]]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    @classmethod
    def from_arrays(cls, params: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]) -> Self:
        model = cls._from_params(params)
        model.set_factors(arrays["user_factors"], arrays["item_factors"])
        return model
