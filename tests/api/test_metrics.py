"""GET /metrics: requests by route template and status, the model served, events stored."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from recommender.api import create_app
from recommender.bundle.trained import TrainedModel
from recommender.events import SQLiteEventStore
from recommender.recommender import Recommender
from tests.conftest import tiny_settings

SINGLE = "/recommend/jobs_single_user/"
REQUESTS = "recommender_http_requests_total"
LATENCY = "recommender_http_request_duration_seconds"


def _samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def _value(client: TestClient, name: str, **labels: str) -> float | None:
    return _samples(client).get((name, tuple(sorted(labels.items()))))


def test_metrics_are_the_prometheus_text_format(client: TestClient) -> None:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE recommender_http_requests_total counter" in r.text


def test_requests_are_counted_and_timed_by_route_template_and_status(client: TestClient) -> None:
    for _ in range(3):
        assert client.post(SINGLE, json={"user_id": 100}).status_code == 200
    client.post(SINGLE, json={"user_id": "x"})
    assert _value(client, REQUESTS, route=SINGLE, status="200") == 3
    assert _value(client, REQUESTS, route=SINGLE, status="422") == 1
    assert _value(client, LATENCY + "_count", route=SINGLE, status="200") == 3
    assert _value(client, LATENCY + "_bucket", route=SINGLE, status="200", le="+Inf") == 3
    seconds = _value(client, LATENCY + "_sum", route=SINGLE, status="200")
    assert seconds is not None
    assert 0 < seconds < 3


def test_unmatched_paths_share_one_label_and_raw_paths_never_appear(client: TestClient) -> None:
    for path in ("/nope/1", "/nope/2", "/wp-admin.php"):
        assert client.get(path).status_code == 404
    assert _value(client, REQUESTS, route="unmatched", status="404") == 3
    text = client.get("/metrics").text
    assert "/nope" not in text
    assert "wp-admin" not in text


def test_a_path_without_the_trailing_slash_is_its_own_template(client: TestClient) -> None:
    client.post(SINGLE.rstrip("/"), json={"user_id": 100})
    assert _value(client, REQUESTS, route=SINGLE.rstrip("/"), status="200") == 1


def test_the_model_served_and_its_training_time(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    tiny_trained.manifest = tiny_trained.manifest.model_copy(
        update={"version": "20260101T000000Z-abc", "train_seconds": 12.5}
    )
    app = create_app(tiny_settings(tmp_path), Recommender(tiny_trained))
    with TestClient(app) as client:
        info = _value(client, "recommender_model_info", version="20260101T000000Z-abc", model="als")
        assert info == 1
        assert _value(client, "recommender_model_train_seconds") == 12.5
        assert _value(client, "recommender_model_entities", kind="users") == 12
        assert _value(client, "recommender_model_trained_timestamp_seconds")


def test_the_version_is_read_at_scrape_time(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    app = create_app(tiny_settings(tmp_path), Recommender(tiny_trained))
    v2 = {"version": "v2"}
    with TestClient(app) as client:
        assert _value(client, "recommender_model_info", version="unsaved", model="als") == 1
        app.state.slot.set(
            Recommender(replace(tiny_trained, manifest=tiny_trained.manifest.model_copy(update=v2)))
        )
        samples = _samples(client)
        names = [labels for name, labels in samples if name == "recommender_model_info"]
        assert names == [(("model", "als"), ("version", "v2"))]


def test_events_stored_by_type(client: TestClient) -> None:
    assert _value(client, "recommender_events_stored", type="redirect") == 0
    assert _value(client, "recommender_events_newest_timestamp_seconds") is None
    events = [
        {"user_id": 1, "job_id": 2, "type": "impression", "timestamp": 1_700_000_000},
        {"user_id": 1, "job_id": 2, "type": "redirect", "timestamp": 1_700_000_060},
        {"user_id": 1, "job_id": 3, "type": "redirect", "timestamp": 1_700_000_000},
    ]
    assert client.post("/events/", json={"events": events}).status_code == 200
    assert _value(client, "recommender_events_stored", type="impression") == 1
    assert _value(client, "recommender_events_stored", type="redirect") == 2
    assert _value(client, "recommender_events_newest_timestamp_seconds") == 1_700_000_060


def test_before_start_up_metrics_answer_without_model_or_events(tmp_path: Path) -> None:
    client = TestClient(create_app(tiny_settings(tmp_path)))  # no `with`: start-up never runs
    r = client.get("/metrics")
    assert r.status_code == 200
    assert "recommender_model_info" not in r.text
    assert "recommender_events_stored" not in r.text
    assert "recommender_http_requests_total" in r.text


def test_a_failing_event_store_leaves_its_metrics_out(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    app = create_app(tiny_settings(tmp_path), Recommender(tiny_trained), events=store)
    with TestClient(app) as client:
        store.close()
        r = client.get("/metrics")
        assert r.status_code == 200
        assert "recommender_events_stored" not in r.text
        assert "recommender_model_info" in r.text


def test_each_app_has_its_own_registry(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    first = create_app(tiny_settings(tmp_path / "a"), Recommender(tiny_trained))
    second = create_app(tiny_settings(tmp_path / "b"), Recommender(tiny_trained))
    with TestClient(first) as a, TestClient(second) as b:
        a.get("/health")
        a.get("/health")
        b.get("/health")
        assert _value(a, REQUESTS, route="/health", status="200") == 2
        assert _value(b, REQUESTS, route="/health", status="200") == 1


def test_metrics_are_documented_as_text_in_openapi(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    content = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(content) == ["text/plain"]
