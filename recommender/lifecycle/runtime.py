"""What a running service owns to change its model: the switch, retraining jobs, the watcher."""

from __future__ import annotations

from types import TracebackType

from recommender.bundle.store import ModelStore
from recommender.events import EventStore
from recommender.lifecycle.manager import RetrainManager
from recommender.lifecycle.switch import ModelHolder, ModelSwitch
from recommender.lifecycle.watcher import BundleWatcher
from recommender.settings import Settings


class Lifecycle:
    """The model lifecycle of one service process; a context manager that starts and stops it.

    Parameters
    ----------
    settings:
        ``model_dir``, ``keep_bundles`` and ``watch_interval_seconds``, and what retraining uses.
    holder:
        Where the served recommender lives.
    events:
        The event store new models are served with (:func:`recommender.lifecycle.startup.serve`).
    """

    def __init__(self, settings: Settings, holder: ModelHolder, events: EventStore | None) -> None:
        store = None if settings.model_store is None else ModelStore(settings.model_store)
        self.switch = ModelSwitch(
            holder,
            settings.model_dir,
            events,
            settings.keep_bundles,
            store=store,
            fresh_bytes=settings.fresh_bytes,
        )
        self.retrains = RetrainManager(settings, self.switch)
        self.watcher = BundleWatcher(self.switch, settings.watch_interval_seconds)

    def __enter__(self) -> Lifecycle:
        self.watcher.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the watcher and end any training under way (its job fails)."""
        self.watcher.stop()
        self.retrains.close()
