"""Request and response bodies.

Ids are strict 64-bit integers: ``"5"``, ``5.7`` and ``true`` are refused.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from recommender.settings import ExcludeSeen

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_N = 100
MAX_BATCH = 1000

Id = Annotated[int, Field(strict=True, ge=INT64_MIN, le=INT64_MAX)]
Count = Annotated[int, Field(strict=True, ge=1, le=MAX_N, description="How many jobs to return.")]
EXCLUDE_DESCRIPTION = (
    "Jobs to leave out of a known user's list: those the user was redirected to (default), "
    "every job the user has seen, or none."
)


class SingleUserRequest(BaseModel):
    """Recommendations for one user."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_id": 100054, "n": 5}]},
    )
    user_id: Id
    n: Count = 10
    exclude_seen: ExcludeSeen | None = Field(default=None, description=EXCLUDE_DESCRIPTION)


class MultipleUsersRequest(BaseModel):
    """Recommendations for up to 1,000 users at once."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_ids": [100054, 100167, 1], "n": 3}]},
    )
    user_ids: list[Id] = Field(min_length=1, max_length=MAX_BATCH)
    n: Count = 10
    exclude_seen: ExcludeSeen | None = Field(default=None, description=EXCLUDE_DESCRIPTION)


class SimilarJobsRequest(BaseModel):
    """Jobs like a given job."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"job_id": 5811, "n": 5}]})
    job_id: Id
    n: Count = 10


class JobScore(BaseModel):
    """One recommended job; a higher score is a better match (the scale depends on ``source``)."""

    model_config = ConfigDict(extra="allow")
    job_id: int
    score: float


class SingleUserResponse(BaseModel):
    """``source`` names the model that ranked the list (``"als"`` by default; ``"bpr"``,
    ``"itemknn"``, ``"userknn"`` when the bundle holds one of those), or ``"popular"`` for the
    fallback a user unknown to the model gets."""

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


class ModelInfoResponse(BaseModel):
    """The bundle in use."""

    model_config = ConfigDict(extra="allow")
    version: str
    model: str | None
    trained_at: str | None
    counts: dict[str, Any]
    hyperparameters: dict[str, Any]
