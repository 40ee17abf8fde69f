"""The admin key never appears in a log line or in what the service answers."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import SecretStr

from recommender.api import create_app
from recommender.api.security import check_admin_key, require_admin
from recommender.bundle.trained import TrainedModel
from recommender.errors import AdminDisabledError, AuthenticationError
from recommender.recommender import Recommender
from recommender.settings import LogFormat
from tests.conftest import tiny_settings

KEY = "k3y-that-must-never-leak-7f1c"
WRONG = "k3y-that-must-never-leak-7f1d"  # differs in the last character only
OPEN_PATHS = ["/model", "/metrics", "/openapi.json", "/ready", "/health", "/events/stats"]


def _admin_routes(routes: list[object]) -> list[tuple[str, str]]:
    """(method, path) of every route that requires the admin key, with ``{x}`` filled in."""
    found = []
    for route in routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        if any(d.call is require_admin for d in route.dependant.dependencies):
            path = route.path_format.replace("{job_id}", "no-such-job")
            found += [(method, path) for method in sorted(route.methods)]
    return found


@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.usefixtures("restore_logging")
def test_the_admin_key_is_never_logged_nor_answered(
    tmp_path: Path,
    tiny_trained: TrainedModel,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    log_format: LogFormat,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = tiny_settings(tmp_path).model_copy(
        update={"admin_api_key": SecretStr(KEY), "log_format": log_format}
    )
    app = create_app(settings, Recommender(tiny_trained))
    answers: list[str] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path in _admin_routes(app.routes):
            for key in (WRONG, "", None):
                headers = {} if key is None else {"X-API-Key": key}
                r = client.request(method, path, headers=headers)
                assert r.status_code == 401, (method, path, key)
                answers.append(r.text + str(r.headers))
            if method == "GET":  # the right key, where that starts no work
                r = client.request(method, path, headers={"X-API-Key": KEY})
                assert r.status_code in {200, 404}
                answers.append(r.text + str(r.headers))
        for path in OPEN_PATHS:
            r = client.get(path, headers={"X-API-Key": KEY})
            answers.append(r.text + str(r.headers))
    for given in (KEY, WRONG, None):
        try:
            check_admin_key(settings, given)
        except AuthenticationError as exc:
            answers.append(str(exc))
    captured = capsys.readouterr()
    assert caplog.records  # start-up and requests did log
    for text in [caplog.text, captured.out, captured.err, *answers, repr(settings)]:
        assert KEY not in text
        assert WRONG not in text
    for record in caplog.records:
        assert KEY not in str(record.__dict__)


def test_check_admin_key_accepts_only_the_key(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path).model_copy(update={"admin_api_key": SecretStr(KEY)})
    check_admin_key(settings, KEY)
    with pytest.raises(AuthenticationError, match="does not hold the admin key"):
        check_admin_key(settings, WRONG)
    with pytest.raises(AuthenticationError, match="missing"):
        check_admin_key(settings, None)
    with pytest.raises(AdminDisabledError):
        check_admin_key(tiny_settings(tmp_path), KEY)
