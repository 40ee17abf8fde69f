"""A uvicorn process on a free port of 127.0.0.1, started as the service is and stopped after."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from bench.common import REPO

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


GUARDED_PROTOCOL = "recommender.api.server:GuardedHttpToolsProtocol"
"""The service is measured as it is served: with the head timeout and connection cap."""


class Server:
    """``python -m uvicorn APP --host 127.0.0.1 --port P --no-access-log`` from the repo root.

    Its output goes to ``log``. :meth:`wait_for` polls until an endpoint answers 200 and returns the
    seconds since the process was started.
    """

    def __init__(
        self, app: str, env: Mapping[str, str], log: Path, args: Sequence[str] = ()
    ) -> None:
        self.app = app
        self.args = list(args)
        self.env = dict(env)
        self.log = log
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.started = 0.0
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        command = [sys.executable, "-m", "uvicorn", self.app, "--host", HOST]
        command += ["--port", str(self.port), "--no-access-log", *self.args]
        if self.app == "main:app":  # as `python main.py` (make run, Docker) serves it
            command += ["--http", GUARDED_PROTOCOL]
        with self.log.open("ab") as out:
            self.started = time.perf_counter()
            self._proc = subprocess.Popen(
                command, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def wait_for(self, path: str = "/health", body: Any = None, timeout: float = 120.0) -> float:
        """Seconds from start to the first 200 of GET ``path`` (POST ``body`` if given)."""
        assert self._proc is not None
        deadline = time.perf_counter() + timeout
        with httpx.Client(base_url=self.url, timeout=5.0) as client:
            while time.perf_counter() < deadline:
                if self._proc.poll() is not None:
                    raise RuntimeError(
                        f"{self.app} exited with {self._proc.returncode}:\n{self._log_tail()}"
                    )
                try:
                    answer = client.get(path) if body is None else client.post(path, json=body)
                    if answer.status_code == 200:
                        return time.perf_counter() - self.started
                except httpx.TransportError:
                    pass
                time.sleep(0.005)
        raise TimeoutError(
            f"{self.app} did not answer {path} within {timeout:.0f} s:\n{self._log_tail()}"
        )

    @property
    def pid(self) -> int:
        """The uvicorn process (with ``--workers``, the parent of the worker processes)."""
        assert self._proc is not None
        return self._proc.pid

    def _log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
