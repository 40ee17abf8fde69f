"""``/health``, ``/ready`` and ``/model``: whether the service answers, and with which model."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from recommender.api.deps import events_of, recommender_of
from recommender.api.errors import INVALID_BODY, responses
from recommender.api.routes.base import RouteTable, json_response
from recommender.api.schemas import HealthResponse, ModelInfoResponse, ReadyResponse
from recommender.errors import ModelNotReadyError

routes = RouteTable(tags=["ops"])


@routes.route("/health", "GET", response_model=HealthResponse)
async def health() -> Response:
    """Liveness: the process answers."""
    return json_response({"status": "ok"})


@routes.route(
    "/ready",
    "GET",
    response_model=ReadyResponse,
    responses=responses(
        (ModelNotReadyError, "Not ready yet, or the event store cannot append (the reason).")
    ),
)
async def ready(request: Request) -> Response:
    """Readiness: a model is loaded and the event store is open and can append (503 otherwise,
    naming the reason)."""
    version = recommender_of(request).version
    # the last append's outcome, or a probe (an insert rolled back) when none was recent
    await run_in_threadpool(events_of(request).check_writable)
    return json_response({"status": "ready", "model_version": version})


@routes.route(
    "/model",
    "GET",
    response_model=ModelInfoResponse,
    responses=responses(INVALID_BODY, (ModelNotReadyError, "No model is loaded.")),
)
async def model_info(request: Request) -> Response:
    """The model in use: bundle version, training time, counts and hyper-parameters."""
    return json_response(recommender_of(request).trained.manifest.describe())
