"""A TestClient over the tiny block model, shared by the API tests; and a small demo world
(jobs with cities and sectors, profiles, cold jobs) trained once for the filter and page tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from recommender.api import create_app
from recommender.bundle.trained import TrainedModel
from recommender.content.params import ContentParams
from recommender.data.dataset import Dataset, load_dataset
from recommender.data.demo import generate_demo_data
from recommender.models.als import ALSParams
from recommender.recommender import Recommender
from recommender.settings import Settings
from recommender.training.fit import train
from tests.conftest import tiny_settings


@pytest.fixture
def client(tmp_path: Path, tiny_trained: TrainedModel) -> Iterator[TestClient]:
    app = create_app(tiny_settings(tmp_path), Recommender(tiny_trained))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass(frozen=True)
class DemoWorld:
    """Demo data (seed 3, scale 0.06: 1,020 active users, 1,837 jobs) and ALS with content
    trained on it."""

    dataset: Dataset
    trained: TrainedModel
    jobs: dict[int, dict[str, Any]]
    """jobs.jsonl by job id."""
    redirected: dict[int, set[int]]
    """Each active user's redirected jobs."""

    def open_jobs(self, **allowed: list[str]) -> set[int]:
        """The jobs not expired now whose fields hold one of the allowed values each."""
        now = datetime.now(UTC)
        return {
            job_id
            for job_id, job in self.jobs.items()
            if datetime.fromisoformat(job["expires_at"]) > now
            and all(job.get(field) in values for field, values in allowed.items())
        }

    def settings(self, tmp_path: Path) -> Settings:
        return DEMO_SETTINGS.model_copy(
            update={"data_dir": tmp_path / "data", "model_dir": tmp_path / "models"}
        )


DEMO_SETTINGS = Settings(
    model="als",
    seed=7,
    train_threads=1,
    als=ALSParams(factors=16, iterations=10),
    content=ContentParams(dimensions=16, epochs=2),
)


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> DemoWorld:
    root = tmp_path_factory.mktemp("demo-world")
    generate_demo_data(root / "data", seed=3, scale=0.06)
    (root / "listings").mkdir()
    dataset = load_dataset(root / "data", listings_dir=root / "listings")
    redirected: dict[int, set[int]] = {}
    with (root / "data" / "activities.jsonl").open() as lines:
        for line in lines:
            event = json.loads(line)
            if event["type"] == "redirect":
                redirected.setdefault(event["user_id"], set()).add(event["job_id"])
    with (root / "data" / "jobs.jsonl").open() as lines:
        jobs = {job["job_id"]: job for job in map(json.loads, lines)}
    return DemoWorld(dataset, train(dataset, DEMO_SETTINGS), jobs, redirected)


@pytest.fixture
def demo(tmp_path: Path, demo_world: DemoWorld) -> Iterator[TestClient]:
    """The app over the demo world, with an event store of its own."""
    app = create_app(demo_world.settings(tmp_path), Recommender(demo_world.trained))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
