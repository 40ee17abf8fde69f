"""Content under ``train --engine spark``: Spark MLlib's Word2Vec fits the word vectors, the rest
is shared with local training, so the bundle answers cold jobs and profile-only users alike."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from recommender.bundle.files import load_bundle
from recommender.bundle.trained import TrainedModel
from recommender.recommender import Recommender
from recommender.training.fit import fit_pairs
from tests.conftest import WriteJsonl
from tests.content.conftest import (
    PROFILE_ONLY,
    SECTORS,
    cold_jobs,
    content_settings,
    sector_catalogue,
    sector_dataset,
    sector_of_job,
    sector_records,
)
from tests.spark.conftest import SPARK

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark


def _spark_trained(spark: SparkSession, seed: int = 7) -> TrainedModel:
    from recommender.spark.content import spark_word_vectors

    settings = content_settings().model_copy(update={"seed": seed})
    pairs = sector_dataset().activities.score(settings.scoring)
    return fit_pairs(
        pairs,
        settings,
        catalogue=sector_catalogue(),
        word_vectors=("spark", spark_word_vectors(spark)),
    )


def test_spark_word_vectors_place_jobs_by_sector_and_are_reproducible(
    spark: SparkSession,
) -> None:
    trained = _spark_trained(spark)
    again = _spark_trained(spark)
    assert trained.content is not None and again.content is not None
    assert trained.manifest.content is not None
    assert trained.manifest.content.engine == "spark"
    for name, array in trained.content.arrays().items():
        np.testing.assert_array_equal(again.content.arrays()[name], array)
    vectors = trained.content.job_vectors
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    sector = np.array([sector_of_job()[j] for j in trained.jobs.ids.tolist()])
    assert (sector[sims.argmax(axis=1)] == sector).mean() >= 0.9


def test_a_spark_bundle_answers_cold_jobs_and_profile_only_users(
    spark: SparkSession, tmp_path: Path, jsonl: WriteJsonl
) -> None:
    from recommender.spark.train import train_spark

    del spark  # the session the engine reuses
    data = tmp_path / "data"
    jsonl(data / "activities.jsonl", sector_records())
    catalogue = sector_catalogue()
    jsonl(data / "jobs.jsonl", catalogue.jobs.to_dicts())
    jsonl(
        data / "users.jsonl",
        [{k: v for k, v in row.items() if v is not None} for row in catalogue.users.to_dicts()],
    )
    settings = content_settings().model_copy(update={"model": "spark-als", "spark": SPARK})
    train_spark(settings, data, model_dir=tmp_path / "models")
    loaded = load_bundle(tmp_path / "models")
    assert loaded.manifest.content is not None and loaded.manifest.content.engine == "spark"
    assert loaded.manifest.data_dict()["profile_users"] == catalogue.users.height
    recommender = Recommender(loaded)
    cold = cold_jobs()[0]
    similar = recommender.similar_jobs(cold, 5)
    assert similar.source == "content"
    shared = [sector_of_job()[j] == sector_of_job()[cold] for j in similar.job_ids.tolist()]
    assert np.mean(shared) >= 0.8
    user, sector = next(iter(PROFILE_ONLY.items()))
    listed = recommender.recommend(user, 5)
    assert listed.source == "profile"
    assert sum(sector_of_job()[j] == sector for j in listed.job_ids.tolist()) >= 4
    assert len(SECTORS) > 1
