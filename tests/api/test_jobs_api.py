"""``/jobs`` through the real app: a job posted is recommended and has similar jobs at once; a
job changed or taken down is served so at once; keys, validation and unknown jobs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from recommender.api import create_app
from recommender.bundle.trained import TrainedModel
from recommender.events import SQLiteEventStore
from recommender.recommender import Recommender
from recommender.settings import Settings
from recommender.training.fit import train
from tests.content.conftest import (
    SECTORS,
    USERS_PER_SECTOR,
    content_settings,
    sector_dataset,
    sector_of_job,
)

SIMILAR = "/recommend/find_similar_jobs/"
SINGLE = "/recommend/jobs_single_user/"
MULTIPLE = "/recommend/jobs_multiple_users/"
ADMIN = {"X-API-Key": "admin-secret"}
NEW_JOB = 7001
FINANCE_USERS = [100 + u for u in range(USERS_PER_SECTOR)]  # sector 0 is finance
NURSING_USERS = [100 + USERS_PER_SECTOR + u for u in range(USERS_PER_SECTOR)]


def _finance_job(job_id: int = NEW_JOB, **fields: Any) -> dict[str, Any]:
    words = SECTORS["finance"][2]
    return {
        "job_id": job_id,
        "title": "Finance Analyst",
        "description": f"<p>{words} team graduate</p>",
        "employer": "Ledgerline",
        "city": "Leeds",
        **fields,
    }


@pytest.fixture(scope="module")
def trained() -> TrainedModel:
    return train(sector_dataset(), content_settings())


def _app_settings(tmp_path: Path, **updates: Any) -> Settings:
    return content_settings().model_copy(
        update={
            "model_dir": tmp_path / "models",
            "data_dir": tmp_path,
            "admin_api_key": SecretStr("admin-secret"),
            **updates,
        }
    )


@pytest.fixture
def client(tmp_path: Path, trained: TrainedModel) -> Iterator[TestClient]:
    app = create_app(_app_settings(tmp_path), Recommender(trained))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _ids(body: dict[str, Any]) -> list[int]:
    return [job["job_id"] for job in body["jobs"]]


def test_a_posted_job_has_similar_jobs_of_its_kind_at_once(client: TestClient) -> None:
    assert client.post(SIMILAR, json={"job_id": NEW_JOB, "n": 5}).status_code == 404
    response = client.post("/jobs", json={"jobs": [_finance_job()]}, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1, "job_ids": [NEW_JOB]}

    body = client.post(SIMILAR, json={"job_id": NEW_JOB, "n": 5}).json()
    assert body["source"] == "content"
    assert {sector_of_job()[j] for j in _ids(body)} == {"finance"}


def test_a_posted_job_reaches_the_lists_of_the_users_it_matches_only(client: TestClient) -> None:
    client.post("/jobs", json={"jobs": [_finance_job()]}, headers=ADMIN)
    lists = client.post(MULTIPLE, json={"user_ids": FINANCE_USERS + NURSING_USERS, "n": 10})
    by_user = {int(u): [j["job_id"] for j in jobs] for u, jobs in lists.json().items()}
    reached = [u for u in FINANCE_USERS if NEW_JOB in by_user[u]]
    assert len(reached) >= len(FINANCE_USERS) // 2
    assert not [u for u in NURSING_USERS if NEW_JOB in by_user[u]]
    single = client.post(SINGLE, json={"user_id": reached[0], "n": 10}).json()
    assert NEW_JOB in _ids(single)
    assert single["source"] == "als"


def test_a_job_taken_down_leaves_every_list_at_once(client: TestClient) -> None:
    client.post("/jobs", json={"jobs": [_finance_job()]}, headers=ADMIN)
    warm = 2000  # a finance job with activity, similar to the new one
    assert client.delete(f"/jobs/{NEW_JOB}", headers=ADMIN).status_code == 200
    assert client.delete(f"/jobs/{warm}", headers=ADMIN).status_code == 200
    lists = client.post(MULTIPLE, json={"user_ids": FINANCE_USERS, "n": 10}).json()
    assert not [u for u, jobs in lists.items() if {NEW_JOB, warm} & {j["job_id"] for j in jobs}]
    similar = client.post(SIMILAR, json={"job_id": 2001, "n": 20}).json()
    assert not {NEW_JOB, warm} & set(_ids(similar))
    got = client.get(f"/jobs/{warm}").json()
    assert got["expires_at"] is not None and got["description"]


def test_a_change_keeps_the_other_fields_and_is_served(client: TestClient) -> None:
    client.post("/jobs", json={"jobs": [_finance_job()]}, headers=ADMIN)
    response = client.patch(f"/jobs/{NEW_JOB}", json={"title": "Senior Analyst"}, headers=ADMIN)
    assert response.status_code == 200, response.text
    body = client.get(f"/jobs/{NEW_JOB}").json()
    assert body["title"] == "Senior Analyst"
    assert body["employer"] == "Ledgerline"
    assert body["city"] == "Leeds"


def test_a_change_to_a_listed_job_keeps_its_jsonl_fields(client: TestClient) -> None:
    before = client.get("/jobs/2003").json()
    client.patch("/jobs/2003", json={"city": "York"}, headers=ADMIN)
    after = client.get("/jobs/2003").json()
    assert after == before | {"city": "York"}


@pytest.mark.parametrize(
    ("job", "field"),
    [
        ({"job_id": 1}, "description"),
        ({"job_id": "1", "description": "x"}, "job_id"),
        ({"job_id": 1, "description": "x", "expires_at": "tomorrow"}, "expires_at"),
        ({"job_id": 1, "description": "x", "salary": {"min": 1}}, "salary"),
        ({"job_id": 1, "description": 5}, "description"),
    ],
)
def test_a_job_breaking_the_jobs_schema_is_422_naming_the_field(
    client: TestClient, job: dict[str, Any], field: str
) -> None:
    response = client.post("/jobs", json={"jobs": [job]}, headers=ADMIN)
    assert response.status_code == 422
    assert field in response.text


def test_a_change_that_clears_the_description_is_422(client: TestClient) -> None:
    client.post("/jobs", json={"jobs": [_finance_job()]}, headers=ADMIN)
    response = client.patch(f"/jobs/{NEW_JOB}", json={"description": None}, headers=ADMIN)
    assert response.status_code == 422
    assert "description" in response.json()["detail"]


def test_changing_an_unknown_job_is_404(client: TestClient) -> None:
    assert client.patch("/jobs/424242", json={"title": "x"}, headers=ADMIN).status_code == 404
    assert client.delete("/jobs/424242", headers=ADMIN).status_code == 404
    assert client.get("/jobs/424242").status_code == 404


def test_posting_needs_the_admin_key_by_default(client: TestClient) -> None:
    assert client.post("/jobs", json={"jobs": [_finance_job()]}).status_code == 401
    wrong = {"X-API-Key": "nope"}
    assert client.post("/jobs", json={"jobs": [_finance_job()]}, headers=wrong).status_code == 401
    assert client.post(SIMILAR, json={"job_id": NEW_JOB, "n": 5}).status_code == 404


@pytest.mark.parametrize(
    ("updates", "headers", "status"),
    [
        ({"admin_api_key": None}, {}, 403),
        ({"jobs_key": SecretStr("jobs-secret")}, {"X-Jobs-Key": "jobs-secret"}, 200),
        ({"jobs_key": SecretStr("jobs-secret")}, ADMIN, 401),
        ({"jobs_open": True}, {}, 200),
    ],
)
def test_who_may_post_is_a_setting(
    tmp_path: Path,
    trained: TrainedModel,
    updates: dict[str, Any],
    headers: dict[str, str],
    status: int,
) -> None:
    app = create_app(_app_settings(tmp_path, **updates), Recommender(trained))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/jobs", json={"jobs": [_finance_job()]}, headers=headers)
        assert response.status_code == status, response.text


def test_posted_jobs_are_stored_before_the_answer(client: TestClient, tmp_path: Path) -> None:
    client.post("/jobs", json={"jobs": [_finance_job(), _finance_job(7002)]}, headers=ADMIN)
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    try:
        assert [x.job_id for x in store.listings_since(0)] == [NEW_JOB, 7002]
    finally:
        store.close()


def test_a_reload_posts_the_new_and_changed_jobs_of_jobs_jsonl(
    client: TestClient, tmp_path: Path
) -> None:
    served = client.get("/jobs/2003").json()
    lines = [served | {"title": "Renamed"}, _finance_job(), {"job_id": 2004}]
    (tmp_path / "jobs.jsonl").write_text("\n".join(json.dumps(x) for x in lines[:2]) + "\n")
    response = client.post("/admin/jobs/reload", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json() == {"read": 2, "posted": 2}
    assert client.get("/jobs/2003").json()["title"] == "Renamed"
    assert client.post(SIMILAR, json={"job_id": NEW_JOB, "n": 3}).json()["source"] == "content"
    again = client.post("/admin/jobs/reload", headers=ADMIN).json()
    assert again == {"read": 2, "posted": 0}

    (tmp_path / "jobs.jsonl").write_text(json.dumps(lines[2]) + "\n")
    bad = client.post("/admin/jobs/reload", headers=ADMIN)
    assert bad.status_code == 409
    assert "jobs.jsonl" in bad.text and "description" in bad.text


def test_a_posted_job_has_an_audience_of_the_users_it_matches(client: TestClient) -> None:
    client.post("/recommend/users_for_job/", json={"job_id": 2000, "n": 5})  # statistics found
    client.post("/jobs", json={"jobs": [_finance_job()]}, headers=ADMIN)
    response = client.post("/recommend/users_for_job/", json={"job_id": NEW_JOB, "n": 10})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "content"
    assert {u["user_id"] for u in body["users"]} <= set(FINANCE_USERS)
    assert len(body["users"]) == 10


def test_filters_see_a_posted_jobs_fields(client: TestClient) -> None:
    client.post("/jobs", json={"jobs": [_finance_job(city="Harrogate")]}, headers=ADMIN)
    for user in FINANCE_USERS[:3]:
        body = client.post(
            SINGLE, json={"user_id": user, "n": 5, "filters": {"city": ["Harrogate"]}}
        ).json()
        assert _ids(body) == [NEW_JOB]
    similar = client.post(
        SIMILAR, json={"job_id": 2000, "n": 5, "filters": {"city": ["Harrogate"]}}
    ).json()
    assert _ids(similar) == []  # the model knows no job similar to a new one, nor it to them
