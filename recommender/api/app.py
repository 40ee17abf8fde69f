"""``create_app``: the FastAPI application and its start-up."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from threadpoolctl import threadpool_limits

from recommender.api.deps import ModelSlot
from recommender.api.errors import add_error_handlers
from recommender.api.metrics import add_metrics
from recommender.api.middleware import add_middleware
from recommender.api.routes import add_routes
from recommender.events import EventStore, SQLiteEventStore
from recommender.lifecycle import Lifecycle
from recommender.lifecycle.logs import configure_logging
from recommender.lifecycle.startup import load_or_train
from recommender.recommender import Recommender
from recommender.settings import Settings, get_settings

log = logging.getLogger(__name__)

DESCRIPTION = """
Job recommendations from what job-seekers were shown (impressions) and clicked through to
(redirects).

* **jobs_single_user**: which jobs this person should see next;
* **jobs_multiple_users**: the same for up to 1,000 people at once;
* **find_similar_jobs**: which jobs are like this one;
* **users_for_job(s)**: who should hear about this job (or each of up to 100): the users most
  likely to want it, for a campaign;
* **events**: record impressions and redirects as they happen (a 2xx means they are committed).

A user the model does not know gets the most popular jobs (`"source": "popular"`).
"""


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
    add_middleware(app, settings, add_metrics(app))
    add_error_handlers(app)
    return app
