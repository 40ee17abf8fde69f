"""A client stalling 300 connections on half a request head cannot starve the others.

The real service (``python main.py``, as ``make run`` and the Docker image start it) runs under
``ulimit -n 256``; ``bench/stalled.py`` opens the connections and asks ``/health``. Plain
``uvicorn main:app`` answers none of those probes (``python -m bench.stalled`` shows both).
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pytest

from bench.stalled import COMMANDS, stall
from recommender.bundle.files import write_bundle
from recommender.bundle.trained import TrainedModel

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path: Path, tiny_trained: TrainedModel) -> dict[str, str]:
    write_bundle(tiny_trained, tmp_path / "models")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RECOMMENDER_")}
    return {
        **clean,
        "PYTHONPATH": str(ROOT),
        "RECOMMENDER_DATA_DIR": str(tmp_path / "data"),
        "RECOMMENDER_MODEL_DIR": str(tmp_path / "models"),
        "RECOMMENDER_HEADER_TIMEOUT_SECONDS": "3",
    }


def test_health_answers_while_300_connections_stall_under_256_files(
    env: dict[str, str], tmp_path: Path
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if max(soft, hard) < 400:
        pytest.skip("the client needs more than 300 descriptors")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 1024)), hard))
    try:
        outcome = stall(
            COMMANDS["python main.py (after)"], env, tmp_path, stalled=300, nofile=256, linger=3.5
        )
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert outcome.connected == 300
    assert outcome.answered == outcome.probes
    assert outcome.closed_by_server == 300  # the cap closed some; the head timeout the rest
