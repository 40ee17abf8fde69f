"""recommender.lifecycle.logs: JSON lines, the request id on every record, idempotent set-up."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from recommender.lifecycle.logs import (
    REQUEST_ID,
    UVICORN_LOGGERS,
    JsonFormatter,
    RequestIdFilter,
    configure_logging,
)


def _record(message: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("recommender.x", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def _line(record: logging.LogRecord) -> dict[str, object]:
    RequestIdFilter().filter(record)
    parsed: dict[str, object] = json.loads(JsonFormatter().format(record))
    return parsed


def test_a_line_holds_time_level_logger_and_message() -> None:
    line = _line(_record("hello %s", "world"))
    assert line["level"] == "WARNING"
    assert line["logger"] == "recommender.x"
    assert line["message"] == "hello world"
    assert str(line["time"]).endswith("Z")
    assert "request_id" not in line
    assert "exception" not in line


def test_the_request_id_is_added_while_one_is_set() -> None:
    token = REQUEST_ID.set("abc123")
    try:
        assert _line(_record())["request_id"] == "abc123"
    finally:
        REQUEST_ID.reset(token)
    assert "request_id" not in _line(_record())


def test_extra_fields_are_kept_and_odd_values_stringified() -> None:
    line = _line(_record(status=200, route="/x", where=object(), color_message="\x1b[36m"))
    assert line["status"] == 200
    assert line["route"] == "/x"
    assert str(line["where"]).startswith("<object")
    assert "color_message" not in line


def test_the_exception_text_is_included() -> None:
    try:
        raise ValueError("bad value 7")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed", None, exc_info=sys.exc_info()
        )
    line = _line(record)
    assert "Traceback" in str(line["exception"])
    assert "ValueError: bad value 7" in str(line["exception"])


@pytest.mark.usefixtures("restore_logging")
def test_json_set_up_replaces_its_handler_and_routes_uvicorn_to_root(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json")
    configure_logging("json")
    ours = [h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)]
    assert len(ours) == 1
    for name in UVICORN_LOGGERS:
        assert logging.getLogger(name).handlers == []
    assert logging.getLogger("uvicorn.error").propagate
    assert not logging.getLogger("uvicorn.access").hasHandlers()  # our access line replaces it
    logging.getLogger("uvicorn.error").info("Started server process")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[-1]["logger"] == "uvicorn.error"
    assert lines[-1]["message"] == "Started server process"


@pytest.mark.usefixtures("restore_logging")
def test_text_set_up_changes_nothing() -> None:
    before = logging.getLogger().handlers[:]
    configure_logging("text")
    assert logging.getLogger().handlers == before
