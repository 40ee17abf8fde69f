from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from recommender.api import create_app
from recommender.bundle.trained import TrainedModel
from recommender.errors import EventStoreError
from recommender.events import SQLiteEventStore
from recommender.recommender import Recommender
from recommender.settings import Settings
from tests.conftest import tiny_settings

EVENTS = "/events/"
STATS = "/events/stats"


def _event(**fields: Any) -> dict[str, Any]:
    return {"user_id": 1, "job_id": 10, "type": "impression"} | fields


def test_events_are_committed_to_the_data_dir_store(client: TestClient, tmp_path: Path) -> None:
    r = client.post(EVENTS, json={"events": [_event(), _event(type="redirect")]})
    assert r.status_code == 200
    assert r.json() == {"accepted": 2, "duplicates": 0}
    store = SQLiteEventStore(tmp_path / "data" / "events.sqlite3")
    assert store.read()["is_redirect"].to_list() == [False, True]
    store.close()


def test_retry_with_event_ids_counts_duplicates(client: TestClient) -> None:
    batch = {"events": [_event(event_id="a"), _event(event_id="b")]}
    assert client.post(EVENTS, json=batch).json() == {"accepted": 2, "duplicates": 0}
    batch["events"].append(_event(event_id="c"))
    assert client.post(EVENTS, json=batch).json() == {"accepted": 1, "duplicates": 2}
    assert client.get(STATS).json()["total"] == 3


@pytest.mark.parametrize("path", [EVENTS, EVENTS.rstrip("/")], ids=["slash", "no-slash"])
def test_path_with_and_without_trailing_slash(client: TestClient, path: str) -> None:
    r = client.post(path, json={"events": [_event()]}, follow_redirects=False)
    assert r.status_code == 200


@pytest.mark.parametrize(("count", "status"), [(1, 200), (10_000, 200), (0, 422), (10_001, 422)])
def test_batch_size_bounds(client: TestClient, count: int, status: int) -> None:
    events = [_event(user_id=i, event_id=f"e{i}") for i in range(count)]
    r = client.post(EVENTS, json={"events": events})
    assert r.status_code == status
    if status == 200:
        assert r.json() == {"accepted": count, "duplicates": 0}
        assert client.get(STATS).json()["total"] == count
    else:
        assert r.json()["detail"][0]["loc"] == ["body", "events"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user_id", "1"),
        ("user_id", 1.5),
        ("user_id", True),
        ("job_id", 2**63),
        ("job_id", None),
        ("type", "click"),
        ("type", 1),
        ("timestamp", "yesterday"),
        ("timestamp", True),
        ("timestamp", 1e300),
        ("event_id", ""),
        ("event_id", "x" * 129),
        ("event_id", 7),
    ],
    ids=repr,
)
def test_a_bad_field_is_422_naming_index_and_field(
    client: TestClient, field: str, value: Any
) -> None:
    events = [_event(), _event(**{field: value})]
    r = client.post(EVENTS, json={"events": events})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][:4] == ["body", "events", 1, field]
    assert client.get(STATS).json()["total"] == 0  # nothing of a refused request is stored


def test_a_missing_field_is_422(client: TestClient) -> None:
    r = client.post(EVENTS, json={"events": [{"user_id": 1, "type": "impression"}]})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "events", 0, "job_id"]


def test_unknown_fields_are_ignored(client: TestClient) -> None:
    r = client.post(EVENTS, json={"events": [_event(source="app", extra={"a": 1})], "x": 1})
    assert r.json() == {"accepted": 1, "duplicates": 0}


@pytest.mark.parametrize(
    "timestamp",
    [
        "2024-05-01T12:00:00Z",
        "2024-05-01T14:00:00+02:00",
        "2024-05-01T12:00:00",
        1714564800,
        1714564800.0,
    ],
    ids=["iso-z", "iso-offset", "iso-naive", "epoch-int", "epoch-float"],
)
def test_timestamps_iso_and_epoch(client: TestClient, timestamp: Any) -> None:
    assert client.post(EVENTS, json={"events": [_event(timestamp=timestamp)]}).status_code == 200
    assert client.get(STATS).json()["newest"] == "2024-05-01T12:00:00Z"


def test_stats(client: TestClient) -> None:
    assert client.get(STATS).json() == {
        "total": 0,
        "by_type": {"impression": 0, "redirect": 0},
        "newest": None,
        "malformed_rows": 0,
    }
    events = [
        _event(timestamp=1714564800),
        _event(timestamp=1714564801.25, type="redirect"),
        _event(timestamp=1714564700),
    ]
    client.post(EVENTS, json={"events": events})
    assert client.get(STATS).json() == {
        "total": 3,
        "by_type": {"impression": 2, "redirect": 1},
        "newest": "2024-05-01T12:00:01.250000Z",
        "malformed_rows": 0,
    }


def test_a_store_failure_is_503(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    app = create_app(tiny_settings(tmp_path), Recommender(tiny_trained), events=store)
    with TestClient(app, raise_server_exceptions=False) as client:
        store.close()
        r = client.post(EVENTS, json={"events": [_event()]})
        assert r.status_code == 503
        assert "append failed" in r.json()["detail"]
        assert client.get(STATS).status_code == 503


def test_an_unopenable_store_fails_start_up(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    (tmp_path / "blocker").write_text("")
    settings = tiny_settings(tmp_path).model_copy(
        update={"events_path": tmp_path / "blocker" / "events.sqlite3"}
    )
    app = create_app(settings, Recommender(tiny_trained))
    with pytest.raises(EventStoreError, match="blocker"), TestClient(app):
        pass


def test_without_start_up_the_store_is_not_open(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    client = TestClient(create_app(tiny_settings(tmp_path), Recommender(tiny_trained)))
    assert client.post(EVENTS, json={"events": [_event()]}).status_code == 503


def test_events_path_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(data_dir=tmp_path).events_file == tmp_path / "events.sqlite3"
    monkeypatch.setenv("RECOMMENDER_EVENTS_PATH", str(tmp_path / "x.db"))
    assert Settings().events_file == tmp_path / "x.db"
