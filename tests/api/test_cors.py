"""CORS: off unless ``cors_origins`` names origins; then only those, for GET and POST."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recommender.api import create_app
from recommender.bundle.trained import TrainedModel
from recommender.recommender import Recommender
from tests.conftest import tiny_settings

SINGLE = "/recommend/jobs_single_user/"
ALLOWED = "https://jobs.example"
OTHER = "https://evil.example"


def _preflight(client: TestClient, origin: str, headers: str = "content-type") -> dict[str, str]:
    r = client.options(
        SINGLE,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )
    return {"status": str(r.status_code), **{k.lower(): v for k, v in r.headers.items()}}


@pytest.fixture
def cors(tmp_path: Path, tiny_trained: TrainedModel) -> Iterator[TestClient]:
    settings = tiny_settings(tmp_path).model_copy(update={"cors_origins": [ALLOWED]})
    with TestClient(create_app(settings, Recommender(tiny_trained))) as client:
        yield client


def test_no_cors_headers_by_default(client: TestClient) -> None:
    r = client.post(SINGLE, json={"user_id": 100}, headers={"Origin": ALLOWED})
    assert r.status_code == 200
    assert not [h for h in r.headers if h.lower().startswith("access-control-")]
    answer = _preflight(client, ALLOWED)
    assert answer["status"] == "405"
    assert "access-control-allow-origin" not in answer


def test_a_preflight_from_a_configured_origin_is_allowed(cors: TestClient) -> None:
    answer = _preflight(cors, ALLOWED, "content-type, x-api-key")
    assert answer["status"] == "200"
    assert answer["access-control-allow-origin"] == ALLOWED
    assert {m.strip() for m in answer["access-control-allow-methods"].split(",")} >= {
        "GET",
        "POST",
    }
    allowed_headers = answer["access-control-allow-headers"].lower()
    assert "x-api-key" in allowed_headers
    assert "content-type" in allowed_headers


def test_a_preflight_from_another_origin_is_refused(cors: TestClient) -> None:
    answer = _preflight(cors, OTHER)
    assert answer["status"] == "400"
    assert "access-control-allow-origin" not in answer


def test_a_preflight_for_another_method_or_header_is_refused(cors: TestClient) -> None:
    r = cors.options(SINGLE, headers={"Origin": ALLOWED, "Access-Control-Request-Method": "DELETE"})
    assert r.status_code == 400
    assert _preflight(cors, ALLOWED, "x-secret")["status"] == "400"


def test_a_request_from_a_configured_origin_may_read_the_answer(cors: TestClient) -> None:
    r = cors.post(SINGLE, json={"user_id": 100}, headers={"Origin": ALLOWED})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in r.headers["access-control-expose-headers"].lower()
    other = cors.post(SINGLE, json={"user_id": 100}, headers={"Origin": OTHER})
    assert "access-control-allow-origin" not in other.headers
