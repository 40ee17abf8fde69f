"""Request and response bodies.

Ids and counts are whole numbers, as JSON Schema's ``integer`` means them: ``5`` and ``5.0`` are
the same integer (OpenAPI 3.1, like JSON Schema since draft 6, says so), while ``"5"``, ``5.7`` and
``true`` are refused. A float spelling is read only within ±2**53, where a float holds every
integer exactly: past it, ``9007199254740993.0`` would silently become another id. Ids are 64-bit.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, GetJsonSchemaHandler, RootModel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from recommender.settings import ExcludeSeen

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_N = 100
MAX_BATCH = 1000
MAX_EVENTS = 10_000

FLOAT_EXACT = 2**53
"""Within ±this, a float holds every integer exactly."""


def _whole(value: object) -> object:
    """A whole float (``41282.0``) as the integer it spells; anything else as it came."""
    if type(value) is float:
        if not value.is_integer():
            raise ValueError(f"expected a whole number, got {value!r}")
        if abs(value) > FLOAT_EXACT:
            raise ValueError(
                f"{value!r} is past 2**53, where a float cannot hold every integer: "
                "write it without a fraction or exponent"
            )
        return int(value)
    return value


Whole = BeforeValidator(_whole)
"""Runs before the strict ``int`` check, so the float spelling of an integer is that integer.
Put it last in an ``Annotated`` (after the ``Field``), or the bounds leave the JSON schema."""
Id = Annotated[int, Field(strict=True, ge=INT64_MIN, le=INT64_MAX), Whole]
Count = Annotated[
    int, Field(strict=True, ge=1, le=MAX_N, description="How many jobs to return."), Whole
]
EXCLUDE_DESCRIPTION = (
    "Jobs to leave out of a known user's list: those the user was redirected to (default), "
    "every job the user has seen, or none."
)


MAX_FILTER_FIELDS = 8
MAX_FILTER_VALUES = 100
MAX_FILTER_TEXT = 200
MAX_OFFSET = 900
"""Where a page may start at the deepest: with ``n`` at most 100, no page reaches past the
1,000th job of a list."""

FilterValues = Annotated[
    list[Annotated[str, Field(max_length=MAX_FILTER_TEXT)]],
    Field(min_length=1, max_length=MAX_FILTER_VALUES),
]
JobFilters = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=MAX_FILTER_TEXT)], FilterValues],
    Field(
        max_length=MAX_FILTER_FIELDS,
        description="Keep only the jobs whose fields hold these values: a job field (a string "
        "field of jobs.jsonl: `employer`, `title`, or any other such as `city` or `sector`) to "
        "its allowed values, exact and case-sensitive. A job must match every field given (AND), "
        "one of its values each (OR); a job without the field never matches. At most 8 fields "
        "of 1 to 100 values, 200 characters each. A field the jobs do not have is a 422 naming "
        "it and the fields they have; a value no job has matches nothing. Lists are backfilled "
        "from deeper in the ranking, as for every rule.",
        examples=[{"city": ["Leeds"], "sector": ["finance"]}],
    ),
]


class JobRulesFields(BaseModel):
    """The job rules a request may add; expired jobs are always left out."""

    exclude_job_ids: list[Id] = Field(
        default_factory=list,
        max_length=MAX_BATCH,
        description="Jobs never to return (at most 1,000; unknown ids are ignored).",
    )
    max_per_employer: Annotated[int, Field(strict=True, ge=1), Whole] | None = Field(
        default=None,
        description="At most this many jobs of one employer in a list; no cap when absent.",
    )
    filters: JobFilters = Field(default_factory=dict)


class PageFields(JobRulesFields):
    """A page of a ranked list: ``n`` jobs from ``offset``, after every job rule."""

    n: Count = 10
    offset: Annotated[int, Field(strict=True, ge=0, le=MAX_OFFSET), Whole] = Field(
        default=0,
        description="Where the page starts in the ranked list (after exclusions, filters, the "
        "employer cap and backfill): the answer is the list's jobs [offset, offset + n), so the "
        "pages of one list never repeat a job while the model is the same. At most 900: no page "
        "reaches past the 1,000th job.",
    )
    model_version: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The model version page 1 came with (the X-Model-Version header, or the "
        "body's model_version): if the service now serves another model, the answer is 409 "
        "and the pages start again from offset 0. Absent: whatever model is served.",
    )


MAX_PROFILE_FIELDS = 32
MAX_PROFILE_TEXT = 200
MAX_PROFILE_LIST = 32
ProfileField = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
ProfileText = Annotated[str, Field(max_length=MAX_PROFILE_TEXT)]
ProfileValue = (
    ProfileText
    | Annotated[list[ProfileText], Field(max_length=MAX_PROFILE_LIST)]
    | Annotated[int, Field(strict=True, ge=INT64_MIN, le=INT64_MAX), Whole]
)
Profile = Annotated[
    dict[ProfileField, ProfileValue],
    Field(
        max_length=MAX_PROFILE_FIELDS,
        json_schema_extra={"additionalProperties": False},  # a field name matches the pattern
        description="A profile, as users.jsonl holds them: field names (letters, digits, _ . -) "
        "to a string, a list of strings or an integer (at most 32 fields, 32 list items, "
        "200 characters a string). Used only for a user with no history, in place of their "
        "users.jsonl profile, when the model has content vectors; ignored otherwise.",
        examples=[
            {
                "degree_subject": "Accounting and Finance",
                "degree_subject_groups": ["Business and Management"],
                "languages": ["English", "Spanish"],
            }
        ],
    ),
]


class SingleUserRequest(PageFields):
    """Recommendations for one user."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"user_id": 100054, "n": 5},
                {"user_id": 100054, "n": 5, "filters": {"city": ["Leeds"]}, "offset": 5},
            ]
        },
    )
    user_id: Id
    exclude_seen: ExcludeSeen | None = Field(default=None, description=EXCLUDE_DESCRIPTION)
    explain: bool = Field(
        default=False,
        strict=True,
        description="Add to each job the user's past jobs that contributed most to its score "
        "(ALS models only; 422 otherwise).",
    )
    profile: Profile | None = None


