"""Following ``CURRENT``: a bundle put in place by someone else reaches the running service.

``python -m recommender train`` (say, from cron) moves ``CURRENT``; so does another worker's
retrain or rollback. A daemon thread checks the pointer every ``interval`` seconds and swaps the
named bundle in when it is not the one served. A bundle that is refused is logged once and the
served model stays; a pointer moved on to another version is tried afresh.
"""

from __future__ import annotations

import logging
import threading

from recommender.errors import (
    BundleError,
    BundleNotFoundError,
    EventStoreError,
    ModelNotReadyError,
    StorageError,
)
from recommender.lifecycle.switch import ModelSwitch, Swap

log = logging.getLogger(__name__)

_REMEMBERED = 64
"""Refused versions remembered (so that each is logged once); versions are never reused."""


class BundleWatcher:
    """Polls the model directory's ``CURRENT`` and follows it.

    Parameters
    ----------
    switch:
        Does the swap.
    interval:
        Seconds between checks; 0 turns the watcher off (:meth:`start` does nothing).
    """

    def __init__(self, switch: ModelSwitch, interval: float) -> None:
        self.switch = switch
        self.interval = interval
        self._refused: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start checking in a daemon thread (unless the interval is 0)."""
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="bundle-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop checking (a swap under way completes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the checking thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def check(self) -> Swap | None:
        """One check: swap to the bundle ``CURRENT`` names if it differs; the swap, if any.

        Each check also lets the served model take in the events other processes stored (a
        worker takes in its own at once), so every worker recalculates with every event.
        """
        try:
            self.switch.catch_up()
        except (ModelNotReadyError, EventStoreError) as exc:
            log.debug("catching up with the event store: %s", exc)
        try:
            pointed = self.switch.pointed_to()
        except BundleNotFoundError:
            return None  # no bundle yet: nothing to follow
        except (BundleError, StorageError) as exc:  # CURRENT itself is unreadable
            self._refuse(str(exc), exc)
            return None
        if pointed in self._refused:
            return None
        try:
            return self.switch.follow(pointed)
        except ModelNotReadyError:
            return None
        except (BundleError, StorageError) as exc:
            self._refuse(pointed, exc)
            return None

    def _refuse(self, key: str, exc: BundleError | StorageError) -> None:
        if key in self._refused:
            return
        if len(self._refused) >= _REMEMBERED:
            self._refused.pop(next(iter(self._refused)))
        self._refused[key] = str(exc)
        log.error("refusing the bundle CURRENT names, still serving %s: %s", self._served(), exc)

    def _served(self) -> str | None:
        try:
            return self.switch.served
        except ModelNotReadyError:
            return None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # keep watching whatever happens
                log.exception("checking %s/CURRENT failed", self.switch.model_dir)
