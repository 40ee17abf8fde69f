"""The default event store: one SQLite file in WAL mode, every append fsynced before it returns."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from recommender.errors import EventStoreError
from recommender.events.store import (
    AppendResult,
    Event,
    EventRows,
    EventStats,
    EventStore,
    Listing,
    from_micros,
    to_micros,
)

log = logging.getLogger(__name__)

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
# the store's identity, written once when the store is created (see EventStore.identity)
_META = "CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
# job postings taken by the API, every version kept (the newest per job_id wins)
_LISTINGS = """
CREATE TABLE IF NOT EXISTS listings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL,
    record TEXT NOT NULL,
    stored INTEGER NOT NULL
)
"""
# a user's events, for FreshEvents to reload a user it evicted from memory
_USER_INDEX = "CREATE INDEX IF NOT EXISTS events_by_user ON events (user_id, id)"
# counts by type kept in each append's own transaction (one aggregate over the rows it added,
# from ``counted_through`` on), so stats() reads two rows and a usually empty tail instead of
# scanning the table (a scan of 3M events took ~1 s, with every append waiting). A per-row
# trigger did the same at a quarter of the append throughput.
_COUNTS = (
    "CREATE TABLE event_counts (type TEXT PRIMARY KEY, events INTEGER NOT NULL, newest INTEGER)",
    "INSERT INTO event_counts VALUES ('impression', 0, NULL), ('redirect', 0, NULL)",
    "INSERT OR REPLACE INTO store_meta VALUES ('counted_through', '0')",
)
_NEWEST = "MAX(CASE WHEN typeof(timestamp) = 'integer' THEN timestamp END)"
_THROUGH = "(SELECT CAST(value AS INTEGER) FROM store_meta WHERE key = 'counted_through')"
# the counts plus the rows no append has counted yet (another writer's), in one snapshot
_STATS = f"""
SELECT type, SUM(n), MAX(m) FROM (
    SELECT type, events AS n, newest AS m FROM event_counts
    UNION ALL
    SELECT type, COUNT(*), {_NEWEST} FROM events WHERE id > {_THROUGH} GROUP BY type
) GROUP BY type
"""
_UNCOUNTED = f"SELECT type, COUNT(*), {_NEWEST}, MAX(id) FROM events WHERE id > ? GROUP BY type"
_WELL_FORMED = (
    "typeof(user_id) = 'integer' AND typeof(job_id) = 'integer' AND typeof(timestamp) = 'integer'"
)
_COLUMNS = f"id, user_id, job_id, type = 'redirect', timestamp, {_WELL_FORMED}"
_PROBE_SECONDS = 5.0
"""How long the outcome of an append (or of a probe) answers :meth:`check_writable`."""
_REPORTED = 100
"""Malformed rows named in the log, each once; more are only counted."""
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
    event is stored once. Appends go through one connection, guarded by a lock (SQLite takes one
    writer at a time anyway); reads go through a second one, which WAL lets read while an append
    commits, so a read never waits for an append nor an append for a read. Counts by type are
    kept in each append's own transaction: :meth:`stats` reads two rows.

    Appends that arrive while another is committing are committed together in the next
    transaction (group commit), so concurrent single-event requests share one fsync instead of
    queueing for one each; each still returns only once its own events are durable.

    The first open of a store written by an earlier version adds what it lacks (an identity,
    the counts, an index by user) in one transaction; on a large store that takes seconds once.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._malformed: set[int] = set()
        self._outcome: tuple[float, str | None] = (0.0, None)  # (when, why appends fail)
        self._conn = self._connect()
        try:
            self._identity = self._prepare(self._conn)
            self._reader = self._connect()
        except BaseException:
            self._conn.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
        except (OSError, sqlite3.Error) as exc:
            raise EventStoreError(f"cannot open the event store {self.path}: {exc}") from exc
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise EventStoreError(
                    f"the event store {self.path} cannot use WAL mode (journal_mode is {mode!r})"
                )
            conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            conn.close()
            raise EventStoreError(f"cannot open the event store {self.path}: {exc}") from exc
        except EventStoreError:
            conn.close()
            raise
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> str:
        """Create what the store lacks, in one transaction (several processes may open it at
        once); the store's identity."""
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(_SCHEMA)
                conn.execute(_META)
                conn.execute(
                    "INSERT OR IGNORE INTO store_meta VALUES ('identity', ?)", (str(uuid.uuid4()),)
                )
                identity = conn.execute(
                    "SELECT value FROM store_meta WHERE key = 'identity'"
                ).fetchone()[0]
                conn.execute(_USER_INDEX)
                conn.execute(_LISTINGS)
                counted = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'event_counts'"
                ).fetchone()
                if counted is None:
                    for statement in _COUNTS:
                        conn.execute(statement)
                    _count_new_rows(conn)
                elif conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'events_counted'"
                ).fetchone():  # counted by triggers up to now: exact through the newest row
                    conn.execute("DROP TRIGGER events_counted")
                    conn.execute("DROP TRIGGER IF EXISTS events_uncounted")
                    conn.execute(
                        "INSERT OR REPLACE INTO store_meta VALUES ('counted_through', "
                        "(SELECT coalesce(MAX(id), 0) FROM events))"
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise EventStoreError(f"cannot open the event store {self.path}: {exc}") from exc
        return str(identity)

    @property
    def identity(self) -> str:
        """The UUID written when this file was made a store (kept in its ``store_meta``)."""
        return self._identity

    @property
    def where(self) -> str:
        """The store's file."""
        return str(self.path)

    @contextmanager
    def _reading(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._read_lock:
            try:
                yield self._reader
            except sqlite3.Error as exc:
                raise self._failed(doing, exc) from exc

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
        Called with the connection lock held. Whether appends work is remembered for
        :meth:`check_writable` (an append refused for its own rows says nothing of the store).
        """
        conn = self._conn
        failure: str | None = None
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for item in group:
                    conn.execute("SAVEPOINT one_append")
                    try:
                        # rowcount: the rows this insert stored
                        inserted = conn.executemany(_INSERT, item.rows).rowcount
                    except sqlite3.Error as exc:
                        conn.execute("ROLLBACK TO one_append")
                        item.error = self._failed("append", exc)
                        if not isinstance(exc, sqlite3.IntegrityError):
                            failure = str(exc)
                    else:
                        item.accepted = inserted
                    conn.execute("RELEASE one_append")
                _count_new_rows(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            failure = str(exc)
            for item in group:
                item.error = item.error or self._failed("append", exc)
        finally:
            for item in group:
                if item.error is None and item.accepted < 0:
                    item.error = EventStoreError(f"event store {self.path}: append interrupted")
                item.done = True
            self._outcome = (time.monotonic(), failure)

    def put_listings(self, records: Sequence[Mapping[str, Any]]) -> int:
        """Store job-posting versions in one transaction (fsynced); the ``seq`` of the last."""
        stored = to_micros(datetime.now(UTC))
        rows = [(int(r["job_id"]), json.dumps(r, separators=(",", ":")), stored) for r in records]
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(
                        "INSERT INTO listings (job_id, record, stored) VALUES (?, ?, ?)", rows
                    )
                    (last,) = conn.execute("SELECT coalesce(MAX(seq), 0) FROM listings").fetchone()
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise self._failed("storing job postings", exc) from exc
        return int(last)

    def listings_since(self, after: int = 0) -> list[Listing]:
        """Every job-posting version stored after ``seq`` ``after``, oldest first."""
        with self._reading("read job postings") as conn:
            rows = conn.execute(
                "SELECT seq, record FROM listings WHERE seq > ? ORDER BY seq", (after,)
            ).fetchall()
        return [Listing(int(seq), json.loads(record)) for seq, record in rows]

    def _failed(self, doing: str, exc: sqlite3.Error) -> EventStoreError:
        return EventStoreError(f"event store {self.path}: {doing} failed: {exc}")

    def check_writable(self) -> None:
        """Raise when appends fail: what the last append (or probe) in the last few seconds
        found, else a probe now (an event inserted and rolled back: it touches the pages an
        append touches, and nothing is written)."""
        when, failure = self._outcome
        if time.monotonic() - when > _PROBE_SECONDS:
            failure = self._probe()
        if failure is not None:
            raise EventStoreError(f"the event store {self.path} cannot append: {failure}")

    def _probe(self) -> str | None:
        with self._lock:
            conn = self._conn
            failure: str | None = None
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute(_INSERT, (0, 0, "impression", 0, None))
                finally:
                    conn.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):  # another writer: not a failure
                    return self._outcome[1]
                failure = str(exc)
            except sqlite3.Error as exc:
                failure = str(exc)
            self._outcome = (time.monotonic(), failure)
            return failure

    def stats(self) -> EventStats:
        """Counts by type and the newest event time (two counted rows and the rows added since
        by another writer, if any: no scan of the table)."""
        with self._reading("stats") as conn:
            rows = conn.execute(_STATS).fetchall()
        stats = EventStats()
        newest: int | None = None
        for kind, count, latest in rows:
            stats.by_type[kind] = int(count)
            if latest is not None:
                newest = latest if newest is None else max(newest, latest)
        return EventStats(
            stats.by_type, None if newest is None else from_micros(newest), len(self._malformed)
        )

    def last_id(self) -> int:
        """The id of the newest stored event (0: none)."""
        with self._reading("read") as conn:
            (last,) = conn.execute("SELECT coalesce(MAX(id), 0) FROM events").fetchone()
        return int(last)

    def since(self, after: int = 0) -> EventRows:
        """Every event stored after id ``after``, in arrival order (malformed rows left out,
        named in the log)."""
        with self._reading("read") as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM events WHERE id > ? ORDER BY id", (after,)
            ).fetchall()
        return self._rows(after, rows)

    def user_since(self, user_id: int, after: int, through: int) -> EventRows:
        """The user's events with ids in ``(after, through]``, by the index on users."""
        with self._reading("read") as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM events WHERE user_id = ? AND id > ? AND id <= ? "
                "ORDER BY id",
                (user_id, after, through),
            ).fetchall()
        return self._rows(after, rows)

    def _rows(self, after: int, rows: list[tuple[object, ...]]) -> EventRows:
        try:
            columns = np.array(rows, dtype=np.int64).reshape(-1, 6).T
        except (ValueError, TypeError, OverflowError):  # a text value SQLite's affinity kept
            columns = np.array([r for r in rows if r[5]], dtype=np.int64).reshape(-1, 6).T
            self._report([r for r in rows if not r[5]])
        else:
            if not columns[5].all():  # a real number where an integer belongs
                self._report([rows[i] for i in np.flatnonzero(columns[5] == 0).tolist()])
                columns = columns[:, columns[5] != 0]
        return EventRows(
            after=after,
            ids=columns[0].copy(),
            user_ids=columns[1].copy(),
            job_ids=columns[2].copy(),
            is_redirect=columns[3].astype(bool),
            timestamps=columns[4].copy(),
        )

    def _report(self, bad: list[tuple[object, ...]]) -> None:
        """Log each malformed row once, naming the file, the row id and the offending values."""
        for row in bad:
            row_id = int(str(row[0]))
            if row_id in self._malformed:
                continue
            self._malformed.add(row_id)
            if len(self._malformed) > _REPORTED:
                continue
            wrong = ", ".join(
                f"{name} {value!r} ({type(value).__name__}, not an integer)"
                for name, value in zip(("user_id", "job_id"), row[1:3], strict=True)
                if not isinstance(value, int)
            )
            if not isinstance(row[4], int):
                wrong = ", ".join(filter(None, (wrong, f"timestamp {row[4]!r}, not an integer")))
            log.error(
                "event store %s: row id %d is malformed (%s): left out of every read",
                self.path,
                row_id,
                wrong,
            )

    def close(self) -> None:
        """Close both connections."""
        with self._lock, self._read_lock:
            self._conn.close()
            self._reader.close()


def _count_new_rows(conn: sqlite3.Connection) -> None:
    """Add the rows stored after ``counted_through`` to the counts, and move it to the newest
    row: inside the caller's write transaction, so counts and rows commit together."""
    (through,) = conn.execute(f"SELECT coalesce({_THROUGH}, 0)").fetchone()
    newest_id = int(through)
    for kind, count, latest, last in conn.execute(_UNCOUNTED, (through,)).fetchall():
        conn.execute(
            "UPDATE event_counts SET events = events + ?, "
            "newest = max(coalesce(newest, ?), coalesce(?, newest)) WHERE type = ?",
            (count, latest, latest, kind),
        )
        newest_id = max(newest_id, int(last))
    conn.execute(
        "INSERT OR REPLACE INTO store_meta VALUES ('counted_through', ?)", (str(newest_id),)
    )
