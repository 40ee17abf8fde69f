"""Request ids on every answer, and JSON access lines carrying them when ``log_format=json``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from recommender.api import create_app
from recommender.bundle.trained import TrainedModel
from recommender.recommender import Recommender
from tests.conftest import tiny_settings

SINGLE = "/recommend/jobs_single_user/"
FRESH = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_client(
    tmp_path: Path,
    tiny_trained: TrainedModel,
    restore_logging: None,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[TestClient]:
    """An app logging JSON to stderr (captured: ``capsys`` is set up first)."""
    settings = tiny_settings(tmp_path).model_copy(update={"log_format": "json"})
    app = create_app(settings, Recommender(tiny_trained))

    async def boom() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]


def test_every_answer_has_a_fresh_request_id(client: TestClient) -> None:
    first = client.post(SINGLE, json={"user_id": 100}).headers["x-request-id"]
    second = client.get("/nowhere").headers["x-request-id"]
    assert FRESH.fullmatch(first)
    assert FRESH.fullmatch(second)
    assert first != second


def test_a_sane_client_request_id_is_echoed(client: TestClient) -> None:
    r = client.post(SINGLE, json={"user_id": 100}, headers={"X-Request-ID": "web-42.retry_1"})
    assert r.headers["x-request-id"] == "web-42.retry_1"


@pytest.mark.parametrize(
    "bogus", [b"x" * 129, b"has space", b"a;b", b"<script>", "é".encode()], ids=repr
)
def test_a_bogus_client_request_id_is_replaced(client: TestClient, bogus: bytes) -> None:
    r = client.get("/health", headers={"X-Request-ID": bogus})
    assert FRESH.fullmatch(r.headers["x-request-id"])


def test_a_json_access_line_per_request_with_the_answers_request_id(
    json_client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    r = json_client.post(SINGLE, json={"user_id": 100})
    (access,) = [line for line in _lines(capsys) if line["logger"] == "recommender.access"]
    assert access["request_id"] == r.headers["x-request-id"]
    assert access["method"] == "POST"
    assert access["route"] == SINGLE
    assert access["status"] == 200
    assert access["duration_ms"] > 0
    assert access["level"] == "INFO"
    assert access["time"].endswith("Z")


def test_a_client_request_id_reaches_the_access_line(
    json_client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    json_client.get("/nowhere", headers={"X-Request-ID": "trace-9"})
    (access,) = [line for line in _lines(capsys) if line["logger"] == "recommender.access"]
    assert access["request_id"] == "trace-9"
    assert access["route"] == "unmatched"
    assert access["status"] == 404


def test_an_unexpected_error_is_logged_with_its_request_id_and_traceback(
    json_client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    r = json_client.get("/boom", headers={"X-Request-ID": "err-1"})
    assert r.status_code == 500
    lines = _lines(capsys)
    (error,) = [line for line in lines if line["level"] == "ERROR"]
    assert error["request_id"] == "err-1"
    assert "RuntimeError: boom" in error["exception"]
    (access,) = [line for line in lines if line["logger"] == "recommender.access"]
    assert (access["status"], access["request_id"]) == (500, "err-1")


def test_text_logs_have_no_access_line(
    client: TestClient, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    client.get("/health")
    assert not [r for r in caplog.records if r.name == "recommender.access"]
