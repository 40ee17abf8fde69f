"""Request and response bodies of the ``/admin`` endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from recommender.api.schemas import Whole
from recommender.lifecycle import JobStatus, Phase

MAX_WINDOW_DAYS = 36_500
"""A hundred years: any longer window is all the activity anyway (and overflows a date)."""


class RetrainRequest(BaseModel):
    """What to train on; an absent body means the settings' window."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"window_days": 90}]})
    window_days: Annotated[int, Field(strict=True, ge=1, le=MAX_WINDOW_DAYS), Whole] | None = Field(
        default=None,
        description="Train on the last this many days of activity only (null: the setting).",
    )


class RetrainAccepted(BaseModel):
    """A queued retraining job; poll ``GET /admin/retrain/{id}`` for how it goes."""

    id: str
    status: JobStatus


class RetrainStatus(BaseModel):
    """A retraining job as it stands (any worker serving the model directory answers for it)."""

    id: str
    status: JobStatus
    phase: Phase = Field(description="Where the job is; a failed job keeps the phase it failed in.")
    progress: float = Field(ge=0.0, le=1.0, description="A rough fraction of the work done.")
    error: str | None
    model_version: str | None = Field(description="The bundle a succeeded job put in service.")
    window_days: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    timings: dict[str, float] = Field(
        description="Seconds of each step: train, load (and verify), serve, swap."
    )


class RollbackResponse(BaseModel):
    """The bundle now served, the one it replaced, and older ones refused on the way."""

    model_version: str
    previous_version: str | None
    skipped: list[str]


class BundleItem(BaseModel):
    """One bundle of the model directory (checksums are verified on loading, not here)."""

    version: str
    trained_at: str | None
    model: str | None
    current: bool = Field(description="CURRENT names it: the one a restart would load.")
    served: bool = Field(description="This process serves it.")
    problem: str | None = Field(description="What is wrong with its manifest, if anything.")


class BundlesResponse(BaseModel):
    """The bundles of the model directory, oldest first."""

    bundles: list[BundleItem]


class ReloadJobsResponse(BaseModel):
    """Jobs read from jobs.jsonl, and how many were new or changed: posted and served now."""

    read: int
    posted: int
