"""End to end: a real uvicorn retrains over HTTP, follows a CLI training and rolls back, while
requests keep being answered."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.test_e2e import _cli, _env, _free_port, _wait_ready

pytestmark = pytest.mark.slow

KEY = "e2e-admin-key"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    data = tmp_path / "data"
    _cli(tmp_path, "generate-demo-data", "--out", str(data), "--scale", "0.03", "--seed", "4")
    _cli(tmp_path, "train", "--data", str(data), "--out", str(tmp_path / "models"))
    port = _free_port()
    env = {
        **_env(tmp_path),
        "RECOMMENDER_ADMIN_API_KEY": KEY,
        "RECOMMENDER_WATCH_INTERVAL_SECONDS": "0.1",
    }
    command = [sys.executable, "-m", "uvicorn", "main:app", "--port", str(port), "--no-access-log"]
    with (tmp_path / "server.log").open("wb") as log:
        proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, url)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class Load:
    """Single-user requests in a loop from a thread, counting the statuses."""

    def __init__(self, url: str, user_id: int) -> None:
        self.statuses: Counter[int | str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, user_id), daemon=True)

    def _run(self, url: str, user_id: int) -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            while not self._stop.is_set():
                try:
                    answer = client.post("/recommend/jobs_single_user/", json={"user_id": user_id})
                    self.statuses[answer.status_code] += 1
                except httpx.TransportError as exc:
                    self.statuses[type(exc).__name__] += 1

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _version(client: httpx.Client) -> str:
    version: str = client.get("/model").json()["version"]
    return version


def _finished(client: httpx.Client, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/admin/retrain/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    pytest.fail(f"retraining job {job_id} did not finish in {timeout} s")


def test_retrain_swap_cli_training_and_rollback_under_load(server: str, tmp_path: Path) -> None:
    admin = httpx.Client(base_url=server, headers={"X-API-Key": KEY}, timeout=10)
    first = _version(admin)
    with (tmp_path / "data" / "activities.jsonl").open() as handle:
        user_id = json.loads(handle.readline())["user_id"]  # a user the model knows
    with Load(server, user_id) as load:
        accepted = admin.post("/admin/retrain", json={"window_days": 3650})
        assert accepted.status_code == 202
        job = _finished(admin, accepted.json()["id"])
        assert job["status"] == "succeeded", job["error"]
        assert job["progress"] == 1.0
        retrained = job["model_version"]
        assert retrained != first
        assert _version(admin) == retrained

        # `python -m recommender train`, as cron would run it, reaches the running service
        _cli(tmp_path, "train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "models"))
        deadline = time.monotonic() + 30
        while _version(admin) == retrained and time.monotonic() < deadline:
            time.sleep(0.05)
        from_cli = _version(admin)
        assert from_cli not in (first, retrained)

        rolled = admin.post("/admin/rollback").json()
        assert rolled == {"model_version": retrained, "previous_version": from_cli, "skipped": []}
        assert _version(admin) == retrained
        time.sleep(0.5)  # the watcher does not undo the rollback: CURRENT moved with it
        assert _version(admin) == retrained

    assert set(load.statuses) == {200}, load.statuses
    assert load.statuses[200] > 50
    admin.close()
