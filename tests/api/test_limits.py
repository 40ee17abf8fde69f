"""Request limits: bodies over ``max_body_bytes`` get 413; oversized lists in a body get 422."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from recommender.api import create_app
from recommender.bundle.trained import TrainedModel
from recommender.recommender import Recommender
from recommender.settings import Settings
from tests.conftest import tiny_settings

SINGLE = "/recommend/jobs_single_user/"
MULTI = "/recommend/jobs_multiple_users/"
SIMILAR = "/recommend/find_similar_jobs/"
EVENTS = "/events/"
LIMIT = 1024
JSON = {"content-type": "application/json"}
TOO_MANY = list(range(1001))


@pytest.fixture
def small(tmp_path: Path, tiny_trained: TrainedModel) -> Iterator[TestClient]:
    """A client of an app that refuses bodies over 1 KiB."""
    settings = tiny_settings(tmp_path).model_copy(update={"max_body_bytes": LIMIT})
    with TestClient(create_app(settings, Recommender(tiny_trained))) as client:
        yield client


def _padded(size: int) -> bytes:
    """A valid single-user body of exactly ``size`` bytes (JSON allows trailing blanks)."""
    body = orjson.dumps({"user_id": 100, "n": 2})
    return body + b" " * (size - len(body))


def _chunks(body: bytes, size: int = 100) -> Iterator[bytes]:
    """``body`` as an iterator: the client sends it chunked, with no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_the_default_limit_is_4_mib() -> None:
    assert Settings().max_body_bytes == 4 * 1024 * 1024


def test_a_body_over_the_limit_is_413_naming_its_size_and_the_limit(small: TestClient) -> None:
    r = small.post(SINGLE, content=_padded(LIMIT + 1), headers=JSON)
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"detail": f"request body is {LIMIT + 1} bytes; the limit is {LIMIT} bytes"}


def test_a_body_at_the_limit_is_served(small: TestClient) -> None:
    r = small.post(SINGLE, content=_padded(LIMIT), headers=JSON)
    assert r.status_code == 200
    assert r.json()["user_id"] == 100


@pytest.mark.parametrize("path", [SINGLE, MULTI, SIMILAR, EVENTS, "/health", "/nowhere"])
def test_every_path_is_limited(small: TestClient, path: str) -> None:
    assert small.post(path, content=b"x" * (LIMIT + 1), headers=JSON).status_code == 413


def test_a_chunked_body_over_the_limit_is_413_once_the_count_passes_it(small: TestClient) -> None:
    r = small.post(SINGLE, content=_chunks(_padded(10 * LIMIT)), headers=JSON)
    assert r.status_code == 413
    detail = r.json()["detail"]
    assert detail.startswith("request body is at least ")
    assert detail.endswith(f"bytes; the limit is {LIMIT} bytes")
    assert int(detail.split()[5]) > LIMIT  # the test client sends it all in one message


def test_a_chunked_body_within_the_limit_is_served(small: TestClient) -> None:
    r = small.post(SINGLE, content=_chunks(_padded(LIMIT)), headers=JSON)
    assert r.status_code == 200
    assert r.json()["user_id"] == 100


def test_a_chunked_event_batch_over_the_limit_stores_nothing(small: TestClient) -> None:
    events = [{"user_id": i, "job_id": 1, "type": "impression"} for i in range(100)]
    r = small.post(EVENTS, content=_chunks(orjson.dumps({"events": events})), headers=JSON)
    assert r.status_code == 413
    assert small.get("/events/stats").json()["total"] == 0


@pytest.mark.parametrize(
    ("path", "body", "field", "limit"),
    [
        (MULTI, {"user_ids": list(range(1001))}, "user_ids", "1000"),
        (SINGLE, {"user_id": 1, "n": 101}, "n", "100"),
        (MULTI, {"user_ids": [1], "n": 101}, "n", "100"),
        (SIMILAR, {"job_id": 1000, "n": 101}, "n", "100"),
        (
            EVENTS,
            {"events": [{"user_id": 1, "job_id": 1, "type": "redirect"}] * 10_001},
            "events",
            "10000",
        ),
        (SINGLE, {"user_id": 1, "exclude_job_ids": TOO_MANY}, "exclude_job_ids", "1000"),
        (MULTI, {"user_ids": [1], "exclude_job_ids": TOO_MANY}, "exclude_job_ids", "1000"),
        (SIMILAR, {"job_id": 1000, "exclude_job_ids": TOO_MANY}, "exclude_job_ids", "1000"),
    ],
    ids=[
        "batch-1001",
        "single-n-101",
        "batch-n-101",
        "similar-n-101",
        "events-10001",
        "single-exclude-1001",
        "batch-exclude-1001",
        "similar-exclude-1001",
    ],
)
def test_lists_and_counts_over_their_limit_get_422_naming_it(
    client: TestClient, path: str, body: dict[str, Any], field: str, limit: str
) -> None:
    r = client.post(path, json=body)
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert error["loc"] == ["body", field]
    assert limit in error["msg"]


def test_a_body_that_is_not_utf8_is_400(client: TestClient) -> None:
    r = client.post(SINGLE, content=b'{"user_id": "\xff"}', headers=JSON)
    assert r.status_code == 400
    assert r.json() == {"detail": "the body is not UTF-8 text: byte 0xff at offset 13"}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-32-be"])
@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        (SINGLE, {"user_id": 100}, "application/json"),
        (SINGLE, {"user_id": 100}, "application/json; charset=utf-16"),
        (EVENTS, {"events": [{"user_id": 1, "job_id": 2, "type": "redirect"}]}, "application/json"),
    ],
    ids=["fast-path", "fastapi-handler", "events"],
)
def test_a_utf16_or_utf32_body_is_400_too(
    client: TestClient, path: str, body: Any, content_type: str, encoding: str
) -> None:
    raw = orjson.dumps(body).decode().encode(encoding)
    r = client.post(path, content=raw, headers={"content-type": content_type})
    assert r.status_code == 400
    assert r.json()["detail"].startswith("the body is not UTF-8 text")
    assert client.get("/events/stats").json()["total"] == 0  # nothing was stored


def test_a_non_utf8_body_is_400_on_admin_routes_too(
    tmp_path: Path, tiny_trained: TrainedModel
) -> None:
    settings = tiny_settings(tmp_path).model_copy(update={"admin_api_key": SecretStr("k")})
    with TestClient(create_app(settings, Recommender(tiny_trained))) as client:
        raw = '{"window_days": 3}'.encode("utf-16")
        r = client.post("/admin/retrain", content=raw, headers={**JSON, "X-API-Key": "k"})
    assert r.status_code == 400


def test_413_and_400_are_documented_on_every_operation_with_a_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    with_body = [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]
    assert {path for path, _, _ in with_body} >= {SINGLE, MULTI, SIMILAR, EVENTS}
    for path, method, operation in with_body:
        for status in ("400", "413"):
            assert "application/json" in operation["responses"][status]["content"], (path, method)
    assert "413" not in spec["paths"]["/health"]["get"]["responses"]
