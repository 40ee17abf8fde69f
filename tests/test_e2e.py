"""End to end: demo data → `train` CLI → real uvicorn on a free port → every endpoint."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp: Path) -> dict[str, str]:
    """The machine's environment without RECOMMENDER_* settings, plus this test's directories."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RECOMMENDER_")}
    return {
        **clean,
        "PYTHONPATH": str(ROOT),
        "RECOMMENDER_DATA_DIR": str(tmp / "data"),
        "RECOMMENDER_MODEL_DIR": str(tmp / "models"),
    }


def _cli(tmp: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "recommender", "-q", *args],
        cwd=tmp,
        env=env or _env(tmp),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _serve(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp,
        env=_env(tmp),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return proc, f"http://127.0.0.1:{port}"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)
    if proc.stderr is not None:
        proc.stderr.close()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, timeout: float = 120) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            assert proc.stderr is not None
            pytest.fail(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail("server did not answer /health in time")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("e2e")
    _cli(tmp, "generate-demo-data", "--out", str(tmp / "data"), "--scale", "0.05", "--seed", "3")
    return tmp


@pytest.fixture
def server(demo_dir: Path) -> Iterator[str]:
    out = _cli(
        demo_dir, "train", "--data", str(demo_dir / "data"), "--out", str(demo_dir / "models")
    )
    assert out.startswith("selected ")  # RECOMMENDER_MODEL=auto: selection is the default
    assert "trained " in out
    proc, url = _serve(demo_dir)
    try:
        _wait_ready(proc, url)
        yield url
    finally:
        _stop(proc)


def test_all_three_endpoints_over_real_http(server: str, demo_dir: Path) -> None:
    model = httpx.get(f"{server}/model").json()
    assert model["counts"]["users"] > 0
    with (demo_dir / "data" / "activities.jsonl").open() as handle:
        first = json.loads(handle.readline())
    known_user, known_job = first["user_id"], first["job_id"]

    single = httpx.post(
        f"{server}/recommend/jobs_single_user/", json={"user_id": known_user, "n": 5}
    )
    assert single.status_code == 200
    assert single.json()["source"] == model["model"]
    assert len(single.json()["jobs"]) == 5

    multi = httpx.post(
        f"{server}/recommend/jobs_multiple_users",
        json={"user_ids": [known_user, -1], "n": 3},
    )
    assert multi.status_code == 200
    assert list(multi.json()) == [str(known_user), "-1"]

    similar = httpx.post(f"{server}/recommend/find_similar_jobs/", json={"job_id": known_job})
    assert similar.status_code == 200
    assert known_job not in [j["job_id"] for j in similar.json()["jobs"]]

    assert (
        httpx.post(f"{server}/recommend/find_similar_jobs/", json={"job_id": -7}).status_code == 404
    )
    assert (
        httpx.post(f"{server}/recommend/jobs_single_user/", json={"user_id": "1"}).status_code
        == 422
    )


def test_service_trains_at_start_when_there_is_no_bundle(tmp_path: Path, demo_dir: Path) -> None:
    (tmp_path / "data").symlink_to(demo_dir / "data")
    proc, url = _serve(tmp_path)
    try:
        _wait_ready(proc, url)
        assert httpx.get(f"{url}/model").json()["version"] != "unsaved"
        assert len(list((tmp_path / "models").iterdir())) >= 2  # a bundle and CURRENT
    finally:
        _stop(proc)


def test_a_csv_log_trained_through_the_cli_is_served_over_http(tmp_path: Path) -> None:
    """Any log, mapped by column, selected on and trained by the local engine, then asked."""
    lines = ["member,posting,when,clicks"]
    for user in range(60):
        block = user % 3  # three groups of users, each clicking its own ten postings
        for day in range(8):
            job = 100 + block * 10 + (user + day * 3) % 10
            lines.append(f"{user},{job},{1_700_000_000 + day * 86_400 + user * 60},{1 + day % 2}")
    (tmp_path / "data").mkdir()
    log = tmp_path / "data" / "clicks.csv"
    log.write_text("\n".join(lines) + "\n")
    mapping = ["--user-col", "member", "--item-col", "posting", "--time-col", "when"]
    out = _cli(
        tmp_path,
        "train",
        "--data",
        str(log),
        *mapping,
        "--weight-col",
        "clicks",
        "--out",
        str(tmp_path / "models"),
    )
    assert out.startswith("selected ")
    proc, url = _serve(tmp_path)
    try:
        _wait_ready(proc, url)
        model = httpx.get(f"{url}/model").json()
        assert model["data"]["source"] == str(log)
        assert model["selection"]["served"]["model"] == model["model"]
        answer = httpx.post(
            f"{url}/recommend/jobs_multiple_users/", json={"user_ids": [0, 1, 2, 999], "n": 5}
        )
        assert answer.status_code == 200
        lists = answer.json()
        for user in (0, 1, 2):
            jobs = [j["job_id"] for j in lists[str(user)]]
            assert len(jobs) == 5
            # the postings of the user's own group they have not clicked come first
            seen = {(user + day * 3) % 10 for day in range(8)}
            unseen = [100 + (user % 3) * 10 + j for j in range(10) if j not in seen]
            assert unseen and sorted(jobs[: len(unseen)]) == unseen
        assert len(lists["999"]) == 5  # an unknown user gets the popular list
    finally:
        _stop(proc)
