"""A blend: a weighted sum of two or three fitted models' scores, each standardised per user.

Models score on scales of their own (ALS a dot product, EASE a regression, item-KNN summed
similarities), so each component's row is made comparable first: :func:`standardize_rows`
turns it into z-scores over all jobs. Model selection weighs a blend on validation with the very
same function, so that what it measured is what the blend serves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, model_validator

from recommender.errors import ExplainUnsupportedError
from recommender.models.base import (
    FitContext,
    FloatArray,
    Model,
    Progress,
    model_class,
    params_of,
)

if TYPE_CHECKING:
    from recommender.data.catalogue import Catalogue

MAX_COMPONENTS = 3
NOT_BLENDABLE = frozenset({"blend", "spark-als"})
"""Model names a blend cannot hold: itself, and Spark's ALS (fitted by a Spark session, which a
blend's fit does not start; implicit's ``als`` learns the same model)."""

STD_FLOOR = 1e-6
"""The least standard deviation a row is divided by: a constant row stands at 0 everywhere, and a
nearly constant one is not blown up into large scores."""


def standardize_rows(scores: FloatArray) -> FloatArray:
    """Each row as z-scores: minus the row's mean, over the row's standard deviation (at least
    :data:`STD_FLOOR`); float32.

    A constant row becomes exactly zeros (the mean is taken in float64, which is exact for the
    float32 values of a constant row). The scores must be finite: mask jobs with ``-inf`` after
    standardising, not before.
    """
    mean = scores.mean(axis=1, dtype=np.float64, keepdims=True)
    centered = np.asarray(scores - mean.astype(np.float32), dtype=np.float32)
    std = np.sqrt(np.square(centered).mean(axis=1, dtype=np.float64, keepdims=True))
    scale = (1.0 / np.maximum(std, STD_FLOOR)).astype(np.float32)
    centered *= scale
    return centered


class BlendParams(BaseModel):
    """Which models a blend sums (registry names), with what weights, and whose similar jobs.

    ``weights`` go with ``components`` in order; a weight may be 0, so that one model's scores
    are served with another's similar jobs (a zero-weight component is still fitted). ``similar``
    names the component that answers similar jobs; None means the first of the largest weight.
    """

    model_config = ConfigDict(frozen=True)

    components: tuple[str, ...] = ("als", "ease")
    weights: tuple[float, ...] = (0.5, 0.5)
    similar: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        components, weights = self.components, self.weights
        if not 1 <= len(components) <= MAX_COMPONENTS:
            raise ValueError(
                f"a blend holds 1 to {MAX_COMPONENTS} components, not {len(components)}: "
                f"{list(components)}"
            )
        refused = [name for name in components if name in NOT_BLENDABLE]
        if refused:
            raise ValueError(f"a blend cannot hold {', '.join(map(repr, refused))}")
        repeated = sorted({name for name in components if components.count(name) > 1})
        if repeated:
            raise ValueError(f"blend components must differ; repeated: {', '.join(repeated)}")
        if len(weights) != len(components):
            raise ValueError(
                f"{len(weights)} weights {list(weights)} for {len(components)} components "
                f"{list(components)}"
            )
        if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(
                f"blend weights must be finite, at least 0 and not all 0; got {list(weights)}"
            )
        if self.similar is not None and self.similar not in components:
            raise ValueError(
                f"similar={self.similar!r} is not one of the components {list(components)}"
            )
        return self

    @property
    def similar_component(self) -> str:
        """The component that answers similar jobs: ``similar``, or the first heaviest."""
        if self.similar is not None:
            return self.similar
        return self.components[self.weights.index(max(self.weights))]


class BlendModel(Model):
    """Scores a job by ``Σ weight · standardize_rows(component scores)`` over its components.

    Components of weight 0 are not scored. Similar jobs are one component's
    (:attr:`BlendParams.similar_component`), as are explanations (the heaviest component that
    has them). In a bundle, component ``i``'s arrays are named ``"<i>.<its name>"`` and
    :meth:`params` lists each component's kind and own params.

    Parameters
    ----------
    params:
        The component names, weights and the component of similar jobs.
    components:
        The component models, unfitted or fitted, in the order of ``params.components``
        (:func:`~recommender.models.registry.create_model` builds them from settings).
    """

    kind: ClassVar[str] = "blend"

    def __init__(self, params: BlendParams, components: Sequence[Model]) -> None:
        if len(components) != len(params.components):
            raise ValueError(
                f"{len(components)} models for the {len(params.components)} components "
                f"{list(params.components)}"
            )
        self.blend_params = params
        self.components = tuple(components)
        self.weights = np.asarray(params.weights, dtype=np.float32)
        self._similar = params.components.index(params.similar_component)
        self.scores_histories = all(m.scores_histories for m, _w in self._weighted())
        self._moments: tuple[sp.csr_matrix, list[tuple[NDArray[Any], NDArray[Any]]]] | None = None

    def use_context(self, context: FitContext) -> None:
        """Hand the context to every component."""
        for component in self.components:
            component.use_context(context)

    def fit(
        self,
        user_items: sp.csr_matrix,
        *,
        catalogue: Catalogue | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Fit each component in turn, zero-weight ones too.

        ``progress`` counts the components' iterations one after the other (ALS's 15 then
        EASE's 1 report 1 to 16), without a loss: a component's loss is not the blend's, and
        two models' losses are not on one scale.
        """
        offset, last = 0, 0

        def report(iteration: int, _loss: float | None) -> None:
            nonlocal last
            last = iteration
            if progress is not None:
                progress(offset + iteration, None)

        for component in self.components:
            component.fit(
                user_items, catalogue=catalogue, progress=None if progress is None else report
            )
            offset, last = offset + last, 0
        self._check_shapes()

    def _check_shapes(self) -> None:
        shapes = {(m.n_users, m.n_items) for m in self.components}
        if len(shapes) > 1:
            raise ValueError(f"blend components disagree on users × jobs: {sorted(shapes)}")

    @property
    def n_users(self) -> int:
        return self.components[0].n_users

    @property
    def n_items(self) -> int:
        return self.components[0].n_items

    def _weighted(self) -> list[tuple[Model, np.float32]]:
        return [(m, w) for m, w in zip(self.components, self.weights, strict=True) if w > 0]

    def _blend(self, scores: list[tuple[FloatArray, np.float32]]) -> FloatArray:
        total = standardize_rows(scores[0][0])
        total *= scores[0][1]
        for part, weight in scores[1:]:
            total += weight * standardize_rows(part)
        return total

    def user_scores(self, user_rows: NDArray[np.int64], user_items: sp.csr_matrix) -> FloatArray:
        """The weighted sum of the components' standardised scores."""
        return self._blend([(m.user_scores(user_rows, user_items), w) for m, w in self._weighted()])

    def column_scores(self, cols: NDArray[np.int64], user_items: sp.csr_matrix) -> FloatArray:
        """The weighted sum of the components' column scores, each standardised by the user's
        mean and deviation over all jobs (:meth:`Model.score_moments`, found once per
        ``user_items`` and kept), as :func:`standardize_rows` does to a whole row."""
        total = np.zeros((self.n_users, cols.shape[0]), dtype=np.float32)
        moments = self._component_moments(user_items)
        for (model, weight), (mean, std) in zip(self._weighted(), moments, strict=True):
            part = model.column_scores(cols, user_items) - mean.astype(np.float32)[:, None]
            part *= (1.0 / np.maximum(std, STD_FLOOR)).astype(np.float32)[:, None]
            total += weight * part
        return total

    def _component_moments(
        self, user_items: sp.csr_matrix
    ) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
        """Each weighted component's per-user mean and deviation over all jobs, found once per
        ``user_items`` and kept."""
        cached = self._moments
        if cached is None or cached[0] is not user_items:
            every = np.arange(self.n_items, dtype=np.int64)
            moments = [m.score_moments(every, user_items) for m, _w in self._weighted()]
            cached = self._moments = (user_items, moments)
        return cached[1]

    def comparable_moments(
        self, cols: NDArray[np.int64], user_items: sp.csr_matrix
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Those of ``Σ weight · component score / the component's deviation over every user
        and job``: the blend standardises each user's row, which levels what the components
        say across users (how strongly each is expected to engage at all); one deviation per
        component puts them on one scale and keeps it."""
        spreads = []
        for mean, std in self._component_moments(user_items):
            variance = float(np.mean(std**2 + mean**2) - np.mean(mean) ** 2)
            spreads.append(math.sqrt(variance) if variance > 0 else 1.0)
        weighted = self._weighted()

        def scores_of(rows: NDArray[np.int64]) -> FloatArray:
            total = np.zeros((rows.shape[0], self.n_items), dtype=np.float32)
            for (model, weight), spread in zip(weighted, spreads, strict=True):
                total += np.float32(weight / spread) * model.user_scores(rows, user_items)
            return total

        return self._moments_of(scores_of, cols)

    def history_scores(
        self, history: sp.csr_matrix, own_rows: NDArray[np.int64]
    ) -> FloatArray | None:
        """The weighted sum of the components' standardised history scores, or None when a
        weighted component cannot fold a history in (BPR): callers then keep the scores the
        blend learned, as they do for that component alone, rather than serve a blend that
        leaves it out."""
        scores: list[tuple[FloatArray, np.float32]] = []
        for model, weight in self._weighted():
            part = model.history_scores(history, own_rows)
            if part is None:
                return None
            scores.append((part, weight))
        return self._blend(scores)

    def similar_scores(self, item_rows: NDArray[np.int64]) -> FloatArray:
        """The similar-jobs component's similarities (a weighted sum of cosines would not be
        one)."""
        return self.components[self._similar].similar_scores(item_rows)

    def explain(
        self, history: sp.csr_matrix, item_rows: NDArray[np.int64], top: int
    ) -> list[list[tuple[int, float]]]:
        """The explanation of the heaviest weighted component that has one (ties: the first),
        so it explains that component's part of the score, not the others'.

        Raises
        ------
        ExplainUnsupportedError
            No weighted component can explain.
        """
        by_weight = sorted(self._weighted(), key=lambda pair: -pair[1])  # stable: ties in order
        for model, _weight in by_weight:
            try:
                return model.explain(history, item_rows, top)
            except ExplainUnsupportedError:
                continue
        raise ExplainUnsupportedError(
            f"the model in use ({self.kind} of {self._described()}) cannot explain its "
            "recommendations; only als can, as a component of weight above 0"
        )

    def _described(self) -> str:
        p = self.blend_params
        return ", ".join(f"{n} {w:g}" for n, w in zip(p.components, p.weights, strict=True))

    def params(self) -> dict[str, Any]:
        """The blend's params (``similar`` resolved), and each component's kind and params."""
        p = self.blend_params
        return {
            "components": list(p.components),
            "weights": list(p.weights),
            "similar": p.similar_component,
            "kinds": [m.kind for m in self.components],
            "component_params": [m.params() for m in self.components],
        }

    def arrays(self) -> dict[str, NDArray[Any]]:
        """Each component's arrays, component ``i``'s prefixed with ``"<i>."`` (a bundle's
        array names become file names: no ``/``)."""
        return {
            f"{i}.{name}": array
            for i, model in enumerate(self.components)
            for name, array in model.arrays().items()
        }

    @classmethod
    def from_arrays(cls, params: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]) -> Self:
        components: list[Model] = []
        for i, (kind, own) in enumerate(
            zip(params["kinds"], params["component_params"], strict=True)
        ):
            prefix = f"{i}."
            mine = {k.removeprefix(prefix): v for k, v in arrays.items() if k.startswith(prefix)}
            components.append(model_class(kind).from_arrays(own, mine))
        model = cls(params_of(BlendParams, params), components)
        model._check_shapes()
        return model
