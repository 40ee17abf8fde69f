"""Answers every operation with a request body can give, whoever declared the route.

:class:`~recommender.api.middleware.RequestMiddleware` answers 413 to an oversized body before
any route sees it, and FastAPI answers 400 to a body that is not UTF-8 text (malformed JSON in
UTF-8 is a 422 like any other schema error). Both reach every operation that takes a body, so
they are added to the spec here, once, rather than to each route's ``responses``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from recommender.api.security import EVENTS_KEY_SCHEME, EVENTS_SECURITY

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
    events key's security scheme (``POST /events`` checks it itself, not as a dependency)."""
    schemes = spec.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes.setdefault(EVENTS_KEY_SCHEME, EVENTS_SECURITY)
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                responses = operation.setdefault("responses", {})
                for status, answer in BODY_ANSWERS.items():
                    responses.setdefault(status, answer)
    return spec


def document_body_answers(app: FastAPI) -> None:
    """Make ``app.openapi()`` include :data:`BODY_ANSWERS` (FastAPI's documented way to extend
    the generated spec: replace ``app.openapi``, which caches its result)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_body_answers(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
