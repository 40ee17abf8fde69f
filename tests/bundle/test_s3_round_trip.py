"""Must-show: train from S3 data, publish the bundle to S3, and a fresh service (real uvicorn,
empty cache) loads it from S3 and answers — all against moto's S3 server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import fsspec
import httpx
import pytest

from tests.conftest import block_activities
from tests.test_e2e import ROOT, _free_port, _stop, _wait_ready

pytestmark = pytest.mark.slow


def _env(tmp: Path, bucket: str, cache: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RECOMMENDER_")}
    return {
        **clean,
        "PYTHONPATH": str(ROOT),
        "RECOMMENDER_DATA_DIR": f"{bucket}/data",
        "RECOMMENDER_MODEL_DIR": f"{bucket}/models",
        "RECOMMENDER_CACHE_DIR": str(tmp / cache),
        "RECOMMENDER_EVENTS_PATH": str(tmp / f"{cache}-events.sqlite3"),
        "RECOMMENDER_TRAIN_IF_MISSING": "false",
        "RECOMMENDER_ALS__FACTORS": "4",
        "RECOMMENDER_ALS__REGULARIZATION": "1.0",
    }


def test_train_publish_and_serve_through_s3(tmp_path: Path, bucket: str) -> None:
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    lines = "\n".join(json.dumps(r) for r in block_activities()) + "\n"
    fs.pipe_file(f"{bucket[5:]}/data/activities.jsonl", lines.encode())

    trained = subprocess.run(
        [sys.executable, "-m", "recommender", "-q", "train"],
        cwd=tmp_path,
        env=_env(tmp_path, bucket, "trainer"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert trained.returncode == 0, trained.stderr
    version = fs.cat_file(f"{bucket[5:]}/models/CURRENT").decode().strip()
    assert fs.exists(f"{bucket[5:]}/models/{version}/manifest.json")

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=_env(tmp_path, bucket, "server"),  # another cache: nothing local to start from
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, url)
        assert httpx.get(f"{url}/model").json()["version"] == version
        answer = httpx.post(f"{url}/recommend/jobs_single_user/", json={"user_id": 100, "n": 1})
        assert answer.status_code == 200
        assert answer.json()["source"] == "als"
        assert answer.json()["jobs"][0]["job_id"] == 1000  # the block model's known answer
    finally:
        _stop(proc)
    cached = tmp_path / "server" / "s3" / bucket[5:] / "models" / version
    assert (cached / "manifest.json").is_file()
