"""What the API says of an event store in trouble, and who may post events."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from recommender.api import create_app
from recommender.bundle.files import write_bundle
from recommender.bundle.trained import TrainedModel
from recommender.events import Event, SQLiteEventStore
from recommender.recommender import Recommender
from tests.conftest import tiny_settings
from tests.events.test_store import corrupt_event_id_index

EVENTS = "/events/"
ONE = {"events": [{"user_id": 1, "job_id": 1000, "type": "impression"}]}


def test_ready_is_503_with_the_reason_when_the_store_cannot_append(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    settings = tiny_settings(tmp_path)
    store = SQLiteEventStore(settings.events_file)
    store.append([Event(1, 1000, "impression")])
    store.close()
    corrupt_event_id_index(settings.events_file)

    with TestClient(create_app(settings, Recommender(tiny_trained))) as client:
        ready = client.get("/ready")
        posted = client.post(EVENTS, json=ONE)

    assert ready.status_code == 503
    assert "events.sqlite3 cannot append" in ready.json()["detail"]
    assert str(settings.events_file) not in ready.json()["detail"]  # no server path to clients
    assert "cannot append" in ready.json()["detail"]
    assert posted.status_code == 503


def test_ready_stays_200_with_a_healthy_store(client: TestClient) -> None:
    assert client.post(EVENTS, json=ONE).status_code == 200
    assert client.get("/ready").status_code == 200


def test_a_malformed_row_neither_stops_start_up_nor_goes_unreported(
    tmp_path: Path, tiny_trained: TrainedModel, caplog: pytest.LogCaptureFixture
) -> None:
    settings = tiny_settings(tmp_path)
    write_bundle(tiny_trained, settings.model_dir)  # start-up loads it and reads the store
    SQLiteEventStore(settings.events_file).close()
    conn = sqlite3.connect(settings.events_file)
    conn.execute(
        "INSERT INTO events (user_id, job_id, type, timestamp) VALUES ('mallory', 1000, "
        "'redirect', 1)"
    )
    conn.commit()
    conn.close()

    with (
        caplog.at_level(logging.ERROR, logger="recommender.events.sqlite"),
        TestClient(create_app(settings)) as client,
    ):
        ready = client.get("/ready")
        stats = client.get("/events/stats").json()

    assert ready.status_code == 200
    assert stats["malformed_rows"] == 1 and stats["total"] == 1
    named = [r.message for r in caplog.records if "malformed" in r.message]
    assert named and str(settings.events_file) in named[0] and "row id 1" in named[0]


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"X-Events-Key": "wrong"}, 401), ({"X-Events-Key": "ingest"}, 200)],
    ids=["missing", "wrong", "right"],
)
def test_an_events_key_guards_post_events(
    tmp_path: Path, tiny_trained: TrainedModel, headers: dict[str, str], status: int
) -> None:
    settings = tiny_settings(tmp_path).model_copy(
        update={"events_key": SecretStr("ingest"), "admin_api_key": SecretStr("admin")}
    )
    with TestClient(create_app(settings, Recommender(tiny_trained))) as client:
        answer = client.post(EVENTS, json=ONE, headers=headers)
        admin_key = client.post(EVENTS, json=ONE, headers={"X-API-Key": "admin"})
    assert answer.status_code == status, answer.text
    assert admin_key.status_code == 401  # the admin key is not the ingestion key
    if status == 401:
        assert "X-Events-Key" in answer.json()["detail"]


def test_the_events_key_is_in_the_openapi_document(client: TestClient) -> None:
    spec: dict[str, Any] = client.get("/openapi.json").json()
    scheme = spec["components"]["securitySchemes"]["EventsKey"]
    assert scheme["name"] == "X-Events-Key" and scheme["in"] == "header"
    operation = spec["paths"]["/events/"]["post"]
    assert {"EventsKey": []} in operation["security"]
    assert "401" in operation["responses"]
