"""A two-tower neural model: trained with PyTorch, served with numpy.

The job tower places each job from its id (jobs with training activity only), its content
vector (Word2Vec text and field values) and its employer; the user tower from the jobs of the
user's history (pooled by ``log(1 + confidence)``, each job by its own learned vector and its
text) and the user's profile values, through one hidden layer with a skip. A score is the dot
product of the two. Trained on the training matrix with a sampled softmax over the batch's
jobs, corrected for their popularity (Yi et al. 2019), each target left out of its user's
pooled history; early stopping on a seeded hold-out (:mod:`recommender.models.neural.train`).

The bundle holds the towers' outputs and the user tower's weights as arrays: the jobs'
vectors (``item_factors``), the training users' (``user_factors``), the history and profile
tables and the layer's weights. A new or changed history is embedded in numpy at request time
(:meth:`NeuralModel.history_scores`), as ALS folds a user in; torch is imported only by
:meth:`NeuralModel.fit`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.content.text import profile_tokens
from recommender.errors import EngineUnavailableError
from recommender.models.base import Device, FitContext, FloatArray, Progress, params_of
from recommender.models.factors import FactorModel
from recommender.models.neural.inputs import (
    codes_to_words,
    history_weights,
    profile_matrix,
    user_tower,
    words_to_codes,
)
from recommender.models.neural.params import NeuralParams

if TYPE_CHECKING:
    from recommender.data.catalogue import Catalogue

TOWER_ARRAYS = (
    "history_vectors",
    "profile_words",
    "profile_vectors",
    "user_profiles",
    "user_w1",
    "user_b1",
    "user_w2",
    "user_b2",
)
"""The user tower's arrays, beside the factors every factor model keeps."""


