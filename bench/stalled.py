"""Stalled clients under a low open-file limit: does ``/health`` still answer?

One client opens ``--stalled`` connections (300) to a server limited to ``--nofile`` descriptors
(256), each sending half a request head and then nothing. Then ``/health`` is asked ``--probes``
times, one at a time, with a 2 s timeout each. Run twice: plain ``uvicorn main:app`` (before) and
``python main.py`` (the service's set-up, :mod:`recommender.api.server`). Prints, for each, the
probes answered, their median and worst latency, and how many stalled connections were closed
(or reset) by the time the probes ended.

``python -m bench.stalled`` (needs a client open-file limit above ``--stalled``; the model is
trained on a 2 % demo data set first, in a temporary directory).
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import REPO
from bench.server import HOST, free_port

HALF_HEAD = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: "
COMMANDS = {
    "uvicorn main:app (before)": ["-m", "uvicorn", "main:app", "--no-access-log"],
    "python main.py (after)": ["main.py"],
}


@dataclass
class Outcome:
    """What one run saw."""

    answered: int
    probes: int
    latencies: list[float]
    connected: int
    closed_by_server: int

    def line(self, name: str) -> str:
        lat = sorted(self.latencies) or [float("nan")]
        return (
            f"{name:28s} /health {self.answered}/{self.probes} answered "
            f"(median {lat[len(lat) // 2] * 1000:.0f} ms, worst {lat[-1] * 1000:.0f} ms); "
            f"{self.connected} stalled connected, {self.closed_by_server} of them closed or reset"
        )


def _limit(nofile: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))


def _probe(url: str) -> float | None:
    started = time.perf_counter()
    try:
        if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
            return time.perf_counter() - started
    except httpx.HTTPError:
        pass
    return None


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        if _probe(url) is not None:
            return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer /health in {timeout:.0f} s")


def _closed(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def stall(
    args: Sequence[str],
    env: dict[str, str],
    cwd: Path,
    *,
    stalled: int = 300,
    nofile: int = 256,
    probes: int = 10,
    linger: float = 0.0,
) -> Outcome:
    """Start ``python ARGS`` under ``ulimit -n nofile``, stall ``stalled`` connections, probe;
    count the stalled connections closed ``linger`` seconds after the probes."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    command = [sys.executable, *args, "--host", HOST, "--port", str(port)]
    log = cwd / f"server-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: _limit(nofile),  # noqa: PLW1509 (no threads in this process yet)
        )
    socks: list[socket.socket] = []
    try:
        _wait_ready(url, proc)
        for _ in range(stalled):
            sock = socket.socket()
            sock.settimeout(0.5)
            try:
                sock.connect((HOST, port))
                sock.sendall(HALF_HEAD)
            except OSError:
                sock.close()
                continue
            socks.append(sock)
        time.sleep(0.5)
        latencies = [t for t in (_probe(url) for _ in range(probes)) if t is not None]
        time.sleep(linger)
        closed = sum(_closed(s) for s in socks)
        return Outcome(
            answered=len(latencies),
            probes=probes,
            latencies=latencies,
            connected=len(socks),
            closed_by_server=closed,
        )
    finally:
        for sock in socks:
            sock.close()
        proc.terminate()
        proc.wait(timeout=30)


def model_env(tmp: Path) -> dict[str, str]:
    """The environment of a server on a model trained on 2 % of the demo data under ``tmp``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RECOMMENDER_")}
    env = {
        **clean,
        "PYTHONPATH": str(REPO),
        "RECOMMENDER_DATA_DIR": str(tmp / "data"),
        "RECOMMENDER_MODEL_DIR": str(tmp / "models"),
        "RECOMMENDER_MODEL": "als",
    }
    for step in (["generate-demo-data", "--out", str(tmp / "data"), "--scale", "0.02"], ["train"]):
        cli = [sys.executable, "-m", "recommender", "-q", *step]
        subprocess.run(cli, cwd=tmp, env=env, check=True, capture_output=True)
    return env


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stalled", type=int, default=300)
    parser.add_argument("--nofile", type=int, default=256)
    parser.add_argument("--probes", type=int, default=10)
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.stalled + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.stalled + 256), hard))
    with tempfile.TemporaryDirectory() as tmp:
        env = model_env(Path(tmp))
        for name, command in COMMANDS.items():
            outcome = stall(
                command,
                env,
                Path(tmp),
                stalled=args.stalled,
                nofile=args.nofile,
                probes=args.probes,
            )
            print(outcome.line(name), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
