"""The published spec states what the server checks (schemathesis checks the rest: test_fuzz)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from recommender.api.schemas import INT64_MAX, INT64_MIN, latest_event_time


def _schema(client: TestClient, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = client.get("/openapi.json").json()["components"]["schemas"][name]
    return schema


def test_id_bounds_are_the_exact_int64_bounds(client: TestClient) -> None:
    text = client.get("/openapi.json").text
    assert "e+18" not in text  # 2**63 - 1 once came out as the float 2**63
    user_id = _schema(client, "SingleUserRequest")["properties"]["user_id"]
    assert (user_id["minimum"], user_id["maximum"]) == (INT64_MIN, INT64_MAX)
    n = _schema(client, "SingleUserRequest")["properties"]["n"]
    assert (type(n["minimum"]), n["maximum"]) == (int, 100)


def test_event_time_declares_null_and_its_range(client: TestClient) -> None:
    branches = _schema(client, "EventIn")["properties"]["timestamp"]["anyOf"]
    string, number, null = branches
    latest = latest_event_time()
    assert null == {"type": "null"}
    assert (number["minimum"], number["maximum"]) == (0, latest.timestamp())
    assert string["formatMinimum"] == "1970-01-01T00:00:00Z"
    assert datetime.fromisoformat(string["formatMaximum"]) == latest


def test_event_times_at_the_published_bounds_are_accepted_and_past_them_refused(
    client: TestClient,
) -> None:
    latest = latest_event_time().timestamp()

    def post(when: object) -> int:
        event = {"user_id": 1, "job_id": 2, "type": "redirect", "timestamp": when}
        return client.post("/events/", json={"events": [event]}).status_code

    assert [post(t) for t in (0, latest, None, "1970-01-01T00:00:00Z")] == [200] * 4
    assert [post(t) for t in (-1, latest + 1)] == [422, 422]


def test_the_latest_event_time_is_the_end_of_tomorrow_in_utc() -> None:
    now = datetime(2026, 3, 31, 23, 59, tzinfo=UTC)
    assert latest_event_time(now) == datetime(2026, 4, 2, tzinfo=UTC)
