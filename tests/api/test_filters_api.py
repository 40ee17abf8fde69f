"""Filters on the jobs' fields, on every path a list takes, over the demo world."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from recommender.recommender import Recommender
from tests.api.conftest import DemoWorld

SINGLE = "/recommend/jobs_single_user/"
MULTIPLE = "/recommend/jobs_multiple_users/"
SIMILAR = "/recommend/find_similar_jobs/"
STRANGER = 10**12
"""A user id with neither history nor profile."""
CITIES = ["London", "Leeds"]


def _ids(jobs: list[dict[str, Any]]) -> list[int]:
    return [job["job_id"] for job in jobs]


def _busiest_sector(world: DemoWorld) -> str:
    """The sector with most open jobs in :data:`CITIES`."""
    sectors = [world.jobs[j]["sector"] for j in world.open_jobs(city=CITIES)]
    return max(set(sectors), key=sectors.count)


def _known_user(world: DemoWorld, k: int = 0) -> int:
    return int(world.trained.users.ids[k])


def _profile_only_user(world: DemoWorld) -> int:
    """A user of users.jsonl with no activity and a profile content can embed."""
    content = Recommender(world.trained).content
    assert content is not None and world.trained.catalogue is not None
    for user in world.trained.catalogue.users["user_id"].to_list():
        profile = content.profile(user) if user not in world.trained.users else None
        if profile is not None and content.profile_scores([profile])[0] is not None:
            return int(user)
    raise AssertionError("no profile-only user")


def _warm_job(world: DemoWorld) -> int:
    """The job with most users."""
    users = np.diff(world.trained.interactions.tocsc().indptr)
    return int(world.trained.jobs.ids[int(np.argmax(users))])


def _cold_job(world: DemoWorld) -> int:
    """An open listed job with no activity: its similar jobs come from its text."""
    active = np.diff(world.trained.interactions.tocsc().indptr) > 0
    cold = world.trained.jobs.ids[~active]
    return int(next(j for j in cold.tolist() if j in world.open_jobs()))


@pytest.mark.parametrize(
    "path",
    [
        "model",
        "multiple",
        "popular",
        "profile listed",
        "profile given",
        "recalculated",
        "similar model",
        "similar content",
    ],
)
def test_filters_hold_on_every_path_a_list_takes(
    demo: TestClient, demo_world: DemoWorld, path: str
) -> None:
    sector = _busiest_sector(demo_world)
    filters = {"city": CITIES, "sector": [sector]}
    user = _known_user(demo_world)
    body: dict[str, Any] = {"n": 10, "filters": filters}
    url, source = SINGLE, "als"
    if path == "model":
        body["user_id"] = user
    elif path == "multiple":
        url, body["user_ids"] = MULTIPLE, [user, STRANGER]
    elif path == "popular":
        body["user_id"], source = STRANGER, "popular"
    elif path == "profile listed":
        body["user_id"], source = _profile_only_user(demo_world), "profile"
    elif path == "profile given":
        body["user_id"], source = STRANGER, "profile"
        body["profile"] = {"degree_subject": "Economics"}
    elif path == "recalculated":
        job = next(iter(demo_world.open_jobs()))
        event = {"user_id": user, "job_id": job, "type": "redirect"}
        assert demo.post("/events/", json={"events": [event]}).status_code == 200
        body["user_id"], source = user, "recalculated"
    elif path == "similar model":
        url, body["job_id"] = SIMILAR, _warm_job(demo_world)
    else:
        url, body["job_id"], source = SIMILAR, _cold_job(demo_world), "content"
    response = demo.post(url, json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    lists = list(answer.values()) if path == "multiple" else [answer["jobs"]]
    if path != "multiple":
        assert answer["source"] == source
    matching = demo_world.open_jobs(city=CITIES, sector=[sector])
    assert len(matching) > 20
    for jobs in lists:
        assert len(jobs) == 10
        assert set(_ids(jobs)) <= matching


def test_a_filter_with_few_matches_is_backfilled_from_deeper_in_the_ranking(
    demo: TestClient, demo_world: DemoWorld
) -> None:
    user = _known_user(demo_world, 5)
    # a city and sector with a handful of open jobs the user was not redirected to
    few: set[int] = set()
    for city in ("Cambridge", "Cardiff", "Belfast", "Nottingham"):
        for sector in {job["sector"] for job in demo_world.jobs.values()}:
            eligible = demo_world.open_jobs(city=[city], sector=[sector])
            eligible -= demo_world.redirected.get(user, set())
            if 3 <= len(eligible) <= 8:
                few, filters = eligible, {"city": [city], "sector": [sector]}
                break
        if few:
            break
    assert few, "the demo world has a small city-sector cell"
    row = demo_world.trained.users.row(user)
    assert demo_world.trained.user_top is not None and row is not None
    ahead = set(demo_world.trained.jobs.ids_of(demo_world.trained.user_top.row(row, 100)[0]))
    assert few - ahead, "some matches lie deeper than the lists ranked ahead"

    body = demo.post(SINGLE, json={"user_id": user, "n": 10, "filters": filters}).json()
    assert body["source"] == "als"
    assert sorted(_ids(body["jobs"])) == sorted(few)  # every eligible job, none other
    two = demo.post(SINGLE, json={"user_id": user, "n": 2, "filters": filters}).json()
    assert _ids(two["jobs"]) == _ids(body["jobs"])[:2]
    popular = demo.post(SINGLE, json={"user_id": STRANGER, "n": 10, "filters": filters}).json()
    assert popular["source"] == "popular"
    assert set(_ids(popular["jobs"])) == demo_world.open_jobs(**filters)


def test_filters_combine_with_exclusions_and_the_employer_cap(
    demo: TestClient, demo_world: DemoWorld
) -> None:
    filters = {"city": ["London"]}
    user = _known_user(demo_world, 3)
    first = demo.post(SINGLE, json={"user_id": user, "n": 5, "filters": filters}).json()
    excluded = _ids(first["jobs"])[:2]
    body = {
        "user_id": user,
        "n": 10,
        "filters": filters,
        "exclude_job_ids": excluded,
        "max_per_employer": 1,
    }
    jobs = _ids(demo.post(SINGLE, json=body).json()["jobs"])
    assert len(jobs) == 10
    assert not set(jobs) & set(excluded)
    assert {demo_world.jobs[j]["city"] for j in jobs} == {"London"}
    employers = [demo_world.jobs[j]["employer"] for j in jobs]
    assert len(set(employers)) == len(employers)


def test_a_value_no_job_has_matches_nothing(demo: TestClient) -> None:
    body = demo.post(SINGLE, json={"user_id": STRANGER, "filters": {"city": ["leeds"]}}).json()
    assert body["jobs"] == []  # exact, case-sensitive: "Leeds" is a city, "leeds" none


@pytest.mark.parametrize("url", [SINGLE, MULTIPLE, SIMILAR], ids=["single", "multiple", "similar"])
def test_an_unknown_field_is_a_422_naming_it_and_the_known_ones(
    demo: TestClient, demo_world: DemoWorld, url: str
) -> None:
    body: dict[str, Any] = {
        SINGLE: {"user_id": _known_user(demo_world)},
        MULTIPLE: {"user_ids": [_known_user(demo_world), STRANGER]},
        SIMILAR: {"job_id": _warm_job(demo_world)},
    }[url]
    response = demo.post(url, json={**body, "filters": {"city": ["Leeds"], "country": ["UK"]}})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "'country'" in detail
    assert "city, employer, sector, title" in detail


def test_a_model_without_job_metadata_answers_422(client: TestClient) -> None:
    response = client.post(SINGLE, json={"user_id": 100, "filters": {"city": ["Leeds"]}})
    assert response.status_code == 422
    assert "no job metadata" in response.json()["detail"]


@pytest.mark.parametrize(
    "filters",
    [
        {f"f{k}": ["x"] for k in range(9)},
        {"city": []},
        {"city": ["x"] * 101},
        {"city": ["x" * 201]},
        {"": ["x"]},
        {"city": "Leeds"},
    ],
    ids=["9-fields", "no-values", "101-values", "long-value", "empty-field", "not-a-list"],
)
def test_filters_past_their_limits_are_refused(client: TestClient, filters: object) -> None:
    response = client.post(SINGLE, json={"user_id": 100, "filters": filters})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", "filters"]
