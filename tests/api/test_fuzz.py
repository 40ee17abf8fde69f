"""Schemathesis over the app's own OpenAPI spec, in-process, with every check it has: no 5xx,
every answer as documented (status, content type, headers, body against its schema), every
request the spec calls valid accepted and every request it calls invalid refused.

Each operation gets schemathesis' examples, coverage and fuzzing phases, positive and negative
data both, with a bounded, derandomized number of fuzzed examples. The admin endpoints are
fuzzed without the key (401, as documented) and again with it, except ``POST /admin/retrain``,
which would start real training.

schemathesis builds its tests from a schema known at import time (its fixture-based loader
does not run under pytest 9), while the app under test needs a trained model and a temporary
event store: the schema is read from an app built at import (routes only, never started), and
requests go to :data:`TARGET`, which forwards them to the app the module fixture builds (and
counts them: ``pytest -s`` prints the total).

schemathesis draws ``date-time`` strings from any year, and does not read the ``formatMinimum``/
``formatMaximum`` an event time publishes: :func:`event_times` draws within them instead.

A filter may name any field (the schema cannot list the fields of the jobs a model was trained
on), and a field the jobs lack is a documented 422 naming it: :func:`accepts_valid_bodies` lets
that one answer through and checks every other as schemathesis' positive-data check does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta, timezone
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from recommender.api import create_app
from recommender.api.schemas import EARLIEST, latest_event_time
from recommender.data.activities import ActivityLines
from recommender.data.catalogue import Catalogue
from recommender.data.dataset import Dataset
from recommender.events import SQLiteEventStore
from recommender.recommender import Recommender
from recommender.training.fit import train
from tests.conftest import activities_frame, block_activities, block_jobs, tiny_settings

ADMIN_KEY = "fuzz-admin-key"


@schemathesis.check
def accepts_valid_bodies(
    ctx: CheckContext, response: Response, case: schemathesis.Case
) -> bool | None:
    """``positive_data_acceptance``, but for the 422 of a filter naming a field the jobs lack."""
    if response.status_code == 422 and b"filters: unknown job field" in response.content:
        return None
    return positive_data_acceptance(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    accepts_valid_bodies,
    negative_data_rejection,
    missing_required_header,
    unsupported_method,
    ignored_auth,
    use_after_free,
    ensure_resource_availability,
]
FUZZ = settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class Target:
    """The ASGI app schemathesis calls: it forwards to :attr:`app`, set by the module fixture."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "the fuzzed_app fixture sets the app under test"
        self.requests += scope["type"] == "http"
        await self.app(scope, receive, send)


def event_times() -> st.SearchStrategy[str]:
    """ISO-8601 times within the published range, in UTC or at any offset."""
    offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
    moments = st.datetimes(
        min_value=EARLIEST.replace(tzinfo=None),
        max_value=latest_event_time().replace(tzinfo=None),
        timezones=st.just(UTC),
    )
    return st.builds(lambda moment, zone: moment.astimezone(zone).isoformat(), moments, offsets)


schemathesis.openapi.format("date-time", event_times())
TARGET = Target()
schema = schemathesis.openapi.from_dict(create_app(tiny_settings()).openapi())
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
# a body over RECOMMENDER_MAX_BODY_BYTES is refused before it is read: 413, a rejection too (a
# thousand jobs at their longest descriptions is one)
rejection = schema.config.checks.negative_data_rejection
rejection.expected_statuses = [*rejection.expected_statuses, "413"]
schema.app = TARGET


@pytest.fixture(scope="module", autouse=True)
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The block model with its jobs file, a fresh SQLite store, an admin key; started once."""
    tmp_path: Path = tmp_path_factory.mktemp("fuzz")
    dataset = Dataset(
        ActivityLines.unweighted(activities_frame(block_activities())),
        Catalogue(block_jobs()),
        reports=(),
    )
    settings = tiny_settings(tmp_path).model_copy(update={"admin_api_key": SecretStr(ADMIN_KEY)})
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    TARGET.app = create_app(settings, Recommender(train(dataset, settings)), events=store)
    yield
    print(f"\nschemathesis sent {TARGET.requests} requests")
    shutdown_lifespans()  # schemathesis keeps an app started until the process exits otherwise
    TARGET.app = None
    store.close()


@schema.parametrize()
@FUZZ
def test_every_operation_without_the_admin_key(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)


@schema.include(path_regex="^/admin").exclude(method="POST", path="/admin/retrain").parametrize()
@FUZZ
def test_admin_operations_with_the_key(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"X-API-Key": ADMIN_KEY}, checks=CHECKS)
