"""Content through the real app: cold jobs' similar jobs, profile-only users, profiles in bodies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recommender.api import create_app
from recommender.bundle.trained import TrainedModel
from recommender.recommender import Recommender
from recommender.training.fit import train
from tests.content.conftest import (
    PROFILE_ONLY,
    SECTORS,
    cold_jobs,
    content_settings,
    sector_dataset,
    sector_of_job,
)

SIMILAR = "/recommend/find_similar_jobs/"
SINGLE = "/recommend/jobs_single_user/"
MULTIPLE = "/recommend/jobs_multiple_users/"


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


def _sectors(jobs: list[dict[str, object]]) -> set[str]:
    return {sector_of_job()[int(job["job_id"])] for job in jobs}  # type: ignore[call-overload]


@pytest.mark.parametrize("job_id", cold_jobs())
def test_a_cold_jobs_similar_jobs_come_from_its_text(client: TestClient, job_id: int) -> None:
    response = client.post(SIMILAR, json={"job_id": job_id, "n": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "content"
    assert len(body["jobs"]) == 5
    assert job_id not in [job["job_id"] for job in body["jobs"]]
    assert _sectors(body["jobs"]) == {sector_of_job()[job_id]}


def test_a_warm_job_keeps_the_models_similar_jobs(client: TestClient) -> None:
    body = client.post(SIMILAR, json={"job_id": 2000, "n": 3}).json()
    assert body["source"] == "als"


def test_a_job_in_no_catalogue_is_404(client: TestClient) -> None:
    response = client.post(SIMILAR, json={"job_id": 99999, "n": 5})
    assert response.status_code == 404
    assert response.json()["detail"] == (
        "unknown job_id 99999: no activity in the model and not in jobs.jsonl"
    )


@pytest.mark.parametrize(("user_id", "sector"), list(PROFILE_ONLY.items()))
def test_a_profile_only_user_gets_jobs_of_their_subject(
    client: TestClient, user_id: int, sector: str
) -> None:
    body = client.post(SINGLE, json={"user_id": user_id, "n": 5}).json()
    assert body["source"] == "profile"
    assert len(body["jobs"]) == 5
    assert _sectors(body["jobs"]) == {sector}


def test_a_profile_in_the_body_serves_a_user_nobody_listed(client: TestClient) -> None:
    for name, (subject, _, _) in SECTORS.items():
        body = client.post(
            SINGLE, json={"user_id": 555, "n": 4, "profile": {"degree_subject": subject}}
        ).json()
        assert body["source"] == "profile"
        assert _sectors(body["jobs"]) == {name}
    stranger = client.post(SINGLE, json={"user_id": 555, "n": 4}).json()
    assert stranger["source"] == "popular"
    unknown_words = {"user_id": 555, "n": 4, "profile": {"degree_subject": "Zzyzx"}}
    assert client.post(SINGLE, json=unknown_words).json()["source"] == "popular"


def test_a_known_user_keeps_the_models_list_whatever_profile_is_sent(client: TestClient) -> None:
    body = client.post(
        SINGLE, json={"user_id": 100, "n": 3, "profile": {"degree_subject": "Nursing"}}
    ).json()
    assert body["source"] == "als"


def test_multiple_users_mix_model_profile_and_popular_lists(client: TestClient) -> None:
    nurse = next(u for u, s in PROFILE_ONLY.items() if s == "nursing")
    body = client.post(
        MULTIPLE,
        json={
            "user_ids": [100, nurse, 556, 557],
            "n": 3,
            "profiles": {"556": {"degree_subject": "Computer Science"}},
        },
    ).json()
    assert list(body) == ["100", str(nurse), "556", "557"]
    assert _sectors(body[str(nurse)]) == {"nursing"}
    assert _sectors(body["556"]) == {"software"}
    popular = client.post(SINGLE, json={"user_id": 557, "n": 3}).json()["jobs"]
    assert body["557"] == popular


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        ({"degree_subject": 1.5}, "degree_subject"),
        ({"languages": ["English", 3]}, "languages"),
        ({"degree_subject": "x" * 201}, "degree_subject"),
        ({"bad field": "x"}, "bad field"),
        ({f"f{i}": "x" for i in range(33)}, "profile"),
        ({"flag": True}, "flag"),
    ],
    ids=["float", "list-of-mixed", "too-long", "field-name", "too-many-fields", "bool"],
)
def test_a_bad_profile_is_422_naming_the_field(
    client: TestClient, profile: dict[str, object], field: str
) -> None:
    response = client.post(SINGLE, json={"user_id": 555, "profile": profile})
    assert response.status_code == 422
    assert field in response.text


def test_a_bad_profile_among_many_is_422_naming_its_user(client: TestClient) -> None:
    response = client.post(
        MULTIPLE, json={"user_ids": [555], "profiles": {"555": {"languages": [1]}}}
    )
    assert response.status_code == 422
    assert "555" in response.text and "languages" in response.text
    response = client.post(MULTIPLE, json={"user_ids": [555], "profiles": {"abc": {}}})
    assert response.status_code == 422
    assert "abc" in response.text
