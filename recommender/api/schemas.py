"""Request and response bodies.

Ids are strict 64-bit integers: ``"5"``, ``5.7`` and ``true`` are refused.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, RootModel, WithJsonSchema

from recommender.data.schema import FUTURE_SLACK
from recommender.settings import ExcludeSeen

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_N = 100
MAX_BATCH = 1000
MAX_EVENTS = 10_000

Id = Annotated[int, Field(strict=True, ge=INT64_MIN, le=INT64_MAX)]
Count = Annotated[int, Field(strict=True, ge=1, le=MAX_N, description="How many jobs to return.")]
EXCLUDE_DESCRIPTION = (
    "Jobs to leave out of a known user's list: those the user was redirected to (default), "
    "every job the user has seen, or none."
)


class JobRulesFields(BaseModel):
    """The job rules a request may add; expired jobs are always left out."""

    exclude_job_ids: list[Id] = Field(
        default_factory=list,
        max_length=MAX_BATCH,
        description="Jobs never to return (at most 1,000; unknown ids are ignored).",
    )
    max_per_employer: int | None = Field(
        default=None,
        strict=True,
        ge=1,
        description="At most this many jobs of one employer in a list; no cap when absent.",
    )


class SingleUserRequest(JobRulesFields):
    """Recommendations for one user."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_id": 100054, "n": 5}]},
    )
    user_id: Id
    n: Count = 10
    exclude_seen: ExcludeSeen | None = Field(default=None, description=EXCLUDE_DESCRIPTION)
    explain: bool = Field(
        default=False,
        strict=True,
        description="Add to each job the user's past jobs that contributed most to its score "
        "(ALS models only; 422 otherwise).",
    )


class MultipleUsersRequest(JobRulesFields):
    """Recommendations for up to 1,000 users at once."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_ids": [100054, 100167, 1], "n": 3}]},
    )
    user_ids: list[Id] = Field(min_length=1, max_length=MAX_BATCH)
    n: Count = 10
    exclude_seen: ExcludeSeen | None = Field(default=None, description=EXCLUDE_DESCRIPTION)


class SimilarJobsRequest(JobRulesFields):
    """Jobs like a given job."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"job_id": 5811, "n": 5}]})
    job_id: Id
    n: Count = 10


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def _parse_time(value: object) -> datetime | None:
    """An ISO-8601 string or epoch seconds, as the activity files accept; naive means UTC.

    The time must lie between 1970 and a day after now: a far-future event would stay the store's
    newest for ever and escape every training window.
    """
    moment = _any_time(value)
    if moment is None:
        return None
    latest = datetime.now(UTC) + FUTURE_SLACK
    if not EARLIEST <= moment <= latest:
        raise ValueError(
            f"event time must lie between 1970-01-01 and {latest:%Y-%m-%dT%H:%M}Z (a day ahead)"
        )
    return moment


def _any_time(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise ValueError("expected an ISO-8601 time or epoch seconds")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("expected an ISO-8601 time or finite epoch seconds")
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("epoch seconds out of range") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("expected an ISO-8601 time or epoch seconds") from None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    raise ValueError("expected an ISO-8601 time or epoch seconds")


EventTime = Annotated[
    datetime | None,
    BeforeValidator(_parse_time),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "number"}],
            "description": "ISO-8601 time or epoch seconds; the time of receipt when absent.",
        }
    ),
]


class EventIn(BaseModel):
    """One impression or redirect, in the activities schema; unknown fields are ignored."""

    user_id: Id
    job_id: Id
    type: Literal["impression", "redirect"]
    timestamp: EventTime = None
    event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="A client id: an event whose id is already stored is not stored again.",
    )


class EventsRequest(BaseModel):
    """1 to 10,000 events to record."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {"user_id": 100054, "job_id": 5811, "type": "impression"},
                        {
                            "user_id": 100054,
                            "job_id": 5811,
                            "type": "redirect",
                            "timestamp": "2024-05-01T12:00:00Z",
                            "event_id": "c1-42",
                        },
                    ]
                }
            ]
        },
    )
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)


class EventsResponse(BaseModel):
    """Events newly stored, and events skipped because their ``event_id`` was already stored."""

    accepted: int
    duplicates: int


class EventTypeCounts(BaseModel):
    """Events stored per type."""

    impression: int
    redirect: int


class EventStatsResponse(BaseModel):
    """What the event store holds; ``newest`` is the latest event time (ISO-8601, UTC)."""

    total: int
    by_type: EventTypeCounts
    newest: str | None
    malformed_rows: int = Field(
        0,
        description="Stored rows this process has found malformed (a text user_id, say) and "
        "left out of every read; the log names each one's file and row id.",
    )


class Contribution(BaseModel):
    """A past job of the user and its share of a recommended job's score (shares over all past
    jobs add up to 1; a negative share pulled the score down)."""

    job_id: int
    share: float


class JobScore(BaseModel):
    """One recommended job; a higher score is a better match (the scale depends on ``source``)."""

    model_config = ConfigDict(extra="allow")
    job_id: int
    score: float
    explanation: list[Contribution] | None = Field(
        default=None, description="With `explain`: the past jobs that contributed most."
    )


class SingleUserResponse(BaseModel):
    """``source`` names the path that ranked the list: the model (``"als"`` by default;
    ``"bpr"``, ``"itemknn"``, ``"userknn"``, ``"ease"``, ``"rp3beta"`` when the bundle holds one
    of those) for a known user; ``"recalculated"`` for a user, known or new, with events newer
    than the model, scored from their whole history at request time; ``"popular"`` for a user
    the service knows nothing of."""

    model_config = ConfigDict(extra="allow")
    user_id: int
    jobs: list[JobScore]
    source: str


class MultipleUsersResponse(RootModel[dict[str, list[JobScore]]]):
    """One list per requested user id (as a string key), in request order."""


class SimilarJobsResponse(BaseModel):
    """The query job is never in its own list."""

    model_config = ConfigDict(extra="allow")
    job_id: int
    jobs: list[JobScore]


class ErrorResponse(BaseModel):
    """What every 4xx/5xx answer holds."""

    detail: Any


class HealthResponse(BaseModel):
    """Liveness."""

    status: str


class ReadyResponse(BaseModel):
    """Readiness: the version of the model being served."""

    status: str
    model_version: str


class ModelInfoResponse(BaseModel):
    """The bundle in use."""

    model_config = ConfigDict(extra="allow")
    version: str
    model: str | None
    trained_at: str | None
    counts: dict[str, Any]
    hyperparameters: dict[str, Any]
    selection: dict[str, Any] | None = Field(
        default=None,
        description="How train chose the model (RECOMMENDER_MODEL=auto): every candidate's "
        "trials and validation score, the blend weighed, the similar-jobs method by next-job "
        "hit rate, what is served, and the seconds it took; null when the model was pinned",
    )
