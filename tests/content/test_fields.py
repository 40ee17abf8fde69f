"""A job's short string fields (city, sector) join its vector as exact values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recommender.bundle.files import load_bundle, write_bundle
from recommender.bundle.listed import ListedJobs
from recommender.bundle.trained import TrainedModel
from recommender.content.params import ContentParams
from recommender.content.text import job_tokens
from recommender.content.vectors import ContentVectors
from recommender.content.word2vec import embedded_fields, listed_field_tokens
from recommender.data.activities import ActivityLines
from recommender.data.catalogue import Catalogue
from recommender.data.dataset import Dataset
from recommender.data.listings import record_of
from recommender.training.fit import train
from tests.conftest import activities_frame
from tests.content.conftest import (
    COLD_PER_SECTOR,
    JOBS_PER_SECTOR,
    SECTORS,
    content_settings,
    job_id,
    sector_catalogue,
    sector_records,
)

CITIES = ("Leeds", "York")


def _vectors(weight: float) -> ContentVectors:
    """Two orthogonal words and two cities."""
    return ContentVectors(
        words=np.array(["audit", "nursing"]),
        word_vectors=np.eye(2, dtype=np.float32),
        word_weights=np.ones(2, dtype=np.float32),
        job_vectors=np.zeros((0, 4), dtype=np.float32),
        field_words=np.array(["city=leeds", "city=york"]),
        field_weight=weight,
    )


def test_job_tokens_end_with_their_field_values() -> None:
    tokens = job_tokens("Audit", "Audit", {"city": "Leeds ", "sector": "", "n": 3, "x": None})
    assert tokens == ["audit", "audit", "audit", "city=leeds"]


@pytest.mark.parametrize("weight", [0.2, 0.5])
def test_cosine_is_text_and_shared_values_weighted(weight: float) -> None:
    vectors = _vectors(weight)
    assert vectors.dimensions == 4 and vectors.field_names == ["city"]
    leeds_audit, york_audit, leeds_nursing, audit, leeds = vectors.embed_many(
        [
            ["audit", "city=leeds"],
            ["audit", "city=york"],
            ["nursing", "city=leeds"],
            ["audit"],
            ["city=leeds", "city=hull"],
        ]
    )
    np.testing.assert_allclose(np.linalg.norm([leeds_audit, audit, leeds], axis=1), 1, atol=1e-6)
    assert leeds_audit @ york_audit == pytest.approx(1 - weight)
    assert leeds_audit @ leeds_nursing == pytest.approx(weight)
    assert audit @ york_audit == pytest.approx(np.sqrt(1 - weight))  # no value: text alone
    assert leeds @ leeds_nursing == pytest.approx(np.sqrt(weight))  # an unknown value is no value


def test_fields_survive_the_bundle_arrays_and_old_arrays_have_none() -> None:
    vectors = _vectors(0.3)
    again = ContentVectors.from_arrays(vectors.arrays())
    assert again.field_words.tolist() == ["city=leeds", "city=york"]
    assert again.field_weight == pytest.approx(0.3)
    old = {k: v for k, v in vectors.arrays().items() if not k.startswith("field")}
    old["job_vectors"] = np.zeros((0, 2), dtype=np.float32)
    assert ContentVectors.from_arrays(old).dimensions == 2


def test_a_field_weight_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="field_weight"):
        _vectors(1.0)


def _city_catalogue() -> Catalogue:
    """The sector world with every job in one of two cities (alternating), a unique reference
    per job (too many values to embed) and a contract type."""
    base = sector_catalogue()
    attributes = [
        json.dumps({"city": CITIES[j % 2], "ref": f"R{j}", "contract": "permanent"})
        for j in base.jobs["job_id"].to_list()
    ]
    return Catalogue(base.jobs.with_columns(attributes=pl.Series(attributes)), base.users)


def test_short_string_fields_are_chosen_and_long_ones_left_out() -> None:
    catalogue = _city_catalogue()
    params = ContentParams()
    assert embedded_fields(catalogue, params) == ["city", "contract"]  # not the unique ref
    assert embedded_fields(catalogue, params.model_copy(update={"max_field_values": 1})) == [
        "contract"
    ]
    named = params.model_copy(update={"job_fields": ("ref", "missing")})
    assert embedded_fields(catalogue, named) == ["ref"]
    assert embedded_fields(catalogue, params.model_copy(update={"field_weight": 0.0})) == []
    first = listed_field_tokens(catalogue, params)[0]
    assert first == ["city=leeds", "contract=permanent"]


@pytest.fixture(scope="module")
def trained() -> TrainedModel:
    dataset = Dataset(
        ActivityLines.unweighted(activities_frame(sector_records())), _city_catalogue(), ()
    )
    return train(dataset, content_settings(field_weight=0.35))


def test_a_cold_jobs_nearest_warm_job_shares_its_sector_and_city(trained: TrainedModel) -> None:
    assert trained.content is not None
    assert trained.content.field_names == ["city", "contract"]
    assert trained.manifest.content is not None
    assert trained.manifest.content.fields == ["city", "contract"]
    vectors = trained.content.job_vectors
    ids = trained.jobs.ids
    sector = {job_id(s, k): s for s in range(len(SECTORS)) for k in range(JOBS_PER_SECTOR)}
    warm = [
        job_id(s, k) for s in range(len(SECTORS)) for k in range(JOBS_PER_SECTOR - COLD_PER_SECTOR)
    ]
    warm_cols = trained.jobs.rows(warm, missing="error")
    for s in range(len(SECTORS)):
        for k in range(JOBS_PER_SECTOR - COLD_PER_SECTOR, JOBS_PER_SECTOR):
            col = trained.jobs.rows([job_id(s, k)], missing="error")[0]
            nearest = int(ids[warm_cols[np.argmax(vectors[warm_cols] @ vectors[col])]])
            assert sector[nearest] == s and nearest % 2 == job_id(s, k) % 2


def test_a_written_bundle_loads_with_its_fields(trained: TrainedModel, tmp_path: Path) -> None:
    write_bundle(trained, tmp_path)
    loaded = load_bundle(tmp_path)
    assert loaded.content is not None and trained.content is not None
    assert loaded.content.field_words.tolist() == trained.content.field_words.tolist()
    assert loaded.content.field_weight == pytest.approx(0.35)
    np.testing.assert_array_equal(loaded.content.job_vectors, trained.content.job_vectors)


def test_a_job_posted_at_serve_time_embeds_its_fields_as_training_did(
    trained: TrainedModel,
) -> None:
    assert trained.catalogue is not None and trained.content is not None
    known = record_of(trained.catalogue.jobs, int(trained.jobs.ids[0]))
    assert known is not None and known["city"] == "Leeds"
    same = ListedJobs(trained).apply([known])
    assert same.user_top is trained.user_top  # re-embedded identically: nothing changed
    posted = {"job_id": 7001, "title": "Nurse", "description": "nursing ward", "city": "York"}
    view = ListedJobs(trained).apply([posted])
    assert view.content is not None
    col = view.jobs.rows([7001], missing="error")[0]
    tokens = job_tokens("Nurse", "nursing ward", {"city": "York", "contract": None})
    np.testing.assert_allclose(view.content.job_vectors[col], trained.content.embed(tokens))
    york = trained.content.text_dimensions + trained.content.field_words.tolist().index("city=york")
    assert view.content.job_vectors[col, york] > 0
