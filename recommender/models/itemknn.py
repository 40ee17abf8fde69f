"""Item-item nearest neighbours: implicit's Cosine, TF-IDF and BM25 recommenders."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from recommender.models.base import (
    FloatArray,
    Progress,
    params_of,
    take_rows,
)
from recommender.models.itemitem import SparseItemItemModel

if TYPE_CHECKING:
    from recommender.data.catalogue import Catalogue

KNNMeasure = Literal["cosine", "tfidf", "bm25"]


class ItemKNNParams(BaseModel):
    """Hyper-parameters of implicit's item-item nearest-neighbour recommenders.

    ``measure`` picks CosineRecommender, TFIDFRecommender or BM25Recommender; ``neighbours`` is
    implicit's ``K``, the similarities kept per job (the job itself among them);
    ``bm25_k1`` and ``bm25_b`` are BM25's ``K1`` and ``B`` (unused by the other measures).
    """

    model_config = ConfigDict(frozen=True)

    measure: KNNMeasure = "cosine"
    neighbours: int = Field(default=100, ge=1, le=10_000)
    bm25_k1: float = Field(default=1.2, ge=0.0)
    bm25_b: float = Field(default=0.75, ge=0.0, le=1.0)


class ItemKNNModel(SparseItemItemModel):
    """Jobs like the ones a user interacted with: ``score = user_items[user] @ similarity``.

    implicit weighs the users × jobs matrix by ``measure`` (cosine: L2-normalised job columns;
    tfidf: ``sqrt(value) · idf`` of the user, then normalised; bm25: BM25 weights) and keeps, for
    each job, its ``neighbours`` largest job-job dot products, the job itself among them. That
    jobs × jobs ``similarity`` CSR (float32) is the whole model. Fitting is deterministic.

    Parameters
    ----------
    params:
        Measure, neighbours (implicit's ``K``) and BM25's ``K1`` and ``B``.
    threads:
        implicit's ``num_threads`` for the similarity computation (0 = one per core).
    """

    kind: ClassVar[str] = "itemknn"

    def __init__(self, params: ItemKNNParams | None = None, *, threads: int = 0) -> None:
        self.knn_params = params or ItemKNNParams()
        self.threads = threads
        self.similarity: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self._n_users = 0
        self._similar: sp.csr_matrix | None = None

    def _factory(self) -> Callable[[], Any]:
        """A builder of implicit's recommender for ``measure``, imported outside the BLAS limit."""
        from implicit.nearest_neighbours import (
            BM25Recommender,
            CosineRecommender,
            TFIDFRecommender,
        )

        p = self.knn_params
        if p.measure == "bm25":
            return partial(
                BM25Recommender, K=p.neighbours, K1=p.bm25_k1, B=p.bm25_b, num_threads=self.threads
            )
        if p.measure == "tfidf":
            return partial(TFIDFRecommender, K=p.neighbours, num_threads=self.threads)
        return partial(CosineRecommender, K=p.neighbours, num_threads=self.threads)

    def fit(
        self,
        user_items: sp.csr_matrix,
        *,
        catalogue: Catalogue | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Compute the job-job similarity with implicit (one step: ``progress`` is called once)."""
        del catalogue  # a collaborative model learns from the matrix alone
        from implicit.utils import ParameterWarning
        from threadpoolctl import threadpool_limits

        build = self._factory()
        with threadpool_limits(1, "blas"), warnings.catch_warnings():
            # implicit's weighting returns COO and its own kNN then warns about converting it.
            warnings.filterwarnings("ignore", "Method expects CSR input", category=ParameterWarning)
            model = build()
            model.fit(sp.csr_matrix(user_items, dtype=np.float32), show_progress=False)
        similarity = sp.csr_matrix(model.similarity, dtype=np.float32)
        similarity.sort_indices()
        self.similarity = similarity
        self._n_users = int(user_items.shape[0])
        self._similar = None
        if progress is not None:
            progress(1, None)

    def similar_scores(self, item_rows: NDArray[np.int64]) -> FloatArray:
        """The jobs' similarity rows, each divided by its largest absolute value (so in [-1, 1])."""
        if self._similar is None:
            self._similar = _scale_rows_to_unit_max(self.similarity)
        scores: FloatArray = take_rows(self._similar, item_rows).toarray()
        return scores

    def params(self) -> dict[str, Any]:
        return self.knn_params.model_dump()

    @classmethod
    def from_arrays(
        cls, params: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]
    ) -> ItemKNNModel:
        return cls(params_of(ItemKNNParams, params))._restore(arrays)


def _scale_rows_to_unit_max(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """A copy of ``matrix`` with each row divided by its largest absolute value."""
    scaled = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    peaks = np.asarray(abs(scaled).max(axis=1).toarray(), dtype=np.float32).ravel()
    peaks[peaks == 0] = 1.0
    scaled.data /= np.repeat(peaks, np.diff(scaled.indptr))
    return scaled
