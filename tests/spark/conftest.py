"""One local Spark session for every Spark test, and the settings they train with.

Spark tests are marked ``spark`` and skipped, with the reason, only if pyspark is not installed
(``make test`` installs it from requirements-spark.txt).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from recommender.models.spark.params import SparkParams
from recommender.settings import Settings
from tests.conftest import tiny_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SPARK = SparkParams(master="local[2]", blocks=2, shuffle_partitions=2, log_level="ERROR")
"""Small partitions: the fixtures are tiny, and every partition costs a task."""


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    pytest.importorskip("pyspark", reason="pyspark is not installed (requirements-spark.txt)")
    from recommender.models.spark.session import get_session

    checkpoints = tmp_path_factory.mktemp("checkpoints")
    session = get_session(SPARK.model_copy(update={"checkpoint_dir": str(checkpoints)}))
    yield session
    session.stop()


def spark_settings(tmp_path: Path | None = None, **als: Any) -> Settings:
    """:func:`tests.conftest.tiny_settings` training spark-als with few iterations."""
    settings = tiny_settings(tmp_path, **({"iterations": 5} | als))
    return settings.model_copy(update={"model": "spark-als", "spark": SPARK})
