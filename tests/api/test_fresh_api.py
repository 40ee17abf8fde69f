"""POST /events takes effect on the next request; ``explain`` over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from recommender.api import create_app
from recommender.data.activities import ActivityLines
from recommender.data.catalogue import Catalogue
from recommender.data.dataset import Dataset
from recommender.errors import EventStoreError
from recommender.recommender import Recommender
from recommender.settings import Settings
from recommender.training.fit import train
from tests.conftest import activities_frame, block_activities, tiny_settings

SINGLE = "/recommend/jobs_single_user/"


def _post_events(client: TestClient, *events: dict[str, Any]) -> None:
    response = client.post("/events/", json={"events": list(events)})
    assert response.status_code == 200, response.text


def test_posted_events_change_the_next_answer(client: TestClient) -> None:
    assert client.post(SINGLE, json={"user_id": 7777, "n": 3}).json()["source"] == "popular"
    _post_events(
        client,
        {"user_id": 7777, "job_id": 1005, "type": "redirect"},
        {"user_id": 100, "job_id": 1000, "type": "redirect"},
    )
    new = client.post(SINGLE, json={"user_id": 7777, "n": 3}).json()
    assert new["source"] == "recalculated"
    assert {j["job_id"] for j in new["jobs"]} <= set(range(1006, 1010))
    known = client.post(SINGLE, json={"user_id": 100, "n": 3}).json()
    assert known["source"] == "recalculated"
    assert 1000 not in [j["job_id"] for j in known["jobs"]]
    batch = client.post(
        "/recommend/jobs_multiple_users/", json={"user_ids": [7777, 101], "n": 2}
    ).json()
    assert [j["job_id"] for j in batch["7777"]] == [j["job_id"] for j in new["jobs"][:2]]


def test_explain_adds_past_jobs_with_shares(client: TestClient) -> None:
    body = client.post(SINGLE, json={"user_id": 100, "n": 2, "explain": True}).json()
    for job in body["jobs"]:
        parts = job["explanation"]
        assert 1 <= len(parts) <= 5
        assert {p["job_id"] for p in parts} <= {1001, 1002, 1003, 1004}
        assert all(isinstance(p["share"], float) for p in parts)
    plain = client.post(SINGLE, json={"user_id": 100, "n": 2}).json()
    assert "explanation" not in plain["jobs"][0]
    popular = client.post(SINGLE, json={"user_id": 999_999, "n": 2, "explain": True}).json()
    assert [j["explanation"] for j in popular["jobs"]] == [[], []]


def test_explain_must_be_a_boolean(client: TestClient) -> None:
    response = client.post(SINGLE, json={"user_id": 100, "explain": "yes"})
    assert response.status_code == 422
    assert "explain" in response.text


def test_explain_with_a_model_that_has_none_is_a_clear_422(tmp_path: Path) -> None:
    settings = Settings(**{**tiny_settings(tmp_path).model_dump(), "model": "itemknn"})
    trained = train(
        Dataset(ActivityLines.unweighted(activities_frame(block_activities())), Catalogue(), ()),
        settings,
    )
    with TestClient(create_app(settings, Recommender(trained))) as client:
        response = client.post(SINGLE, json={"user_id": 100, "explain": True})
    assert response.status_code == 422
    assert "only als" in response.json()["detail"]


def test_event_times_out_of_range_are_refused_and_stats_stay_readable(client: TestClient) -> None:
    for when in ("9999-12-31T23:59:59-14:00", "1969-12-31T23:59:59Z", 4e9):
        response = client.post(
            "/events/",
            json={"events": [{"user_id": 1, "job_id": 2, "type": "redirect", "timestamp": when}]},
        )
        assert response.status_code == 422, when
        assert "event time must lie between 1970-01-01" in response.text
    assert client.get("/events/stats").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_events_committed_are_acknowledged_even_if_reading_them_back_fails(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Recommender, events: object) -> int:
        raise EventStoreError("disk I/O error")

    monkeypatch.setattr(Recommender, "catch_up", broken)
    response = client.post(
        "/events/", json={"events": [{"user_id": 1, "job_id": 2, "type": "redirect"}]}
    )
    assert response.status_code == 200
    assert client.get("/events/stats").json()["total"] == 1


def test_storage_and_engine_errors_are_503() -> None:
    from recommender.api.errors import status_for
    from recommender.errors import EngineUnavailableError, StorageError

    assert status_for(StorageError("s3://b: down")) == 503
    assert status_for(EngineUnavailableError("no pyspark")) == 503
