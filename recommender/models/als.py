"""Implicit-feedback matrix factorisation: implicit's AlternatingLeastSquares.

Hu, Koren & Volinsky (2008), Collaborative Filtering for Implicit Feedback Datasets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from recommender.models.base import FloatArray, Progress, params_of
from recommender.models.factors import FactorModel


class ALSParams(BaseModel):
    """Hyper-parameters of implicit's AlternatingLeastSquares.

    implicit weighs an observed pair with confidence ``alpha · value``; we feed it
    ``value = confidence_scale · score``. The original service fitted 2·score with alpha 1.
    """

    model_config = ConfigDict(frozen=True)

    factors: int = Field(default=64, ge=1, le=1024)
    regularization: float = Field(default=0.05, ge=0.0)
    iterations: int = Field(default=15, ge=1, le=500)
    alpha: float = Field(default=1.0, gt=0.0)
    confidence_scale: float = Field(default=2.0, gt=0.0)


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
    """

    kind: ClassVar[str] = "als"

    def __init__(
        self, params: ALSParams | None = None, *, seed: int = 42, threads: int = 0
    ) -> None:
        self.als_params = params or ALSParams()
        self.threads = threads
        super().__init__(factors=self.als_params.factors, seed=seed)
        self._solver: Any = None
        self._solver_lock = threading.Lock()

    def _factory(self, *, track_loss: bool) -> Callable[[], Any]:
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

    def _callback(self, progress: Progress) -> Callable[..., None]:
        def callback(iteration: int, _elapsed: float, loss: float | None) -> None:
            progress(iteration + 1, loss)

        return callback

    def set_factors(self, user_factors: NDArray[Any], item_factors: NDArray[Any]) -> None:
        super().set_factors(user_factors, item_factors)
        self._solver = None

    def _implicit(self) -> Any:
        """implicit's ALS over our item factors, for ``recalculate_user`` and ``explain``.

        Built once (BLAS held to one thread while implicit checks it), single-threaded: one user
        at a time is solved on a request thread.
        """
        if self._solver is None:
            with self._solver_lock:
                if self._solver is None:
                    from threadpoolctl import threadpool_limits

                    build = self._factory(track_loss=False)
                    with threadpool_limits(1, "blas"):
                        solver = build()
                    solver.num_threads = 1
                    # implicit's Cython wants a writable buffer; a memory-mapped bundle is not
                    items = self.item_factors
                    solver.item_factors = items if items.flags.writeable else items.copy()
                    solver.user_factors = self.user_factors
                    self._solver = solver
        return self._solver

    def _confidence(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """The histories as the model was fitted on them: ``confidence_scale · score``."""
        scale = np.float32(self.als_params.confidence_scale)
        return sp.csr_matrix(history * scale, dtype=np.float32)

    def fold_in(self, history: sp.csr_matrix) -> FloatArray:
        """User factors solved from the histories with the item factors fixed (implicit's
        ``recalculate_user``): one least-squares step of ALS, exact for the given history."""
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
        that sum (shares of all past jobs add up to 1; a negative share pulled the score down)."""
        solver = self._implicit()
        confidence = self._confidence(history)
        weights = None
        explained: list[list[tuple[int, float]]] = []
        for item in item_rows.tolist():
            total, parts, weights = solver.explain(0, confidence, item, user_weights=weights, N=top)
            share = 1.0 / float(total) if total > 0 else 0.0
            explained.append([(int(col), float(part) * share) for col, part in parts])
        return explained

    def params(self) -> dict[str, Any]:
        return {**self.als_params.model_dump(), "seed": self.seed}

    @classmethod
    def _from_params(cls, params: Mapping[str, Any]) -> Self:
        return cls(params_of(ALSParams, params), seed=int(params.get("seed", 42)))
