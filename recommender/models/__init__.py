"""Models behind one interface, and the registry a bundle uses to find a model by its kind."""

from __future__ import annotations

from recommender.models.als import ALSModel
from recommender.models.base import Model

from recommender.settings import Settings

MODEL_KINDS: dict[str, type[Model]] = {ALSModel.kind: ALSModel}


def create_model(kind: str, settings: Settings) -> Model:
    """An unfitted model of ``kind`` configured from ``settings``."""
    if kind == ALSModel.kind:
        return ALSModel(settings.als, seed=settings.seed, threads=settings.train_threads)
    raise ValueError(f"unknown model kind {kind!r}; known: {sorted(MODEL_KINDS)}")


__all__ = ["MODEL_KINDS", "ALSModel", "Model", "create_model"]
