from __future__ import annotations

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
MULTI = "/recommend/jobs_multiple_users/"
SIMILAR = "/recommend/find_similar_jobs/"


def _ids(jobs: list[dict[str, Any]]) -> list[int]:
    return [j["job_id"] for j in jobs]


def test_single_user_shape_and_rules(client: TestClient) -> None:
    r = client.post(SINGLE, json={"user_id": 100, "n": 3})
    assert r.status_code == 200
    body = r.json()
    assert body["user_id"] == 100
    assert body["source"] == "als"
    assert len(body["jobs"]) == 3
    assert set(body["jobs"][0]) == {"job_id", "score"}
    assert body["jobs"][0]["job_id"] == 1000
    assert not set(_ids(body["jobs"])) & {1001, 1002, 1003, 1004}


def test_default_n_is_10_and_exclude_seen_is_honoured(client: TestClient) -> None:
    assert (
        len(client.post(SINGLE, json={"user_id": 100, "exclude_seen": "none"}).json()["jobs"]) == 10
    )
    body = client.post(SINGLE, json={"user_id": 100, "exclude_seen": "all"}).json()
    assert len(body["jobs"]) == 6


def test_unknown_user_gets_popular(client: TestClient) -> None:
    body = client.post(SINGLE, json={"user_id": 5, "n": 2}).json()
    assert body["source"] == "popular"
    assert len(body["jobs"]) == 2


@pytest.mark.parametrize("path", [SINGLE, SINGLE.rstrip("/")], ids=["slash", "no-slash"])
def test_paths_work_with_and_without_trailing_slash(client: TestClient, path: str) -> None:
    r = client.post(path, json={"user_id": 100}, follow_redirects=False)
    assert r.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"user_id": "5"},
        {"user_id": 5.7},
        {"user_id": 1e17},
        {"user_id": True},
        {"user_id": None},
        {},
        {"user_id": 2**63},
        {"user_id": 1, "n": 0},
        {"user_id": 1, "n": 101},
        {"user_id": 1, "n": "3"},
        {"user_id": 1, "exclude_seen": "some"},
        [1, 2],
        "text",
    ],
    ids=repr,
)
def test_single_user_refuses_bad_bodies_with_422(client: TestClient, body: Any) -> None:
    r = client.post(SINGLE, json=body)
    assert r.status_code == 422
    assert "detail" in r.json()


def test_whole_numbers_spelled_as_floats_are_the_integers_they_spell(client: TestClient) -> None:
    # JSON Schema's `integer` (OpenAPI 3.1) holds 41282.0: the published spec calls it valid
    as_int = client.post(SINGLE, json={"user_id": 100, "n": 3, "max_per_employer": 2})
    as_float = client.post(SINGLE, json={"user_id": 100.0, "n": 3.0, "max_per_employer": 2.0})
    assert as_float.status_code == 200
    assert as_float.json() == as_int.json()
    assert (
        client.post(SIMILAR, json={"job_id": 1000.0, "exclude_job_ids": [1.0]}).status_code == 200
    )


def test_a_float_past_2_to_the_53_is_refused_naming_why(client: TestClient) -> None:
    r = client.post(SINGLE, json={"user_id": 2.0**60})
    assert r.status_code == 422
    assert "past 2**53" in r.text


