"""Answers every operation with a request body can give, whoever declared the route.

:class:`~recommender.api.middleware.RequestMiddleware` answers 413 to an oversized body before
any route sees it, and FastAPI answers 400 to a body that is not UTF-8 text (malformed JSON in
UTF-8 is a 422 like any other schema error). Both reach every operation that takes a body, so
they are added to the spec here, once, rather than to each route's ``responses``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI

from recommender.api.schemas import INT64_MAX, INT64_MIN
from recommender.api.security import (
    API_KEY_HEADER,
    EVENTS_KEY_SCHEME,
    EVENTS_SECURITY,
    JOBS_KEY_SCHEME,
    JOBS_SECURITY,
)

_ERROR_BODY = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {"detail": {"title": "Detail"}},
            "required": ["detail"],
        }
    }
}
BODY_ANSWERS: dict[str, dict[str, Any]] = {
    "400": {"description": "The body is not UTF-8 text.", "content": _ERROR_BODY},
    "413": {
        "description": "The body is over the size limit (RECOMMENDER_MAX_BODY_BYTES).",
        "content": _ERROR_BODY,
    },
}


def with_body_answers(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with :data:`BODY_ANSWERS` in each operation that has a request body, and the
    events and jobs keys' security schemes (``POST /events`` and ``/jobs`` check them themselves,
    not as a dependency)."""
    schemes = spec.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes.setdefault(EVENTS_KEY_SCHEME, EVENTS_SECURITY)
    schemes.setdefault(JOBS_KEY_SCHEME, JOBS_SECURITY)
    schemes.setdefault("APIKeyHeader", {"type": "apiKey", "in": "header", "name": API_KEY_HEADER})
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                responses = operation.setdefault("responses", {})
                for status, answer in BODY_ANSWERS.items():
                    responses.setdefault(status, answer)
    return spec


_FLOAT_EXACT = 2**53
"""Integers below this size survive a trip through a float."""


def _exact_bound(bound: float) -> int:
    """An integer bound FastAPI's spec model turned into a float, as the integer it was.

    Its ``Schema`` types ``minimum``/``maximum`` as floats, so ``le=2**63 - 1`` is published as
    ``9.223372036854776e18``, which is 2**63 and lets a client believe 2**63 is a valid id. Every
    integer bound here past float precision is an int64 id bound, so it becomes that bound.
    """
    if abs(bound) < _FLOAT_EXACT:
        return int(bound)
    return INT64_MAX if bound > 0 else INT64_MIN


def exact_integer_bounds(node: Any) -> Any:
    """``node`` (a spec or part of one) with each integer schema's bounds as exact integers."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            for key in ("minimum", "maximum"):
                if isinstance(node.get(key), float):
                    node[key] = _exact_bound(node[key])
        for value in node.values():
            exact_integer_bounds(value)
    elif isinstance(node, list):
        for value in node:
            exact_integer_bounds(value)
    return node


def document_body_answers(app: FastAPI) -> None:
    """Make ``app.openapi()`` include :data:`BODY_ANSWERS`, with exact integer bounds (FastAPI's
    documented way to extend the generated spec: replace ``app.openapi``, which caches its result).

    The spec is drawn again when the UTC day changes: the event-time bound it publishes moves daily
    (:func:`~recommender.api.schemas.latest_event_time`).
    """
    generate = app.openapi
    drawn_on: date | None = None

    def openapi() -> dict[str, Any]:
        nonlocal drawn_on
        today = datetime.now(UTC).date()
        if app.openapi_schema is None or drawn_on != today:
            app.openapi_schema = None  # FastAPI's own generator returns its cached spec otherwise
            app.openapi_schema = exact_integer_bounds(with_body_answers(generate()))
            drawn_on = today
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
