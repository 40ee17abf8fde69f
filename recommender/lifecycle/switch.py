"""Changing the model in front of clients: activate a new bundle, roll back, follow ``CURRENT``.

Every change loads the bundle whole and verifies its checksums *before* anything moves; a bundle
that is refused leaves both the model being served and ``CURRENT`` as they were. The swap itself
is one assignment to the holder: requests never wait for it, and a request that started on the
old model finishes on it.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from recommender.bundle.directory import current_version, list_bundles, set_current
from recommender.bundle.files import load_bundle, read_manifest
from recommender.bundle.manifest import UNSAVED
from recommender.bundle.pruning import prune_bundles, prune_store
from recommender.bundle.store import ModelStore
from recommender.bundle.trained import TrainedModel
from recommender.errors import BundleError, NoPreviousBundleError
from recommender.events import EventStore
from recommender.events.fresh import DEFAULT_MAX_BYTES
from recommender.lifecycle.startup import serve
from recommender.recommender import Recommender

log = logging.getLogger(__name__)


class ModelHolder(Protocol):
    """Where the served :class:`Recommender` lives (the API's ``ModelSlot`` is one)."""

    def get(self) -> Recommender:
        """The recommender in use (raises ``ModelNotReadyError`` before there is one)."""

    def set(self, recommender: Recommender) -> None:
        """Serve ``recommender`` from the next request on."""


@dataclass(frozen=True)
class Swap:
    """One change of the served model, and what each step took.

    Attributes
    ----------
    version, previous:
        The bundle now served, and the model's version before (None if it was not a bundle).
    load_seconds:
        Reading the bundle and verifying every checksum.
    serve_seconds:
        Building the :class:`Recommender` (:func:`recommender.lifecycle.startup.serve`).
    swap_seconds:
        The swap itself: one assignment, the only moment anything changes under requests.
    skipped:
        Older bundles a rollback refused (corrupt or incompatible) on its way.
    """

    version: str
    previous: str | None
    load_seconds: float
    serve_seconds: float
    swap_seconds: float
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class BundleInfo:
    """A bundle of the model directory, as ``GET /admin/bundles`` lists it.

    ``problem`` is what is wrong with its manifest, if anything; checksums are not verified here
    (that reads every file), only when the bundle is loaded.
    """

    version: str
    trained_at: str | None
    model: str | None
    current: bool
    served: bool
    problem: str | None = None


def served_version(recommender: Recommender) -> str | None:
    """The bundle version ``recommender`` was loaded from; None for a model never written."""
    version = recommender.trained.manifest.version
    return None if version == UNSAVED else version


class ModelSwitch:
    """Every change of the served model goes through here, one at a time.

    Parameters
    ----------
    holder:
        Where the served recommender lives.
    model_dir:
        The bundles and their ``CURRENT`` pointer.
    events:
        Passed to :func:`recommender.lifecycle.startup.serve` with each new model.
    keep:
        Bundles kept after an activation (see :func:`prune_bundles`).
    store:
        An object store (``s3://…``) the model directory mirrors: its ``CURRENT`` is the one
        followed and moved, and bundles are fetched from it into ``model_dir``.
    fresh_bytes:
        The memory each served model's newer events may take (``fresh_cache_mib``).
    """

    def __init__(
        self,
        holder: ModelHolder,
        model_dir: Path,
        events: EventStore | None,
        keep: int,
        store: ModelStore | None = None,
        *,
        fresh_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.holder = holder
        self.fresh_bytes = fresh_bytes
        self.model_dir = Path(model_dir)
        self.events = events
        self.keep = keep
        self.store = store
        self._lock = threading.Lock()

    @property
    def served(self) -> str | None:
        """The version being served (None when the model is not a bundle)."""
        return served_version(self.holder.get())

    def activate(self, version: str) -> Swap:
        """Serve the bundle ``version`` and point ``CURRENT`` at it, then prune old bundles.

        Raises
        ------
        BundleError
            The bundle is refused; nothing changed.
        """
        with self._lock:
            previous = self.served
            started = time.perf_counter()
            trained = load_bundle(self.model_dir, version)
            swap = self._install(trained, previous, started, move_current=True)
            prune_bundles(self.model_dir, self.keep, protect=(swap.version, previous))
            if self.store is not None:
                prune_store(self.store, self.keep, protect=(swap.version, previous))
        return swap

    def rollback(self) -> Swap:
        """Serve the newest older bundle that loads, and point ``CURRENT`` at it.

        An older bundle that is refused (corrupt or incompatible) is skipped with a log line and
        listed in :attr:`Swap.skipped`.

        Raises
        ------
        NoPreviousBundleError
            The model served is not a bundle, or no older bundle loads.
        """
        with self._lock:
            previous = self.served
            if previous is None:
                raise NoPreviousBundleError("the model in use was not loaded from a bundle")
            skipped: list[str] = []
            for version in reversed(list_bundles(self.model_dir)):
                if version >= previous:
                    continue
                started = time.perf_counter()
                try:
                    trained = load_bundle(self.model_dir, version)
                except BundleError as exc:
                    log.error("rollback skips bundle %s: %s", version, exc)
                    skipped.append(version)
                    continue
                swap = self._install(trained, previous, started, move_current=True)
                return dataclasses.replace(swap, skipped=tuple(skipped))
            refused = f" ({len(skipped)} refused: {', '.join(skipped)})" if skipped else ""
            raise NoPreviousBundleError(
                f"no bundle older than {previous} in {self.model_dir} loads{refused}"
            )

    def follow(self, version: str) -> Swap | None:
        """Serve ``version``, which ``CURRENT`` names, unless it is served already (then None).

        For a ``CURRENT`` moved by someone else: ``python -m recommender train``, or another
        worker's retrain or rollback. None too if ``CURRENT`` has moved on from ``version``
        meanwhile (the next check follows it).

        Raises
        ------
        BundleError
            The bundle is refused; the served model stays.
        """
        with self._lock:
            previous = self.served
            if version == previous or version != self.pointed_to():
                return None
            started = time.perf_counter()
            if self.store is not None:  # fetched into the local cache, then verified as any
                self.store.fetch(version, self.model_dir)
            trained = load_bundle(self.model_dir, version)
            return self._install(trained, previous, started, move_current=self.store is not None)

    def pointed_to(self) -> str:
        """The version ``CURRENT`` names (the store's, with one), or the newest local bundle."""
        if self.store is not None:
            version = self.store.current_version()
            if version is not None:
                return version
        return current_version(self.model_dir)

    def catch_up(self) -> int:
        """Let the served model take in events and job postings stored since it last looked (by
        any process); the events taken in."""
        if self.events is None:
            return 0
        self.take_listings()
        return self.holder.get().catch_up(self.events)

    def take_listings(self) -> int:
        """Lay the job postings stored since the served model last looked (by any process) over
        it; how many versions were taken. Under the switch's lock, so a posting is never laid over
        a model that is being replaced (the replacement reads every posting itself)."""
        if self.events is None:
            return 0
        with self._lock:
            current = self.holder.get()
            taken = current.catch_up_listings(self.events)
            if taken is current:
                return 0
            self.holder.set(taken)
            return taken.listings_through - current.listings_through

    def bundles(self) -> list[BundleInfo]:
        """The bundles of the model directory, oldest first."""
        try:
            pointed: str | None = current_version(self.model_dir)
        except BundleError:
            pointed = None
        served = self.served
        listed: list[BundleInfo] = []
        for version in list_bundles(self.model_dir):
            trained_at = model = problem = None
            try:
                manifest = read_manifest(self.model_dir / version)
                trained_at = manifest.get("trained_at")
                model = manifest["model"]["kind"]
            except BundleError as exc:
                problem = str(exc)
            listed.append(
                BundleInfo(
                    version, trained_at, model, version == pointed, version == served, problem
                )
            )
        return listed

    def _publish(self, version: str) -> None:
        """Point the store's ``CURRENT`` at ``version``, uploading the bundle if it lacks it."""
        assert self.store is not None
        if version not in self.store.versions():
            self.store.publish(self.model_dir / version, make_current=False)
        self.store.set_current(version)

    def _install(
        self, trained: TrainedModel, previous: str | None, started: float, *, move_current: bool
    ) -> Swap:
        """Build the recommender, move ``CURRENT`` if asked, and swap (the lock is held)."""
        loaded = time.perf_counter()
        recommender = serve(trained, self.events, self.fresh_bytes)
        built = time.perf_counter()
        version = trained.manifest.version
        if move_current:  # the store first: if publishing fails, nothing has moved
            if self.store is not None and self.store.current_version() != version:
                self._publish(version)
            set_current(self.model_dir, version)
        swapping = time.perf_counter()
        self.holder.set(recommender)
        swapped = time.perf_counter()
        if self.events is not None:  # events stored while it was being built
            recommender.catch_up(self.events)
        swap = Swap(
            version=version,
            previous=previous,
            load_seconds=loaded - started,
            serve_seconds=built - loaded,
            swap_seconds=swapped - swapping,
        )
        log.info(
            "serving model %s (was %s): load and verify %.3f s, serve %.3f s, swap %.1f µs",
            version,
            previous,
            swap.load_seconds,
            swap.serve_seconds,
            swap.swap_seconds * 1e6,
        )
        return swap
