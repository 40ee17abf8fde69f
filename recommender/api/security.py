"""The admin API key: ``X-API-Key`` compared in constant time with ``admin_api_key``."""

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
