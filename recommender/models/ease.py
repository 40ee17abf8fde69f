"""EASE: Steck's embarrassingly shallow autoencoder, a closed-form item-item regression."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from recommender.errors import CatalogueTooLargeError
from recommender.models.base import FloatArray, Progress, params_of
from recommender.models.itemitem import ItemItemModel

if TYPE_CHECKING:
    from recommender.data.catalogue import Catalogue


class EASEParams(BaseModel):
    """Hyper-parameters of EASE.

    ``regularization`` is the paper's λ, added to the diagonal of the jobs × jobs Gram matrix
    ``XᵀX``, so it is in the units of summed squared confidences: it should grow with the log's
    size and with the confidences the matrix holds (``confidence_scale · score``, not the paper's
    0/1). The default 500 is the middle of the paper's range (200 to 1000 on binary data); tune it
    per data set. ``max_items`` bounds the jobs it fits on: the dense solve costs O(jobs³) time
    and about 20 bytes per jobs² at peak (two float64 arrays while solving, the float32 ``B``
    kept): 7.5 GiB and minutes at the default 20,000.
    """

    model_config = ConfigDict(frozen=True)

    regularization: float = Field(default=500.0, gt=0.0)
    max_items: int = Field(default=20_000, ge=1)


class EASEModel(ItemItemModel):
    """Scores a job by a learned weighted sum of a user's jobs: ``score = user_items[user] @ B``.

    ``B`` (jobs × jobs) minimises ``‖X − X·B‖² + λ‖B‖²`` with a zero diagonal, so no job predicts
    itself (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data"). Its closed form is
    ``B = I − P · diag(1 / diag(P))`` with ``P = (XᵀX + λI)⁻¹``, solved by a Cholesky
    factorisation in float64 and kept as a dense float32 array: the whole model. Weights may be
    negative. Fitting is deterministic.

    Because it scores the history rows it is given, new users and new events need no refit.

    Parameters
    ----------
    params:
        λ and the bound on the number of jobs.
    """

    kind: ClassVar[str] = "ease"

    def __init__(self, params: EASEParams | None = None) -> None:
        self.ease_params = params or EASEParams()
        self.weights: FloatArray = np.zeros((0, 0), dtype=np.float32)
        self._n_users = 0
        self._column_norms: FloatArray | None = None

    def fit(
        self,
        user_items: sp.csr_matrix,
        *,
        catalogue: Catalogue | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Solve for ``B`` in closed form (one step: ``progress`` is called once).

        Raises
        ------
        CatalogueTooLargeError
            The matrix has more job columns than ``max_items``.
        """
        del catalogue  # a collaborative model learns from the matrix alone
        n_items = int(user_items.shape[1])
        bound = self.ease_params.max_items
        if n_items > bound:
            gib = n_items**2 * 20 / 2**30
            raise CatalogueTooLargeError(
                f"EASE fits at most {bound:,} jobs (a dense jobs × jobs solve) but the data has "
                f"{n_items:,} jobs; raise RECOMMENDER_EASE__MAX_ITEMS if {gib:.2g} GiB of memory "
                "(20 bytes per jobs²) and O(jobs³) time are affordable, or pick another model"
            )
        matrix = sp.csr_matrix(user_items, dtype=np.float64)
        gram = np.asarray((matrix.T @ matrix).toarray(), dtype=np.float64)
        gram[np.diag_indices(n_items)] += self.ease_params.regularization
        inverse = _spd_inverse(gram)
        inverse /= -np.diag(inverse)  # column j divided by -P[j, j]
        inverse[np.diag_indices(n_items)] = 0.0
        self.weights = inverse.astype(np.float32)
        self._n_users = int(user_items.shape[0])
        self._column_norms = None
        if progress is not None:
            progress(1, None)

    def item_weights(self) -> FloatArray:
        return self.weights

    def similar_scores(self, item_rows: NDArray[np.int64]) -> FloatArray:
        """Cosine similarity of the jobs' columns of ``B``.

        Column ``j`` holds the weights that reconstruct job ``j`` from the others; two jobs are
        alike when the same jobs predict both, with the same signs. ``B`` itself is not used
        row by row: it is asymmetric, its entries may be negative, and each column carries the
        scale ``1 / P[j, j]``; the cosine is symmetric, in [-1, 1] by construction, and free of
        that scale. It costs ``len(item_rows) × jobs²`` multiply-adds: ranking every job's
        similar jobs ahead costs about as much as the fit.
        """
        if self._column_norms is None:
            norms = np.linalg.norm(self.weights, axis=0)
            norms[norms == 0] = 1.0
            self._column_norms = norms.astype(np.float32)
        norms = self._column_norms
        columns = self.weights[:, item_rows].T
        sims = (columns @ self.weights) / norms[item_rows, None] / norms[None, :]
        clipped: FloatArray = np.clip(sims, -1.0, 1.0).astype(np.float32, copy=False)
        return clipped

    def params(self) -> dict[str, Any]:
        return self.ease_params.model_dump()

    def arrays(self) -> dict[str, NDArray[Any]]:
        return {"weights": self.weights, "n_users": self._users_array()}

    @classmethod
    def from_arrays(
        cls, params: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]
    ) -> EASEModel:
        model = cls(params_of(EASEParams, params))
        model.weights = np.asarray(arrays["weights"], dtype=np.float32)
        model._n_users = int(arrays["n_users"][0])
        return model


def _spd_inverse(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """The inverse of a symmetric positive definite float64 matrix, overwriting it: LAPACK's
    Cholesky factorisation and ``potri`` (a third of the work of solving against the identity).

    Raises
    ------
    numpy.linalg.LinAlgError
        The matrix is not positive definite.
    """
    factor, info = scipy.linalg.lapack.dpotrf(matrix, lower=False, overwrite_a=True, clean=False)
    if info == 0:
        inverse, info = scipy.linalg.lapack.dpotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"the Gram matrix is not positive definite (LAPACK {info})")
    upper: NDArray[np.float64] = np.triu(inverse)
    upper += np.triu(inverse, 1).T  # potri fills the upper triangle only
    return upper
