"""Retraining job records: what ``GET /admin/retrain/{id}`` reports, kept in memory."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from recommender.errors import RetrainNotFoundError

JobStatus = Literal["queued", "running", "succeeded", "failed"]
Phase = Literal["queued", "starting", "reading", "fitting", "writing", "activating", "finished"]
"""Where a job is: waiting; starting its process; reading the data and the events; fitting;
ranking the precomputed lists and writing the bundle; verifying and swapping it in; done. A
failed job keeps the phase it failed in."""

PHASE_PROGRESS: Mapping[Phase, float] = {
    "queued": 0.0,
    "starting": 0.02,
    "reading": 0.05,
    "fitting": 0.1,
    "writing": 0.8,
    "activating": 0.9,
    "finished": 1.0,
}
"""The progress a job has at the start of each phase; fitting moves it on per iteration."""

HISTORY = 100
"""Finished jobs remembered; older ones are forgotten (queued and running ones never are)."""


@dataclass(frozen=True)
class RetrainJob:
    """One retraining run, as last recorded (records are replaced, never changed in place).

    Attributes
    ----------
    id:
        32 hex digits; ids live in the memory of the process that accepted the job.
    window_days:
        The moving window trained on (None: all the activity).
    progress:
        A rough fraction of the work done, 0 to 1, that never goes back.
    error:
        Why a failed job failed.
    model_version:
        The bundle a succeeded job put in service.
    timings:
        Seconds of each step: ``train`` (the training process), ``load`` (read and verify the
        bundle), ``serve`` (build the recommender), ``swap`` (the assignment).
    """

    id: str
    window_days: int | None
    created_at: datetime
    status: JobStatus = "queued"
    phase: Phase = "queued"
    progress: float = 0.0
    error: str | None = None
    model_version: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    timings: Mapping[str, float] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """Whether the job succeeded or failed."""
        return self.status in ("succeeded", "failed")


def now() -> datetime:
    """The current UTC time (the times job records hold)."""
    return datetime.now(UTC)


class JobBook:
    """The job records of one process, safe to use from several threads."""

    def __init__(self, history: int = HISTORY) -> None:
        self._history = history
        self._jobs: OrderedDict[str, RetrainJob] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, window_days: int | None) -> RetrainJob:
        """A new queued job, recorded; the oldest finished records beyond the history go."""
        job = RetrainJob(id=uuid.uuid4().hex, window_days=window_days, created_at=now())
        with self._lock:
            self._jobs[job.id] = job
            finished = [k for k, j in self._jobs.items() if j.finished]
            for key in finished[: max(0, len(finished) - self._history)]:
                del self._jobs[key]
        return job

    def get(self, job_id: str) -> RetrainJob:
        """The job's latest record.

        Raises
        ------
        RetrainNotFoundError
            No job has this id in this process (ids do not survive a restart).
        """
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise RetrainNotFoundError(
                f"no retraining job {job_id!r} (ids are forgotten when the service restarts)"
            )
        return job

    def update(self, job_id: str, **changes: Any) -> RetrainJob:
        """Record ``changes`` to a job; progress never goes back."""
        with self._lock:
            job = self._jobs[job_id]
            if "progress" in changes:
                progress = round(min(1.0, float(changes["progress"])), 3)
                changes["progress"] = max(job.progress, progress)
            job = dataclasses.replace(job, **changes)
            self._jobs[job_id] = job
        return job

    def jobs(self) -> list[RetrainJob]:
        """Every remembered job, oldest first."""
        with self._lock:
            return list(self._jobs.values())
