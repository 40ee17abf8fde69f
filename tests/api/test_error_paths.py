"""No answer a client gets names a filesystem path, whatever failed on the server (logs may)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from recommender.api import create_app
from recommender.api.redact import without_paths
from recommender.bundle.files import write_bundle
from recommender.bundle.trained import TrainedModel
from recommender.events import SQLiteEventStore
from recommender.recommender import Recommender
from tests.conftest import tiny_settings

KEY = "paths-admin-key"
A_PATH = re.compile(r"(?<![\w.])/(?:[\w.-]+/)+[\w.-]+|\w+://")


def assert_no_path(body: str, tmp_path: Path) -> None:
    assert str(tmp_path) not in body, body
    assert tmp_path.name not in body, body
    assert not A_PATH.search(body), body


@pytest.fixture
def admin(tmp_path: Path, tiny_trained: TrainedModel) -> Iterator[TestClient]:
    """An admin app whose model directory holds a good bundle and, older, a broken one."""
    broken = write_bundle(tiny_trained, tmp_path / "models")
    (broken / "manifest.json").write_text("{not json")
    write_bundle(tiny_trained, tmp_path / "models")
    settings = tiny_settings(tmp_path).model_copy(update={"admin_api_key": SecretStr(KEY)})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers["X-API-Key"] = KEY
        yield client


def test_an_event_store_failure_names_no_path(
    tmp_path: Path, tiny_trained: TrainedModel, caplog: pytest.LogCaptureFixture
) -> None:
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    app = create_app(tiny_settings(tmp_path), Recommender(tiny_trained), events=store)
    with TestClient(app, raise_server_exceptions=False) as client:
        store.close()
        posted = client.post(
            "/events/", json={"events": [{"user_id": 1, "job_id": 2, "type": "redirect"}]}
        )
        stats = client.get("/events/stats")
    for answer in (posted, stats):
        assert answer.status_code == 503
        assert "events.sqlite3" in answer.json()["detail"]  # which store, not where
        assert_no_path(answer.text, tmp_path)
    assert str(tmp_path) in caplog.text  # the operator still sees where


def test_a_store_not_open_names_no_path(tmp_path: Path, tiny_trained: TrainedModel) -> None:
    client = TestClient(create_app(tiny_settings(tmp_path), Recommender(tiny_trained)))
    answer = client.post(
        "/events/", json={"events": [{"user_id": 1, "job_id": 2, "type": "redirect"}]}
    )
    assert answer.status_code == 503
    assert_no_path(answer.text, tmp_path)


def test_admin_answers_name_no_path(admin: TestClient, tmp_path: Path) -> None:
    bundles = admin.get("/admin/bundles")
    assert bundles.status_code == 200
    problems = [b["problem"] for b in bundles.json()["bundles"] if b["problem"]]
    assert problems and "manifest.json" in problems[0]
    rollback = admin.post("/admin/rollback")
    assert rollback.status_code == 409
    job = admin.post("/admin/retrain").json()["id"]  # no activity file: the job fails
    deadline = time.monotonic() + 60
    while (status := admin.get(f"/admin/retrain/{job}").json())["status"] not in (
        "failed",
        "succeeded",
    ):
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    assert status["status"] == "failed" and status["error"]
    for answer in (bundles.text, rollback.text, str(status)):
        assert_no_path(answer, tmp_path)


@pytest.mark.parametrize(
    ("text", "public"),
    [
        (
            "event store /srv/x/events.sqlite3: append failed: disk I/O error",
            "event store events.sqlite3: append failed: disk I/O error",
        ),
        ("s3://bucket/models/v1/manifest.json is not JSON", "manifest.json is not JSON"),
        ("models/v1/model.npy fails its checksum", "model.npy fails its checksum"),
        ("the model directory ~/srv/models/ is empty", "the model directory models is empty"),
        (
            "unknown job_id 42: no activity in the model",
            "unknown job_id 42: no activity in the model",
        ),
        ("models.json and 1/2", "models.json and 1/2"),
    ],
    ids=["absolute", "url", "configured", "directory", "no-path", "prose"],
)
def test_without_paths_keeps_the_last_part(text: str, public: str) -> None:
    assert without_paths(text, ["models"]) == public
