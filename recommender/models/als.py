"""Implicit-feedback matrix factorisation: implicit's AlternatingLeastSquares, or our own
conjugate-gradient solver (:mod:`recommender.models.ials`) for frequency-scaled regularisation.

Hu, Koren & Volinsky (2008), Collaborative Filtering for Implicit Feedback Datasets; Rendle et al.
(2021), Revisiting the Performance of iALS on Item Recommendation Benchmarks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from recommender.errors import EngineUnavailableError
from recommender.models import ials
from recommender.models.base import Device, FloatArray, Progress, params_of
from recommender.models.factors import FactorModel

if TYPE_CHECKING:
    from recommender.data.catalogue import Catalogue


class ALSParams(BaseModel):
    """Hyper-parameters of implicit's AlternatingLeastSquares.

    implicit weighs an observed pair with confidence ``alpha · value``; we feed it
    ``value = confidence_scale · score``. The original service fitted 2·score with alpha 1.

    ``regularization_exponent`` ν scales each user's and each job's ridge by how much it was
    observed: ``λ · (n + 1)^ν``, n the row's stored entries (a user's jobs, a job's users), as in
    Rendle et al. (2021). At 0 (the default) every row gets λ and implicit fits the model; above 0
    our own conjugate-gradient solver does (:mod:`recommender.models.ials`). Spark's ALS cannot
    scale the ridge so and refuses it.
    """

    model_config = ConfigDict(frozen=True)

    factors: int = Field(default=64, ge=1, le=1024)
    regularization: float = Field(default=0.05, ge=0.0)
    iterations: int = Field(default=15, ge=1, le=500)
    alpha: float = Field(default=1.0, gt=0.0)
    confidence_scale: float = Field(default=2.0, gt=0.0)
    regularization_exponent: float = Field(default=0.0, ge=0.0, le=1.0)


def _gpu_solver() -> Any:
    """implicit's CUDA ALS class.

    Raises
    ------
    EngineUnavailableError
        implicit's CUDA kernels cannot load (no GPU, or no ``rmm`` of a matching release).
    """
    import implicit.gpu

    if not implicit.gpu.HAS_CUDA:
        raise EngineUnavailableError(
            "RECOMMENDER_DEVICE is cuda but implicit's CUDA kernels are not usable here (no GPU, "
            "or no rmm-cu13 of a matching release: librmm-cu13 26.4 with implicit 0.7.3); "
            "train on cpu"
        )
    from implicit.gpu.als import AlternatingLeastSquares

    return AlternatingLeastSquares


class ALSModel(FactorModel):
    """ALS on confidences ``alpha · value``; the factors are kept as float32 numpy arrays.

    Parameters
    ----------
    params:
        Factors, regularisation, iterations and alpha (the caller applies ``confidence_scale``).
    seed:
        implicit's ``random_state``: the same data, params and seed give the same factors.
    threads:
        implicit's ``num_threads`` (0 = one per core); BLAS itself is held to one thread during fit.
    device:
        Where :meth:`fit` runs: ``cpu``, or ``cuda`` (implicit's GPU solver: its wheel's CUDA
        kernels, with ``rmm`` of a matching release); serving is on the CPU either way.
    """

    kind: ClassVar[str] = "als"

    def __init__(
        self,
        params: ALSParams | None = None,
        *,
        seed: int = 42,
        threads: int = 0,
        device: Device = "cpu",
    ) -> None:
        self.als_params = params or ALSParams()
        self.threads = threads
        self.device = device
        super().__init__(factors=self.als_params.factors, seed=seed)
        self._solver: Any = None
        self._solver_lock = threading.Lock()
        self._yty: NDArray[np.float64] | None = None

    def _factory(self, *, track_loss: bool) -> Callable[[], Any]:
        p = self.als_params
        if self.device != "cuda":
            return self._cpu_factory(track_loss=track_loss)
        # fitted on alpha · values (see fit): implicit's GPU fit never applies alpha itself
        return partial(
            _gpu_solver(),
            factors=p.factors,
            regularization=p.regularization,
            alpha=1.0,
            iterations=p.iterations,
            calculate_training_loss=track_loss,
            random_state=self.seed,
        )

    def _cpu_factory(self, *, track_loss: bool) -> Callable[[], Any]:
        """implicit's CPU ALS: what fits on ``cpu`` and what serving's fold-in and explanations
        solve with, whatever trained the factors."""
        from implicit.cpu.als import AlternatingLeastSquares

        p = self.als_params
        return partial(
            AlternatingLeastSquares,
            factors=p.factors,
            regularization=p.regularization,
            alpha=p.alpha,
            iterations=p.iterations,
            calculate_training_loss=track_loss,
            num_threads=self.threads,
            random_state=self.seed,
        )

    def _implicit(self) -> Any:
        """implicit's ALS over our item factors, for ``recalculate_user`` and ``explain``.

        Built once (BLAS held to one thread while implicit checks it), single-threaded: one user
        at a time is solved on a request thread.
        """
        if self._solver is None:
            with self._solver_lock:
                if self._solver is None:
                    from threadpoolctl import threadpool_limits

                    build = self._cpu_factory(track_loss=False)
                    with threadpool_limits(1, "blas"):
                        solver = build()
                    solver.num_threads = 1
                    # implicit's Cython wants a writable buffer; a memory-mapped bundle is not
                    items = self.item_factors
                    solver.item_factors = items if items.flags.writeable else items.copy()
                    solver.user_factors = self.user_factors
                    self._solver = solver
        return self._solver

    @property
    def _scaled(self) -> bool:
        """Whether the ridge is frequency-scaled (ν > 0): our solver, not implicit's."""
        return self.als_params.regularization_exponent > 0

    def fit(
        self,
        user_items: sp.csr_matrix,
        *,
        catalogue: Catalogue | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Fit with implicit, or with :func:`recommender.models.ials.fit` when ν > 0; BLAS is
        held to one thread either way (so the factors do not depend on the machine's cores)."""
        if not self._scaled:
            if self.device == "cuda":  # implicit's GPU fit never applies alpha: apply it here
                user_items = sp.csr_matrix(user_items, dtype=np.float32) * np.float32(
                    self.als_params.alpha
                )
            super().fit(user_items, catalogue=catalogue, progress=progress)
            return
        if self.device == "cuda":
            raise EngineUnavailableError(
                "frequency-scaled regularisation (RECOMMENDER_ALS__REGULARIZATION_EXPONENT > 0) "
                "is fitted by our CPU solver only; set RECOMMENDER_DEVICE=cpu"
            )
        from threadpoolctl import threadpool_limits

        p = self.als_params
        with threadpool_limits(1, "blas"):
            user_factors, item_factors = ials.fit(
                sp.csr_matrix(user_items, dtype=np.float32) * np.float32(p.alpha),
                factors=p.factors,
                regularization=p.regularization,
                exponent=p.regularization_exponent,
                iterations=p.iterations,
                seed=self.seed,
                callback=None if progress is None else lambda done, loss: progress(done + 1, loss),
                track_loss=progress is not None,
            )
        self.set_factors(user_factors, item_factors)

    def _callback(self, progress: Progress) -> Callable[..., None]:
        def callback(iteration: int, _elapsed: float, loss: float | None) -> None:
            progress(iteration + 1, loss)

        return callback

    def set_factors(self, user_factors: NDArray[Any], item_factors: NDArray[Any]) -> None:
        super().set_factors(user_factors, item_factors)
        self._solver = None
        self._yty = None

    def _gram(self) -> NDArray[np.float64]:
        """YᵀY of the job factors in float64, computed once per model (not per request)."""
        gram = self._yty
        if gram is None:
            items = self.item_factors.astype(np.float64)
            gram = self._yty = items.T @ items
        return gram

    def _confidence(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """The histories as the model was fitted on them: ``confidence_scale · score``."""
        scale = np.float32(self.als_params.confidence_scale)
        return sp.csr_matrix(history * scale, dtype=np.float32)

    def _scaled_equations(
        self, history: sp.csr_matrix
    ) -> tuple[sp.csr_matrix, NDArray[np.float64]]:
        """With ν > 0: the histories' confidences ``alpha · v`` and each one's ridge, counted
        from its own stored entries as the fit counted a user's."""
        p = self.als_params
        confidence = self._confidence(history) * np.float32(p.alpha)
        return confidence, ials.row_ridge(confidence, p.regularization, p.regularization_exponent)

    def fold_in(self, history: sp.csr_matrix) -> FloatArray:
        """User factors solved from the histories with the item factors fixed: one exact
        least-squares step of ALS (implicit's ``recalculate_user``, or with ν > 0 the same step
        with each history's frequency-scaled ridge)."""
        if self._scaled:
            confidence, ridge = self._scaled_equations(history)
            return ials.solve_rows(confidence, self.item_factors, self._gram(), ridge)
        solver = self._implicit()
        factors = solver.recalculate_user(np.arange(history.shape[0]), self._confidence(history))
        return np.asarray(factors, dtype=np.float32).reshape(history.shape[0], -1)

    def history_scores(self, history: sp.csr_matrix, own_rows: NDArray[np.int64]) -> FloatArray:
        """Scores from factors recalculated from the histories."""
        del own_rows
        scores: FloatArray = self.fold_in(history) @ self.item_factors.T
        return scores

    def explain(
        self, history: sp.csr_matrix, item_rows: NDArray[np.int64], top: int
    ) -> list[list[tuple[int, float]]]:
        """implicit's ``explain`` (Hu, Koren & Volinsky 2008, section 5): a job's score for the
        recalculated user is a sum over the user's past jobs; each share is a past job's part of
        that sum (shares of all past jobs add up to 1; a negative share pulled the score down).
        With ν > 0 the same sum, under the history's frequency-scaled ridge."""
        if self._scaled:
            return self._explain_scaled(history, item_rows, top)
        solver = self._implicit()
        confidence = self._confidence(history)
        weights = None
        explained: list[list[tuple[int, float]]] = []
        for item in item_rows.tolist():
            total, parts, weights = solver.explain(0, confidence, item, user_weights=weights, N=top)
            share = 1.0 / float(total) if total > 0 else 0.0
            explained.append([(int(col), float(part) * share) for col, part in parts])
        return explained

    def _explain_scaled(
        self, history: sp.csr_matrix, item_rows: NDArray[np.int64], top: int
    ) -> list[list[tuple[int, float]]]:
        confidence, ridge = self._scaled_equations(history)
        if confidence.nnz == 0:
            return [[] for _ in item_rows.tolist()]
        cols, parts = ials.explain_row(
            confidence[0], self.item_factors, self._gram(), float(ridge[0]), item_rows
        )
        return ials.shares(cols, parts, top)

    def params(self) -> dict[str, Any]:
        return {**self.als_params.model_dump(), "seed": self.seed}

    @classmethod
    def _from_params(cls, params: Mapping[str, Any]) -> Self:
        return cls(params_of(ALSParams, params), seed=int(params.get("seed", 42)))
