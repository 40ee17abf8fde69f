"""``/recommend/...``: jobs for one user, for many users, and jobs like a job.

Every answer names the model that ranked it in the ``X-Model-Version`` header (and the single
lists in ``model_version``): a client paging through a list sends it back, and gets 409 if the
model was swapped between its pages.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from recommender.api.deps import recommender_of, settings_of
from recommender.api.errors import INVALID_LIST_BODY, MODEL_CHANGED, responses
from recommender.api.routes.base import RouteTable, json_response
from recommender.api.schemas import (
    MultipleUsersRequest,
    MultipleUsersResponse,
    PageFields,
    SimilarJobsRequest,
    SimilarJobsResponse,
    SingleUserRequest,
    SingleUserResponse,
)
from recommender.errors import ModelNotReadyError, UnknownJobError
from recommender.ranking.rules import Rules
from recommender.recommender import Recommender
from recommender.settings import ExcludeSeen

routes = RouteTable(tags=["recommend"])

MODEL_VERSION_HEADER = "X-Model-Version"
_VERSIONED = {
    200: {
        "headers": {
            MODEL_VERSION_HEADER: {
                "description": "The model that ranked the lists: send it as model_version with "
                "the request for the next page.",
                "schema": {"type": "string"},
            }
        }
    }
}
_ERRORS = _VERSIONED | responses(
    INVALID_LIST_BODY, MODEL_CHANGED, (ModelNotReadyError, "No model is loaded.")
)


def _exclude(request: Request, asked: ExcludeSeen | None) -> ExcludeSeen:
    return asked if asked is not None else settings_of(request).default_exclude_seen


def _rules(body: PageFields) -> Rules:
    return Rules.at_now(body.exclude_job_ids, body.max_per_employer, body.filters, body.offset)


def _serving(request: Request, body: PageFields) -> Recommender:
    """The recommender in use, refused (409) if the request's pages came from another."""
    recommender = recommender_of(request)
    recommender.check_version(body.model_version)
    return recommender


def _answer(content: Any, recommender: Recommender) -> Response:
    """``content`` as JSON, with the version of the model that ranked it in a header."""
    return json_response(content, {MODEL_VERSION_HEADER: recommender.version})


@routes.route(
    "/recommend/jobs_single_user/",
    "POST",
    twin=True,
    response_model=SingleUserResponse,
    responses=_ERRORS,
)
async def jobs_single_user(body: SingleUserRequest, request: Request) -> Response:
    """Recommend jobs for one user (from their profile, or the popular list, for a new user)."""
    recommender = _serving(request, body)
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
    return _answer(
        {
            "user_id": body.user_id,
            "jobs": jobs,
            "source": rec.source,
            "model_version": recommender.version,
        },
        recommender,
    )


@routes.route(
    "/recommend/jobs_multiple_users/",
    "POST",
    twin=True,
    response_model=MultipleUsersResponse,
    responses=_ERRORS,
)
async def jobs_multiple_users(body: MultipleUsersRequest, request: Request) -> Response:
    """Recommend jobs for up to 1,000 users in one vectorised call, in request order."""
    recommender = _serving(request, body)
    user_ids = list(dict.fromkeys(body.user_ids))
    recs = await recommender.recommend_many_async(
        user_ids, body.n, _exclude(request, body.exclude_seen), _rules(body), body.profile_map()
    )
    return _answer({str(u): r.as_pairs() for u, r in zip(user_ids, recs, strict=True)}, recommender)


@routes.route(
    "/recommend/find_similar_jobs/",
    "POST",
    twin=True,
    response_model=SimilarJobsResponse,
    responses=_VERSIONED
    | responses(
        (UnknownJobError, "Unknown job."),
        INVALID_LIST_BODY,
        MODEL_CHANGED,
        (ModelNotReadyError, "No model is loaded."),
    ),
)
async def find_similar_jobs(body: SimilarJobsRequest, request: Request) -> Response:
    """Find the jobs most similar to a job (never the job itself)."""
    recommender = _serving(request, body)
    rec = await recommender.similar_jobs_async(body.job_id, body.n, _rules(body))
    return _answer(
        {
            "job_id": body.job_id,
            "jobs": rec.as_pairs(),
            "source": rec.source,
            "model_version": recommender.version,
        },
        recommender,
    )
