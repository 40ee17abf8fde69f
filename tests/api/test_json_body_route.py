"""JSONBodyRoute: a body the model accepts is read straight from its bytes; anything else gets
FastAPI's own answer. Both paths must answer every body alike."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationInfo, field_validator

from recommender.api.routes.base import JSONBodyRoute, RouteTable, json_response

FAST = "application/json"
FASTAPI = "application/json; charset=utf-8"  # not the fast path's exact type: FastAPI's handler

BODIES = {
    "single": (
        "/recommend/jobs_single_user/",
        [
            b'{"user_id": 100}',
            b'{"user_id": 100, "n": 3, "exclude_seen": "all"}',
            b'{"user_id": 100, "n": 3.0}',
            b'{"user_id": "100"}',
            b'{"user_id": 999999, "exclude_job_ids": [1000], "max_per_employer": 1}',
            b'{"user_id": 100, "n": 0}',
            b'{"user_id": 100, "n": 2.5}',
            b'{"user_id": 100, "unknown": 1}',
            b'{"user_id": 100, "user_id": 101}',
            b'{"user_id": NaN}',
            b'{"user_id": 1e400}',
            b'{"user_id": 100',
            b"[100]",
            b"",
            b'{"user_id": "\\ud800"}',
            b'{"user_id": 99999999999999999999999}',
        ],
    ),
    "many": (
        "/recommend/jobs_multiple_users/",
        [b'{"user_ids": [100, 101, 5]}', b'{"user_ids": 1}'],
    ),
    "similar": ("/recommend/find_similar_jobs/", [b'{"job_id": 1000}', b'{"job_id": 7}']),
    "events": (  # the one plain-def fast route: it runs in the thread pool on both paths
        "/events/",
        [
            b'{"events": [{"user_id": 1, "job_id": 2, "type": "redirect"}]}',
            b'{"events": [{"user_id": 1, "job_id": 2, "type": "click"}]}',
            b'{"events": [{"user_id": 1, "job_id": 2, "type": "impression", "timestamp": true}]}',
            b'{"events": []}',
        ],
    ),
}
CASES = [(path, body) for path, bodies in BODIES.values() for body in bodies]


@pytest.mark.parametrize(("path", "body"), CASES, ids=[f"{p}{b!r}" for p, b in CASES])
def test_both_paths_answer_alike(client: TestClient, path: str, body: bytes) -> None:
    fast = client.post(path, content=body, headers={"content-type": FAST})
    reference = client.post(path, content=body, headers={"content-type": FASTAPI})
    assert fast.status_code == reference.status_code
    assert fast.json() == reference.json()


class Probe(BaseModel):
    """A body that records which path validated it: JSON bytes, or FastAPI's parsed dict."""

    value: int

    @field_validator("value")
    @classmethod
    def _seen(cls, value: int, info: ValidationInfo) -> int:
        MODES.append(info.mode)
        return value


MODES: list[str] = []


async def probe(body: Probe, request: Request) -> Response:
    return json_response({"value": body.value})


def deny() -> None:
    raise HTTPException(401, "no key")


def _probe_app(**route: Any) -> TestClient:
    app = FastAPI()
    table = RouteTable()
    table.route("/probe", "POST", **route)(probe)
    table.add_to(app)
    return TestClient(app)


def test_the_fast_path_is_taken_for_json_and_not_otherwise() -> None:
    MODES.clear()
    client = _probe_app()
    assert client.post("/probe", content=b'{"value": 1}', headers={"content-type": FAST}).json()
    assert client.post("/probe", content=b'{"value": 1}', headers={"content-type": FASTAPI}).json()
    assert MODES == ["json", "python"]


def test_a_route_with_dependencies_never_skips_them() -> None:
    client = _probe_app(dependencies=[Depends(deny)])
    answer = client.post("/probe", content=b'{"value": 1}', headers={"content-type": FAST})
    assert answer.status_code == 401


def test_the_recommendation_routes_take_json_bodies_fast(client: TestClient) -> None:
    routes = {getattr(r, "path", ""): r for r in client.app.routes}  # type: ignore[attr-defined]
    assert isinstance(routes["/recommend/jobs_single_user/"], JSONBodyRoute)
    assert not isinstance(routes["/admin/rollback"], JSONBodyRoute)  # no body model
