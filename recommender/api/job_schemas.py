"""The bodies of ``/jobs``: job postings checked as a ``jobs.jsonl`` line is, and what comes back.

A job's named fields are typed as the file's (``job_id`` a 64-bit id, ``description`` required
text, ``title`` and ``employer`` text, ``posted_at``/``expires_at`` ISO 8601 or epoch seconds);
any other field (``city``, ``sector``, a salary...) is kept as the file keeps it, among the job's
attributes, which the metadata filters read. Times are stored as ISO 8601 UTC text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue, model_validator

from recommender.api.schemas import MAX_BATCH, Id, any_time

MAX_TEXT = 100_000
MAX_SHORT = 1_000
MAX_FIELDS = 38
"""Fields of one job: the six named ones and up to 32 others."""
MAX_OTHER_LIST = 100

JobTime = Annotated[datetime | None, BeforeValidator(any_time)]
Short = Annotated[str, Field(max_length=MAX_SHORT)]
OtherValue = (
    Short | bool | int | float | Annotated[list[Short], Field(max_length=MAX_OTHER_LIST)] | None
)
"""A field besides the named ones: text, a number, true/false, a list of texts or null."""
_OBJECT_LIMITS: dict[str, JsonValue] = {
    "maxProperties": MAX_FIELDS,
    "propertyNames": {"minLength": 1, "maxLength": 64},
}


def _check_fields(model: BaseModel) -> None:
    given = set(model.model_fields_set) | set(model.model_extra or {})
    if len(given) > MAX_FIELDS:
        raise ValueError(f"at most {MAX_FIELDS} fields, got {len(given)}")
    for name in model.model_extra or {}:
        if not 1 <= len(name) <= 64:
            raise ValueError(f"field name {name[:70]!r} must have 1 to 64 characters")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


class JobFields(BaseModel):
    """A job's fields besides its id, each optional (what ``PATCH`` sends)."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_OBJECT_LIMITS)
    __pydantic_extra__: dict[str, OtherValue] = Field(init=False)
    description: str | None = Field(default=None, max_length=MAX_TEXT)
    title: str | None = Field(default=None, max_length=MAX_SHORT)
    employer: str | None = Field(default=None, max_length=MAX_SHORT)
    posted_at: JobTime = None
    expires_at: JobTime = Field(
        default=None, description="After this time the job is in no list (a past time: taken down)."
    )

    @model_validator(mode="after")
    def _check_other_fields(self) -> JobFields:
        _check_fields(self)
        return self

    def record(self) -> dict[str, Any]:
        """The fields given, as a ``jobs.jsonl`` line holds them (times as ISO 8601 UTC)."""
        given = self.model_dump(exclude_unset=True)
        for name in ("posted_at", "expires_at"):
            if name in given:
                given[name] = _iso(given[name])
        return given


class JobIn(JobFields):
    """One job, as a ``jobs.jsonl`` line: ``job_id`` and ``description`` required, other fields
    kept as its attributes."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            **_OBJECT_LIMITS,
            "examples": [
                {
                    "job_id": 990001,
                    "title": "Graduate Financial Analyst",
                    "description": "<p>Join our finance team in Leeds ...</p>",
                    "employer": "Northwind Capital",
                    "posted_at": "2026-12-05T09:00:00Z",
                    "expires_at": "2027-01-31T00:00:00Z",
                    "city": "Leeds",
                    "sector": "finance",
                }
            ],
        },
    )
    job_id: Id
    description: str = Field(max_length=MAX_TEXT)

    def record(self) -> dict[str, Any]:
        """The job as a ``jobs.jsonl`` line holds it, every named field present."""
        out = self.model_dump()
        for name in ("posted_at", "expires_at"):
            out[name] = _iso(out[name])
        return out


class JobsRequest(BaseModel):
    """1 to 1,000 jobs to post (a job already posted or listed is replaced whole)."""

    jobs: list[JobIn] = Field(min_length=1, max_length=MAX_BATCH)


class JobsResponse(BaseModel):
    """Jobs stored and served from now on."""

    accepted: int
    job_ids: list[int]


class JobResponse(BaseModel):
    """A job as the service serves it now: its fields as a ``jobs.jsonl`` line holds them."""

    model_config = ConfigDict(extra="allow")
    job_id: int
    description: str | None = None
    title: str | None = None
    employer: str | None = None
    posted_at: str | None = None
    expires_at: str | None = None
