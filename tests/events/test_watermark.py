"""The watermark a bundle records is a store's identity plus an event id: a store replaced or
reset (its ids start again at 1) holds none of the model's events."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from recommender.api import create_app
from recommender.bundle.directory import current_version
from recommender.events import Event, SQLiteEventStore
from recommender.events.fresh import FreshEvents
from recommender.settings import Settings
from recommender.training.run import train_directory
from tests.conftest import WriteJsonl, block_activities, tiny_settings

SINGLE = "/recommend/jobs_single_user/"
NEW_USER = 7777


def _trained_on_500_events(tmp_path: Path, jsonl: WriteJsonl) -> Settings:
    settings = tiny_settings(tmp_path)
    jsonl(settings.data_dir / "activities.jsonl", block_activities())
    store = SQLiteEventStore(settings.events_file)
    store.append([Event(100 + i % 12, 1000 + i % 10, "impression") for i in range(500)])
    train_directory(settings, events=store)
    store.close()
    return settings


def _post(client: TestClient, *events: dict[str, Any]) -> None:
    answer = client.post("/events/", json={"events": list(events)})
    assert answer.status_code == 200, answer.text


def _list_of_new_user(settings: Settings) -> dict[str, Any]:
    with TestClient(create_app(settings)) as client:
        _post(
            client,
            {"user_id": NEW_USER, "job_id": 1001, "type": "redirect"},
            {"user_id": NEW_USER, "job_id": 1002, "type": "impression"},
        )
        body: dict[str, Any] = client.post(SINGLE, json={"user_id": NEW_USER, "n": 3}).json()
    return body


def test_the_bundle_records_the_store_it_was_trained_on(tmp_path: Path, jsonl: WriteJsonl) -> None:
    settings = _trained_on_500_events(tmp_path, jsonl)
    version = current_version(settings.model_dir)
    data = json.loads((settings.model_dir / version / "manifest.json").read_text())["data"]
    store = SQLiteEventStore(settings.events_file)
    assert data["events_through"] == 500
    assert data["events_store"] == store.identity
    store.close()


@pytest.mark.parametrize("how", ["moved aside", "emptied to 0 bytes"])
def test_a_replaced_store_s_first_events_are_not_taken_as_trained_on(
    tmp_path: Path, jsonl: WriteJsonl, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    settings = _trained_on_500_events(tmp_path, jsonl)
    if how == "moved aside":
        settings.events_file.rename(settings.events_file.with_suffix(".old"))
    else:
        settings.events_file.write_bytes(b"")

    with caplog.at_level(logging.WARNING, logger="recommender.events.fresh"):
        body = _list_of_new_user(settings)

    assert body["source"] == "recalculated"
    assert 1001 not in [j["job_id"] for j in body["jobs"]]  # redirected to: excluded
    warned = [r for r in caplog.records if "none of its events are in the model" in r.message]
    assert len(warned) == 1


def test_the_same_store_keeps_its_watermark(tmp_path: Path, jsonl: WriteJsonl) -> None:
    settings = _trained_on_500_events(tmp_path, jsonl)
    store = SQLiteEventStore(settings.events_file)
    store.append([Event(NEW_USER, 1001, "redirect")])
    fresh = FreshEvents(500, store.identity)
    assert fresh.catch_up(store) == 1 and fresh.through == 501
    store.close()


def test_a_store_restored_to_fewer_events_takes_its_new_ones(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    store.append([Event(1, 1000, "impression") for _ in range(3)])
    fresh = FreshEvents(500, store.identity)  # trained on 500 events the backup lacks
    fresh.catch_up(store)
    store.append([Event(NEW_USER, 1001, "redirect")])
    fresh.catch_up(store)
    got = fresh.get(NEW_USER)
    assert got is not None and got.redirects.tolist() == [1.0]
    store.close()


def test_an_old_bundle_without_a_store_identity_is_served_as_before_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    store.append([Event(1, 1000, "impression"), Event(2, 1000, "impression")])
    fresh = FreshEvents(1)  # events_through 1, no events_store: a bundle from before
    with caplog.at_level(logging.WARNING, logger="recommender.events.fresh"):
        assert fresh.catch_up(store) == 1
        fresh.catch_up(store)
    assert fresh.get(1) is None and fresh.get(2) is not None
    assert sum("does not record which event store" in r.message for r in caplog.records) == 1
    store.close()
