"""Logging set-up: a request id for every record, and one JSON object per line on request.

The API sets :data:`REQUEST_ID` for the length of each request; :class:`RequestIdFilter` copies
it onto every record a handler sees, so a line logged anywhere while a request is handled (a
route, the domain code, a library) carries the id the client got in ``X-Request-ID``.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from recommender.settings import LogFormat

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The id of the request being handled, or None outside a request."""

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
ACCESS_LOGGER = "recommender.access"
"""The API's access lines (method, route, status, duration_ms), written with JSON logs only."""

# Attributes every LogRecord has: anything else on a record came from ``extra=`` and is a field
# (but uvicorn's color_message, its message with terminal colours).
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "color_message",
}


class RequestIdFilter(logging.Filter):
    """Set ``record.request_id`` to the current request's id (None outside a request).

    Attach it to a handler, not a logger: a logger's filters do not see records that propagate
    from its children.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request_id, exception, extras.

    ``request_id`` is present while a request is handled; ``exception`` when the record carries
    one; fields given with ``extra=`` are added as they are (``default=str`` for the rest).
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class _JsonHandler(logging.StreamHandler[TextIO]):
    """The root handler :func:`configure_logging` installs (a class of its own so that a second
    call replaces it instead of adding another)."""

    def emit(self, record: logging.LogRecord) -> None:
        # stderr as it is now, as logging's last-resort handler does: a redirection made after
        # set-up (a test's capture, a supervisor's) is followed
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(log_format: LogFormat, level: int = logging.INFO) -> None:
    """Route every log record through one handler on the root logger when ``log_format`` is json.

    The root logger gets a stderr handler with :class:`JsonFormatter` and
    :class:`RequestIdFilter`; uvicorn's loggers lose their own handlers and propagate to it, so
    the server's lines are JSON too, except ``uvicorn.access``, which is silenced: the API's own
    access line (:data:`ACCESS_LOGGER`) carries the route template, the duration and the request
    id. Calling it again replaces the handler. ``"text"`` leaves logging as the server set it.
    """
    if log_format != "json":
        return
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _JsonHandler)]:
        root.removeHandler(handler)
    handler = _JsonHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        # uvicorn writes access lines only while its logger has a handler to reach
        logger.propagate = name != "uvicorn.access"
