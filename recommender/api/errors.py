"""Where domain errors become HTTP, once: the status table, the handlers, and the OpenAPI
``responses=`` of each route, drawn from the same table.

Routes raise nothing HTTP-specific. Every :class:`~recommender.errors.RecommenderError` answers
the status of its nearest class in :data:`ERROR_STATUS` with ``{"detail": message}``, the message
without any filesystem path or storage URL (:func:`public_message`; a 5xx is logged whole); a body
that breaks the schema answers 422 with FastAPI's list of errors; anything else 500, logged.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from recommender.api.redact import without_paths
from recommender.api.schemas import ErrorResponse
from recommender.errors import (
    AdminDisabledError,
    AuthenticationError,
    BundleError,
    CatalogueTooLargeError,
    EngineUnavailableError,
    EventStoreError,
    ExplainUnsupportedError,
    InvalidDataError,
    InvalidJobError,
    JobsFileError,
    ModelChangedError,
    ModelNotReadyError,
    NoPreviousBundleError,
    RecommenderError,
    RetrainNotFoundError,
    StorageError,
    UnknownFieldError,
    UnknownJobError,
    UnknownUserError,
)

log = logging.getLogger(__name__)

ERROR_STATUS: dict[type[Exception], int] = {
    UnknownJobError: 404,
    UnknownUserError: 404,
    RetrainNotFoundError: 404,
    AuthenticationError: 401,
    AdminDisabledError: 403,
    NoPreviousBundleError: 409,
    JobsFileError: 409,  # the file on the server is at fault, not the request
    ModelChangedError: 409,  # the pages asked for belong to a model no longer served
    ExplainUnsupportedError: 422,
    InvalidDataError: 422,
    InvalidJobError: 422,
    CatalogueTooLargeError: 422,  # the data cannot be fitted under the configured bound
    UnknownFieldError: 422,  # a filter names a field the jobs do not have
    ModelNotReadyError: 503,
    BundleError: 503,
    EventStoreError: 503,
    StorageError: 503,
    EngineUnavailableError: 503,
    RecommenderError: 400,
    RequestValidationError: 422,  # FastAPI's: the body breaks the schema
}
"""The HTTP status of each error class; a class not listed answers its nearest ancestor's."""

INVALID_BODY = (RequestValidationError, "The body breaks the schema.")
"""The answer of every route with a body, as :func:`responses` takes it."""
INVALID_LIST_BODY = (
    UnknownFieldError,
    "The body breaks the schema, or a filter names a field the jobs do not have.",
)
"""The 422 of the routes that rank lists: :data:`INVALID_BODY`, or an unknown filter field."""
MODEL_CHANGED = (
    ModelChangedError,
    "The request names the model_version of its earlier pages, and another model is served now: "
    "start again from offset 0.",
)


def status_of(cls: type[Exception]) -> int:
    """The HTTP status of an error class: the entry of its nearest class in :data:`ERROR_STATUS`
    (500 for a class outside the table)."""
    for ancestor in cls.__mro__:
        if ancestor in ERROR_STATUS:
            return ERROR_STATUS[ancestor]
    return 500


def status_for(exc: Exception) -> int:
    """The HTTP status of an error: :func:`status_of` its class."""
    return status_of(type(exc))


def responses(*answers: tuple[type[Exception], str]) -> dict[int | str, dict[str, Any]]:
    """A route's OpenAPI ``responses=``: for each error it may answer, its status (from
    :data:`ERROR_STATUS`) with the :class:`ErrorResponse` body and ``description``."""
    documented: dict[int | str, dict[str, Any]] = {}
    for cls, description in answers:
        status = status_of(cls)
        if status in documented:
            raise ValueError(f"two answers for status {status}: {cls.__name__} and another")
        documented[status] = {"model": ErrorResponse, "description": description}
    return documented


def public_message(request: Request, message: str) -> str:
    """``message`` as a client may read it: paths and URLs cut to their last part, the app's
    configured locations included (:func:`~recommender.api.redact.without_paths`)."""
    settings = getattr(request.app.state, "settings", None)
    places: list[str] = []
    if settings is not None:
        places = [str(settings.data_dir), str(settings.model_dir), str(settings.cache_dir)]
        places.append(str(settings.events_file.parent))
    return without_paths(message, places)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RecommenderError)
    status = status_for(exc)
    if status >= 500:  # the server's fault: the operator sees what the client no longer does
        log.warning("%s %s answered %d: %s", request.method, request.url.path, status, exc)
    return Response(
        orjson.dumps({"detail": public_message(request, str(exc))}),
        status_code=status,
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
        json.dumps({"detail": detail}).encode(),
        status_code=status_for(exc),
        media_type="application/json",
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(
        orjson.dumps({"detail": "internal error"}), status_code=500, media_type="application/json"
    )


def add_error_handlers(app: FastAPI) -> None:
    """Answer domain errors, schema errors and anything unexpected as described above."""
    app.add_exception_handler(RecommenderError, _domain_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _unexpected_error)
