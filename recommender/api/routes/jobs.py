"""``/jobs``: post, change and take down jobs at serve time; read a job as it is served.

A 200 means the job is committed to the event store (it survives SIGKILL) and laid over the
served model (:mod:`recommender.bundle.listed`): the very next request can recommend it, and
other workers and instances on the same store take it in within the watch interval. The next
training lays the stored postings over ``jobs.jsonl``.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from fastapi import Path, Request
from fastapi.responses import Response
from pydantic import ValidationError

from recommender.api.deps import events_of, lifecycle_of, recommender_of, settings_of
from recommender.api.errors import INVALID_BODY, responses
from recommender.api.job_schemas import JobFields, JobIn, JobResponse, JobsRequest, JobsResponse
from recommender.api.routes.base import RouteTable, json_response
from recommender.api.schemas import INT64_MAX, INT64_MIN
from recommender.api.security import JOBS_KEY_SCHEME, check_jobs_key
from recommender.data.listings import record_of
from recommender.errors import (
    AdminDisabledError,
    AuthenticationError,
    EventStoreError,
    InvalidJobError,
    ModelNotReadyError,
    UnknownJobError,
)

log = logging.getLogger(__name__)

routes = RouteTable(tags=["jobs"])

_WRITE_ERRORS = responses(
    INVALID_BODY,
    (AuthenticationError, "The job-posting key (or the admin key) is missing or wrong."),
    (AdminDisabledError, "No job-posting key or admin key is set, and posting is not open."),
    (EventStoreError, "The event store failed; nothing was committed."),
)
_CHANGE_ERRORS = {
    **_WRITE_ERRORS,
    **responses((UnknownJobError, "The job is not listed nor posted.")),
}
_SECURITY: dict[str, Any] = {"security": [{JOBS_KEY_SCHEME: []}, {"APIKeyHeader": []}]}
_CHANGING = threading.Lock()  # a change reads the job and writes it back: one at a time here
JobId = Path(ge=INT64_MIN, le=INT64_MAX, description="The job's id.")


def _store_and_serve(request: Request, records: list[dict[str, Any]]) -> None:
    """Commit ``records`` to the event store, then lay them over the served model."""
    lifecycle = lifecycle_of(request)  # before storing: a 503 here has committed nothing
    store = events_of(request)
    store.put_listings(records)
    try:
        lifecycle.switch.take_listings()
    except EventStoreError as exc:  # committed all the same: the watcher lays them over later
        log.warning("jobs committed, but reading them back failed: %s", exc)


def _current(request: Request, job_id: int) -> dict[str, Any]:
    catalogue = recommender_of(request).trained.catalogue
    record = None
    if catalogue is not None and catalogue.has_jobs():
        record = record_of(catalogue.jobs, job_id)
    if record is None:
        raise UnknownJobError(job_id, "not listed (jobs.jsonl) nor posted")
    return record


def _checked(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` checked as a posted job is (a change may not remove the description)."""
    try:
        return JobIn.model_validate(record).record()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidJobError(f"the changed job is invalid: {field}: {first['msg']}") from None


@routes.route(
    "/jobs",
    "POST",
    twin=True,
    response_model=JobsResponse,
    responses=_WRITE_ERRORS,
    openapi_extra=_SECURITY,
)
def post_jobs(body: JobsRequest, request: Request) -> Response:
    """Post 1 to 1,000 jobs (a job already listed or posted is replaced whole): a 200 means they
    are committed and recommendable from the next request on."""
    check_jobs_key(settings_of(request), request.headers)
    records = [job.record() for job in body.jobs]
    _store_and_serve(request, records)
    return json_response({"accepted": len(records), "job_ids": [r["job_id"] for r in records]})


@routes.route(
    "/jobs/{job_id}",
    "PATCH",
    response_model=JobResponse,
    responses=_CHANGE_ERRORS,
    openapi_extra=_SECURITY,
)
def patch_job(body: JobFields, request: Request, job_id: int = JobId) -> Response:
    """Change some fields of a listed or posted job (a field sent as null is cleared)."""
    check_jobs_key(settings_of(request), request.headers)
    with _CHANGING:
        record = _checked(_current(request, job_id) | body.record())
        _store_and_serve(request, [record])
    return json_response(record)


@routes.route(
    "/jobs/{job_id}",
    "DELETE",
    response_model=JobResponse,
    responses=_CHANGE_ERRORS,
    openapi_extra=_SECURITY,
)
def delete_job(request: Request, job_id: int = JobId) -> Response:
    """Take a job down now: it expires at this moment, and leaves every list and audience."""
    check_jobs_key(settings_of(request), request.headers)
    with _CHANGING:
        now = datetime.now(UTC).isoformat()
        record = _checked(_current(request, job_id) | {"expires_at": now})
        _store_and_serve(request, [record])
    return json_response(record)


@routes.route(
    "/jobs/{job_id}",
    "GET",
    response_model=JobResponse,
    responses=responses(
        (UnknownJobError, "The job is not listed nor posted."),
        (ModelNotReadyError, "No model is loaded."),
    ),
)
def get_job(request: Request, job_id: int = JobId) -> Response:
    """A job as it is served now (listed in jobs.jsonl, or posted, with its latest changes)."""
    return json_response(_current(request, job_id))
