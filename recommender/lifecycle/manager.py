"""Retraining jobs: queued first in, first out, run one at a time in a child process.

A daemon thread takes the next queued job, starts :func:`train_in_child`, records what the child
reports, and on success has the :class:`ModelSwitch` verify the new bundle and swap it in. The
model being served changes only at that swap; a job that fails anywhere leaves it, and
``CURRENT``, as they were.

The training process dies with the server, even one killed by SIGKILL
(:func:`~recommender.lifecycle.worker.die_with_parent`), and a manager starting up records the
jobs a dead service left queued or running as ``interrupted`` (:meth:`RetrainManager.recover`).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from recommender.errors import BundleError, BundleNotFoundError, ModelNotReadyError, StorageError
from recommender.lifecycle.retrain_jobs import (
    PHASE_PROGRESS,
    JobBook,
    RetrainJob,
    now,
    owner_alive,
)
from recommender.lifecycle.startup import exclusive_lock, lock_if_free
from recommender.lifecycle.switch import ModelSwitch
from recommender.lifecycle.worker import (
    PhaseReport,
    Report,
    Trained,
    TrainingFailed,
    train_in_child,
)
from recommender.settings import Settings

log = logging.getLogger(__name__)

NICENESS = 10
"""How much lower than the server the training process is scheduled: on a busy machine requests
keep the cores and training takes what is left."""

EXIT_GRACE_SECONDS = 30.0
"""How long a child that has reported is given to exit before it is terminated."""


class RetrainManager:
    """Accepts retraining jobs and runs them, one at a time, in the order they came.

    Parameters
    ----------
    settings:
        What the child trains with (data and model directories, model, window default).
    switch:
        Puts each new bundle in service.
    """

    def __init__(self, settings: Settings, switch: ModelSwitch) -> None:
        self.settings = settings
        self.switch = switch
        self.book = JobBook(directory=Path(settings.model_dir) / ".retrain-jobs")
        self._queue: deque[str] = deque()
        self._wake = threading.Condition()
        self._closing = False
        self._child: BaseProcess | None = None
        self._thread: threading.Thread | None = None
        self.recover()

    @property
    def _lock_path(self) -> Path:
        return Path(self.settings.model_dir) / ".retrain.lock"

    def recover(self) -> list[RetrainJob]:
        """Record as ``interrupted`` the jobs a service that is gone left queued or running.

        A job is left over when the process that accepted it has ended (on this host), or, for
        a running one, when no process holds the retrain lock (whoever runs a job holds it, and
        records the job's end before letting go). Returns the jobs so recorded.
        """
        try:
            with lock_if_free(self._lock_path) as free:
                stale = [
                    job
                    for job in self.book.unfinished()
                    if not owner_alive(job.owner) or (job.status == "running" and free)
                ]
                done = [self.book.interrupt(job) for job in stale]
        except OSError as exc:  # a read-only model directory: no job was ever recorded in it
            log.debug("not looking for interrupted retraining jobs: %s", exc)
            return []
        for job in done:
            log.warning("retraining job %s was interrupted: %s", job.id, job.error)
        return done

    def submit(self, window_days: int | None = None) -> RetrainJob:
        """Queue a retraining run; ``window_days`` None means the ``window_days`` setting.

        A request like one still queued (same window) gets that job: both would start after the
        run under way and train on the same data, so the queue never holds two of them.
        """
        if window_days is None:
            window_days = self.settings.window_days
        with self._wake:
            if self._closing:
                raise ModelNotReadyError("the service is shutting down: no retraining now")
            for queued in map(self.book.get, self._queue):
                if queued.window_days == window_days:
                    log.info("retraining request joins queued job %s", queued.id)
                    return queued
            job = self.book.create(window_days)
            self._queue.append(job.id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="retrain", daemon=True)
                self._thread.start()
            self._wake.notify()
        log.info("retraining job %s queued (window_days=%s)", job.id, window_days)
        return job

    def get(self, job_id: str) -> RetrainJob:
        """The job's latest record (``RetrainNotFoundError`` for an unknown id)."""
        return self.book.get(job_id)

    @property
    def training_pid(self) -> int | None:
        """The process id of the training under way, if any."""
        child = self._child
        return None if child is None else child.pid

    def close(self, timeout: float = 10.0) -> None:
        """Stop: end the training under way and fail it and every queued job."""
        with self._wake:
            self._closing = True
            self._wake.notify()
            child = self._child
        if child is not None and child.is_alive():
            child.terminate()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._wake:
            left, self._queue = list(self._queue), deque()
        for job_id in left:
            self._fail(job_id, "the service stopped before this job ran")

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._closing:
                    self._wake.wait()
                if self._closing:
                    return
                job_id = self._queue.popleft()
            try:
                # one retrain at a time across every worker process sharing the model directory
                with exclusive_lock(self._lock_path):
                    self._execute(job_id)
            except Exception as exc:  # never let one job stop the queue
                log.exception("retraining job %s failed unexpectedly", job_id)
                self._fail(job_id, f"{type(exc).__name__}: {exc}")

    def _execute(self, job_id: str) -> None:
        started = time.perf_counter()
        job = self.book.update(
            job_id,
            status="running",
            phase="starting",
            progress=PHASE_PROGRESS["starting"],
            started_at=now(),
        )
        try:  # a CURRENT that cannot be moved would waste the whole training
            self.switch.pointed_to()
        except BundleNotFoundError:
            pass
        except (BundleError, StorageError) as exc:
            self._fail(
                job_id, f"CURRENT is refused, so no new model could be put in service: {exc}"
            )
            return
        outcome = self._train(job)
        train_seconds = time.perf_counter() - started
        if isinstance(outcome, TrainingFailed):
            self._fail(job_id, outcome.error, train=train_seconds)
            return
        self.book.update(
            job_id,
            phase="activating",
            progress=PHASE_PROGRESS["activating"],
            timings={"train": round(train_seconds, 4)},
        )
        try:
            swap = self.switch.activate(outcome.version)
        except (BundleError, StorageError) as exc:
            self._fail(
                job_id,
                f"the new bundle {outcome.version} was refused, the model in use stays: {exc}",
                train=train_seconds,
            )
            return
        self.book.update(
            job_id,
            status="succeeded",
            phase="finished",
            progress=1.0,
            model_version=swap.version,
            finished_at=now(),
            timings={
                "train": round(train_seconds, 4),
                "load": round(swap.load_seconds, 4),
                "serve": round(swap.serve_seconds, 4),
                "swap": round(swap.swap_seconds, 7),
            },
        )
        log.info("retraining job %s succeeded: serving %s", job_id, swap.version)

    def _train(self, job: RetrainJob) -> Trained | TrainingFailed:
        """Run the child to the end; what it reported, or why it died without a result."""
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(
            target=train_in_child,
            args=(sender, self.settings.model_dump(), job.window_days, os.getpid()),
            name=f"retrain-{job.id[:8]}",
            daemon=True,
        )
        with self._wake:
            if self._closing:
                return TrainingFailed("the service stopped before this job ran")
            child.start()
            _lower_priority(child)  # from the start: its imports compete with requests too
            self._child = child
        sender.close()  # the child holds the only writer: its exit ends our reading
        try:
            outcome = self._follow(job.id, receiver)
        finally:
            receiver.close()
            child.join(EXIT_GRACE_SECONDS)
            if child.is_alive():
                child.terminate()
                child.join()
            with self._wake:
                self._child = None
        if outcome is not None:
            return outcome
        return TrainingFailed(_died(child.exitcode, self._closing))

    def _follow(self, job_id: str, receiver: Connection) -> Trained | TrainingFailed | None:
        while True:
            try:
                report: Report = receiver.recv()
            except EOFError:
                return None
            if isinstance(report, PhaseReport):
                low = PHASE_PROGRESS[report.phase]
                high = _PHASE_END.get(report.phase, low)
                self.book.update(
                    job_id, phase=report.phase, progress=low + (high - low) * report.fraction
                )
            else:
                return report

    def _fail(self, job_id: str, error: str, *, train: float | None = None) -> None:
        changes = {} if train is None else {"timings": {"train": round(train, 4)}}
        self.book.update(job_id, status="failed", error=error, finished_at=now(), **changes)
        log.error("retraining job %s failed: %s", job_id, error)


_PHASE_END = {"selecting": PHASE_PROGRESS["fitting"], "fitting": PHASE_PROGRESS["writing"]}
"""Where the phases that report how far through they are end."""


def _lower_priority(child: BaseProcess) -> None:
    if child.pid is None:
        return
    with contextlib.suppress(OSError):  # not permitted, or gone: it trains at our priority
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, child.pid, min(19, ours + NICENESS))


def _died(exitcode: int | None, closing: bool) -> str:
    if closing:
        return "the service stopped during training"
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"the training process was killed by {name}{hint} before it reported a result"
    return f"the training process exited with code {exitcode} before it reported a result"
