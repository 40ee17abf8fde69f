from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from recommender.errors import EventStoreError
from recommender.events import Event, SQLiteEventStore
from recommender.events.store import activity_schema, from_micros, to_micros

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteEventStore]:
    opened = SQLiteEventStore(tmp_path / "events.sqlite3")
    yield opened
    opened.close()


def test_append_stats_read_round_trip(store: SQLiteEventStore) -> None:
    result = store.append(
        [
            Event(1, 10, "impression", T0),
            Event(1, 10, "redirect", datetime(2024, 5, 1, 12, 0, 1, 500, tzinfo=UTC)),
            Event(2, 11, "impression", T0),
        ]
    )
    assert (result.accepted, result.duplicates) == (3, 0)

    stats = store.stats()
    assert stats.by_type == {"impression": 2, "redirect": 1}
    assert stats.total == 3
    assert stats.newest == datetime(2024, 5, 1, 12, 0, 1, 500, tzinfo=UTC)

    frame = store.read()
    assert frame.schema == pl.Schema(activity_schema())
    assert frame.to_dicts() == [
        {"user_id": 1, "job_id": 10, "is_redirect": False, "timestamp": T0},
        {
            "user_id": 1,
            "job_id": 10,
            "is_redirect": True,
            "timestamp": datetime(2024, 5, 1, 12, 0, 1, 500, tzinfo=UTC),
        },
        {"user_id": 2, "job_id": 11, "is_redirect": False, "timestamp": T0},
    ]


def test_empty_store(store: SQLiteEventStore) -> None:
    stats = store.stats()
    assert (stats.total, stats.by_type, stats.newest) == (0, {"impression": 0, "redirect": 0}, None)
    assert store.read().schema == pl.Schema(activity_schema())
    assert store.read().height == 0


def test_missing_timestamp_is_the_time_of_receipt(store: SQLiteEventStore) -> None:
    before = datetime.now(UTC)
    store.append([Event(1, 10, "impression")])
    after = datetime.now(UTC)
    stamp = store.read()["timestamp"][0]
    assert before.replace(microsecond=0) <= stamp <= after


def test_naive_timestamp_is_utc(store: SQLiteEventStore) -> None:
    store.append([Event(1, 10, "impression", datetime(2024, 5, 1, 12, 0))])
    assert store.read()["timestamp"][0] == T0


def test_event_id_makes_a_retry_idempotent(store: SQLiteEventStore) -> None:
    batch = [Event(1, 10, "impression", T0, "a"), Event(1, 10, "redirect", T0, "b")]
    assert store.append(batch).accepted == 2
    again = store.append([*batch, Event(1, 11, "impression", T0, "c"), Event(2, 3, "redirect")])
    assert (again.accepted, again.duplicates) == (2, 2)
    # repeated within one request too; events without an id are never duplicates
    within = store.append(
        [Event(5, 5, "impression", None, "d")] * 3 + [Event(5, 5, "impression")] * 2
    )
    assert (within.accepted, within.duplicates) == (3, 2)
    assert store.stats().total == 7


def test_a_failed_append_stores_nothing(store: SQLiteEventStore) -> None:
    bad = Event(1, 10, "click", T0)  # type: ignore[arg-type]
    with pytest.raises(EventStoreError, match="append failed"):
        store.append([Event(1, 10, "impression", T0, "x"), bad])
    assert store.stats().total == 0


def test_wal_mode_and_full_sync(store: SQLiteEventStore) -> None:
    store.append([Event(1, 10, "impression", T0)])
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_second_store_on_the_same_file_sees_the_data(tmp_path: Path) -> None:
    first = SQLiteEventStore(tmp_path / "e.sqlite3")
    first.append([Event(1, 10, "redirect", T0, "a")])
    second = SQLiteEventStore(tmp_path / "e.sqlite3")
    assert second.stats().by_type["redirect"] == 1
    assert second.append([Event(1, 10, "redirect", T0, "a")]).duplicates == 1
    second.append([Event(2, 20, "impression", T0)])
    assert first.stats().total == 2
    first.close()
    second.close()


def test_creates_the_directory(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "new" / "dir" / "events.sqlite3")
    assert store.path.is_file()
    store.close()


@pytest.mark.parametrize("make", ["under-a-file", "a-directory"], ids=str)
def test_bad_path_is_a_clear_error(tmp_path: Path, make: str) -> None:
    blocker = tmp_path / "blocker"
    if make == "under-a-file":
        blocker.write_text("not a directory")
        path = blocker / "events.sqlite3"
    else:
        blocker.mkdir()
        path = blocker
    with pytest.raises(EventStoreError, match="cannot open the event store") as info:
        SQLiteEventStore(path)
    assert str(path) in str(info.value)


