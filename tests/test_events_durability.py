"""No lost events: SIGKILL the real server mid-stream; every acknowledged event is stored once."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.test_e2e import _cli, _env, _free_port, _wait_ready

pytestmark = pytest.mark.slow

BATCH = 20
MAX_BATCHES = 2000  # bounds the writer if the kill never lands
KILL_AFTER_ACKED = 40  # batches acknowledged before the kill


def _serve(tmp: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            cwd=tmp,
            env=_env(tmp),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    return proc, f"http://127.0.0.1:{port}"


def _batch(number: int) -> list[dict[str, object]]:
    return [
        {
            "user_id": number,
            "job_id": i,
            "type": "redirect" if i % 3 == 0 else "impression",
            "event_id": f"b{number}-e{i}",
        }
        for i in range(BATCH)
    ]


def _write_and_kill(tmp: Path, log: Path) -> list[int]:
    """Post batches from a writer thread; SIGKILL the server mid-stream. The acknowledged ones."""
    proc, url = _serve(tmp, log)
    acked: list[int] = []

    def writer() -> None:
        with httpx.Client(timeout=10) as client:
            for number in range(MAX_BATCHES):
                try:
                    r = client.post(f"{url}/events", json={"events": _batch(number)})
                except httpx.TransportError:
                    return  # the server is gone: this batch was never acknowledged
                if r.is_success:
                    acked.append(number)

    try:
        _wait_ready(proc, url)
        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while len(acked) < KILL_AFTER_ACKED and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)  # mid-stream: the writer is still posting
        proc.wait(timeout=30)
        thread.join(timeout=30)
        assert not thread.is_alive()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    return list(acked)


def _stored_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT event_id, COUNT(*) FROM events GROUP BY event_id").fetchall()
    finally:
        conn.close()
    return dict(rows)


def test_every_acknowledged_event_survives_sigkill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _cli(tmp_path, "generate-demo-data", "--out", str(data), "--scale", "0.02", "--seed", "5")
    _cli(tmp_path, "train", "--data", str(data), "--out", str(tmp_path / "models"))
    log = tmp_path / "server.log"

    acked = _write_and_kill(tmp_path, log)
    assert len(acked) >= KILL_AFTER_ACKED
    assert len(acked) < MAX_BATCHES, "the writer finished before the kill"

    proc, url = _serve(tmp_path, log)
    try:
        _wait_ready(proc, url)
        stats = httpx.get(f"{url}/events/stats").json()
        # the batch in flight at the kill may have committed without its answer arriving
        assert len(acked) * BATCH <= stats["total"] <= (len(acked) + 1) * BATCH
        # a retry of an acknowledged batch after the restart stores nothing twice
        retry = httpx.post(f"{url}/events", json={"events": _batch(acked[-1])}).json()
        assert retry == {"accepted": 0, "duplicates": BATCH}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

    counts = _stored_counts(data / "events.sqlite3")
    expected = {str(e["event_id"]) for number in acked for e in _batch(number)}
    missing = expected - counts.keys()
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:5]}"
    assert all(counts[event_id] == 1 for event_id in expected)
