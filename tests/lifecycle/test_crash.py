"""A server killed outright (SIGKILL) mid-retrain: its training process ends with it, and the
next start records the job as interrupted instead of running for ever."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from recommender.lifecycle import RetrainManager
from recommender.lifecycle.retrain_jobs import JobBook, this_process
from recommender.lifecycle.startup import exclusive_lock
from tests.conftest import tiny_settings

REPO = Path(__file__).resolve().parents[2]

SERVER = """
import sys, time
from collections.abc import Callable
from pathlib import Path
from recommender.lifecycle import ModelSwitch, manager
from recommender.settings import Settings
from tests.lifecycle.sleepy_child import train_forever

manager.train_in_child = train_forever
settings = Settings(data_dir=Path(sys.argv[1]) / "data", model_dir=Path(sys.argv[1]) / "models")
switch = ModelSwitch(None, settings.model_dir, events=None, keep=2)
job = manager.RetrainManager(settings, switch).submit()
print(job.id, flush=True)
time.sleep(300)
"""


def _gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie nobody reaped has ended too)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == b"Z"


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"{what} within {timeout} s")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_server_killed_mid_training_takes_its_child_along_and_the_job_ends_interrupted(
    tmp_path: Path,
) -> None:
    models = tmp_path / "models"
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        job_id = server.stdout.readline().strip()
        record = models / ".retrain-jobs" / f"{job_id}.json"
        _until((models / "pid").exists, 60, "the training child did not start")
        _until(
            lambda: json.loads(record.read_text())["phase"] == "reading",
            10,
            "the job was not recorded running",
        )
        child = int((models / "pid").read_text())
        assert json.loads(record.read_text())["status"] == "running"
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        _until(lambda: _gone(child), 5, "the training child outlived its server")
    finally:
        server.kill()
        server.wait()
        server.stdout.close()
        if "child" in locals() and not _gone(child):
            os.kill(child, signal.SIGKILL)
    assert json.loads(record.read_text())["status"] == "running"  # as the dead server left it

    restarted = RetrainManager(tiny_settings(tmp_path), switch=None)  # type: ignore[arg-type]
    job = restarted.get(job_id)
    assert job.status == "interrupted"
    assert job.finished and job.finished_at is not None
    assert job.error is not None and "killed or crashed" in job.error
    assert json.loads(record.read_text())["status"] == "interrupted"  # every worker sees it


def test_a_live_workers_running_and_queued_jobs_are_left_alone(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    book = JobBook(directory=settings.model_dir / ".retrain-jobs")
    running = book.update(book.create(None).id, status="running")
    queued = book.create(30)
    assert running.owner == this_process()
    # another worker (this process, alive) holds the retrain lock while it trains
    with exclusive_lock(settings.model_dir / ".retrain.lock"):
        starting = RetrainManager(settings, switch=None)  # type: ignore[arg-type]
    assert starting.get(running.id).status == "running"
    assert starting.get(queued.id).status == "queued"


def test_a_model_directory_where_the_lock_cannot_be_taken_still_starts(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    (settings.model_dir / ".retrain.lock").mkdir(parents=True)  # as unwritable as a read-only mount
    assert RetrainManager(settings, switch=None).recover() == []  # type: ignore[arg-type]
