"""The ``/admin`` routes: retrain, follow a retraining job, roll back, list bundles, reload
``jobs.jsonl``.

Every one requires the ``X-API-Key`` header to hold ``RECOMMENDER_ADMIN_API_KEY`` (401 otherwise)
and is off (403) while no key is configured. The work is done by :mod:`recommender.lifecycle`.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from recommender.api.admin_schemas import (
    BundlesResponse,
    ReloadJobsResponse,
    RetrainAccepted,
    RetrainRequest,
    RetrainStatus,
    RollbackResponse,
)
from recommender.api.deps import lifecycle_of, settings_of
from recommender.api.errors import INVALID_BODY, public_message, responses
from recommender.api.routes.base import RouteTable
from recommender.api.security import require_admin
from recommender.errors import (
    AdminDisabledError,
    AuthenticationError,
    JobsFileError,
    ModelNotReadyError,
    NoPreviousBundleError,
    RetrainNotFoundError,
)
from recommender.lifecycle.listings import reload_jobs

routes = RouteTable(dependencies=[Depends(require_admin)], tags=["admin"])

_AUTH = (
    (AuthenticationError, "The X-API-Key header is missing or wrong."),
    (AdminDisabledError, "No admin key is configured: admin is off."),
    (ModelNotReadyError, "The service has not started."),
)


@routes.route(
    "/admin/retrain",
    "POST",
    twin=True,
    status_code=202,
    response_model=RetrainAccepted,
    responses=responses(*_AUTH, INVALID_BODY),
)
async def start_retrain(request: Request, body: RetrainRequest | None = None) -> JSONResponse:
    """Start retraining on the data files and the event store; the new model replaces the old
    one when it is ready (202: poll the job)."""
    job = lifecycle_of(request).retrains.submit(None if body is None else body.window_days)
    return JSONResponse(
        {"id": job.id, "status": job.status},
        status_code=202,
        headers={"Location": f"/admin/retrain/{job.id}"},
    )


@routes.route(
    "/admin/retrain/{job_id}",
    "GET",
    twin=True,
    response_model=RetrainStatus,
    responses=responses(*_AUTH, (RetrainNotFoundError, "No job has this id.")),
)
async def retrain_status(job_id: str, request: Request) -> RetrainStatus:
    """How a retraining job stands: status, progress, error, the model version it put in."""
    job = asdict(lifecycle_of(request).retrains.get(job_id))
    if job["error"] is not None:  # the log has it whole
        job["error"] = public_message(request, job["error"])
    return RetrainStatus.model_validate(job)


@routes.route(
    "/admin/rollback",
    "POST",
    twin=True,
    response_model=RollbackResponse,
    responses=responses(*_AUTH, (NoPreviousBundleError, "No older bundle loads.")),
)
async def rollback(request: Request) -> dict[str, Any]:
    """Serve the newest bundle older than the one served that verifies (409 if there is none)."""
    swap = await run_in_threadpool(lifecycle_of(request).switch.rollback)
    return {
        "model_version": swap.version,
        "previous_version": swap.previous,
        "skipped": list(swap.skipped),
    }


@routes.route(
    "/admin/bundles", "GET", twin=True, response_model=BundlesResponse, responses=responses(*_AUTH)
)
async def bundles(request: Request) -> dict[str, Any]:
    """The bundles in the model directory, oldest first: which CURRENT names, which is served."""
    listed = await run_in_threadpool(lifecycle_of(request).switch.bundles)
    bundles = [asdict(bundle) for bundle in listed]
    for bundle in bundles:
        if bundle["problem"] is not None:
            bundle["problem"] = public_message(request, bundle["problem"])
    return {"bundles": bundles}


@routes.route(
    "/admin/jobs/reload",
    "POST",
    twin=True,
    response_model=ReloadJobsResponse,
    responses=responses(
        *_AUTH,
        (JobsFileError, "jobs.jsonl is missing, or a line breaks its schema (file and line)."),
    ),
)
async def reload_jobs_file(request: Request) -> dict[str, Any]:
    """Read jobs.jsonl again: its new and changed jobs are posted (as POST /jobs posts them) and
    served from the next request on."""
    switch = lifecycle_of(request).switch
    done = await run_in_threadpool(reload_jobs, settings_of(request).data_dir, switch)
    return {"read": done.read, "posted": done.posted}
