"""Events newer than the model, per user: what a request recalculates a user's factors from.

A model is trained on the event store up to some event id (``events_through`` in its bundle).
:class:`FreshEvents` keeps, in memory, every event stored after that id, grouped by user, and
catches up with the store by id, so each event is counted exactly once however often and from
however many threads it is asked to. The next model trained on the store makes them old news.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.events.store import EventRows, EventStore


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


class FreshEvents:
    """Events stored after event id ``through``, grouped by user id.

    Parameters
    ----------
    through:
        The last event id the model was trained on (0: none).
    """

    def __init__(self, through: int = 0) -> None:
        self._lock = threading.Lock()
        self._through = through
        # each user's counts, in the pieces the batches that brought them left (merged on read;
        # at most MAX_PIECES, so a read merges a few small arrays)
        self._by_user: dict[int, tuple[UserEvents, ...]] = {}
        self._count = 0

    @property
    def through(self) -> int:
        """The id of the last event taken in."""
        return self._through

    def __len__(self) -> int:
        """Events held."""
        return self._count

    @property
    def users(self) -> int:
        """Users with events newer than the model."""
        return len(self._by_user)

    def get(self, user_id: int) -> UserEvents | None:
        """The user's events newer than the model, or None (a dict lookup)."""
        pieces = self._by_user.get(user_id)
        if pieces is None:
            return None
        return _merged(pieces)

    def catch_up(self, store: EventStore) -> int:
        """Take in the events stored since the last call; returns how many were new."""
        with self._lock:
            rows = store.since(self._through)
            self._add(rows)
            return len(rows)

    def add(self, rows: EventRows) -> None:
        """Take in ``rows``; those at or before :attr:`through` are ignored (already counted)."""
        with self._lock:
            self._add(rows)

    def _add(self, rows: EventRows) -> None:
        """Count the batch per (user, job) in one vectorised pass, then hand each user a piece."""
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
        first = np.flatnonzero(np.r_[True, pair_users[1:] != pair_users[:-1]])
        last = np.r_[first[1:], pair_users.shape[0]]
        by_user = self._by_user  # one item assignment per user: atomic for readers
        for user, a, b in zip(
            pair_users[first].tolist(), first.tolist(), last.tolist(), strict=True
        ):
            piece = UserEvents(pair_jobs[a:b], impressions[a:b], redirects[a:b])
            before = by_user.get(user, ())
            if len(before) >= MAX_PIECES:
                before = (_merged(before),)
            by_user[user] = (*before, piece)
        self._count += int(new.sum())
        self._through = int(rows.ids[new][-1])


MAX_PIECES = 8
"""Pieces kept per user before they are merged into one."""


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
