"""The process's model slot: read on every request, replaced whole (never mutated) on reload."""

from __future__ import annotations

from recommender.errors import ModelNotReadyError
from recommender.recommender import Recommender


class ModelSlot:
    """Holds the :class:`Recommender` in use; assigning a new one is atomic for readers."""

    def __init__(self, recommender: Recommender | None = None) -> None:
        self._recommender = recommender

    def get(self) -> Recommender:
        """The recommender in use; :class:`ModelNotReadyError` before one is loaded."""
        current = self._recommender
        if current is None:
            raise ModelNotReadyError("no model is loaded yet")
        return current

    def set(self, recommender: Recommender) -> None:
        """Serve ``recommender`` from the next request on."""
        self._recommender = recommender

    @property
    def ready(self) -> bool:
        """Whether a model is loaded."""
        return self._recommender is not None
