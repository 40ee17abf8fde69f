"""A TestClient over the tiny block model, shared by the API tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recommender.api import create_app
from recommender.bundle.trained import TrainedModel
from recommender.recommender import Recommender
from tests.conftest import tiny_settings


@pytest.fixture
def client(tmp_path: Path, tiny_trained: TrainedModel) -> Iterator[TestClient]:
    app = create_app(tiny_settings(tmp_path), Recommender(tiny_trained))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
