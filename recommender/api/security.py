"""The API keys: the admin key (``X-API-Key`` against ``admin_api_key``) and the optional
ingestion key of ``POST /events`` (``X-Events-Key`` against ``events_key``), each compared in
constant time."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from recommender.errors import AdminDisabledError, AuthenticationError
from recommender.settings import Settings

API_KEY_HEADER = "X-API-Key"
_api_key = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="The admin key (RECOMMENDER_ADMIN_API_KEY); admin endpoints are off without one.",
)


def check_admin_key(settings: Settings, given: str | None) -> None:
    """Raise unless ``given`` is the configured admin key.

    Raises
    ------
    AdminDisabledError
        No key is configured: the admin endpoints are off.
    AuthenticationError
        ``given`` is missing or wrong (compared in constant time; neither key is logged).
    """
    configured = settings.admin_api_key
    if configured is None or not configured.get_secret_value():
        raise AdminDisabledError(
            "the admin endpoints are off: set RECOMMENDER_ADMIN_API_KEY to turn them on"
        )
    if given is None:
        raise AuthenticationError(f"the {API_KEY_HEADER} header is missing")
    if not hmac.compare_digest(given.encode(), configured.get_secret_value().encode()):
        raise AuthenticationError(f"the {API_KEY_HEADER} header does not hold the admin key")


def require_admin(request: Request, given: Annotated[str | None, Depends(_api_key)] = None) -> None:
    """FastAPI dependency of every admin route."""
    check_admin_key(request.app.state.settings, given)


EVENTS_KEY_HEADER = "X-Events-Key"
EVENTS_KEY_SCHEME = "EventsKey"
EVENTS_SECURITY: dict[str, object] = {
    "type": "apiKey",
    "in": "header",
    "name": EVENTS_KEY_HEADER,
    "description": "The ingestion key (RECOMMENDER_EVENTS_KEY), apart from the admin key; "
    "POST /events requires it only when one is configured.",
}
"""The OpenAPI security scheme of ``POST /events`` (checked in the route itself, which keeps its
fast JSON path: a FastAPI dependency would take it away)."""


def check_events_key(settings: Settings, given: str | None) -> None:
    """Raise unless events may be posted with ``given``: no key configured, or that key.

    Raises
    ------
    AuthenticationError
        An ingestion key is configured and ``given`` is missing or wrong.
    """
    configured = settings.events_key
    if configured is None or not configured.get_secret_value():
        return
    if given is None:
        raise AuthenticationError(f"the {EVENTS_KEY_HEADER} header is missing")
    if not hmac.compare_digest(given.encode(), configured.get_secret_value().encode()):
        raise AuthenticationError(f"the {EVENTS_KEY_HEADER} header does not hold the events key")
