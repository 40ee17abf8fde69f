"""``/recommend/users_for_job(s)/``: the users most likely to want a job, for a campaign."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from recommender.api.audience_schemas import (
    UsersForJobRequest,
    UsersForJobResponse,
    UsersForJobsRequest,
    UsersForJobsResponse,
)
from recommender.api.deps import recommender_of
from recommender.api.errors import INVALID_BODY, responses
from recommender.api.routes.base import RouteTable, json_response
from recommender.errors import ModelNotReadyError, UnknownJobError

routes = RouteTable(tags=["audience"])

_ERRORS = responses(
    (UnknownJobError, "Unknown job."), INVALID_BODY, (ModelNotReadyError, "No model is loaded.")
)


@routes.route(
    "/recommend/users_for_job/",
    "POST",
    twin=True,
    response_model=UsersForJobResponse,
    responses=_ERRORS,
)
async def users_for_job(body: UsersForJobRequest, request: Request) -> Response:
    """Find the users most likely to want a job (a cold job's from its text)."""
    (audience,) = await recommender_of(request).users_for_jobs_async([body.job_id], body.n)
    return json_response(
        {"job_id": body.job_id, "users": audience.as_pairs(), "source": audience.source}
    )


@routes.route(
    "/recommend/users_for_jobs/",
    "POST",
    twin=True,
    response_model=UsersForJobsResponse,
    responses=_ERRORS,
)
async def users_for_jobs(body: UsersForJobsRequest, request: Request) -> Response:
    """Find the users most likely to want each of up to 100 jobs, in request order."""
    job_ids = list(dict.fromkeys(body.job_ids))
    audiences = await recommender_of(request).users_for_jobs_async(job_ids, body.n)
    return json_response(
        {
            str(job): {"users": audience.as_pairs(), "source": audience.source}
            for job, audience in zip(job_ids, audiences, strict=True)
        }
    )
