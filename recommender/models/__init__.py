"""Models behind one interface, and the registry a bundle uses to find a model by its kind."""

from __future__ import annotations

from recommender.models.als import ALSModel
from recommender.models.base import Model
from recommender.models.bpr import BPRModel
from recommender.models.factors import FactorModel
from recommender.models.itemknn import ItemKNNModel
from recommender.models.popular import PopularityModel
from recommender.models.spark_als import SparkALSModel
from recommender.models.userknn import UserKNNModel
from recommender.settings import MODEL_NAMES, Settings

MODEL_KINDS: dict[str, type[Model]] = {
    cls.kind: cls
    for cls in (ALSModel, BPRModel, PopularityModel, ItemKNNModel, UserKNNModel, SparkALSModel)
}
"""Model classes by the kind a bundle records."""

_ITEMKNN_MEASURES = {"itemknn-tfidf": "tfidf", "itemknn-bm25": "bm25"}


def create_model(name: str, settings: Settings) -> Model:
    """An unfitted model configured from ``settings``.

    Parameters
    ----------
    name:
        One of :data:`MODEL_NAMES`. ``itemknn`` uses ``settings.itemknn`` as it is (cosine by
        default); ``itemknn-tfidf`` and ``itemknn-bm25`` override its measure.
    settings:
        Hyper-parameters (``als``, ``bpr``, ``itemknn``, ``userknn``), ``seed`` and
        ``train_threads`` (for ALS and item kNN; BPR always fits on one thread); ``spark``
        for ``spark-als`` (whose fit imports pyspark; building it does not).

    Raises
    ------
    ValueError
        If ``name`` is not a known model.
    """
    if name == "als":
        return ALSModel(settings.als, seed=settings.seed, threads=settings.train_threads)
    if name == "bpr":
        return BPRModel(settings.bpr, seed=settings.seed)
    if name == "popular":
        return PopularityModel()
    if name == "itemknn" or name in _ITEMKNN_MEASURES:
        params = settings.itemknn
        if name in _ITEMKNN_MEASURES:
            params = params.model_copy(update={"measure": _ITEMKNN_MEASURES[name]})
        return ItemKNNModel(params, threads=settings.train_threads)
    if name == "userknn":
        return UserKNNModel(settings.userknn)
    if name == "spark-als":
        return SparkALSModel(settings.als, spark=settings.spark, seed=settings.seed)
    raise ValueError(f"unknown model {name!r}; known: {', '.join(MODEL_NAMES)}")


__all__ = [
    "MODEL_KINDS",
    "MODEL_NAMES",
    "ALSModel",
    "BPRModel",
    "FactorModel",
    "ItemKNNModel",
    "Model",
    "PopularityModel",
    "SparkALSModel",
    "UserKNNModel",
    "create_model",
]
