"""The default event store: one SQLite file in WAL mode, every append fsynced before it returns."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from recommender.errors import EventStoreError
from recommender.events.store import (
    AppendResult,
    Event,
    EventRows,
    EventStats,
    EventStore,
    from_micros,
    to_micros,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    job_id INTEGER NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('impression', 'redirect')),
    timestamp INTEGER NOT NULL,
    event_id TEXT UNIQUE
)
"""
# ON CONFLICT(event_id) rather than INSERT OR IGNORE: only a repeated event_id is skipped, while
# a broken CHECK or NOT NULL still fails the whole append instead of being silently dropped
_INSERT = (
    "INSERT INTO events (user_id, job_id, type, timestamp, event_id) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING"
)


@dataclass(slots=True)
class _Pending:
    """One ``append`` waiting for the group commit that takes it."""

    rows: Sequence[tuple[int, int, str, int, str | None]]
    accepted: int = -1
    error: EventStoreError | None = None
    done: bool = False


class SQLiteEventStore(EventStore):
    """Events in the SQLite file at ``path`` (created with its directory when missing).

    WAL journaling with ``synchronous=FULL`` means a committed append survives SIGKILL and power
    loss. ``timestamp`` is stored as epoch microseconds; ``event_id`` is UNIQUE, so a retried
    event is stored once. One connection, guarded by a lock, serves every thread: SQLite takes
    one writer at a time anyway.

    Appends that arrive while another is committing are committed together in the next
    transaction (group commit), so concurrent single-event requests share one fsync instead of
    queueing for one each; each still returns only once its own events are durable.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
        except (OSError, sqlite3.Error) as exc:
            raise EventStoreError(f"cannot open the event store {self.path}: {exc}") from exc
        try:
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise EventStoreError(
                    f"the event store {self.path} cannot use WAL mode (journal_mode is {mode!r})"
                )
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(_SCHEMA)
        except sqlite3.Error as exc:
            self._conn.close()
            raise EventStoreError(f"cannot open the event store {self.path}: {exc}") from exc
        except EventStoreError:
            self._conn.close()
            raise

    @contextmanager
    def _locked(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise EventStoreError(f"event store {self.path}: {doing} failed: {exc}") from exc

    def append(self, events: Sequence[Event]) -> AppendResult:
        """Store ``events`` in one transaction; see :meth:`EventStore.append`."""
        received = to_micros(datetime.now(UTC))
        rows = [
            (
                e.user_id,
                e.job_id,
                e.type,
                received if e.timestamp is None else to_micros(e.timestamp),
                e.event_id,
            )
            for e in events
        ]
        pending = _Pending(rows)
        with self._queue_lock:
            self._queue.append(pending)
        with self._lock:
            if not pending.done:  # else a caller before us committed it with its own
                with self._queue_lock:
                    group, self._queue = self._queue, []
                self._commit(group)
        if pending.error is not None:
            raise pending.error
        return AppendResult(accepted=pending.accepted, duplicates=len(rows) - pending.accepted)

    def _commit(self, group: list[_Pending]) -> None:
        """Commit every queued append in one transaction: one fsync for all of them.

        Each append is its own savepoint, so one that fails is rolled back alone and fails alone.
        Called with the connection lock held.
        """
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for item in group:
                    conn.execute("SAVEPOINT one_append")
                    before = conn.total_changes
                    try:
                        conn.executemany(_INSERT, item.rows)
                    except sqlite3.Error as exc:
                        conn.execute("ROLLBACK TO one_append")
                        item.error = self._failed("append", exc)
                    else:
                        item.accepted = conn.total_changes - before
                    conn.execute("RELEASE one_append")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            for item in group:
                item.error = item.error or self._failed("append", exc)
        finally:
            for item in group:
                if item.error is None and item.accepted < 0:
                    item.error = EventStoreError(f"event store {self.path}: append interrupted")
                item.done = True

    def _failed(self, doing: str, exc: sqlite3.Error) -> EventStoreError:
        return EventStoreError(f"event store {self.path}: {doing} failed: {exc}")

    def stats(self) -> EventStats:
        """Counts by type and the newest event time."""
        with self._locked("stats") as conn:
            rows = conn.execute(
                "SELECT type, COUNT(*), MAX(timestamp) FROM events GROUP BY type"
            ).fetchall()
        stats = EventStats()
        newest: int | None = None
        for kind, count, latest in rows:
            stats.by_type[kind] = count
            newest = latest if newest is None else max(newest, latest)
        return EventStats(stats.by_type, None if newest is None else from_micros(newest))

    def since(self, after: int = 0) -> EventRows:
        """Every event stored after id ``after``, in arrival order."""
        with self._locked("read") as conn:
            rows = conn.execute(
                "SELECT id, user_id, job_id, type = 'redirect', timestamp FROM events "
                "WHERE id > ? ORDER BY id",
                (after,),
            ).fetchall()
        columns = np.array(rows, dtype=np.int64).reshape(-1, 5).T
        return EventRows(
            after=after,
            ids=columns[0].copy(),
            user_ids=columns[1].copy(),
            job_ids=columns[2].copy(),
            is_redirect=columns[3].astype(bool),
            timestamps=columns[4].copy(),
        )

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
