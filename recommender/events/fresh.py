"""Events newer than the model, per user: what a request recalculates a user's factors from.

A model is trained on an event store up to some event id: its bundle records the store's
identity and that id (``events_store``, ``events_through``). :class:`FreshEvents` keeps, in
memory, the events stored after that id, grouped by user, and catches up with the store by id,
so each event is counted exactly once however often and from however many threads it is asked
to. A store that is not the one the model was trained on (replaced, reset, recreated: its ids
start again at 1) holds none of the model's events, so all of its events are fresh. The next
model trained on the store makes them old news.

Memory is a cache: the events are durable in the store. Users past the byte budget are evicted,
least recently used first, and reloaded from the store (by the store's index on users) when
asked for again; a fixed bitmap remembers who may have been evicted, so a user with no events
never costs a store read.

Redirects are also kept by job (:meth:`FreshEvents.redirected_to`: who was redirected to a job
since the model, for its audience), 16 bytes per new (user, job) pair with a redirect, outside
the budget and never evicted: redirects are the rare event, and the next model takes them in.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.errors import EventStoreError
from recommender.events.store import EventRows, EventStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UserEvents:
    """One user's events newer than the model, counted per job (so memory grows with the jobs a
    user touched, not with every event): ``job_ids`` sorted, unique."""

    job_ids: NDArray[np.int64]
    impressions: NDArray[np.float64]
    redirects: NDArray[np.float64]

    @classmethod
    def count(cls, job_ids: NDArray[np.int64], is_redirect: NDArray[np.bool_]) -> UserEvents:
        """The counts of a sequence of events."""
        jobs, inverse = np.unique(job_ids, return_inverse=True)
        return cls(
            jobs.astype(np.int64),
            np.bincount(inverse, weights=~is_redirect, minlength=jobs.shape[0]).astype(np.float64),
            np.bincount(inverse, weights=is_redirect, minlength=jobs.shape[0]).astype(np.float64),
        )

    def plus(self, other: UserEvents) -> UserEvents:
        """Both sets of counts, summed per job."""
        return _merged((self, other))


MAX_PIECES = 8
"""Pieces kept per user before they are merged into one."""

DEFAULT_MAX_BYTES = 128 * 2**20
"""The default budget of :class:`FreshEvents` (the ``fresh_cache_mib`` setting's default)."""

PIECE_BYTES = 760
"""What one piece costs besides its arrays' data (three arrays, the record, the user's entries in
the LRU and the size book), from RSS: 3M one-event users in posts of 10,000 (``python -m bench
--only event_store``); each job in a piece adds 24 bytes."""

EVICTED_BITS = 2**25
"""The bitmap of evicted users: 4 MiB, about 1 in 11 users with no events read from the store
needlessly after 3M users were evicted."""


class FreshEvents:
    """Events stored after event id ``through`` of the store ``store``, grouped by user id.

    Parameters
    ----------
    through:
        The last event id the model was trained on (0: none).
    store:
        The identity of the store ``through`` counts in (None: not recorded, a bundle from
        before identities; ``through`` is then trusted, as it used to be, with a warning).
    max_bytes:
        The memory the users' events may take (estimated); past it the least recently used
        users are evicted and reloaded from the store on demand.
    """

    def __init__(
        self, through: int = 0, store: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self._lock = threading.Lock()
        self._through = through
        self._trained_through = through
        self._trained_store = store
        self._checked = False
        self._store: EventStore | None = None
        self.max_bytes = max_bytes
        # each user's counts, in the pieces the batches that brought them left (merged on read;
        # at most MAX_PIECES, so a read merges a few small arrays), least recently used first
        self._by_user: OrderedDict[int, tuple[UserEvents, ...]] = OrderedDict()
        self._bytes: dict[int, int] = {}
        self._held = 0
        self._evicted: NDArray[np.uint8] | None = None  # a bit per hash slot, once one is
        self._count = 0
        # (job ids sorted, their user ids) per batch with redirects; replaced whole on update
        self._redirects: tuple[tuple[NDArray[np.int64], NDArray[np.int64]], ...] = ()

    @property
    def through(self) -> int:
        """The id of the last event taken in."""
        return self._through

    def __len__(self) -> int:
        """Events taken in (those of evicted users included)."""
        return self._count

    @property
    def users(self) -> int:
        """Users whose events are held in memory."""
        return len(self._by_user)

    @property
    def held_bytes(self) -> int:
        """The estimated memory the users' events take."""
        return self._held

    @property
    def redirect_bytes(self) -> int:
        """The memory the redirects kept by job take."""
        return sum(jobs.nbytes + users.nbytes for jobs, users in self._redirects)

    def redirected_to(self, job_ids: Sequence[int]) -> list[NDArray[np.int64]]:
        """For each job id, the ids of the users redirected to it by the events taken in
        (sorted, unique; evicted users included)."""
        pieces = self._redirects
        out: list[NDArray[np.int64]] = []
        for job in job_ids:
            found = [
                users[np.searchsorted(jobs, job, "left") : np.searchsorted(jobs, job, "right")]
                for jobs, users in pieces
            ]
            out.append(np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64))
        return out

    def get(self, user_id: int) -> UserEvents | None:
        """The user's events newer than the model, or None: a dict lookup, or a read of the
        store's index for a user evicted from memory."""
        pieces = self._by_user.get(user_id)
        if pieces is not None:
            with contextlib.suppress(KeyError):  # evicted meanwhile: the counts still hold
                self._by_user.move_to_end(user_id)
            return _merged(pieces)
        if not self._maybe_evicted(user_id):
            return None
        return self._reload(user_id)

    def may_have(self, user_id: int) -> bool:
        """Whether the user may have events newer than the model, without reading the store
        (for the event loop: true for a user held or perhaps evicted)."""
        return user_id in self._by_user or self._maybe_evicted(user_id)

    def catch_up(self, store: EventStore) -> int:
        """Take in the events stored since the last call; returns how many were new."""
        with self._lock:
            if not self._checked:
                self._check(store)
            self._store = store
            rows = store.since(self._through)
            self._add(rows)
            return len(rows)

    def add(self, rows: EventRows) -> None:
        """Take in ``rows``; those at or before :attr:`through` are ignored (already counted)."""
        with self._lock:
            self._add(rows)

    def _check(self, store: EventStore) -> None:
        """Whether the events the model was trained on are this store's, logged once: a store
        replaced or reset starts again at id 1, and its first events are not in the model."""
        self._checked = True
        through, trained = self._trained_through, self._trained_store
        if through == 0:
            return
        if trained is None:
            log.warning(
                "the model's bundle does not record which event store it was trained on (a bundle "
                "from before store identities): events after id %d of %s are taken as new, as "
                "before; if the store was replaced since, the first new events are missed until "
                "the next retrain",
                through,
                store.where,
            )
            return
        if trained != store.identity:
            log.warning(
                "the model was trained on event store %s through event %d, but %s is store %s "
                "(replaced or reset since): none of its events are in the model, all are taken "
                "as new",
                trained,
                through,
                store.where,
                store.identity,
            )
            self._through = self._trained_through = 0
            return
        last = store.last_id()
        if last < through:
            log.warning(
                "the model was trained on %s through event %d, but the store ends at %d (a "
                "backup restored?): events after %d are taken as new",
                store.where,
                through,
                last,
                last,
            )
            self._through = self._trained_through = last

    def _maybe_evicted(self, user_id: int) -> bool:
        bits = self._evicted
        if bits is None:
            return False
        slot = _slots(np.array([user_id], dtype=np.int64))[0]
        return bool(bits[slot >> 3] & (1 << (slot & 7)))

    def _reload(self, user_id: int) -> UserEvents | None:
        """Read an evicted user's events back from the store, and hold them again."""
        with self._lock:
            pieces = self._by_user.get(user_id)
            if pieces is not None:
                return _merged(pieces)
            if self._store is None:
                return None
            try:
                rows = self._store.user_since(user_id, self._trained_through, self._through)
            except EventStoreError as exc:
                log.warning("cannot reload user %d's new events: %s", user_id, exc)
                return None
            if len(rows) == 0:
                return None  # another user's slot in the bitmap
            events = UserEvents.count(rows.job_ids, rows.is_redirect)
            self._hold(user_id, (events,))
            self._evict()
            return events

    def _hold(self, user_id: int, pieces: tuple[UserEvents, ...]) -> None:
        size = sum(_size(p) for p in pieces)
        self._held += size - self._bytes.get(user_id, 0)
        self._bytes[user_id] = size
        self._by_user[user_id] = pieces  # one item assignment per user: atomic for readers
        self._by_user.move_to_end(user_id)

    def _evict(self) -> None:
        """Evict the least recently used users until the rest fit the budget."""
        if self._held <= self.max_bytes:
            return
        gone: list[int] = []
        while self._held > self.max_bytes and len(self._by_user) > 1:
            user, _ = self._by_user.popitem(last=False)
            self._held -= self._bytes.pop(user)
            gone.append(user)
        if self._evicted is None:
            self._evicted = np.zeros(EVICTED_BITS >> 3, dtype=np.uint8)
        slots = _slots(np.array(gone, dtype=np.int64))
        np.bitwise_or.at(self._evicted, slots >> 3, (1 << (slots & 7)).astype(np.uint8))

    def _keep_redirects(self, jobs: NDArray[np.int64], users: NDArray[np.int64]) -> None:
        """Add (job, user) redirect pairs to :meth:`redirected_to`'s pieces; past
        :data:`MAX_PIECES` pieces, they are merged into one (repeated pairs dropped)."""
        if jobs.shape[0] == 0:
            return
        pieces = (*self._redirects, _by_job(jobs, users))
        if len(pieces) > MAX_PIECES:
            every = np.unique(
                np.stack(
                    [np.concatenate([p[0] for p in pieces]), np.concatenate([p[1] for p in pieces])]
                ),
                axis=1,
            )
            pieces = (_by_job(every[0], every[1]),)
        self._redirects = pieces

    def _add(self, rows: EventRows) -> None:
        """Count the batch per (user, job) in one vectorised pass, then hand each user a piece
        (a user who may have been evicted is left to be reloaded whole from the store)."""
        new = rows.ids > self._through
        if not new.any():
            return
        users, jobs, redirect = rows.user_ids[new], rows.job_ids[new], rows.is_redirect[new]
        order = np.lexsort((jobs, users))
        users, jobs, redirect = users[order], jobs[order], redirect[order]
        pair = np.flatnonzero(np.r_[True, (users[1:] != users[:-1]) | (jobs[1:] != jobs[:-1])])
        redirects = np.add.reduceat(redirect.astype(np.float64), pair)
        impressions = np.diff(np.r_[pair, users.shape[0]]).astype(np.float64) - redirects
        pair_users, pair_jobs = users[pair], jobs[pair]
        self._keep_redirects(pair_jobs[redirects > 0], pair_users[redirects > 0])
        first = np.flatnonzero(np.r_[True, pair_users[1:] != pair_users[:-1]])
        last = np.r_[first[1:], pair_users.shape[0]]
        starting = pair_users[first]
        if self._evicted is not None:
            slots = _slots(starting)
            maybe = (self._evicted[slots >> 3] >> (slots & 7)) & 1
        else:
            maybe = np.zeros(starting.shape[0], dtype=np.uint8)
        by_user = self._by_user
        for user, a, b, evicted in zip(
            starting.tolist(), first.tolist(), last.tolist(), maybe.tolist(), strict=True
        ):
            before = by_user.get(user)
            if before is None and evicted:
                continue  # its earlier events are in the store only: reloaded whole on demand
            piece = UserEvents(pair_jobs[a:b], impressions[a:b], redirects[a:b])
            before = before or ()
            if len(before) >= MAX_PIECES:
                before = (_merged(before),)
            self._hold(user, (*before, piece))
        self._count += int(new.sum())
        self._through = int(rows.ids[new][-1])
        self._evict()


def _by_job(
    jobs: NDArray[np.int64], users: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    order = np.lexsort((users, jobs))
    return jobs[order], users[order]


def _size(piece: UserEvents) -> int:
    return PIECE_BYTES + 24 * int(piece.job_ids.shape[0])


def _slots(user_ids: NDArray[np.int64]) -> NDArray[np.int64]:
    """Each user's bit in the eviction bitmap (a multiplicative hash, so neighbouring ids
    spread)."""
    mixed = user_ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return (mixed >> np.uint64(64 - EVICTED_BITS.bit_length() + 1)).astype(np.int64)


def _merged(pieces: tuple[UserEvents, ...]) -> UserEvents:
    """The pieces' counts summed per job, in one pass."""
    if len(pieces) == 1:
        return pieces[0]
    jobs, inverse = np.unique(np.concatenate([p.job_ids for p in pieces]), return_inverse=True)
    size = jobs.shape[0]
    impressions = np.concatenate([p.impressions for p in pieces])
    redirects = np.concatenate([p.redirects for p in pieces])
    return UserEvents(
        jobs.astype(np.int64),
        np.bincount(inverse, weights=impressions, minlength=size).astype(np.float64),
        np.bincount(inverse, weights=redirects, minlength=size).astype(np.float64),
    )
