"""Retraining job records: what ``GET /admin/retrain/{id}`` reports.

Records are kept in memory and, given a directory, also as one JSON file per job written
atomically, so that every worker process serving the same model directory (and a restarted
service) can answer for a job another process accepted. Each record names the process that
accepted it (:func:`this_process`), so that a service starting after a crash can tell the jobs
left unfinished by a process that is gone (:meth:`JobBook.unfinished`) and mark them
``interrupted``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from recommender.errors import RetrainNotFoundError

JobStatus = Literal["queued", "running", "succeeded", "failed", "interrupted"]
"""``interrupted``: the service that had the job stopped without ending it (a SIGKILL, a crash,
a power cut); a service starting afterwards records it so."""
Phase = Literal[
    "queued", "starting", "reading", "selecting", "fitting", "writing", "activating", "finished"
]
"""Where a job is: waiting; starting its process; reading the data and the events; selecting
the model on a validation split (``RECOMMENDER_MODEL=auto``); fitting;
ranking the precomputed lists and writing the bundle; verifying and swapping it in; done. A
failed job keeps the phase it failed in."""

PHASE_PROGRESS: Mapping[Phase, float] = {
    "queued": 0.0,
    "starting": 0.02,
    "reading": 0.05,
    "selecting": 0.1,
    "fitting": 0.5,
    "writing": 0.8,
    "activating": 0.9,
    "finished": 1.0,
}
"""The progress a job has at the start of each phase; selecting moves it on per trial and
fitting per iteration."""

HISTORY = 100
"""Finished jobs remembered; older ones are forgotten (queued and running ones never are)."""


@dataclass(frozen=True)
class RetrainJob:
    """One retraining run, as last recorded (records are replaced, never changed in place).

    Attributes
    ----------
    id:
        32 hex digits.
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
    owner:
        The process that accepted the job (:func:`this_process`); not shown by the API.
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
    owner: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the job ended: succeeded, failed or interrupted."""
        return self.status in ("succeeded", "failed", "interrupted")


def now() -> datetime:
    """The current UTC time (the times job records hold)."""
    return datetime.now(UTC)


_JOB_ID = re.compile(r"^[0-9a-f]{32}$")


def _start_time(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot), None if unknown or gone: with the
    pid, it names a process even after its pid is reused."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == b"Z":  # a zombie has ended
        return None
    return fields[19].decode()


def this_process() -> str:
    """``host/pid/start``: this process, as job records name their owner."""
    pid = os.getpid()
    return f"{socket.gethostname()}/{pid}/{_start_time(pid) or '-'}"


def owner_alive(owner: str | None) -> bool:
    """Whether the process ``owner`` (see :func:`this_process`) still runs; True when that cannot
    be told (another host's process, or a record written before owners were)."""
    if owner is None:
        return True
    host, _, rest = owner.partition("/")
    pid_text, _, start = rest.partition("/")
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if start != "-":
        return _start_time(pid) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobBook:
    """Job records, safe to use from several threads.

    Parameters
    ----------
    history:
        Finished jobs remembered.
    directory:
        Where each record is also written as ``<id>.json`` (shared by the processes that serve
        one model directory); None keeps records in this process's memory only.
    """

    def __init__(self, history: int = HISTORY, directory: Path | None = None) -> None:
        self._history = history
        self._jobs: OrderedDict[str, RetrainJob] = OrderedDict()
        self._lock = threading.Lock()
        self._dir = None if directory is None else Path(directory)

    def create(self, window_days: int | None) -> RetrainJob:
        """A new queued job, recorded; the oldest finished records beyond the history go."""
        job = RetrainJob(
            id=uuid.uuid4().hex, window_days=window_days, created_at=now(), owner=this_process()
        )
        with self._lock:
            self._jobs[job.id] = job
            finished = [k for k, j in self._jobs.items() if j.finished]
            for key in finished[: max(0, len(finished) - self._history)]:
                del self._jobs[key]
                self._forget(key)
            self._save(job)
        return job

    def get(self, job_id: str) -> RetrainJob:
        """The job's latest record (this process's, else the one another process wrote).

        Raises
        ------
        RetrainNotFoundError
            No job has this id.
        """
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            job = self._load(job_id)
        if job is None:
            raise RetrainNotFoundError(f"no retraining job {job_id!r}")
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
            self._save(job)
        return job

    def unfinished(self) -> list[RetrainJob]:
        """The records on disk of jobs queued or running (whichever process accepted them)."""
        if self._dir is None or not self._dir.is_dir():
            return []
        found = (self._load(p.stem) for p in sorted(self._dir.glob("*.json")))
        return [job for job in found if job is not None and not job.finished]

    def interrupt(self, job: RetrainJob) -> RetrainJob:
        """Record ``job`` (another process's) as ``interrupted``: its service stopped mid-way."""
        with self._lock:
            job = dataclasses.replace(
                job,
                status="interrupted",
                error=f"the service stopped (killed or crashed) while this job was {job.status}; "
                "nothing it trained was put in service: retrain again",
                finished_at=now(),
            )
            self._jobs[job.id] = job
            self._save(job)
        return job

    def jobs(self) -> list[RetrainJob]:
        """Every remembered job of this process, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def _save(self, job: RetrainJob) -> None:
        if self._dir is None:
            return
        record = dataclasses.asdict(job)
        for key, value in record.items():
            if isinstance(value, datetime):
                record[key] = value.isoformat()
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            tmp = self._dir / f".{job.id}.{uuid.uuid4().hex[:8]}"
            tmp.write_text(json.dumps(record), encoding="utf-8")
            tmp.replace(self._dir / f"{job.id}.json")
        except OSError:  # the in-memory record stands; other processes just cannot see it
            return

    def _load(self, job_id: str) -> RetrainJob | None:
        if self._dir is None or not _JOB_ID.match(job_id):
            return None
        try:
            record = json.loads((self._dir / f"{job_id}.json").read_text(encoding="utf-8"))
            for key in ("created_at", "started_at", "finished_at"):
                if record.get(key) is not None:
                    record[key] = datetime.fromisoformat(record[key])
            return RetrainJob(**record)
        except (OSError, ValueError, TypeError):
            return None

    def _forget(self, job_id: str) -> None:
        if self._dir is not None:
            (self._dir / f"{job_id}.json").unlink(missing_ok=True)