@pytest.mark.parametrize(
    "raw",
    [
        b'{"user_id": 1, "n": NaN}',
        b'{"user_id": Infinity}',
        b'{"user_id": 1, "n": 1e400}',
        b'{"user_id": -Infinity, "exclude_seen": "all"}',
        b'{"user_id": 123456789012345678901234567890}',
        b'{"user_id": {"nested": [1, {"deeper": null}]}}',
        rb'{"user_id": "\u00e9\u2603\ud83d\ude00"}',
    ],
    ids=["nan", "infinity", "overflow", "minus-inf", "bigint", "nested", "unicode"],
)
def test_bodies_whose_echo_is_not_plain_json_still_get_422(client: TestClient, raw: bytes) -> None:
    for path in (SINGLE, SIMILAR):
        r = client.post(path, content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 422
        assert r.json()["detail"]
    r = client.post(
        MULTI, content=b'{"user_ids": [1, NaN]}', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422


def test_malformed_json_and_wrong_content_get_422(client: TestClient) -> None:
    r = client.post(SINGLE, content=b'{"user_id": ', headers={"content-type": "application/json"})
    assert r.status_code == 422
    r = client.post(SINGLE, content=b"{}", headers={"content-type": "text/plain"})
    assert r.status_code == 422


def test_multiple_users_in_request_order_with_popular_for_unknown(client: TestClient) -> None:
    r = client.post(MULTI, json={"user_ids": [111, 5, 100], "n": 2})
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["111", "5", "100"]
    single = client.post(SINGLE, json={"user_id": 100, "n": 2}).json()
    assert _ids(body["100"]) == _ids(single["jobs"])
    popular = client.post(SINGLE, json={"user_id": 5, "n": 2}).json()
    assert _ids(body["5"]) == _ids(popular["jobs"])


def test_multiple_users_repeated_ids_answer_once(client: TestClient) -> None:
    body = client.post(MULTI, json={"user_ids": [100, 100, 101]}).json()
    assert list(body) == ["100", "101"]


@pytest.mark.parametrize(
    "body",
    [
        {"user_ids": []},
        {"user_ids": list(range(1001))},
        {"user_ids": [1, "2"]},
        {"user_ids": 1},
        {"user_ids": [1], "n": 0},
    ],
    ids=["empty", "1001", "string-id", "not-list", "n0"],
)
def test_multiple_users_refuses_bad_bodies(client: TestClient, body: Any) -> None:
    assert client.post(MULTI, json=body).status_code == 422


def test_batch_of_1000_is_accepted(client: TestClient) -> None:
    r = client.post(MULTI, json={"user_ids": list(range(1000)), "n": 1})
    assert r.status_code == 200
    assert len(r.json()) == 1000


def test_similar_jobs(client: TestClient) -> None:
    body = client.post(SIMILAR, json={"job_id": 1000, "n": 4}).json()
    assert body["job_id"] == 1000
    assert 1000 not in _ids(body["jobs"])
    assert set(_ids(body["jobs"])) <= {1001, 1002, 1003, 1004}


def test_similar_jobs_unknown_job_is_404_naming_it(client: TestClient) -> None:
    r = client.post(SIMILAR, json={"job_id": 777})
    assert r.status_code == 404
    assert "777" in r.json()["detail"]


def test_similar_jobs_refuses_bad_bodies(client: TestClient) -> None:
    assert client.post(SIMILAR, json={"job_id": "1000"}).status_code == 422
    assert client.post(SIMILAR.rstrip("/"), json={"job_id": 1000.5}).status_code == 422


def test_health_and_model(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    info = client.get("/model").json()
    assert info["counts"] == {"users": 12, "jobs": 10, "interactions": 48, "redirected_pairs": 48}
    assert info["hyperparameters"]["factors"] == 4
    assert info["model"] == "als"
    assert info["trained_at"]


def test_openapi_documents_each_endpoint_with_an_example(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in (SINGLE, MULTI, SIMILAR):
        op = spec["paths"][path]["post"]
        assert op["summary"]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        assert spec["components"]["schemas"][ref]["examples"]
        assert "200" in op["responses"]
    assert SINGLE.rstrip("/") not in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_start_up_without_a_bundle_or_training_fails_clearly(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path).model_copy(update={"train_if_missing": False})
    app = create_app(settings)
    with pytest.raises(Exception, match="no model bundle"), TestClient(app):
        pass


def test_requests_before_a_model_is_loaded_get_503(tmp_path: Path) -> None:
    client = TestClient(create_app(tiny_settings(tmp_path)))  # no `with`: start-up never runs
    r = client.post(SINGLE, json={"user_id": 1})
    assert r.status_code == 503
    assert "no model is loaded" in r.json()["detail"]
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 503


def test_ready_once_started(client: TestClient) -> None:
    r = client.get("/ready")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "model_version": "unsaved"}


@pytest.mark.parametrize("model", ["itemknn", "userknn", "ease", "rp3beta", "popular"])
def test_any_model_kind_is_served(tmp_path: Path, model: str) -> None:
    from recommender.data.activities import ActivityLines
    from recommender.data.catalogue import Catalogue
    from recommender.data.dataset import Dataset
    from recommender.training.fit import train
    from tests.conftest import activities_frame, block_activities

    settings = tiny_settings(tmp_path).model_copy(update={"model": model})
    trained = train(
        Dataset(ActivityLines.unweighted(activities_frame(block_activities())), Catalogue(), ()),
        settings,
    )
    with TestClient(create_app(settings, Recommender(trained))) as client:
        body = client.post(SINGLE, json={"user_id": 100, "n": 3}).json()
        assert body["source"] == model
        assert len(body["jobs"]) == 3
        assert not set(_ids(body["jobs"])) & {1001, 1002, 1003, 1004}
        assert client.get("/model").json()["model"] == model
        assert client.post(SIMILAR, json={"job_id": 1000, "n": 2}).status_code == 200


def test_default_exclude_seen_comes_from_settings(tmp_path: Path) -> None:
    from recommender.data.activities import ActivityLines
    from recommender.data.catalogue import Catalogue
    from recommender.data.dataset import Dataset
    from recommender.training.fit import train
    from tests.conftest import activities_frame, block_activities

    records = [*block_activities(), {"user_id": 100, "job_id": 1000, "type": "impression"}]
    trained = train(
        Dataset(ActivityLines.unweighted(activities_frame(records)), Catalogue(), ()),
        tiny_settings(tmp_path),
    )
    for default, shown in (("redirected", True), ("all", False)):
        settings = tiny_settings(tmp_path).model_copy(update={"default_exclude_seen": default})
        with TestClient(create_app(settings, Recommender(trained))) as client:
            body = client.post(SINGLE, json={"user_id": 100, "n": 10}).json()
            assert (1000 in _ids(body["jobs"])) is shown


@pytest.fixture
def rules_client(tmp_path: Path, rules_trained: TrainedModel) -> Iterator[TestClient]:
    app = create_app(tiny_settings(tmp_path), Recommender(rules_trained))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


_RULE_CASES = [
    (SINGLE, {"user_id": 100}, lambda b: b["jobs"]),
    (SINGLE, {"user_id": 5}, lambda b: b["jobs"]),
    (MULTI, {"user_ids": [100, 5]}, lambda b: b["100"] + b["5"]),
    (SIMILAR, {"job_id": 1002}, lambda b: b["jobs"]),
]


@pytest.mark.parametrize(
    ("path", "body", "jobs_of"), _RULE_CASES, ids=["single", "popular", "multiple", "similar"]
)
def test_job_rules_on_every_endpoint(
    rules_client: TestClient, path: str, body: dict[str, Any], jobs_of: Any
) -> None:
    # tests.conftest.block_jobs: 1000 expired; employer core = 1005-1008
    plain = _ids(jobs_of(rules_client.post(path, json={**body, "n": 10}).json()))
    assert 1000 not in plain
    ruled = {**body, "n": 10, "exclude_job_ids": [1009], "max_per_employer": 1}
    got = _ids(jobs_of(rules_client.post(path, json=ruled).json()))
    assert 1000 not in got and 1009 not in got
    assert len([j for j in got if 1005 <= j <= 1008]) <= (2 if path == MULTI else 1)


@pytest.mark.parametrize(
    "extra",
    [
        {"exclude_job_ids": ["5"]},
        {"exclude_job_ids": [5.5]},
        {"exclude_job_ids": [1e17]},
        {"exclude_job_ids": [True]},
        {"exclude_job_ids": [2**63]},
        {"exclude_job_ids": 5},
        {"exclude_job_ids": list(range(1001))},
        {"max_per_employer": 0},
        {"max_per_employer": "2"},
        {"max_per_employer": 1.5},
        {"max_per_employer": True},
    ],
    ids=lambda e: repr(e)[:40],
)
@pytest.mark.parametrize("path", [SINGLE, MULTI, SIMILAR], ids=["single", "multiple", "similar"])
def test_job_rule_fields_are_strict(client: TestClient, path: str, extra: dict[str, Any]) -> None:
    base = {SINGLE: {"user_id": 100}, MULTI: {"user_ids": [100]}, SIMILAR: {"job_id": 1000}}[path]
    assert client.post(path, json={**base, **extra}).status_code == 422


def test_1000_excluded_ids_are_accepted(client: TestClient) -> None:
    r = client.post(SINGLE, json={"user_id": 100, "exclude_job_ids": list(range(1000))})
    assert r.status_code == 200


@pytest.mark.parametrize("path", ["/health", "/ready", "/model", "/metrics", "/events/stats"])
def test_head_answers_as_get_without_the_body(client: TestClient, path: str) -> None:
    got = client.get(path)
    head = client.head(path)
    assert (head.status_code, got.status_code) == (200, 200)
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["x-request-id"]


def test_head_on_a_post_route_is_405(client: TestClient) -> None:
    assert client.head(SINGLE).status_code == 405
