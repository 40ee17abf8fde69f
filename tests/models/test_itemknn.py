"""Item kNN passes the model contract under each measure's name, and its own rules: the measures,
implicit's K, scores as history @ similarity."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from recommender.models.itemknn import ItemKNNModel, ItemKNNParams, KNNMeasure
from recommender.models.registry import create_model
from recommender.settings import Settings
from tests.models.conftest import random_matrix
from tests.models.contract import ModelContract

MEASURES: tuple[KNNMeasure, ...] = ("cosine", "tfidf", "bm25")


class TestItemKNNContract(ModelContract):
    name: ClassVar[str] = "itemknn"
    kind: ClassVar[str] = "itemknn"


class TestItemKNNTfidfContract(ModelContract):
    name: ClassVar[str] = "itemknn-tfidf"
    kind: ClassVar[str] = "itemknn"


class TestItemKNNBM25Contract(ModelContract):
    name: ClassVar[str] = "itemknn-bm25"
    kind: ClassVar[str] = "itemknn"


def _fitted(**params: object) -> ItemKNNModel:
    model = ItemKNNModel(ItemKNNParams.model_validate(params), threads=1)
    model.fit(random_matrix())
    return model


def test_measures_and_bm25_parameters_give_different_similarities() -> None:
    similarities = [_fitted(measure=m).similarity.toarray() for m in MEASURES]
    similarities.append(_fitted(measure="bm25", bm25_k1=3.0, bm25_b=0.2).similarity.toarray())
    for i, first in enumerate(similarities):
        for second in similarities[i + 1 :]:
            assert not np.allclose(first, second)


def test_cosine_with_every_neighbour_is_the_cosine_of_job_columns() -> None:
    model = _fitted(measure="cosine", neighbours=1000)
    columns = random_matrix().toarray().T
    normed = columns / np.linalg.norm(columns, axis=1, keepdims=True)
    np.testing.assert_allclose(model.similarity.toarray(), normed @ normed.T, atol=1e-6)


@pytest.mark.parametrize("measure", MEASURES)
def test_each_job_keeps_at_most_neighbours_similarities(measure: KNNMeasure) -> None:
    model = _fitted(measure=measure, neighbours=3)
    assert np.diff(model.similarity.indptr).max() == 3


@pytest.mark.parametrize("measure", MEASURES)
def test_scores_are_history_times_similarity(measure: KNNMeasure) -> None:
    model = _fitted(measure=measure, neighbours=6)
    history = random_matrix(seed=3)  # other events than the fitted ones: scored as given
    rows = np.array([4, 0, 29], dtype=np.int64)
    expected = history.toarray()[rows] @ model.similarity.toarray()
    np.testing.assert_allclose(model.user_scores(rows, history), expected, rtol=1e-5)


@pytest.mark.parametrize("measure", MEASURES)
def test_similar_scores_are_rows_scaled_to_a_largest_magnitude_of_one(
    measure: KNNMeasure,
) -> None:
    model = _fitted(measure=measure, neighbours=6)
    items = np.arange(model.n_items, dtype=np.int64)
    sims = model.similar_scores(items)
    raw = model.similarity.toarray()
    np.testing.assert_allclose(sims, raw / np.abs(raw).max(axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(np.abs(sims).max(axis=1), 1.0, rtol=1e-6)


def test_names_pick_the_measure() -> None:
    settings = Settings()
    measures = {
        name: model.knn_params.measure
        for name in ("itemknn", "itemknn-tfidf", "itemknn-bm25")
        if isinstance(model := create_model(name, settings), ItemKNNModel)
    }
    assert measures == {"itemknn": "cosine", "itemknn-tfidf": "tfidf", "itemknn-bm25": "bm25"}
    bm25 = Settings(itemknn=ItemKNNParams(measure="bm25", neighbours=9, bm25_k1=2.0))
    configured = create_model("itemknn", bm25)
    assert isinstance(configured, ItemKNNModel)
    assert configured.params() == {
        "measure": "bm25",
        "neighbours": 9,
        "bm25_k1": 2.0,
        "bm25_b": 0.75,
    }
    assert create_model("itemknn-tfidf", bm25).params()["measure"] == "tfidf"
