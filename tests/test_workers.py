"""Several uvicorn workers: metrics add up across them, and a new bundle reaches every one."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import block_activities, write_jsonl
from tests.test_e2e import _cli, _env, _free_port, _stop, _wait_ready

pytestmark = pytest.mark.slow


def _train(tmp: Path) -> None:
    _cli(tmp, "train", env=_worker_env(tmp))


def _worker_env(tmp: Path) -> dict[str, str]:
    return {
        **_env(tmp),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prometheus"),
        "RECOMMENDER_WATCH_INTERVAL_SECONDS": "0.2",
        "RECOMMENDER_ALS__FACTORS": "4",
    }


def _requests_counted(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    found = re.findall(
        r'^recommender_http_requests_total\{route="/recommend/jobs_single_user/",'
        r'status="200"\} ([0-9.e+]+)$',
        text,
        re.MULTILINE,
    )
    return sum(float(v) for v in found)


def test_two_workers_share_metrics_and_follow_a_new_bundle(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "data" / "activities.jsonl", block_activities())
    (tmp_path / "prometheus").mkdir()
    _train(tmp_path)
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        [*command, "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=_worker_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, url)
        with httpx.Client(base_url=url, timeout=5) as client:
            for _ in range(40):  # new connections: the kernel spreads them over both workers
                answer = httpx.post(
                    f"{url}/recommend/jobs_single_user/", json={"user_id": 100, "n": 2}
                )
                assert answer.status_code == 200
            assert {_requests_counted(url) for _ in range(6)} == {40.0}  # whichever answers

            before = client.get("/model").json()["version"]
            _train(tmp_path)  # as cron would: a new bundle and CURRENT
            deadline = time.monotonic() + 20
            seen: set[str] = set()
            while time.monotonic() < deadline:
                seen = {httpx.get(f"{url}/model").json()["version"] for _ in range(8)}
                if before not in seen:
                    break
                time.sleep(0.2)
            assert before not in seen and len(seen) == 1  # every worker serves the new one
    finally:
        _stop(proc)
