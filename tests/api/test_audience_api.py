"""A job's audience through the real app: warm jobs from the model, cold jobs from their text,
users already redirected left out, strict bodies, unknown jobs 404, and the batch form."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from recommender.api import create_app
from recommender.bundle.trained import TrainedModel
from recommender.recommender import Recommender
from recommender.training.fit import train
from tests.content.conftest import (
    SECTORS,
    USERS_PER_SECTOR,
    cold_jobs,
    content_settings,
    sector_dataset,
    sector_of_job,
    sector_records,
)

ONE = "/recommend/users_for_job/"
MANY = "/recommend/users_for_jobs/"
ACTIVE_USERS = len(SECTORS) * USERS_PER_SECTOR
WARM_JOB = 2000


@pytest.fixture(scope="module")
def trained() -> TrainedModel:
    return train(sector_dataset(), content_settings())


@pytest.fixture
def client(tmp_path: Path, trained: TrainedModel) -> Iterator[TestClient]:
    app = create_app(
        content_settings().model_copy(update={"model_dir": tmp_path}), Recommender(trained)
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _sector_of_user(user_id: int) -> str:
    return list(SECTORS)[(user_id - 100) // USERS_PER_SECTOR]


def _redirected_to(job_id: int) -> set[int]:
    return {
        int(r["user_id"])
        for r in sector_records()
        if r["job_id"] == job_id and r["type"] == "redirect"
    }


def _users(body: dict[str, Any]) -> list[int]:
    return [int(u["user_id"]) for u in body["users"]]


def test_a_warm_jobs_audience_is_its_sectors_users_not_yet_redirected(client: TestClient) -> None:
    response = client.post(ONE, json={"job_id": WARM_JOB, "n": ACTIVE_USERS})
    assert response.status_code == 200
    body = response.json()
    assert body["job_id"] == WARM_JOB and body["source"] == "als"
    users = _users(body)
    redirected = _redirected_to(WARM_JOB)
    assert redirected and not redirected & set(users)
    assert len(users) == ACTIVE_USERS - len(redirected)  # every other user, once
    own = USERS_PER_SECTOR - len(redirected)
    assert {_sector_of_user(u) for u in users[:own]} == {sector_of_job()[WARM_JOB]}
    scores = [u["score"] for u in body["users"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("job_id", cold_jobs())
def test_a_cold_jobs_audience_comes_from_its_text(client: TestClient, job_id: int) -> None:
    body = client.post(ONE, json={"job_id": job_id, "n": USERS_PER_SECTOR}).json()
    assert body["source"] == "content"
    assert len(body["users"]) == USERS_PER_SECTOR
    assert {_sector_of_user(u) for u in _users(body)} == {sector_of_job()[job_id]}


def test_n_bounds_the_audience_and_its_default_is_100(client: TestClient) -> None:
    assert len(client.post(ONE, json={"job_id": WARM_JOB, "n": 3}).json()["users"]) == 3
    everyone = ACTIVE_USERS - len(_redirected_to(WARM_JOB))  # fewer than 100 users to rank
    assert len(client.post(ONE, json={"job_id": WARM_JOB}).json()["users"]) == everyone


def test_a_job_in_no_catalogue_is_404_as_for_similar_jobs(client: TestClient) -> None:
    for path, body in ((ONE, {"job_id": 99999}), (MANY, {"job_ids": [WARM_JOB, 99999]})):
        response = client.post(path, json=body)
        assert response.status_code == 404
        assert response.json()["detail"] == (
            "unknown job_id 99999: no activity in the model and not in jobs.jsonl"
        )
    similar = client.post("/recommend/find_similar_jobs/", json={"job_id": 99999})
    assert similar.json() == response.json()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (ONE, {"n": 5}, "job_id"),
        (ONE, {"job_id": "2000"}, "job_id"),
        (ONE, {"job_id": True}, "job_id"),
        (ONE, {"job_id": 2000.5}, "job_id"),
        (ONE, {"job_id": 2**63}, "job_id"),
        (ONE, {"job_id": WARM_JOB, "n": 0}, "n"),
        (ONE, {"job_id": WARM_JOB, "n": 1001}, "n"),
        (ONE, {"job_id": WARM_JOB, "n": "5"}, "n"),
        (MANY, {"job_ids": []}, "job_ids"),
        (MANY, {"job_ids": list(range(101))}, "job_ids"),
        (MANY, {"job_ids": [WARM_JOB, "x"]}, "job_ids"),
        (MANY, {"job_ids": WARM_JOB}, "job_ids"),
        (MANY, {"job_ids": [WARM_JOB], "n": 1001}, "n"),
    ],
    ids=[
        "missing-job",
        "string-job",
        "bool-job",
        "fraction-job",
        "past-int64",
        "n-zero",
        "n-past-1000",
        "string-n",
        "no-jobs",
        "101-jobs",
        "string-in-jobs",
        "jobs-not-a-list",
        "batch-n-past-1000",
    ],
)
def test_a_bad_body_is_422_naming_the_field(
    client: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422
    assert field in {str(part) for error in response.json()["detail"] for part in error["loc"]}


def test_whole_floats_are_integers(client: TestClient) -> None:
    body = client.post(ONE, json={"job_id": float(WARM_JOB), "n": 2.0}).json()
    assert body["job_id"] == WARM_JOB and len(body["users"]) == 2


def test_users_redirected_since_the_model_are_left_out(client: TestClient) -> None:
    before = _users(client.post(ONE, json={"job_id": WARM_JOB, "n": 5}).json())
    gone = before[:2]
    events = [{"user_id": u, "job_id": WARM_JOB, "type": "redirect"} for u in gone]
    events.append({"user_id": before[2], "job_id": WARM_JOB, "type": "impression"})
    assert client.post("/events/", json={"events": events}).status_code == 200
    after = _users(client.post(ONE, json={"job_id": WARM_JOB, "n": 3}).json())
    assert after == before[2:5]  # an impression alone leaves a user in


def test_the_batch_answers_each_job_as_the_single_endpoint_in_request_order(
    client: TestClient,
) -> None:
    cold = cold_jobs()[0]
    response = client.post(MANY, json={"job_ids": [cold, WARM_JOB, cold], "n": 4})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [str(cold), str(WARM_JOB)]
    for job in (cold, WARM_JOB):
        single = client.post(ONE, json={"job_id": job, "n": 4}).json()
        assert body[str(job)] == {"users": single["users"], "source": single["source"]}


def test_the_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (ONE, MANY):
        operation = paths[path]["post"]
        assert {"404", "422", "503"} <= set(operation["responses"])
        assert operation["summary"]
