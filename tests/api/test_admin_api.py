"""The /admin endpoints over the ASGI app: the key check, rollback, bundles, the retrain request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from recommender.api import create_app
from recommender.bundle.directory import current_version
from recommender.bundle.files import write_bundle
from recommender.bundle.trained import TrainedModel
from recommender.recommender import Recommender
from tests.conftest import tiny_settings

KEY = "s3cret-admin-key"
ROUTES = [
    ("POST", "/admin/retrain"),
    ("GET", "/admin/retrain/0123456789abcdef0123456789abcdef"),
    ("POST", "/admin/rollback"),
    ("GET", "/admin/bundles"),
]
ROUTE_IDS = [f"{method} {path.split('/')[2]}" for method, path in ROUTES]


@pytest.fixture
def versions(tmp_path: Path, tiny_trained: TrainedModel) -> list[str]:
    """Two bundles in the model directory; CURRENT names the newer."""
    return [write_bundle(tiny_trained, tmp_path / "models").name for _ in range(2)]


@pytest.fixture
def admin(tmp_path: Path, versions: list[str]) -> Iterator[TestClient]:
    """The app with an admin key, serving the bundle CURRENT names."""
    settings = tiny_settings(tmp_path).model_copy(update={"admin_api_key": SecretStr(KEY)})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers["X-API-Key"] = KEY
        yield client


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=ROUTE_IDS)
def test_admin_is_off_without_a_configured_key(
    tmp_path: Path, tiny_trained: TrainedModel, method: str, path: str
) -> None:
    app = create_app(tiny_settings(tmp_path), Recommender(tiny_trained))
    with TestClient(app) as client:
        answer = client.request(method, path, headers={"X-API-Key": KEY})
    assert answer.status_code == 403
    assert "set RECOMMENDER_ADMIN_API_KEY" in answer.json()["detail"]


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize(
    ("given", "says"),
    [(None, "is missing"), ("wrong", "does not hold the admin key"), ("", "is missing")],
    ids=["missing", "wrong", "empty"],
)
def test_a_missing_or_wrong_key_is_401(
    admin: TestClient, method: str, path: str, given: str | None, says: str
) -> None:
    headers = {"X-API-Key": given} if given is not None else {}
    del admin.headers["X-API-Key"]
    answer = admin.request(method, path, headers=headers)
    assert answer.status_code == 401
    assert says in answer.json()["detail"]
    assert KEY not in answer.text


def test_the_key_is_checked_before_the_body(admin: TestClient) -> None:
    answer = admin.post("/admin/retrain", json={"window_days": "x"}, headers={"X-API-Key": "no"})
    assert answer.status_code == 401


def test_rollback_serves_the_previous_bundle_then_409(
    admin: TestClient, versions: list[str], tmp_path: Path
) -> None:
    assert admin.get("/model").json()["version"] == versions[1]
    answer = admin.post("/admin/rollback")
    assert answer.status_code == 200
    assert answer.json() == {
        "model_version": versions[0],
        "previous_version": versions[1],
        "skipped": [],
    }
    assert admin.get("/model").json()["version"] == versions[0]
    assert current_version(tmp_path / "models") == versions[0]

    again = admin.post("/admin/rollback/")
    assert again.status_code == 409
    assert f"no bundle older than {versions[0]}" in again.json()["detail"]
    assert admin.get("/model").json()["version"] == versions[0]


def test_bundles_are_listed_oldest_first(admin: TestClient, versions: list[str]) -> None:
    answer = admin.get("/admin/bundles")
    assert answer.status_code == 200
    listed = answer.json()["bundles"]
    assert [b["version"] for b in listed] == versions
    assert [(b["current"], b["served"]) for b in listed] == [(False, False), (True, True)]
    assert listed[1]["model"] == "als"


def test_an_unknown_job_is_404(admin: TestClient) -> None:
    answer = admin.get("/admin/retrain/nope")
    assert answer.status_code == 404
    assert "no retraining job 'nope'" in answer.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [{"window_days": 0}, {"window_days": "30"}, {"window_days": 1.5}, {"window": 30}, [30]],
    ids=["zero", "string", "float", "unknown-field", "not-an-object"],
)
def test_a_bad_retrain_body_is_422(admin: TestClient, body: Any) -> None:
    assert admin.post("/admin/retrain", json=body).status_code == 422


def test_retrain_answers_202_with_the_job_to_poll(admin: TestClient) -> None:
    answer = admin.post("/admin/retrain", json={"window_days": 30})
    assert answer.status_code == 202
    job = answer.json()
    assert job == {"id": job["id"], "status": "queued"}
    assert answer.headers["location"] == f"/admin/retrain/{job['id']}"
    status = admin.get(answer.headers["location"]).json()
    assert status["id"] == job["id"]
    assert status["status"] in ("queued", "running")
    assert status["window_days"] == 30
    assert 0 <= status["progress"] < 1
    # leaving the client stops the service, which ends the training under way


def test_openapi_declares_every_status_and_the_key(admin: TestClient) -> None:
    spec = admin.get("/openapi.json").json()
    expected = {
        ("post", "/admin/retrain"): {"202", "401", "403", "422", "503"},
        ("get", "/admin/retrain/{job_id}"): {"200", "401", "403", "404", "503"},
        ("post", "/admin/rollback"): {"200", "401", "403", "409", "503"},
        ("get", "/admin/bundles"): {"200", "401", "403", "503"},
    }
    for (method, path), statuses in expected.items():
        operation = spec["paths"][path][method]
        assert statuses <= set(operation["responses"]), (method, path)
        assert operation["security"] == [{"APIKeyHeader": []}]
    assert "/admin/rollback/" not in spec["paths"]
