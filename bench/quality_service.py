"""The service as a user runs it: ``python -m recommender train`` on files, then HTTP requests.

The training events are written as ``activities.jsonl`` (``quality_data.write_activities``),
``train`` runs in a subprocess with the service's defaults (or ``RECOMMENDER_MODEL``), and the
real service (:class:`bench.server.Server`) answers ``/recommend/jobs_multiple_users/`` for the
test users in batches of at most 1,000, ``n=10``. ``exclude_seen: "all"`` asks it to leave out
every job the user had any activity on, as the protocol does for every model (the default leaves
out only redirects).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import REPO, say
from bench.quality_metrics import K
from bench.server import Server

MAX_BATCH = 1000


@dataclass(frozen=True)
class ServiceRun:
    """The lists (external job ids per test user) and what producing them took."""

    lists: list[list[int]]
    train_seconds: float
    request_seconds: float
    trained: str
    selected: str | None


def _environment(
    model: str | None, data_dir: Path, model_dir: Path, validation: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOMMENDER_")}
    env |= {
        "RECOMMENDER_DATA_DIR": str(data_dir),
        "RECOMMENDER_MODEL_DIR": str(model_dir),
        "RECOMMENDER_TRAIN_IF_MISSING": "false",
        "RECOMMENDER_SELECTION__VALIDATION": validation,
    }
    if model is not None:
        env["RECOMMENDER_MODEL"] = model
    return env


def train(
    data_dir: Path, model_dir: Path, model: str | None, validation: str
) -> tuple[float, list[str]]:
    """Run ``python -m recommender train``; its seconds and its output lines."""
    command = [sys.executable, "-m", "recommender", "--quiet", "train"]
    command += ["--data", str(data_dir), "--out", str(model_dir)]
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=REPO,
        env=_environment(model, data_dir, model_dir, validation),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return seconds, done.stdout.strip().splitlines()


def ask(server: Server, user_ids: Sequence[int]) -> list[list[int]]:
    lists: list[list[int]] = []
    with httpx.Client(base_url=server.url, timeout=120.0) as client:
        for start in range(0, len(user_ids), MAX_BATCH):
            batch = [int(u) for u in user_ids[start : start + MAX_BATCH]]
            body = {"user_ids": batch, "n": K, "exclude_seen": "all"}
            answer = client.post("/recommend/jobs_multiple_users/", json=body)
            answer.raise_for_status()
            found = answer.json()
            lists += [[int(job["job_id"]) for job in found[str(u)]] for u in batch]
    return lists


def run_service(
    data_dir: Path, workdir: Path, user_ids: Sequence[int], model: str | None, validation: str
) -> ServiceRun:
    """Train the service on ``data_dir`` with ``model`` (None: the default, selected on a
    ``validation`` split carved as the protocol carves its own), start it, ask it."""
    name = model or "default"
    model_dir = workdir / f"models-{name}"
    seconds, lines = train(data_dir, model_dir, model, validation)
    line = lines[-1]
    selected = next((x for x in lines if x.startswith(("selected ", "selection skipped"))), None)
    say(f"quality: service ({name}) {line}")
    if selected is not None:
        say(f"quality: service ({name}) {selected}")
    env = _environment(model, data_dir, model_dir, validation)
    with Server("main:app", env, workdir / f"service-{name}.log") as server:
        server.wait_for("/health")
        started = time.perf_counter()
        lists = ask(server, user_ids)
        asked = time.perf_counter() - started
    return ServiceRun(
        lists=lists, train_seconds=seconds, request_seconds=asked, trained=line, selected=selected
    )
