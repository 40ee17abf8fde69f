"""Request and response bodies of the audience endpoints: the users most likely to want a job."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, RootModel

from recommender.api.schemas import Id, Whole

MAX_AUDIENCE = 1000
MAX_AUDIENCE_JOBS = 100

UserCount = Annotated[
    int,
    Field(strict=True, ge=1, le=MAX_AUDIENCE, description="How many users to return (1 to 1,000)."),
    Whole,
]
AUDIENCE_SOURCE = (
    "The path that scored the audience: the model's kind (`als`, ...) for a job with activity; "
    "`content` for a listed job with none yet (a cold job), whose scores come from the jobs "
    "nearest it by text."
)


class UsersForJobRequest(BaseModel):
    """The audience of one job."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"job_id": 5811, "n": 100}]})
    job_id: Id
    n: UserCount = 100


class UsersForJobsRequest(BaseModel):
    """The audiences of up to 100 jobs at once."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"job_ids": [5811, 5812], "n": 50}]})
    job_ids: list[Id] = Field(
        min_length=1,
        max_length=MAX_AUDIENCE_JOBS,
        description="The jobs (1 to 100; a repeated id is answered once).",
    )
    n: UserCount = 100


class UserScore(BaseModel):
    """One user of an audience; a higher score is a likelier user. It is the job's score in the
    user's own list put back on the model's scale (times the deviation of the user's model scores
    over the jobs with activity, plus their mean), so scores compare within one audience."""

    user_id: int
    score: float


class JobAudience(BaseModel):
    """One job's audience, best first."""

    users: list[UserScore]
    source: str = Field(description=AUDIENCE_SOURCE)


class UsersForJobResponse(BaseModel):
    """The users most likely to want the job, best first; users already redirected to it (in
    training or by events since) are left out, and only users the model has a row for (with
    activity) are ranked."""

    job_id: int
    users: list[UserScore]
    source: str = Field(description=AUDIENCE_SOURCE)


class UsersForJobsResponse(RootModel[dict[str, JobAudience]]):
    """One audience per requested job id (as a string key), in request order."""