def test_a_closed_store_fails_with_a_domain_error(store: SQLiteEventStore) -> None:
    store.close()
    with pytest.raises(EventStoreError, match="stats failed"):
        store.stats()


def test_since_reads_each_event_once_in_arrival_order(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "e.sqlite3")
    empty = store.since(0)
    assert len(empty) == 0 and empty.through == 0
    store.append([Event(1, 10, "impression"), Event(2, 20, "redirect")])
    first = store.since(0)
    assert first.ids.tolist() == [1, 2]
    assert first.user_ids.tolist() == [1, 2]
    assert first.is_redirect.tolist() == [False, True]
    store.append([Event(3, 30, "redirect")])
    later = store.since(first.through)
    assert later.user_ids.tolist() == [3] and later.through == 3
    assert len(store.since(later.through)) == 0 and store.since(later.through).through == 3
    store.close()


def test_concurrent_appends_are_group_committed_and_each_counted_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = SQLiteEventStore(tmp_path / "e.sqlite3")

    def post(k: int) -> tuple[int, int]:
        # every writer repeats event "shared": exactly one of them stores it
        events = [Event(k, 10, "impression", event_id=f"own-{k}"), Event(k, 11, "redirect")]
        result = store.append([*events, Event(0, 0, "redirect", event_id="shared")])
        return result.accepted, result.duplicates

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(post, range(400)))

    assert sum(a for a, _ in results) == 400 * 2 + 1
    assert sum(d for _, d in results) == 399
    assert store.stats().total == 801
    assert len(store.since(0)) == 801
    store.close()


def test_a_failing_append_fails_alone_within_a_group(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = SQLiteEventStore(tmp_path / "e.sqlite3")
    bad = Event(1, 1, "click")  # type: ignore[arg-type]  # breaks the table's CHECK

    def post(k: int) -> str:
        try:
            store.append([Event(k, 1, "impression")] + ([bad] if k % 5 == 0 else []))
        except EventStoreError as exc:
            return str(exc)
        return "ok"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(post, range(100)))

    assert outcomes.count("ok") == 80
    assert all("CHECK constraint failed" in o for o in outcomes if o != "ok")
    assert store.stats().total == 80  # the failing appends left nothing behind
    store.close()


def test_a_read_does_not_wait_for_an_append_in_progress(store: SQLiteEventStore) -> None:
    import threading

    store.append([Event(1, 10, "impression", T0)])
    committing = threading.Event()
    release = threading.Event()

    def long_append() -> None:  # holds the writer as a slow fsync would
        with store._lock:
            committing.set()
            release.wait(10)

    writer = threading.Thread(target=long_append)
    writer.start()
    committing.wait(5)
    try:
        done: list[object] = []
        reader = threading.Thread(target=lambda: done.append((store.stats(), store.since(0))))
        reader.start()
        reader.join(2)
        assert done, "stats() and since() waited for the append"
    finally:
        release.set()
        writer.join()


def test_counts_are_kept_across_connections_and_skip_duplicates(tmp_path: Path) -> None:
    one = SQLiteEventStore(tmp_path / "events.sqlite3")
    two = SQLiteEventStore(tmp_path / "events.sqlite3")  # another worker process
    one.append([Event(1, 10, "impression", T0, event_id="a")])
    two.append([Event(2, 10, "redirect", T0, event_id="b"), Event(3, 11, "impression", T0)])
    two.append([Event(1, 10, "impression", T0, event_id="a")])  # a retry: not counted
    assert one.stats().by_type == {"impression": 2, "redirect": 1}
    assert one.identity == two.identity
    one.close()
    two.close()


def test_a_store_from_before_counts_gets_them_filled_in(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, "
        "job_id INTEGER NOT NULL, type TEXT NOT NULL, timestamp INTEGER NOT NULL, "
        "event_id TEXT UNIQUE)"
    )
    conn.executemany(
        "INSERT INTO events (user_id, job_id, type, timestamp) VALUES (?, ?, ?, ?)",
        [(1, 10, "impression", 5), (1, 10, "redirect", 9), (2, 10, "impression", 7)],
    )
    conn.commit()
    conn.close()
    store = SQLiteEventStore(path)
    store.append([Event(3, 10, "redirect", T0)])
    stats = store.stats()
    assert stats.by_type == {"impression": 2, "redirect": 2} and stats.newest == T0
    assert len(store.identity) == 36 and store.last_id() == 4
    store.close()


