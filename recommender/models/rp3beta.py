"""RP3beta: a popularity-discounted two-step random walk from job to user to job."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from recommender.models.base import (
    FloatArray,
    Progress,
    normalize_sparse_rows,
    params_of,
    take_rows,
)
from recommender.models.itemitem import SparseItemItemModel

if TYPE_CHECKING:
    from recommender.data.catalogue import Catalogue

BLOCK_CELLS = 1 << 24
"""The walk is computed in blocks of job rows of at most about this many jobs × jobs cells."""


class RP3BetaParams(BaseModel):
    """Hyper-parameters of RP3beta.

    ``alpha`` raises the user -> job transition probabilities to a power (below 1 flattens a
    user's confidences, above 1 sharpens them); ``beta`` divides each reached job by its
    popularity to that power (0: the plain walk P³α); ``neighbours`` is how many jobs each job
    keeps.
    """

    model_config = ConfigDict(frozen=True)

    alpha: float = Field(default=1.0, gt=0.0)
    beta: float = Field(default=0.5, ge=0.0)
    neighbours: int = Field(default=100, ge=1, le=10_000)


class RP3BetaModel(SparseItemItemModel):
    """Jobs a two-step walk reaches from a user's jobs, less the popular ones: ``user_items @ W``.

    From job ``i`` the walk steps to one of its users (uniformly: ``P_iu`` is the binary jobs ×
    users matrix, rows scaled to sum to 1), then to one of that user's jobs (``P_ui``: the users ×
    jobs confidences, rows scaled to sum to 1, raised to ``alpha``). Each reached job ``j`` is
    divided by its popularity (users) to the power ``beta``; a job never reaches itself; each job
    keeps its ``neighbours`` largest entries, and the kept rows are scaled to sum to 1. This is the
    reference implementation of Dacrema et al. 2019 ("Are we really making much progress?", after
    Christoffel et al. 2015 and Paudel et al. 2017). The sparse jobs × jobs ``W`` (float32) is the
    whole model; it is built a block of job rows at a time, never dense. Fitting is deterministic:
    ties go to the lower job column.

    Parameters
    ----------
    params:
        alpha, beta and neighbours.
    """

    kind: ClassVar[str] = "rp3beta"

    def __init__(self, params: RP3BetaParams | None = None) -> None:
        self.rp3_params = params or RP3BetaParams()
        self.similarity: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self._n_users = 0
        self._rows_normed: tuple[sp.csr_matrix, sp.csr_matrix] | None = None

    def fit(
        self,
        user_items: sp.csr_matrix,
        *,
        catalogue: Catalogue | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Compute ``W`` a block of job rows at a time (one step: ``progress`` is called once)."""
        del catalogue  # a collaborative model learns from the matrix alone
        p = self.rp3_params
        matrix = sp.csr_matrix(user_items, dtype=np.float64, copy=True)
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        n_items = int(matrix.shape[1])
        user_to_job = _scale_rows_to_sum_one(matrix)
        if p.alpha != 1.0:
            user_to_job.data **= p.alpha
        seen = matrix.T.tocsr()
        seen.data[:] = 1.0
        popularity = np.diff(seen.indptr).astype(np.float64)
        discount = np.zeros(n_items, dtype=np.float64)
        reached = popularity > 0
        discount[reached] = popularity[reached] ** -p.beta
        job_to_user = _scale_rows_to_sum_one(seen)
        rows_per_block = max(1, BLOCK_CELLS // max(n_items, 1))
        blocks = [
            _top_k_rows(
                job_to_user[start : start + rows_per_block] @ user_to_job,
                discount,
                start,
                p.neighbours,
            )
            for start in range(0, n_items, rows_per_block)
        ]
        walk = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, 0))
        similarity = sp.csr_matrix(_scale_rows_to_sum_one(walk), dtype=np.float32)
        similarity.sort_indices()
        self.similarity = similarity
        self._n_users = int(matrix.shape[0])
        self._rows_normed = None
        if progress is not None:
            progress(1, None)

    def similar_scores(self, item_rows: NDArray[np.int64]) -> FloatArray:
        """Cosine similarity of the jobs' rows of ``W``: jobs whose walks reach the same jobs.

        A row of ``W`` sums to 1, so its largest entry says as much about how many neighbours a
        job kept as about how close they are; the cosine compares where two jobs' walks lead,
        is symmetric and lies in [0, 1] (``W`` has no negative entries).
        """
        if self._rows_normed is None:
            normed = normalize_sparse_rows(self.similarity)
            self._rows_normed = (normed, normed.T.tocsr())
        normed, normed_t = self._rows_normed
        sims: FloatArray = (take_rows(normed, item_rows) @ normed_t).toarray()
        return sims

    def params(self) -> dict[str, Any]:
        return self.rp3_params.model_dump()

    @classmethod
    def from_arrays(
        cls, params: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]
    ) -> RP3BetaModel:
        return cls(params_of(RP3BetaParams, params))._restore(arrays)


def _scale_rows_to_sum_one(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """A copy of a non-negative CSR ``matrix`` with each row divided by its sum (l1)."""
    scaled = sp.csr_matrix(matrix, copy=True)
    sums = np.asarray(scaled.sum(axis=1)).ravel()
    sums[sums == 0] = 1.0
    scaled.data /= np.repeat(sums, np.diff(scaled.indptr))
    return scaled


def _top_k_rows(
    block: sp.csr_matrix, discount: NDArray[np.float64], first_row: int, k: int
) -> sp.csr_matrix:
    """Each row of ``block`` (job rows from ``first_row``) with its columns times ``discount``,
    its diagonal entry dropped, and only its ``k`` largest positive entries kept (ties to the
    lower column)."""
    block = sp.csr_matrix(block)
    block.sort_indices()
    n_rows = block.shape[0]
    rows = np.repeat(np.arange(n_rows), np.diff(block.indptr))
    values = block.data * discount[block.indices]
    keep = (block.indices != rows + first_row) & (values > 0)
    rows, cols, values = rows[keep], block.indices[keep], values[keep]
    order = np.lexsort((-values, rows))  # by row, then by falling value; stable: lower column
    counts = np.bincount(rows, minlength=n_rows)
    rank = np.arange(rows.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
    top = order[rank < k]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.minimum(counts, k), out=indptr[1:])
    return sp.csr_matrix((values[top], cols[top], indptr), shape=block.shape)
