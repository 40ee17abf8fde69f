"""The API keys: the admin key (``X-API-Key`` against ``admin_api_key``), the optional
ingestion key of ``POST /events`` (``X-Events-Key`` against ``events_key``) and the optional
job-posting key of ``/jobs`` (``X-Jobs-Key`` against ``jobs_key``), each compared in constant
time."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from pydantic import SecretStr

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
    _require(given, configured, API_KEY_HEADER, "the admin key")


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
    _require(given, configured, EVENTS_KEY_HEADER, "the events key")


JOBS_KEY_HEADER = "X-Jobs-Key"
JOBS_KEY_SCHEME = "JobsKey"
JOBS_SECURITY: dict[str, object] = {
    "type": "apiKey",
    "in": "header",
    "name": JOBS_KEY_HEADER,
    "description": "The job-posting key (RECOMMENDER_JOBS_KEY): with one set, /jobs writes need "
    "it; without one they need the admin key (X-API-Key), unless RECOMMENDER_JOBS_OPEN is true.",
}


def check_jobs_key(settings: Settings, headers: Mapping[str, str]) -> None:
    """Raise unless jobs may be posted, changed or taken down with these request headers:
    anyone with ``jobs_open``; else the job-posting key when one is set; else the admin key.

    Raises
    ------
    AuthenticationError
        The key asked for is missing or wrong.
    AdminDisabledError
        Neither a job-posting key nor an admin key is set, and posting is not open.
    """
    if settings.jobs_open:
        return
    configured = settings.jobs_key
    if configured is None or not configured.get_secret_value():
        check_admin_key(settings, headers.get(API_KEY_HEADER))
        return
    _require(headers.get(JOBS_KEY_HEADER), configured, JOBS_KEY_HEADER, "the jobs key")


def _require(given: str | None, configured: SecretStr, header: str, what: str) -> None:
    """Raise :class:`AuthenticationError` unless ``given`` (the ``header``'s value) is the
    configured key, compared in constant time (neither is logged)."""
    if given is None:
        raise AuthenticationError(f"the {header} header is missing")
    if not hmac.compare_digest(given.encode(), configured.get_secret_value().encode()):
        raise AuthenticationError(f"the {header} header does not hold {what}")
