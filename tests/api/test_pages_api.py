"""Pages of a list: consecutive slices that never repeat a job while the model is the same, a
409 when the model changed between two pages, and pages that follow a user's newer events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from recommender.api import create_app
from recommender.bundle.files import write_bundle
from recommender.models.als import ALSParams
from recommender.training.fit import train
from tests.api.conftest import DemoWorld

SINGLE = "/recommend/jobs_single_user/"
MULTIPLE = "/recommend/jobs_multiple_users/"
SIMILAR = "/recommend/find_similar_jobs/"
KEY = "pages-admin-key"


def _ids(jobs: list[dict[str, Any]]) -> list[int]:
    return [job["job_id"] for job in jobs]


def _users(world: DemoWorld, count: int) -> list[int]:
    return [int(u) for u in world.trained.users.ids[:count]]


def _pages(
    client: TestClient, url: str, body: dict[str, Any], pages: int, n: int = 10
) -> list[dict[str, Any]]:
    """Pages 1..``pages`` of ``n`` jobs, each request naming the model of page 1."""
    answers: list[dict[str, Any]] = []
    version = None
    for page in range(pages):
        response = client.post(
            url, json={**body, "n": n, "offset": page * n, "model_version": version}
        )
        assert response.status_code == 200, response.text
        version = response.headers["x-model-version"]
        answers.append(response.json())
    return answers


def test_ten_pages_for_a_thousand_users_never_repeat_and_are_stable(
    demo: TestClient, demo_world: DemoWorld
) -> None:
    users = _users(demo_world, 1000)
    assert len(users) == 1000
    for filters in ({}, {"city": ["London", "Manchester"]}):
        body = {"user_ids": users, "filters": filters}
        first = _pages(demo, MULTIPLE, body, 10)
        assert _pages(demo, MULTIPLE, body, 10) == first  # the same on a second pass
        whole = demo.post(MULTIPLE, json={**body, "n": 100}).json()
        for user in users:
            paged = [job for page in first for job in page[str(user)]]
            assert len(set(_ids(paged))) == len(paged) == 100
            assert paged == whole[str(user)]  # the pages are the list, cut in ten


@pytest.mark.parametrize("filters", [{}, {"city": ["London"]}], ids=["no-filter", "city"])
def test_single_and_similar_pages_are_the_list_cut_in_pages(
    demo: TestClient, demo_world: DemoWorld, filters: dict[str, list[str]]
) -> None:
    for user in _users(demo_world, 30):
        body = {"user_id": user, "filters": filters}
        pages = _pages(demo, SINGLE, body, 10)
        assert {page["model_version"] for page in pages} == {demo_world.trained.manifest.version}
        whole = demo.post(SINGLE, json={**body, "n": 100}).json()["jobs"]
        assert [job for page in pages for job in page["jobs"]] == whole
    for job_id in demo_world.trained.jobs.ids[:30].tolist():
        body = {"job_id": job_id, "filters": filters}
        pages = _pages(demo, SIMILAR, body, 10)
        whole = demo.post(SIMILAR, json={**body, "n": 100}).json()["jobs"]
        assert [job for page in pages for job in page["jobs"]] == whole


def test_pages_past_the_lists_ranked_ahead_continue_them(
    demo: TestClient, demo_world: DemoWorld
) -> None:
    assert demo_world.trained.user_top is not None and demo_world.trained.user_top.k == 100
    for user in _users(demo_world, 20):
        # pages 1-10 are slices of the list ranked after training, 11-20 are ranked live
        pages = _pages(demo, SINGLE, {"user_id": user}, 20)
        assert pages == _pages(demo, SINGLE, {"user_id": user}, 20)
        jobs = _ids([job for page in pages for job in page["jobs"]])
        assert len(set(jobs)) == len(jobs) == 200


def test_offset_and_model_version_past_their_limits_are_refused(demo: TestClient) -> None:
    for body in ({"offset": 901}, {"offset": -1}, {"offset": "10"}, {"model_version": ""}):
        response = demo.post(SINGLE, json={"user_id": 1, **body})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", next(iter(body))]
    assert demo.post(SINGLE, json={"user_id": 1, "offset": 900, "n": 100}).status_code == 200


def test_a_redirect_between_pages_changes_the_list_the_next_page_is_cut_from(
    demo: TestClient, demo_world: DemoWorld
) -> None:
    user = _users(demo_world, 8)[7]
    first = demo.post(SINGLE, json={"user_id": user, "n": 10}).json()
    clicked = first["jobs"][0]["job_id"]
    event = {"user_id": user, "job_id": clicked, "type": "redirect"}
    assert demo.post("/events/", json={"events": [event]}).status_code == 200
    body = {"user_id": user, "n": 10, "offset": 10, "model_version": first["model_version"]}
    second = demo.post(SINGLE, json=body).json()
    # the same model: no 409; the page is cut from the user's list as it is now
    current = demo.post(SINGLE, json={"user_id": user, "n": 20}).json()
    assert second["source"] == current["source"] == "recalculated"
    assert second["jobs"] == current["jobs"][10:]
    assert clicked not in _ids(current["jobs"])


@pytest.fixture
def swapping(tmp_path: Path, demo_world: DemoWorld) -> Iterator[tuple[TestClient, list[str]]]:
    """The app serving the newer of two demo models, with an admin key to roll back."""
    other = train(
        demo_world.dataset,
        demo_world.settings(tmp_path).model_copy(update={"als": ALSParams(factors=8)}),
    )
    models = tmp_path / "models"
    versions = [write_bundle(t, models).name for t in (demo_world.trained, other)]
    settings = demo_world.settings(tmp_path).model_copy(update={"admin_api_key": SecretStr(KEY)})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, versions


def test_a_model_swap_between_pages_is_a_409_and_a_fresh_start_gets_the_new_list(
    swapping: tuple[TestClient, list[str]], demo_world: DemoWorld
) -> None:
    client, (older, newer) = swapping
    user = _users(demo_world, 1)[0]
    first = client.post(SINGLE, json={"user_id": user, "n": 10})
    assert first.headers["x-model-version"] == first.json()["model_version"] == newer
    assert client.post("/admin/rollback", headers={"X-API-Key": KEY}).status_code == 200

    page = {"n": 10, "offset": 10}
    for url, body in (
        (SINGLE, {"user_id": user}),
        (MULTIPLE, {"user_ids": [user]}),
        (SIMILAR, {"job_id": int(demo_world.trained.jobs.ids[0])}),
    ):
        refused = client.post(url, json={**body, **page, "model_version": newer})
        assert refused.status_code == 409
        detail = refused.json()["detail"]
        assert newer in detail and older in detail and "offset 0" in detail
    second = client.post(SINGLE, json={"user_id": user, **page})
    assert second.status_code == 200
    assert second.headers["x-model-version"] == second.json()["model_version"] == older
    restarted = client.post(SINGLE, json={"user_id": user, "n": 20, "model_version": older})
    assert second.json()["jobs"] == restarted.json()["jobs"][10:]
    assert _ids(restarted.json()["jobs"][:10]) != _ids(first.json()["jobs"])  # another model
