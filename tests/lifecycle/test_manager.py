"""Retraining jobs with real training in real child processes (each takes a second or two)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from recommender.api.deps import ModelSlot
from recommender.bundle.directory import current_version, list_bundles
from recommender.errors import ModelNotReadyError
from recommender.lifecycle import ModelSwitch, RetrainJob, RetrainManager
from recommender.lifecycle.startup import serve
from recommender.settings import Settings
from recommender.training.run import train_directory
from tests.conftest import WriteJsonl, block_activities, tiny_settings


def _service(
    tmp_path: Path, jsonl: WriteJsonl, records: list[dict[str, Any]]
) -> tuple[RetrainManager, ModelSlot, Settings]:
    """Data, one bundle trained in-process and served, and a manager over them."""
    settings = tiny_settings(tmp_path)
    jsonl(settings.data_dir / "activities.jsonl", records)
    slot = ModelSlot(serve(train_directory(settings).trained))
    switch = ModelSwitch(slot, settings.model_dir, events=None, keep=settings.keep_bundles)
    return RetrainManager(settings, switch), slot, settings


def _wait(manager: RetrainManager, job_id: str, timeout: float = 60) -> list[RetrainJob]:
    """Every distinct record of the job, polled until it finishes."""
    seen: list[RetrainJob] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = manager.get(job_id)
        if not seen or job != seen[-1]:
            seen.append(job)
        if job.finished:
            return seen
        time.sleep(0.01)
    pytest.fail(f"job {job_id} did not finish in {timeout} s: {seen[-1]}")


def test_jobs_run_one_at_a_time_first_in_first_out(tmp_path: Path, jsonl: WriteJsonl) -> None:
    manager, slot, settings = _service(tmp_path, jsonl, block_activities())
    old = slot.get().version
    try:
        first = manager.submit()
        second = manager.submit(window_days=3650)
        assert (first.status, second.status) == ("queued", "queued")
        assert manager.get(second.id).status == "queued"  # waits for the first
        assert manager.submit(window_days=3650).id == second.id  # joins the queued twin
        history = _wait(manager, first.id)
        _wait(manager, second.id)
    finally:
        manager.close()

    a, b = manager.get(first.id), manager.get(second.id)
    assert [j.status for j in history][-1] == "succeeded"
    assert "running" in [j.status for j in history]
    progress = [j.progress for j in history]
    assert progress == sorted(progress)
    assert (a.progress, a.phase, a.error) == (1.0, "finished", None)
    assert a.model_version is not None and a.model_version != old
    assert set(a.timings) == {"train", "load", "serve", "swap"}
    assert a.finished_at is not None and b.started_at is not None
    assert a.finished_at <= b.started_at
    assert (b.status, b.window_days) == ("succeeded", 3650)
    # the last job's model is served and named by CURRENT; the first one's bundle stays beside it
    assert slot.get().version == b.model_version == current_version(settings.model_dir)
    assert list_bundles(settings.model_dir) == sorted([old, a.model_version, b.model_version])


def test_a_failing_training_leaves_the_old_model_in_service(
    tmp_path: Path, jsonl: WriteJsonl
) -> None:
    old_activity = [{**r, "timestamp": "2020-01-01T00:00:00Z"} for r in block_activities()]
    manager, slot, settings = _service(tmp_path, jsonl, old_activity)
    old = slot.get().version
    try:
        job = manager.submit(window_days=30)
        _wait(manager, job.id)
    finally:
        manager.close()
    failed = manager.get(job.id)
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.startswith("no activity in the last 30 days")
    assert failed.model_version is None
    assert slot.get().version == old
    assert current_version(settings.model_dir) == old
    assert list_bundles(settings.model_dir) == [old]


def test_a_training_process_that_dies_fails_its_job(tmp_path: Path, jsonl: WriteJsonl) -> None:
    manager, slot, _ = _service(tmp_path, jsonl, block_activities())
    old = slot.get().version
    try:
        job = manager.submit()
        deadline = time.monotonic() + 30
        while manager.training_pid is None and time.monotonic() < deadline:
            time.sleep(0.005)
        pid = manager.training_pid
        assert pid is not None
        # training yields the cores to the server
        assert os.getpriority(os.PRIO_PROCESS, pid) > os.getpriority(os.PRIO_PROCESS, 0)
        os.kill(pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
        _wait(manager, job.id)
        after = manager.submit()  # the queue goes on
        assert manager.get(after.id).status in ("queued", "running")
    finally:
        manager.close()
    failed = manager.get(job.id)
    assert failed.status == "failed"
    assert failed.error == (
        "the training process was killed by SIGKILL (out of memory?) before it reported a result"
    )
    assert slot.get().version == old
    assert manager.get(after.id).status == "failed"  # ended by close()


def test_close_fails_the_queued_jobs(tmp_path: Path, jsonl: WriteJsonl) -> None:
    manager, slot, _ = _service(tmp_path, jsonl, block_activities())
    old = slot.get().version
    jobs = [manager.submit(window_days) for window_days in (None, 7, 30)]
    assert len({job.id for job in jobs}) == 3
    manager.close()
    records = [manager.get(job.id) for job in jobs]
    assert [r.status for r in records] == ["failed"] * 3
    assert records[1].error == records[2].error == "the service stopped before this job ran"
    assert records[0].error is not None and "the service stopped" in records[0].error
    assert manager.training_pid is None
    assert slot.get().version == old
    with pytest.raises(ModelNotReadyError, match="shutting down"):  # 503, not a 500
        manager.submit()