def test_a_malformed_row_is_left_out_and_named_with_file_and_row(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "events.sqlite3"
    store = SQLiteEventStore(path)
    store.append([Event(1, 10, "impression", T0)])
    conn = sqlite3.connect(path)  # what SQLite's affinity lets another writer keep
    conn.execute(
        "INSERT INTO events (user_id, job_id, type, timestamp) VALUES ('abc', 10, 'redirect', 1)"
    )
    conn.execute(
        "INSERT INTO events (user_id, job_id, type, timestamp) VALUES (4, 2.5, 'redirect', 1)"
    )
    conn.commit()
    conn.close()
    store.append([Event(2, 11, "impression", T0)])

    with caplog.at_level(logging.ERROR, logger="recommender.events.sqlite"):
        rows = store.since(0)
        store.since(0)  # each row is named once

    assert rows.ids.tolist() == [1, 4] and rows.user_ids.tolist() == [1, 2]
    named = [r.message for r in caplog.records]
    assert len(named) == 2
    assert str(path) in named[0] and "row id 2" in named[0] and "'abc'" in named[0]
    assert "row id 3" in named[1] and "2.5" in named[1]
    assert store.stats().malformed == 2
    store.close()


def test_user_since_reads_one_user_s_events_in_a_range(store: SQLiteEventStore) -> None:
    store.append([Event(u, 10 + i, "impression", T0) for i, u in enumerate([1, 2, 1, 1, 2])])
    rows = store.user_since(1, 1, 4)
    assert rows.ids.tolist() == [3, 4] and rows.job_ids.tolist() == [12, 13]


def corrupt_event_id_index(path: Path) -> None:
    """Overwrite the page of the index on ``event_id`` with garbage: reads by id still work,
    every insert fails (a bad page where appends write)."""
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    (root,) = conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_events_1'"
    ).fetchone()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with path.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\xff" * page_size)


def test_check_writable_names_why_appends_fail(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    SQLiteEventStore(path).close()
    corrupt_event_id_index(path)
    store = SQLiteEventStore(path)
    with pytest.raises(EventStoreError, match=r"cannot append: .*malformed"):
        store.check_writable()
    with pytest.raises(EventStoreError):
        store.append([Event(1, 10, "impression", T0)])
    store.close()
    healthy = SQLiteEventStore(tmp_path / "other.sqlite3")
    healthy.check_writable()
    assert healthy.stats().total == 0  # the probe leaves nothing behind
    healthy.close()


def test_rows_another_writer_adds_are_counted_once(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    store = SQLiteEventStore(path)
    store.append([Event(1, 10, "impression", T0)])
    conn = sqlite3.connect(path)  # another writer, without this class's bookkeeping
    conn.execute(
        "INSERT INTO events (user_id, job_id, type, timestamp) VALUES (2, 10, 'redirect', ?)",
        (to_micros(T0) + 5,),
    )
    conn.commit()
    conn.close()
    assert store.stats().by_type == {"impression": 1, "redirect": 1}
    store.append([Event(3, 10, "redirect", T0)])  # counts the other writer's row into the table
    stats = store.stats()
    assert stats.by_type == {"impression": 1, "redirect": 2}
    assert stats.newest == from_micros(to_micros(T0) + 5)
    store.close()
    again = SQLiteEventStore(path)
    assert again.stats().by_type == {"impression": 1, "redirect": 2}
    again.close()


def test_a_store_counted_by_triggers_keeps_its_counts_without_them(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    store = SQLiteEventStore(path)
    store.close()
    conn = sqlite3.connect(path)  # as the build that kept counts with a per-row trigger left it
    conn.execute("DELETE FROM store_meta WHERE key = 'counted_through'")
    conn.execute(
        "CREATE TRIGGER events_counted AFTER INSERT ON events BEGIN "
        "UPDATE event_counts SET events = events + 1 WHERE type = NEW.type; END"
    )
    conn.executemany(
        "INSERT INTO events (user_id, job_id, type, timestamp) VALUES (?, 10, ?, 1)",
        [(1, "impression"), (2, "impression"), (3, "redirect")],
    )
    conn.commit()
    conn.close()
    store = SQLiteEventStore(path)
    store.append([Event(4, 10, "redirect", T0)])
    assert store.stats().by_type == {"impression": 2, "redirect": 2}
    conn = sqlite3.connect(path)
    triggers = conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    conn.close()
    assert triggers == []
    store.close()
