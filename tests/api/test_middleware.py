"""RequestMiddleware driven over raw ASGI: what it reads, what it sends, what it records."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from starlette.types import Message, Receive, Scope, Send

from recommender.api.metrics import RequestMetrics
from recommender.api.middleware import RequestMiddleware, fresh_request_id, request_id_from
from recommender.errors import ModelNotReadyError
from recommender.lifecycle.logs import REQUEST_ID

LIMIT = 1000


def _no_model() -> Any:
    raise ModelNotReadyError("none")


def _scope(headers: list[tuple[bytes, bytes]]) -> Scope:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": "/x",
        "headers": headers,
    }


class Reader:
    """An application that reads the whole body, then answers 200 with its length."""

    def __init__(self) -> None:
        self.seen_request_id: str | None = None
        self.messages: list[Message] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen_request_id = REQUEST_ID.get()
        size = 0
        while True:
            message = await receive()
            self.messages.append(message)
            if message["type"] == "http.disconnect":
                break
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(size).encode()})


def _run(
    app: Callable[..., Any], scope: Scope, chunks: list[bytes]
) -> tuple[list[Message], int, RequestMetrics]:
    """Run the middleware around ``app``; the client sends ``chunks`` (more_body on all but the
    last). Returns what was sent back, how many chunks the server was asked for, the metrics."""
    metrics = RequestMetrics(_no_model, lambda: None)
    middleware = RequestMiddleware(app, max_body_bytes=LIMIT, metrics=metrics)
    sent: list[Message] = []
    asked = 0

    async def receive() -> Message:
        nonlocal asked
        asked += 1
        body = chunks[asked - 1]
        return {"type": "http.request", "body": body, "more_body": asked < len(chunks)}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent, asked, metrics


def _status(sent: list[Message]) -> int:
    (start,) = [m for m in sent if m["type"] == "http.response.start"]
    status: int = start["status"]
    return status


def _body(sent: list[Message]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def _headers(sent: list[Message]) -> dict[bytes, bytes]:
    (start,) = [m for m in sent if m["type"] == "http.response.start"]
    return dict(start["headers"])


def test_a_declared_length_over_the_limit_is_refused_without_reading_or_calling_the_app() -> None:
    app = Reader()
    sent, asked, _ = _run(app, _scope([(b"content-length", b"1001")]), [b"x" * 1001])
    assert _status(sent) == 413
    assert orjson.loads(_body(sent)) == {
        "detail": "request body is 1001 bytes; the limit is 1000 bytes"
    }
    assert asked == 0
    assert app.seen_request_id is None


def test_a_chunked_body_is_refused_at_the_first_chunk_past_the_limit() -> None:
    app = Reader()
    chunks = [b"x" * 400] * 10
    sent, asked, _ = _run(app, _scope([(b"transfer-encoding", b"chunked")]), chunks)
    assert asked == 3  # 400, 800, 1200: it stops there
    assert _status(sent) == 413  # and the app's own 200 is dropped
    assert orjson.loads(_body(sent)) == {
        "detail": "request body is at least 1200 bytes; the limit is 1000 bytes"
    }
    assert app.messages[-1] == {"type": "http.disconnect"}


def test_a_chunked_body_within_the_limit_reaches_the_app_whole() -> None:
    app = Reader()
    sent, asked, _ = _run(app, _scope([(b"transfer-encoding", b"chunked")]), [b"x" * 500] * 2)
    assert (_status(sent), _body(sent), asked) == (200, b"1000", 2)


def test_an_http2_body_without_a_length_is_counted_too() -> None:
    scope = _scope([]) | {"http_version": "2"}
    sent, asked, _ = _run(Reader(), scope, [b"x" * 600] * 3)
    assert (_status(sent), asked) == (413, 2)


def test_a_declared_length_within_the_limit_passes_receive_through() -> None:
    seen: list[Receive] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(receive)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    metrics = RequestMetrics(_no_model, lambda: None)
    middleware = RequestMiddleware(app, max_body_bytes=LIMIT, metrics=metrics)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}"}

    async def send(message: Message) -> None:
        pass

    asyncio.run(middleware(_scope([(b"content-length", b"2")]), receive, send))
    assert seen == [receive]  # the hot path does not wrap receive


def test_the_request_id_is_set_for_the_app_and_returned() -> None:
    app = Reader()
    sent, _, _ = _run(app, _scope([(b"x-request-id", b"client-7.a_b")]), [b"{}"])
    assert app.seen_request_id == "client-7.a_b"
    assert _headers(sent)[b"x-request-id"] == b"client-7.a_b"
    assert REQUEST_ID.get() is None  # reset once the request is done


@pytest.mark.parametrize(
    "given",
    [None, b"", b"x" * 129, b"has space", b"semi;colon", b"\xc3\xa9t\xc3\xa9", b"a/b"],
    ids=repr,
)
def test_an_insane_request_id_is_replaced_by_a_fresh_one(given: bytes | None) -> None:
    fresh = request_id_from(given)
    assert len(fresh) == 32
    assert int(fresh, 16) >= 0
    assert fresh != request_id_from(given)


def test_fresh_request_ids_are_random_uuid4s() -> None:
    ids = {fresh_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    for request_id in ids:
        parsed = uuid.UUID(hex=request_id)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert parsed.hex == request_id


def test_a_sane_request_id_of_128_characters_is_kept() -> None:
    given = b"A-z.0_9" * 18 + b"ab"
    assert len(given) == 128
    assert request_id_from(given) == given.decode()


def test_an_app_failing_before_it_answers_is_recorded_as_500_and_reraised() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    metrics = RequestMetrics(_no_model, lambda: None)
    middleware = RequestMiddleware(app, max_body_bytes=LIMIT, metrics=metrics)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        pass

    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(middleware(_scope([]), receive, send))
    labels = {"route": "unmatched", "status": "500"}
    assert metrics.registry.get_sample_value("recommender_http_requests_total", labels) == 1


def test_each_answer_is_counted_by_route_and_status() -> None:
    _, _, metrics = _run(Reader(), _scope([(b"content-length", b"5000")]), [])
    labels = {"route": "unmatched", "status": "413"}
    assert metrics.registry.get_sample_value("recommender_http_requests_total", labels) == 1
    count = "recommender_http_request_duration_seconds_count"
    assert metrics.registry.get_sample_value(count, labels) == 1


def test_non_http_scopes_pass_through() -> None:
    calls: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(scope["type"])

    metrics = RequestMetrics(_no_model, lambda: None)

    async def receive() -> Message:
        return {}

    async def send(message: Message) -> None:
        pass

    middleware = RequestMiddleware(app, max_body_bytes=LIMIT, metrics=metrics)
    asyncio.run(middleware({"type": "lifespan"}, receive, send))
    assert calls == ["lifespan"]
