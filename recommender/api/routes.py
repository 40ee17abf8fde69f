"""The HTTP routes: bodies to domain calls and back; errors are mapped in ``app.py``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from recommender.api.schemas import (
    ErrorResponse,
    EventsRequest,
    EventsResponse,
    EventStatsResponse,
    HealthResponse,
    JobRulesFields,
    ModelInfoResponse,
    MultipleUsersRequest,
    MultipleUsersResponse,
    ReadyResponse,
    SimilarJobsRequest,
    SimilarJobsResponse,
    SingleUserRequest,
    SingleUserResponse,
)
from recommender.errors import EventStoreError
from recommender.events import Event, EventStore
from recommender.ranking.rules import Rules
from recommender.recommender import Recommender
from recommender.settings import ExcludeSeen

log = logging.getLogger(__name__)

Endpoint = Callable[..., Any]
_ROUTES: list[tuple[str, Endpoint, dict[str, Any]]] = []

_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "The body breaks the schema."},
    503: {"model": ErrorResponse, "description": "No model is loaded."},
}


def _json(content: Any) -> Response:
    return Response(orjson.dumps(content), media_type="application/json")


def _recommender(request: Request) -> Recommender:
    recommender: Recommender = request.app.state.slot.get()
    return recommender


def _events(request: Request) -> EventStore:
    store: EventStore | None = request.app.state.events
    if store is None:
        raise EventStoreError("the event store is not open (the application has not started)")
    return store


def _exclude(request: Request, asked: ExcludeSeen | None) -> ExcludeSeen:
    if asked is not None:
        return asked
    default: ExcludeSeen = request.app.state.settings.default_exclude_seen
    return default


def _rules(body: JobRulesFields) -> Rules:
    return Rules.at_now(body.exclude_job_ids, body.max_per_employer)


def add_routes(app: FastAPI) -> None:
    """Register every route on ``app`` itself.

    FastAPI's ``include_router`` wraps a router in another matching layer that cost ~10% of the
    single-user endpoint's throughput, so the routes go straight onto the application.
    """
    for path, endpoint, kwargs in _ROUTES:
        app.add_api_route(path, endpoint, **kwargs)


def _route(path: str, method: str, **kwargs: Any) -> Callable[[Endpoint], Endpoint]:
    def register(endpoint: Endpoint) -> Endpoint:
        _ROUTES.append((path, endpoint, {"methods": [method], **kwargs}))
        return endpoint

    return register


def _post_both(path: str, **kwargs: Any) -> Callable[[Endpoint], Endpoint]:
    """Register a POST route at ``path`` and at ``path`` without the trailing slash."""

    def register(endpoint: Endpoint) -> Endpoint:
        _route(path, "POST", **kwargs)(endpoint)
        _route(path.rstrip("/"), "POST", include_in_schema=False, **kwargs)(endpoint)
        return endpoint

    return register


@_post_both(
    "/recommend/jobs_single_user/",
    response_model=SingleUserResponse,
    responses=_ERRORS,
    tags=["recommend"],
)
async def jobs_single_user(body: SingleUserRequest, request: Request) -> Response:
    """Recommend jobs for one user (the popular list for an unknown user)."""
    recommender = _recommender(request)
    exclude = _exclude(request, body.exclude_seen)
    rules = _rules(body)
    if recommender.ranked_ahead(body.n, exclude, rules, body.user_id):
        rec = recommender.recommend(body.user_id, body.n, exclude, rules)
    else:  # scoring every job (slow for neighbourhood models) must not block the event loop
        rec = await run_in_threadpool(recommender.recommend, body.user_id, body.n, exclude, rules)
    jobs = rec.as_pairs()
    if body.explain:
        top = request.app.state.settings.explain_top
        explained = await run_in_threadpool(recommender.explain, body.user_id, rec, top)
        for job, parts in zip(jobs, explained, strict=True):
            job["explanation"] = [{"job_id": j, "share": round(s, 6)} for j, s in parts]
    return _json({"user_id": body.user_id, "jobs": jobs, "source": rec.source})


@_post_both(
    "/recommend/jobs_multiple_users/",
    response_model=MultipleUsersResponse,
    responses=_ERRORS,
    tags=["recommend"],
)
def jobs_multiple_users(body: MultipleUsersRequest, request: Request) -> Response:
    """Recommend jobs for up to 1,000 users in one vectorised call, in request order."""
    user_ids = list(dict.fromkeys(body.user_ids))
    recs = _recommender(request).recommend_many(
        user_ids, body.n, _exclude(request, body.exclude_seen), _rules(body)
    )
    return _json({str(u): r.as_pairs() for u, r in zip(user_ids, recs, strict=True)})


@_post_both(
    "/recommend/find_similar_jobs/",
    response_model=SimilarJobsResponse,
    responses={404: {"model": ErrorResponse, "description": "Unknown job."}, **_ERRORS},
    tags=["recommend"],
)
async def find_similar_jobs(body: SimilarJobsRequest, request: Request) -> Response:
    """Find the jobs most similar to a job (never the job itself)."""
    recommender = _recommender(request)
    rules = _rules(body)
    if recommender.ranked_ahead(body.n, rules=rules):
        rec = recommender.similar_jobs(body.job_id, body.n, rules)
    else:
        rec = await run_in_threadpool(recommender.similar_jobs, body.job_id, body.n, rules)
    return _json({"job_id": body.job_id, "jobs": rec.as_pairs()})


_STORE_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "The body breaks the schema."},
    503: {"model": ErrorResponse, "description": "The event store failed; nothing was committed."},
}


@_post_both("/events/", response_model=EventsResponse, responses=_STORE_ERRORS, tags=["events"])
def post_events(body: EventsRequest, request: Request) -> Response:
    """Record 1 to 10,000 impressions and redirects; a 200 means they are committed."""
    # a plain def: the append blocks on fsync, so FastAPI runs it in the threadpool
    store = _events(request)
    result = store.append(
        [Event(e.user_id, e.job_id, e.type, e.timestamp, e.event_id) for e in body.events]
    )
    slot = request.app.state.slot
    if slot.ready:  # the users' next lists are recalculated with these events
        try:
            slot.get().catch_up(store)
        except EventStoreError as exc:  # committed all the same: the watcher catches up later
            log.warning("events committed, but reading them back failed: %s", exc)
    return _json({"accepted": result.accepted, "duplicates": result.duplicates})


@_route(
    "/events/stats",
    "GET",
    response_model=EventStatsResponse,
    responses=_STORE_ERRORS,
    tags=["events"],
)
def event_stats(request: Request) -> Response:
    """Events stored, by type, and the time of the newest."""
    stats = _events(request).stats()
    newest = None if stats.newest is None else stats.newest.isoformat().replace("+00:00", "Z")
    return _json({"total": stats.total, "by_type": stats.by_type, "newest": newest})


@_route("/health", "GET", response_model=HealthResponse, tags=["ops"])
async def health() -> Response:
    """Liveness: the process answers."""
    return _json({"status": "ok"})


@_route(
    "/ready",
    "GET",
    response_model=ReadyResponse,
    responses={503: {"model": ErrorResponse, "description": "Not ready yet."}},
    tags=["ops"],
)
async def ready(request: Request) -> Response:
    """Readiness: a model is loaded and the event store is open (503 until then)."""
    version = _recommender(request).version
    _events(request)
    return _json({"status": "ready", "model_version": version})


@_route("/model", "GET", response_model=ModelInfoResponse, responses=_ERRORS, tags=["ops"])
async def model_info(request: Request) -> Response:
    """The model in use: bundle version, training time, counts and hyper-parameters."""
    return _json(_recommender(request).describe())
