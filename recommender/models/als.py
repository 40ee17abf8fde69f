"""Implicit-feedback matrix factorisation: implicit's AlternatingLeastSquares.

Hu, Koren & Volinsky (2008), Collaborative Filtering for Implicit Feedback Datasets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, ClassVar, Self

from recommender.models.base import Progress, params_of
from recommender.models.factors import FactorModel
from recommender.settings import ALSParams


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

    def params(self) -> dict[str, Any]:
        return {**self.als_params.model_dump(), "seed": self.seed}

    @classmethod
    def _from_params(cls, params: Mapping[str, Any]) -> Self:
        return cls(params_of(ALSParams, params), seed=int(params.get("seed", 42)))
