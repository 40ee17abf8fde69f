"""What the routes read from the application: the model slot, the settings, the event store and
the lifecycle.

Plain functions of the request rather than ``Depends``: FastAPI resolves a dependency on every
request, which the single-user endpoint, answering thousands a second, would feel.
"""

from __future__ import annotations

from fastapi import Request

from recommender.errors import EventStoreError, ModelNotReadyError
from recommender.events import EventStore
from recommender.lifecycle import Lifecycle
from recommender.recommender import Recommender
from recommender.settings import Settings


class ModelSlot:
    """Holds the :class:`Recommender` in use; assigning a new one is atomic for readers.

    Read on every request, replaced whole (never mutated) on reload.
    """

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


def slot_of(request: Request) -> ModelSlot:
    """The application's model slot."""
    slot: ModelSlot = request.app.state.slot
    return slot


def recommender_of(request: Request) -> Recommender:
    """The recommender in use; :class:`ModelNotReadyError` before one is loaded."""
    recommender: Recommender = request.app.state.slot.get()
    return recommender


def settings_of(request: Request) -> Settings:
    """The application's settings."""
    settings: Settings = request.app.state.settings
    return settings


def events_of(request: Request) -> EventStore:
    """The open event store; :class:`EventStoreError` before the application has started."""
    store: EventStore | None = request.app.state.events
    if store is None:
        raise EventStoreError("the event store is not open (the application has not started)")
    return store


def lifecycle_of(request: Request) -> Lifecycle:
    """Retraining and bundle switching; :class:`ModelNotReadyError` before the service started."""
    lifecycle: Lifecycle | None = getattr(request.app.state, "lifecycle", None)
    if lifecycle is None:
        raise ModelNotReadyError("the service has not started: no model is loaded yet")
    return lifecycle
