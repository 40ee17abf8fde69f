"""The default event store: one SQLite file in WAL mode, every append fsynced before it returns."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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


class SQLiteEventStore(EventStore):
    """Events in the SQLite file at ``path`` (created with its directory when missing).

    WAL journaling with ``synchronous=FULL`` means a committed append survives SIGKILL and power
    loss. ``timestamp`` is stored as epoch microseconds; ``event_id`` is UNIQUE, so a retried
    event is stored once. One connection, guarded by a lock, serves every thread: SQLite takes
    one writer at a time anyway.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
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
        with self._locked("append") as conn:
            before = conn.total_changes
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(_INSERT, rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            accepted = conn.total_changes - before
        return AppendResult(accepted=accepted, duplicates=len(rows) - accepted)

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
