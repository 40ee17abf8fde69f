"""The ``/admin`` routes: retrain, follow a retraining job, roll back, list bundles.

Every one requires the ``X-API-Key`` header to hold ``RECOMMENDER_ADMIN_API_KEY`` (401 otherwise)
and is off (403) while no key is configured. The work is done by :mod:`recommender.lifecycle`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from recommender.api.admin_schemas import (
    BundlesResponse,
    RetrainAccepted,
    RetrainRequest,
    RetrainStatus,
    RollbackResponse,
)
from recommender.api.schemas import ErrorResponse
from recommender.api.security import require_admin
from recommender.errors import ModelNotReadyError
from recommender.lifecycle import Lifecycle

_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "The X-API-Key header is missing or wrong."},
    403: {"model": ErrorResponse, "description": "No admin key is configured: admin is off."},
    503: {"model": ErrorResponse, "description": "The service has not started."},
}


def _lifecycle(request: Request) -> Lifecycle:
    lifecycle: Lifecycle | None = getattr(request.app.state, "lifecycle", None)
    if lifecycle is None:
        raise ModelNotReadyError("the service has not started: no model is loaded yet")
    return lifecycle


async def start_retrain(request: Request, body: RetrainRequest | None = None) -> JSONResponse:
    """Start retraining on the data files and the event store; the new model replaces the old
    one when it is ready (202: poll the job)."""
    job = _lifecycle(request).retrains.submit(None if body is None else body.window_days)
    return JSONResponse(
        {"id": job.id, "status": job.status},
        status_code=202,
        headers={"Location": f"/admin/retrain/{job.id}"},
    )


async def retrain_status(job_id: str, request: Request) -> RetrainStatus:
    """How a retraining job stands: status, progress, error, the model version it put in."""
    return RetrainStatus.model_validate(asdict(_lifecycle(request).retrains.get(job_id)))


async def rollback(request: Request) -> dict[str, Any]:
    """Serve the newest bundle older than the one served that verifies (409 if there is none)."""
    swap = await run_in_threadpool(_lifecycle(request).switch.rollback)
    return {
        "model_version": swap.version,
        "previous_version": swap.previous,
        "skipped": list(swap.skipped),
    }


async def bundles(request: Request) -> dict[str, Any]:
    """The bundles in the model directory, oldest first: which CURRENT names, which is served."""
    listed = await run_in_threadpool(_lifecycle(request).switch.bundles)
    return {"bundles": [asdict(bundle) for bundle in listed]}


_ROUTES: list[tuple[str, str, Callable[..., Any], dict[str, Any]]] = [
    (
        "/admin/retrain",
        "POST",
        start_retrain,
        {
            "status_code": 202,
            "response_model": RetrainAccepted,
            "responses": {
                **_AUTH,
                422: {"model": ErrorResponse, "description": "The body breaks the schema."},
            },
        },
    ),
    (
        "/admin/retrain/{job_id}",
        "GET",
        retrain_status,
        {
            "response_model": RetrainStatus,
            "responses": {
                **_AUTH,
                404: {"model": ErrorResponse, "description": "No job has this id."},
            },
        },
    ),
    (
        "/admin/rollback",
        "POST",
        rollback,
        {
            "response_model": RollbackResponse,
            "responses": {
                **_AUTH,
                409: {"model": ErrorResponse, "description": "No older bundle loads."},
            },
        },
    ),
    ("/admin/bundles", "GET", bundles, {"response_model": BundlesResponse, "responses": _AUTH}),
]


def add_admin_routes(app: FastAPI) -> None:
    """Register the admin routes on ``app``, each with and without a trailing slash."""
    for path, method, endpoint, kwargs in _ROUTES:
        common: dict[str, Any] = {
            "methods": [method],
            "dependencies": [Depends(require_admin)],
            "tags": ["admin"],
            **kwargs,
        }
        app.add_api_route(path, endpoint, **common)
        app.add_api_route(path + "/", endpoint, include_in_schema=False, **common)
