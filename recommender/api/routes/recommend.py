"""``/recommend/...``: jobs for one user, for many users, and jobs like a job."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from recommender.api.deps import recommender_of, settings_of
from recommender.api.errors import INVALID_BODY, responses
from recommender.api.routes.base import RouteTable, json_response
from recommender.api.schemas import (
    JobRulesFields,
    MultipleUsersRequest,
    MultipleUsersResponse,
    SimilarJobsRequest,
    SimilarJobsResponse,
    SingleUserRequest,
    SingleUserResponse,
)
from recommender.errors import ModelNotReadyError, UnknownJobError
from recommender.ranking.rules import Rules
from recommender.settings import ExcludeSeen

routes = RouteTable(tags=["recommend"])

_ERRORS = responses(INVALID_BODY, (ModelNotReadyError, "No model is loaded."))


def _exclude(request: Request, asked: ExcludeSeen | None) -> ExcludeSeen:
    return asked if asked is not None else settings_of(request).default_exclude_seen


def _rules(body: JobRulesFields) -> Rules:
    return Rules.at_now(body.exclude_job_ids, body.max_per_employer)


@routes.route(
    "/recommend/jobs_single_user/",
    "POST",
    twin=True,
    response_model=SingleUserResponse,
    responses=_ERRORS,
)
async def jobs_single_user(body: SingleUserRequest, request: Request) -> Response:
    """Recommend jobs for one user (from their profile, or the popular list, for a new user)."""
    recommender = recommender_of(request)
    exclude = _exclude(request, body.exclude_seen)
    rec = await recommender.recommend_async(
        body.user_id, body.n, exclude, _rules(body), body.profile
    )
    jobs = rec.as_pairs()
    if body.explain:
        top = settings_of(request).explain_top
        explained = await recommender.explain_async(body.user_id, rec, top)
        for job, parts in zip(jobs, explained, strict=True):
            job["explanation"] = [{"job_id": j, "share": round(s, 6)} for j, s in parts]
    return json_response({"user_id": body.user_id, "jobs": jobs, "source": rec.source})


@routes.route(
    "/recommend/jobs_multiple_users/",
    "POST",
    twin=True,
    response_model=MultipleUsersResponse,
    responses=_ERRORS,
)
async def jobs_multiple_users(body: MultipleUsersRequest, request: Request) -> Response:
    """Recommend jobs for up to 1,000 users in one vectorised call, in request order."""
    user_ids = list(dict.fromkeys(body.user_ids))
    recs = await recommender_of(request).recommend_many_async(
        user_ids, body.n, _exclude(request, body.exclude_seen), _rules(body), body.profile_map()
    )
    return json_response({str(u): r.as_pairs() for u, r in zip(user_ids, recs, strict=True)})


@routes.route(
    "/recommend/find_similar_jobs/",
    "POST",
    twin=True,
    response_model=SimilarJobsResponse,
    responses=responses(
        (UnknownJobError, "Unknown job."), INVALID_BODY, (ModelNotReadyError, "No model is loaded.")
    ),
)
async def find_similar_jobs(body: SimilarJobsRequest, request: Request) -> Response:
    """Find the jobs most similar to a job (never the job itself)."""
    rec = await recommender_of(request).similar_jobs_async(body.job_id, body.n, _rules(body))
    return json_response({"job_id": body.job_id, "jobs": rec.as_pairs(), "source": rec.source})
