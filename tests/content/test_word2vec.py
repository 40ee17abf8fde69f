"""Training the content vectors: reproducible, aligned with the job columns, in one space."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.bundle.trained import TrainedModel
from recommender.training.fit import train
from tests.content.conftest import (
    COLD_PER_SECTOR,
    JOBS_PER_SECTOR,
    SECTORS,
    cold_jobs,
    content_settings,
    sector_dataset,
    sector_of_job,
)


@pytest.fixture(scope="module")
def trained() -> TrainedModel:
    return train(sector_dataset(), content_settings())


def test_same_data_and_settings_give_the_same_vectors(trained: TrainedModel) -> None:
    again = train(sector_dataset(), content_settings())
    other = train(sector_dataset(), content_settings().model_copy(update={"seed": 8}))
    assert trained.content is not None and again.content is not None
    assert other.content is not None
    for name, array in trained.content.arrays().items():
        np.testing.assert_array_equal(again.content.arrays()[name], array)
    assert not np.array_equal(other.content.word_vectors, trained.content.word_vectors)


def test_listed_jobs_without_activity_are_columns(trained: TrainedModel) -> None:
    assert trained.jobs.ids.tolist() == sorted(sector_of_job())
    cold = trained.jobs.rows(cold_jobs(), missing="error")
    assert trained.popularity[cold].tolist() == [0.0] * len(cold)
    assert trained.manifest.content is not None
    assert trained.manifest.content.cold_jobs == len(SECTORS) * COLD_PER_SECTOR
    assert trained.manifest.content.jobs_embedded == len(SECTORS) * JOBS_PER_SECTOR
    assert trained.manifest.content.user_documents > 0
    assert trained.manifest.timings["content_seconds"] > 0


def test_job_vectors_are_unit_rows_nearest_their_sector(trained: TrainedModel) -> None:
    assert trained.content is not None
    vectors = trained.content.job_vectors
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    sector = np.array([sector_of_job()[j] for j in trained.jobs.ids.tolist()])
    assert (sector[sims.argmax(axis=1)] == sector).all()


def test_content_off_keeps_the_columns_of_jobs_with_activity() -> None:
    """As before content: the catalogue's jobs with no activity are no columns, no vectors."""
    off = train(sector_dataset(), content_settings(enabled=False))
    assert off.content is None and off.manifest.content is None
    assert set(cold_jobs()).isdisjoint(off.jobs.ids.tolist())
    assert len(off.jobs) == len(SECTORS) * (JOBS_PER_SECTOR - COLD_PER_SECTOR)


def test_embedding_a_profile(trained: TrainedModel) -> None:
    assert trained.content is not None
    content = trained.content
    assert not content.embed(["no-such-word"]).any()
    vector = content.embed(["nursing", "degree_subject=nursing"])
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    best = trained.jobs.ids[np.argsort(-content.scores(vector))[:5]]
    assert {sector_of_job()[j] for j in best.tolist()} == {"nursing"}


def test_profile_values_point_to_the_jobs_their_holders_chose() -> None:
    """Two users hold ``a=x`` and chose job 0, two hold ``a=y`` and chose job 1; everyone holds
    ``lang=en``: x points to job 0, y to job 1, the shared value to nowhere; a value held by
    fewer than ``min_users`` users is dropped."""
    from scipy import sparse as sp

    from recommender.content.profiles import profile_map

    jobs = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    histories = sp.csr_matrix(np.array([[2, 0], [1, 0], [0, 3], [0, 1]], dtype=np.float32))
    tokens = [["a=x", "lang=en"], ["a=x", "lang=en"], ["a=y", "lang=en"], ["a=y", "lang=en", "z"]]
    words, vectors = profile_map(tokens, histories, jobs, min_users=2)
    assert words.tolist() == ["a=x", "a=y", "lang=en"]
    np.testing.assert_allclose(vectors, [[0.5, -0.5], [-0.5, 0.5], [0.0, 0.0]], atol=1e-6)


def test_profiles_embed_through_their_values_places(trained: TrainedModel) -> None:
    assert trained.content is not None and trained.content.profile_words is not None
    assert "degree_subject=nursing" in trained.content.profile_words.tolist()
    nurse, coder = trained.content.embed_profiles(
        [["degree_subject=nursing"], ["degree_subject=computer_science", "unknown"]]
    )
    sector = np.array([sector_of_job()[j] for j in trained.jobs.ids.tolist()])
    assert set(sector[np.argsort(-trained.content.scores(nurse))[:5]]) == {"nursing"}
    assert set(sector[np.argsort(-trained.content.scores(coder))[:5]]) == {"software"}
    assert not trained.content.embed_profiles([["nothing-known"]]).any()
