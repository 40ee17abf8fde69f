"""The one middleware every request passes: request id, body limit, HEAD, metrics and access log.

It is pure ASGI, and a single layer on purpose: the single-user endpoint answers thousands of
requests a second, and each ``BaseHTTPMiddleware``-style layer costs several percent of that.
On the hot path (a body with a ``Content-Length`` within the limit) it reads the headers once,
wraps ``send`` to add ``X-Request-ID`` and note the status, and records two metric samples;
``receive`` is wrapped only for a body of unknown length, whose bytes it counts.
"""

from __future__ import annotations

import logging
import os
import re
import time

import orjson
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recommender.api.metrics import UNMATCHED, RequestMetrics
from recommender.api.openapi import document_body_answers
from recommender.lifecycle.logs import ACCESS_LOGGER, REQUEST_ID
from recommender.settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")
_HTTP1 = frozenset({"1.0", "1.1"})

access_log = logging.getLogger(ACCESS_LOGGER)


# the version (4) and variant (RFC 4122) bits of a random UUID
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def fresh_request_id() -> str:
    """A random UUID (version 4) as 32 hex digits: ``uuid.uuid4().hex`` at a third of its cost
    (every request without an id of its own pays it)."""
    random = int.from_bytes(os.urandom(16), "big")
    return ((random & _UUID4_CLEAR) | _UUID4_SET).to_bytes(16, "big").hex()


def request_id_from(given: bytes | None) -> str:
    """The client's ``X-Request-ID`` when it is 1-128 of ``[A-Za-z0-9._-]``, else a fresh id."""
    if given is not None and _SANE_ID.fullmatch(given):
        return given.decode("ascii")
    return fresh_request_id()


def route_template(scope: Scope) -> str:
    """The template of the route that handled the request (``/admin/retrain/{id}``), or
    ``"unmatched"``: never the raw path, so that metric labels stay few."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def _match_route(scope: Scope) -> str:
    """The route template of a request the application never saw (it was refused here)."""
    app = scope.get("app")
    for route in getattr(getattr(app, "router", None), "routes", ()):
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            return route_template({"route": route})
    return UNMATCHED


def _declared_length(value: bytes | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def too_large(size: int, limit: int, *, exact: bool = True) -> bytes:
    """The JSON body of a 413: the body's size (or the bytes read so far) and the limit."""
    size_text = f"{size} bytes" if exact else f"at least {size} bytes"
    return orjson.dumps({"detail": f"request body is {size_text}; the limit is {limit} bytes"})


async def _refuse(send: Send, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestMiddleware:
    """Give each request an id, refuse oversized bodies with 413, count and time each answer.

    ``HEAD`` is answered as ``GET`` without the body (RFC 9110 section 9.3.2), on every GET route
    in one place: FastAPI's routes answer it 405, which breaks HEAD-based health checks.

    Parameters
    ----------
    app:
        The application inside.
    max_body_bytes:
        A body over this many bytes gets 413: at once when ``Content-Length`` says so, or as
        soon as the bytes streamed (a chunked body) pass it.
    metrics:
        Where each answer's route template, status and duration are recorded.
    access_log_enabled:
        Log one line per request (method, route, status, duration_ms) on
        ``recommender.access``; the JSON log format turns it on.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        metrics: RequestMetrics,
        access_log_enabled: bool = False,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.access_log_enabled = access_log_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        head = method == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        started = time.perf_counter()
        given_id = length_header = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length_header = value
            elif name == b"x-request-id":
                given_id = value
            elif name == b"transfer-encoding":
                chunked = True
        request_id = request_id_from(given_id)
        id_header = (b"x-request-id", request_id.encode("ascii"))
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            elif head:  # the headers (Content-Length too) are GET's; the body is not sent
                message = {**message, "body": b""}
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            length = _declared_length(length_header)
            if length is not None and length > self.max_body_bytes:
                await _refuse(send_with_id, too_large(length, self.max_body_bytes))
                route = _match_route(scope)
            elif length is None and (chunked or scope.get("http_version") not in _HTTP1):
                await _CountedBody(self.app, self.max_body_bytes)(scope, receive, send_with_id)
                route = route_template(scope)
            else:  # the server delivers no more than Content-Length bytes: nothing to count
                await self.app(scope, receive, send_with_id)
                route = route_template(scope)
        except BaseException:
            # the request id stays set: the error handler outside logs this request's traceback
            self._record(method, route_template(scope), status or 500, started)
            raise
        self._record(method, route, status or 500, started)
        REQUEST_ID.reset(token)

    def _record(self, method: str, route: str, status: int, started: float) -> None:
        seconds = time.perf_counter() - started
        self.metrics.observe(route, status, seconds)
        if self.access_log_enabled:
            access_log.info(
                "%s %s %d %.2f ms",
                method,
                route,
                status,
                seconds * 1000,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                },
            )


class _CountedBody:
    """Run ``app`` on a body of unknown length, answering 413 once more than ``limit`` bytes came.

    The application then reads a disconnect, and whatever it answers is dropped.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.received = 0
        self.refused = False
        self.started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted_receive() -> Message:
            if self.refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit:
                    self.refused = True
                    if not self.started:
                        await _refuse(send, too_large(self.received, self.limit, exact=False))
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if self.refused and not self.started:
                return
            if message["type"] == "http.response.start":
                self.started = True
            await send(message)

        await self.app(scope, counted_receive, guarded_send)


def add_middleware(app: FastAPI, settings: Settings, metrics: RequestMetrics) -> None:
    """Wrap ``app`` in CORS (only when ``settings.cors_origins`` names some) and, outermost,
    :class:`RequestMiddleware`: every answer, a CORS refusal or a 413 too, is counted and
    carries a request id. The 413 goes into the OpenAPI spec of each operation with a body."""
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key"],
            expose_headers=[REQUEST_ID_HEADER],
        )
    app.add_middleware(
        RequestMiddleware,
        max_body_bytes=settings.max_body_bytes,
        metrics=metrics,
        access_log_enabled=settings.log_format == "json",
    )
    document_body_answers(app)
