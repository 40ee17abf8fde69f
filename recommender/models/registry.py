"""Every model, registered once: its name, its class and how its Params are taken from settings.

A bundle records a model's :attr:`~recommender.models.base.Model.kind` and finds its class again
through :data:`MODEL_KINDS`; ``train``, ``evaluate`` and ``tune`` build one by name with
:func:`create_model`. ``itemknn-tfidf`` and ``itemknn-bm25`` are ``itemknn`` with another measure;
``blend`` builds each of its components by name here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from recommender.models.als import ALSModel, ALSParams
from recommender.models.base import Device, Model
from recommender.models.blend import NOT_BLENDABLE, BlendModel, BlendParams
from recommender.models.bpr import BPRModel, BPRParams
from recommender.models.ease import EASEModel, EASEParams
from recommender.models.itemknn import ItemKNNModel, ItemKNNParams
from recommender.models.neural.model import NeuralModel
from recommender.models.neural.params import NeuralParams
from recommender.models.popular import PopularityModel
from recommender.models.rp3beta import RP3BetaModel, RP3BetaParams
from recommender.models.spark.params import SparkParams
from recommender.models.spark_als import SparkALSModel
from recommender.models.userknn import UserKNNModel, UserKNNParams


class ModelConfig(Protocol):
    """What building a model reads: each model's Params, the seed and the training threads
    (:class:`recommender.settings.Settings` has them all)."""

    @property
    def seed(self) -> int: ...
    @property
    def train_threads(self) -> int: ...
    @property
    def als(self) -> ALSParams: ...
    @property
    def bpr(self) -> BPRParams: ...
    @property
    def itemknn(self) -> ItemKNNParams: ...
    @property
    def userknn(self) -> UserKNNParams: ...
    @property
    def ease(self) -> EASEParams: ...
    @property
    def rp3beta(self) -> RP3BetaParams: ...
    @property
    def spark(self) -> SparkParams: ...
    @property
    def blend(self) -> BlendParams: ...
    @property
    def neural(self) -> NeuralParams: ...
    @property
    def device(self) -> Device: ...


@dataclass(frozen=True)
class Registered:
    """A model name: the class it builds, and how from the settings."""

    model_class: type[Model]
    build: Callable[[ModelConfig], Model]
    settings_field: str | None
    """The settings field that holds its Params (``"als"`` for ``RECOMMENDER_ALS__*``), or None
    for a model without hyper-parameters."""


def _itemknn(measure: str | None) -> Callable[[ModelConfig], Model]:
    def build(config: ModelConfig) -> Model:
        params = config.itemknn
        if measure is not None:
            params = params.model_copy(update={"measure": measure})
        return ItemKNNModel(params, threads=config.train_threads)

    return build


def _blend(config: ModelConfig) -> Model:
    """A blend of the models ``config.blend`` names, each built from its own settings."""
    params = config.blend
    for name in params.components:
        if name in NOT_BLENDABLE or name not in REGISTRY:
            known = ", ".join(n for n in MODEL_NAMES if n not in NOT_BLENDABLE)
            raise ValueError(
                f"blend component {name!r} is not a model a blend holds; known: {known}"
            )
    return BlendModel(params, [create_model(name, config) for name in params.components])


REGISTRY: dict[str, Registered] = {
    "als": Registered(
        ALSModel,
        lambda c: ALSModel(c.als, seed=c.seed, threads=c.train_threads, device=c.device),
        "als",
    ),
    "bpr": Registered(BPRModel, lambda c: BPRModel(c.bpr, seed=c.seed), "bpr"),
    "popular": Registered(PopularityModel, lambda _c: PopularityModel(), None),
    "itemknn": Registered(ItemKNNModel, _itemknn(None), "itemknn"),
    "itemknn-tfidf": Registered(ItemKNNModel, _itemknn("tfidf"), "itemknn"),
    "itemknn-bm25": Registered(ItemKNNModel, _itemknn("bm25"), "itemknn"),
    "userknn": Registered(UserKNNModel, lambda c: UserKNNModel(c.userknn), "userknn"),
    "ease": Registered(EASEModel, lambda c: EASEModel(c.ease), "ease"),
    "rp3beta": Registered(RP3BetaModel, lambda c: RP3BetaModel(c.rp3beta), "rp3beta"),
    "spark-als": Registered(
        SparkALSModel, lambda c: SparkALSModel(c.als, spark=c.spark, seed=c.seed), "als"
    ),
    "blend": Registered(BlendModel, _blend, "blend"),
    "neural": Registered(
        NeuralModel,
        lambda c: NeuralModel(
            c.neural, seed=c.seed, device=c.device, confidence_scale=c.als.confidence_scale
        ),
        "neural",
    ),
}
"""Model names (what settings and the CLI take) to their classes and builders."""

MODEL_NAMES: tuple[str, ...] = tuple(REGISTRY)
"""The models :func:`create_model` builds (``itemknn-*`` pick a measure; ``spark-als`` fits
Spark's ALS and needs the optional pyspark; ``blend`` sums the standardised scores of the models
``settings.blend`` names; ``neural`` fits with the optional PyTorch)."""

MODEL_KINDS: dict[str, type[Model]] = {r.model_class.kind: r.model_class for r in REGISTRY.values()}
"""Model classes by the kind a bundle records."""


def create_model(name: str, config: ModelConfig) -> Model:
    """An unfitted model ``name`` configured from ``config`` (the settings).

    ``spark-als``'s fit imports pyspark; building it does not.

    Raises
    ------
    ValueError
        If ``name`` is not a known model, or a blend's component is not one a blend holds.
    """
    registered = REGISTRY.get(name)
    if registered is None:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODEL_NAMES)}")
    return registered.build(config)