class MultipleUsersRequest(PageFields):
    """Recommendations for up to 1,000 users at once."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_ids": [100054, 100167, 1], "n": 3}]},
    )
    user_ids: list[Id] = Field(min_length=1, max_length=MAX_BATCH)
    exclude_seen: ExcludeSeen | None = Field(default=None, description=EXCLUDE_DESCRIPTION)
    profiles: dict[Annotated[str, Field(pattern=r"^-?[0-9]{1,19}$")], Profile] = Field(
        default_factory=dict,
        max_length=MAX_BATCH,
        json_schema_extra={"additionalProperties": False},  # keys are user ids
        description="Profiles of users with no history, keyed by user id (as the answer is): "
        "see `profile` of the single-user request.",
    )

    def profile_map(self) -> dict[int, dict[str, Any]]:
        """:attr:`profiles` keyed by integer user id."""
        return {int(user): dict(profile) for user, profile in self.profiles.items()}


class SimilarJobsRequest(PageFields):
    """Jobs like a given job."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"job_id": 5811, "n": 5}]})
    job_id: Id


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def latest_event_time(now: datetime | None = None) -> datetime:
    """The latest event time accepted: 00:00 UTC the day after tomorrow.

    Clients' clocks drift, so a time a little ahead is fine; a far-future event would stay the
    store's newest for ever and escape every training window. The bound moves once a day, so the
    published schema (:func:`event_time_schema`) states the very bound the server checks.
    """
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    return datetime.combine(today + timedelta(days=2), time(), UTC)


def _parse_time(value: object) -> datetime | None:
    """An ISO-8601 string or epoch seconds, as the activity files accept; naive means UTC."""
    moment = any_time(value)
    if moment is None:
        return None
    latest = latest_event_time()
    if not EARLIEST <= moment <= latest:
        raise ValueError(
            f"event time must lie between 1970-01-01T00:00Z and {latest:%Y-%m-%dT%H:%M}Z "
            "(the end of tomorrow, UTC)"
        )
    return moment


def any_time(value: object) -> datetime | None:
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


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def event_time_schema(latest: datetime) -> dict[str, Any]:
    """The JSON schema of an event time accepted up to ``latest``.

    Epoch seconds carry the range as ``minimum``/``maximum``; an ISO-8601 string carries it as
    ``formatMinimum``/``formatMaximum`` (the JSON Schema vocabulary for bounds on a ``format``,
    which Ajv's ajv-formats checks), since ``minimum`` applies to numbers only.
    """
    return {
        "anyOf": [
            {
                "type": "string",
                "format": "date-time",
                "formatMinimum": _iso(EARLIEST),
                "formatMaximum": _iso(latest),
            },
            {"type": "number", "minimum": 0, "maximum": int(latest.timestamp())},
            {"type": "null"},
        ],
        "description": "ISO-8601 time or epoch seconds, from 1970-01-01T00:00Z to 00:00 UTC the "
        "day after tomorrow (the bounds published here move daily); the time of receipt when "
        "absent or null. An ISO-8601 time without an offset is UTC.",
    }


class _EventTimeSchema:
    """Draws :func:`event_time_schema` when the spec is generated, not once at import."""

    def __get_pydantic_json_schema__(
        self, _core_schema: CoreSchema, _handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return event_time_schema(latest_event_time())


EventTime = Annotated[datetime | None, BeforeValidator(_parse_time), _EventTimeSchema()]


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


MODEL_VERSION_DESCRIPTION = (
    "The model that ranked the list (also in the X-Model-Version header): send it as "
    "model_version with the request for the next page."
)


class SingleUserResponse(BaseModel):
    """``source`` names the path that ranked the list: the model (``"als"`` by default;
    ``"bpr"``, ``"itemknn"``, ``"userknn"``, ``"ease"``, ``"rp3beta"``, ``"neural"``, ``"blend"``
    when the bundle holds one of those) for a known user; ``"recalculated"`` for a user, known or
    new, with events newer than the model, scored from their whole history at request time;
    ``"profile"`` for a user with no history but a profile (in users.jsonl or the request),
    ranked by the content vectors of the jobs' text (and, with the neural model, its user tower
    too); ``"popular"`` for a user the service knows nothing of."""

    model_config = ConfigDict(extra="allow")
    user_id: int
    jobs: list[JobScore]
    source: str
    model_version: str = Field(description=MODEL_VERSION_DESCRIPTION)


class MultipleUsersResponse(RootModel[dict[str, list[JobScore]]]):
    """One list per requested user id (as a string key), in request order."""


class SimilarJobsResponse(BaseModel):
    """The query job is never in its own list. ``source`` names the path: the model's kind for
    a job with activity; ``"content"`` for a listed job with none yet (a cold job), ranked by the
    cosine of the jobs' text vectors."""

    model_config = ConfigDict(extra="allow")
    job_id: int
    jobs: list[JobScore]
    source: str
    model_version: str = Field(description=MODEL_VERSION_DESCRIPTION)


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