class NeuralModel(FactorModel):
    """The two-tower model; see the module docstring.

    Parameters
    ----------
    params:
        Widths, epochs, batch, learning rate, temperature, id dropout, impressions' role,
        hold-out and checkpoint directory.
    seed:
        Seeds every random choice of a fit (initial weights, batches, dropout, hold-out).
    device:
        Where :meth:`fit` trains (``cpu`` or ``cuda``).
    confidence_scale:
        What training multiplied the implicit scores by (``RECOMMENDER_ALS__CONFIDENCE_SCALE``):
        a history seen afresh comes in scores and is scaled so before it is pooled.
    """

    kind: ClassVar[str] = "neural"

    def __init__(
        self,
        params: NeuralParams | None = None,
        *,
        seed: int = 42,
        device: Device = "cpu",
        confidence_scale: float = 2.0,
    ) -> None:
        self.neural_params = params or NeuralParams()
        self.device = device
        self.confidence_scale = confidence_scale
        super().__init__(factors=self.neural_params.dimensions, seed=seed)
        self._context: FitContext | None = None
        self.tower: dict[str, NDArray[Any]] = {}

    def _factory(self, *, track_loss: bool) -> Callable[[], Any]:
        """Never called: the towers are fitted by :mod:`~recommender.models.neural.train`,
        not by implicit."""
        raise TypeError("the neural model is fitted with PyTorch, not implicit")

    def use_context(self, context: FitContext) -> None:
        """Keep the ids, content vectors and redirects the next fit reads."""
        self._context = context

    def fit(
        self,
        user_items: sp.csr_matrix,
        *,
        catalogue: Catalogue | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Train the towers with PyTorch (imported here only) on the CPU or ``cuda``.

        Raises
        ------
        EngineUnavailableError
            PyTorch is not installed, or ``cuda`` was asked for and torch sees no GPU.
        """
        try:
            from recommender.models.neural import train  # noqa: PLC0415 - imports torch
        except ImportError as exc:
            raise EngineUnavailableError(
                "the neural model needs PyTorch: pip install -r requirements-neural.txt "
                "(make install-neural)"
            ) from exc
        fitted = train.fit_towers(
            sp.csr_matrix(user_items, dtype=np.float32),
            context=self._context,
            catalogue=catalogue,
            params=self.neural_params,
            seed=self.seed,
            device=self.device,
            progress=progress,
        )
        self._adopt(fitted)

    def _adopt(self, arrays: Mapping[str, NDArray[Any]]) -> None:
        self.tower = {name: arrays[name] for name in TOWER_ARRAYS}
        self.set_factors(arrays["user_factors"], arrays["item_factors"])
        self.embeds_profiles = self.tower["profile_words"].shape[0] > 0

    def profile_scores(self, profiles: Sequence[Mapping[str, Any]]) -> list[FloatArray | None]:
        """Users with no history placed by the user tower from their profile values alone
        (what it learned from users whose only job was held out of their history); None for
        a profile with no value the model knows."""
        rows = self.embed_profiles([profile_tokens(p) for p in profiles])
        known = np.flatnonzero(np.diff(rows.indptr) > 0)
        out: list[FloatArray | None] = [None] * len(profiles)
        if known.shape[0] == 0:
            return out
        empty = sp.csr_matrix((known.shape[0], self.n_items), dtype=np.float32)
        scores = self.embed_users(empty, rows[known]) @ self.item_factors.T
        for i, row in zip(known.tolist(), scores, strict=True):
            out[i] = row[None, :]
        return out

    def embed_users(self, history: sp.csr_matrix, profiles: sp.csr_matrix) -> FloatArray:
        """The user tower in numpy: users from their histories (implicit scores over the job
        columns, as a history seen afresh comes) and their profiles (rows over
        ``profile_words``, summing to 1, or all zero)."""
        confidence = sp.csr_matrix(history, dtype=np.float32) * np.float32(self.confidence_scale)
        return user_tower(
            history_weights(confidence) @ self.tower["history_vectors"],
            np.asarray(profiles @ self.tower["profile_vectors"], dtype=np.float32),
            self.tower,
        )

    def embed_profiles(self, tokens: list[list[str]]) -> sp.csr_matrix:
        """Profile rows over the model's profile vocabulary, for :meth:`embed_users`."""
        return profile_matrix(tokens, self.tower["profile_words"])

    def history_scores(self, history: sp.csr_matrix, own_rows: NDArray[np.int64]) -> FloatArray:
        """Scores of users embedded afresh from their histories; a known user keeps the profile
        they were trained with, a new one has none."""
        # a history comes in implicit scores; training pooled confidence_scale times them
        history = sp.csr_matrix(history, dtype=np.float32) * np.float32(self.confidence_scale)
        profiles = np.zeros((history.shape[0], self.neural_params.dimensions), np.float32)
        known = own_rows >= 0
        profiles[known] = self.tower["user_profiles"][own_rows[known]]
        pooled = np.asarray(history_weights(history) @ self.tower["history_vectors"], np.float32)
        users = user_tower(pooled, profiles, self.tower)
        scores: FloatArray = users @ self.item_factors.T
        return scores

    def params(self) -> dict[str, Any]:
        return {**self.neural_params.model_dump(exclude={"checkpoint_dir", "threads"})} | {
            "seed": self.seed,
            "confidence_scale": self.confidence_scale,
        }

    @classmethod
    def _from_params(cls, params: Mapping[str, Any]) -> Self:
        return cls(
            params_of(NeuralParams, params),
            seed=int(params.get("seed", 42)),
            confidence_scale=float(params.get("confidence_scale", 2.0)),
        )

    def arrays(self) -> dict[str, NDArray[Any]]:
        tower = dict(self.tower)
        tower["profile_words"] = words_to_codes(tower["profile_words"])
        return {**super().arrays(), **tower}

    @classmethod
    def from_arrays(cls, params: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]) -> Self:
        model = cls._from_params(params)
        model._adopt({**arrays, "profile_words": codes_to_words(arrays["profile_words"])})
        return model
