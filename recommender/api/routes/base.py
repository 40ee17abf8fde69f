"""What every route module shares: the table its routes are declared in, the route classes that
read bodies (UTF-8 only; JSON straight into a model), and the JSON answer."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

Endpoint = Callable[..., Any]


def json_response(content: Any, headers: dict[str, str] | None = None) -> Response:
    """``content`` as a JSON answer, encoded by orjson (no response-model validation)."""
    return Response(orjson.dumps(content), media_type="application/json", headers=headers)


JSON = "application/json"


async def require_utf8(request: Request) -> None:
    """Refuse a body that is not UTF-8 JSON text with 400, naming the first bad byte.

    JSON on the wire is UTF-8 (RFC 8259 section 8.1), but Starlette's ``request.json()`` reads
    bytes with ``json.loads``, which guesses UTF-16 and UTF-32 from a byte-order mark or from NUL
    bytes. UTF-16 of ASCII text is valid UTF-8 with a NUL after each character, and no JSON text
    holds a raw NUL, so a NUL byte is refused as well.
    """
    try:
        raw = await request.body()
    except Exception:  # a client gone mid-body: FastAPI's own handler answers it
        return
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(
            400, f"the body is not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start}"
        ) from None
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise HTTPException(
            400, f"the body is not UTF-8 text: a NUL byte at offset {nul} (UTF-16 or UTF-32?)"
        )


class TextBodyRoute(APIRoute):
    """A route whose body, if it takes one, must be UTF-8 text (:func:`require_utf8`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def checked(request: Request) -> Response:
            await require_utf8(request)
            return await handler(request)

        return checked


class JSONBodyRoute(TextBodyRoute):
    """A route whose ``endpoint(body, request)`` takes a pydantic model as its JSON body.

    A body sent as ``application/json`` that the model accepts is validated straight from its
    bytes by pydantic-core's JSON parser and handed to the endpoint. Anything else (another or no
    content type, bytes that are not JSON, a body the model refuses) goes through FastAPI's own
    handler, so every error answer is FastAPI's, unchanged. On the single-user endpoint this
    skipped about a third of the in-process cost of a request (the stdlib JSON parse, the
    dependency solving and the validation of a dict).

    A route with dependencies (an API key check, say) or with FastAPI's own body limit always
    takes FastAPI's handler: the fast path would skip them. A body the fast path accepts is UTF-8
    (pydantic-core's parser takes nothing else); any other goes through :class:`TextBodyRoute`.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        fallback = super().get_route_handler()
        if self.dependant.dependencies or getattr(self, "max_body_size", None) is not None:
            return fallback
        model: type[BaseModel] = typing.get_type_hints(self.endpoint)["body"]
        endpoint = self.endpoint
        is_async = inspect.iscoroutinefunction(endpoint)

        async def handler(request: Request) -> Response:
            if request.headers.get("content-type") == JSON:
                try:
                    raw = await request.body()
                except Exception as exc:  # a client gone mid-body: FastAPI's own answer
                    raise HTTPException(400, "There was an error parsing the body") from exc
                try:
                    body = model.model_validate_json(raw)
                except ValidationError:
                    return await fallback(request)  # its 422 names what was wrong
                # a plain def runs in the thread pool, as FastAPI runs it
                response: Response = (
                    await endpoint(body, request)
                    if is_async
                    else await run_in_threadpool(endpoint, body, request)
                )
                return response
            return await fallback(request)

        return handler


def _takes_json_body(endpoint: Endpoint) -> bool:
    hints = typing.get_type_hints(endpoint)
    body = hints.get("body")
    return (
        isinstance(body, type)
        and issubclass(body, BaseModel)
        and hints.get("request") is Request
        and list(hints) == ["body", "request", "return"]
    )


def _twin(path: str) -> str:
    return path[:-1] if path.endswith("/") else path + "/"


class RouteTable:
    """The routes of one module, added to the application by :meth:`add_to`.

    Parameters
    ----------
    common:
        Keyword arguments of ``FastAPI.add_api_route`` every route of the table takes.
    """

    def __init__(self, **common: Any) -> None:
        self.common = common
        self.routes: list[tuple[str, Endpoint, dict[str, Any]]] = []

    def route(
        self, path: str, method: str, *, twin: bool = False, **kwargs: Any
    ) -> Callable[[Endpoint], Endpoint]:
        """Declare ``method path``; with ``twin``, also the same path with the trailing slash
        added or removed, left out of the OpenAPI document."""

        def register(endpoint: Endpoint) -> Endpoint:
            options = {"methods": [method], **self.common, **kwargs}
            self.routes.append((path, endpoint, options))
            if twin:
                self.routes.append((_twin(path), endpoint, {**options, "include_in_schema": False}))
            return endpoint

        return register

    def add_to(self, app: FastAPI) -> None:
        """Register the table's routes on ``app`` itself, in declaration order."""
        for path, endpoint, options in self.routes:
            route_class = JSONBodyRoute if _takes_json_body(endpoint) else TextBodyRoute
            app.router.add_api_route(path, endpoint, route_class_override=route_class, **options)
