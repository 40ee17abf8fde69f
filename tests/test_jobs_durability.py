"""A job posted to the real server is served at once and still served after SIGKILL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.test_e2e import _cli, _env, _free_port, _wait_ready

pytestmark = pytest.mark.slow

NEW_JOB = 990_001
N = 50


def _serve(tmp: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The real server, anyone allowed to post jobs."""
    port = _free_port()
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "main:app", "--port", str(port), "--no-access-log"],
            cwd=tmp,
            env=_env(tmp) | {"RECOMMENDER_JOBS_OPEN": "true"},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    return proc, f"http://127.0.0.1:{port}"


def _lists(url: str, users: list[int]) -> dict[int, list[int]]:
    body = httpx.post(
        f"{url}/recommend/jobs_multiple_users/", json={"user_ids": users, "n": N}, timeout=60
    ).json()
    return {int(u): [j["job_id"] for j in jobs] for u, jobs in body.items()}


def _similar(url: str, job_id: int) -> dict[str, Any]:
    response = httpx.post(f"{url}/recommend/find_similar_jobs/", json={"job_id": job_id, "n": 5})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_posted_job_is_served_at_once_and_after_sigkill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _cli(tmp_path, "generate-demo-data", "--out", str(data), "--scale", "0.02", "--seed", "5")
    _cli(
        tmp_path, "train", "--data", str(data), "--out", str(tmp_path / "models"), "--model", "als"
    )
    jobs = [json.loads(line) for line in (data / "jobs.jsonl").read_text().splitlines()]
    lines = (data / "activities.jsonl").read_text().splitlines()
    users = sorted({json.loads(line)["user_id"] for line in lines})[:1000]
    # a new posting with the text of an existing job: its own kind of job, new
    template = jobs[len(jobs) // 2]
    # its fields too (city, sector): they join a job's vector
    posting = {k: v for k, v in template.items() if k not in ("job_id", "posted_at", "expires_at")}
    posting |= {"job_id": NEW_JOB}

    log = tmp_path / "server.log"
    proc, url = _serve(tmp_path, log)
    try:
        _wait_ready(proc, url)
        unknown = httpx.post(f"{url}/recommend/find_similar_jobs/", json={"job_id": NEW_JOB})
        assert unknown.status_code == 404
        response = httpx.post(f"{url}/jobs", json={"jobs": [posting]})
        assert response.status_code == 200, response.text
        similar = _similar(url, NEW_JOB)  # the very next request
        assert similar["source"] == "content"
        assert template["job_id"] in [j["job_id"] for j in similar["jobs"]]
        reached = [u for u, listed in _lists(url, users).items() if NEW_JOB in listed]
        assert reached, "the posted job reached no user's list"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

        proc, url = _serve(tmp_path, log)
        _wait_ready(proc, url)
        assert _similar(url, NEW_JOB) == similar
        after = _lists(url, reached)
        assert all(NEW_JOB in after[u] for u in reached)
        assert httpx.get(f"{url}/jobs/{NEW_JOB}").json()["city"] == template["city"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
