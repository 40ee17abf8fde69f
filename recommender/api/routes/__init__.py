"""The HTTP routes, one module per resource: bodies to domain calls and back.

Errors are mapped in :mod:`recommender.api.errors`; what the routes read from the application
comes from :mod:`recommender.api.deps`.
"""

from __future__ import annotations

from fastapi import FastAPI

from recommender.api.routes import admin, audience, events, jobs, model, recommend


def add_routes(app: FastAPI) -> None:
    """Register every route on ``app`` itself, the recommendations first.

    FastAPI's ``include_router`` wraps a router in another matching layer that cost ~10% of the
    single-user endpoint's throughput, so the routes go straight onto the application.
    """
    for module in (recommend, audience, events, jobs, model, admin):
        module.routes.add_to(app)
