"""Pairwise ranking matrix factorisation: implicit's BayesianPersonalizedRanking.

Rendle et al. (2009), BPR: Bayesian Personalized Ranking from Implicit Feedback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

from recommender.models.base import params_of
from recommender.models.factors import FactorModel


class BPRParams(BaseModel):
    """Hyper-parameters of implicit's BayesianPersonalizedRanking (SGD on sampled item pairs).

    BPR reads the matrix as binary: any stored entry is a positive, whatever its confidence.
    """

    model_config = ConfigDict(frozen=True)

    factors: int = Field(default=64, ge=1, le=1024)
    learning_rate: float = Field(default=0.01, gt=0.0)
    regularization: float = Field(default=0.01, ge=0.0)
    iterations: int = Field(default=100, ge=1, le=10_000)


class BPRModel(FactorModel):
    """BPR: factors that rank each user's jobs above jobs sampled from those they did not touch.

    implicit's BPR reads the matrix as binary (a stored entry is a positive, whatever its value) and
    appends a bias column to the factors: users get a constant 1, jobs their bias. The factors are
    kept as implicit returns them, so scores include the job bias and the cosine similarity of jobs
    includes it as one more dimension.

    implicit's BPR is Hogwild SGD: with several threads, updates race and the result depends on
    scheduling. It is therefore always fitted on one thread, which with ``seed`` makes it
    deterministic: the same data, params and seed give the same factors.

    Parameters
    ----------
    params:
        Factors, learning rate, regularisation and iterations (epochs).
    seed:
        implicit's ``random_state`` for the initial factors and the sampling.
    """

    kind: ClassVar[str] = "bpr"

    def __init__(self, params: BPRParams | None = None, *, seed: int = 42) -> None:
        self.bpr_params = params or BPRParams()
        super().__init__(factors=self.bpr_params.factors + 1, seed=seed)

    def _factory(self, *, track_loss: bool) -> Callable[[], Any]:
        del track_loss  # implicit's BPR reports sample counts, not a loss
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        p = self.bpr_params
        return partial(
            BayesianPersonalizedRanking,
            factors=p.factors,
            learning_rate=p.learning_rate,
            regularization=p.regularization,
            iterations=p.iterations,
            num_threads=1,
            random_state=self.seed,
        )

    def params(self) -> dict[str, Any]:
        return {**self.bpr_params.model_dump(), "seed": self.seed}

    @classmethod
    def _from_params(cls, params: Mapping[str, Any]) -> Self:
        return cls(params_of(BPRParams, params), seed=int(params.get("seed", 42)))
