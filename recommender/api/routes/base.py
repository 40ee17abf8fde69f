"""What every route module shares: the table its routes are declared in, and the JSON answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.responses import Response

Endpoint = Callable[..., Any]


def json_response(content: Any) -> Response:
    """``content`` as a JSON answer, encoded by orjson (no response-model validation)."""
    return Response(orjson.dumps(content), media_type="application/json")


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
            app.add_api_route(path, endpoint, **options)
