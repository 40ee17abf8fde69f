from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from recommender.errors import EventStoreError
from recommender.events import Event, SQLiteEventStore
from recommender.events.store import activity_schema

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
