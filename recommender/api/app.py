"""``create_app``: the FastAPI application, its start-up, and where domain errors become HTTP."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from threadpoolctl import threadpool_limits

from recommender.api.admin import add_admin_routes
from recommender.api.metrics import add_metrics
from recommender.api.middleware import add_middleware
from recommender.api.routes import add_routes
from recommender.api.state import ModelSlot
from recommender.errors import (
    AdminDisabledError,
    AuthenticationError,
    BundleError,
    EngineUnavailableError,
    EventStoreError,
    ExplainUnsupportedError,
    InvalidDataError,
    ModelNotReadyError,
    NoPreviousBundleError,
    RecommenderError,
    RetrainNotFoundError,
    StorageError,
    UnknownJobError,
    UnknownUserError,
)
from recommender.events import EventStore, SQLiteEventStore
from recommender.lifecycle import Lifecycle
from recommender.lifecycle.logs import configure_logging
from recommender.lifecycle.startup import load_or_train
from recommender.recommender import Recommender
from recommender.settings import Settings, get_settings

log = logging.getLogger(__name__)

ERROR_STATUS: dict[type[RecommenderError], int] = {
    UnknownJobError: 404,
    UnknownUserError: 404,
    RetrainNotFoundError: 404,
    AuthenticationError: 401,
    AdminDisabledError: 403,
    NoPreviousBundleError: 409,
    ExplainUnsupportedError: 422,
    InvalidDataError: 422,
    ModelNotReadyError: 503,
    BundleError: 503,
    EventStoreError: 503,
    StorageError: 503,
    EngineUnavailableError: 503,
    RecommenderError: 400,
}

DESCRIPTION = """
Job recommendations from what job-seekers were shown (impressions) and clicked through to
(redirects).

* **jobs_single_user**: which jobs this person should see next;
* **jobs_multiple_users**: the same for up to 1,000 people at once;
* **find_similar_jobs**: which jobs are like this one;
* **events**: record impressions and redirects as they happen (a 2xx means they are committed).

A user the model does not know gets the most popular jobs (`"source": "popular"`).
"""


def status_for(exc: RecommenderError) -> int:
    """The HTTP status of a domain error: the entry of its nearest class in :data:`ERROR_STATUS`."""
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 500


async def _domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RecommenderError)
    return Response(
        orjson.dumps({"detail": str(exc)}),
        status_code=status_for(exc),
        media_type="application/json",
    )


def _json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as strings: a client may send NaN or 1e400, and the 422
    answer echoes its input, which strict JSON cannot hold (FastAPI's own handler then fails)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


async def _invalid_request(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    detail = _json_safe(jsonable_encoder(exc.errors()))
    return Response(
        json.dumps({"detail": detail}).encode(), status_code=422, media_type="application/json"
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(
        orjson.dumps({"detail": "internal error"}), status_code=500, media_type="application/json"
    )


def _one_blas_thread() -> None:
    """Hold BLAS to one thread while serving.

    Requests already run in parallel (the event loop, its thread pool, several workers); a
    request that scores every job live (a catalogue too large to rank ahead, or a recalculated
    user) calls BLAS, and OpenBLAS's own threads on top of those oversubscribe the cores: on
    2 cores that turned 0.3 ms requests into 300 ms ones. Set after start-up training, which
    ranks ahead with BLAS on every core.
    """
    threadpool_limits(1, "blas")


def create_app(
    settings: Settings | None = None,
    recommender: Recommender | None = None,
    events: EventStore | None = None,
) -> FastAPI:
    """Build the application.

    Parameters
    ----------
    settings:
        Defaults to :func:`get_settings` (environment and ``.env``).
    recommender:
        Serve this instead of loading (or training) a bundle from ``settings.model_dir``.
    events:
        Record events here instead of opening :class:`SQLiteEventStore` at
        ``settings.events_file`` at start-up (a store passed in is not closed by the app).
    """
    settings = settings or get_settings()
    configure_logging(settings.log_format)
    slot = ModelSlot(recommender)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened: EventStore | None = None
        if app.state.events is None:
            opened = await run_in_threadpool(SQLiteEventStore, settings.events_file)
            app.state.events = opened
            log.info("recording events in %s", settings.events_file)
        try:
            if not slot.ready:
                slot.set(await run_in_threadpool(load_or_train, settings, app.state.events))
                log.info("serving model %s", slot.get().version)
            _one_blas_thread()
            # retraining, rollback and the CURRENT watcher; stopped before the event store closes
            with Lifecycle(settings, slot, app.state.events) as lifecycle:
                app.state.lifecycle = lifecycle
                yield
        finally:
            if opened is not None:
                app.state.events = None
                opened.close()

    app = FastAPI(
        title="Job recommender",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.slot = slot
    app.state.events = events
    add_routes(app)
    add_admin_routes(app)
    add_middleware(app, settings, add_metrics(app))
    app.add_exception_handler(RecommenderError, _domain_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _unexpected_error)
    return app
