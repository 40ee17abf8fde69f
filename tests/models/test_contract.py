"""The contract every model passes: shapes, known answers, determinism, arrays and bundles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from recommender import settings as settings_module
from recommender.bundle.files import load_bundle, write_bundle
from recommender.bundle.trained import TrainedModel
from recommender.models.base import Model
from recommender.models.registry import MODEL_KINDS, MODEL_NAMES, create_model
from recommender.settings import Settings
from tests.models.conftest import RANDOMISED, SEED, model_settings, train_blocks, train_on

JOBS_PER_BLOCK = 5
USERS_PER_BLOCK = 6
# spark-als passes this contract in tests/spark/test_spark_model.py, on Spark fits shared by that
# module (a Spark fit takes seconds; here every test fits afresh).
LOCAL_NAMES = tuple(name for name in MODEL_NAMES if name != "spark-als")
PERSONALISED = tuple(name for name in LOCAL_NAMES if name != "popular")
KIND_OF = {
    "als": "als",
    "bpr": "bpr",
    "popular": "popular",
    "itemknn": "itemknn",
    "itemknn-tfidf": "itemknn",
    "itemknn-bm25": "itemknn",
    "userknn": "userknn",
    "spark-als": "spark-als",
}


@pytest.fixture(params=LOCAL_NAMES, ids=LOCAL_NAMES)
def name(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def trained(name: str) -> TrainedModel:
    return train_blocks(name)


def _all_rows(n: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    return np.arange(n, dtype=np.int64)


def test_every_name_builds_its_registered_kind() -> None:
    assert MODEL_NAMES == settings_module.MODEL_NAMES
    assert set(KIND_OF) == set(MODEL_NAMES)
    assert set(MODEL_KINDS) == set(KIND_OF.values())
    for model_name in MODEL_NAMES:
        model = create_model(model_name, Settings())
        assert model.kind == KIND_OF[model_name]
        assert type(model) is MODEL_KINDS[model.kind]
    with pytest.raises(ValueError, match="unknown model"):
        create_model("svd", Settings())


def test_settings_model_is_validated_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().model == "als"
    with pytest.raises(ValidationError, match="unknown model"):
        Settings(model="svd")
    monkeypatch.setenv("RECOMMENDER_MODEL", "itemknn-bm25")
    monkeypatch.setenv("RECOMMENDER_USERKNN__NEIGHBOURS", "7")
    from_env = Settings()
    assert (from_env.model, from_env.userknn.neighbours) == ("itemknn-bm25", 7)


def test_training_fits_the_configured_model(name: str, trained: TrainedModel) -> None:
    assert trained.model.kind == KIND_OF[name]
    assert trained.manifest.model.model_dump() == {
        "kind": trained.model.kind,
        "params": trained.model.params(),
        "confidence_scale": 2.0,
    }
    json.dumps(trained.model.params())  # a bundle's manifest records them


def test_shapes_and_dtypes(trained: TrainedModel) -> None:
    model = trained.model
    n_users, n_items = 2 * USERS_PER_BLOCK, 2 * JOBS_PER_BLOCK
    assert (model.n_users, model.n_items) == (n_users, n_items)
    for rows in ([0, 3, 7], [5], list(range(n_users))):
        scores = model.user_scores(np.array(rows, dtype=np.int64), trained.interactions)
        assert scores.shape == (len(rows), n_items)
        assert scores.dtype == np.float32
        assert np.isfinite(scores).all()
    for items in ([0, 6], [9], list(range(n_items))):
        sims = model.similar_scores(np.array(items, dtype=np.int64))
        assert sims.shape == (len(items), n_items)
        assert sims.dtype == np.float32
        assert np.isfinite(sims).all()
        assert sims.min() >= -1.0 - 1e-6
        assert sims.max() <= 1.0 + 1e-6


def test_progress_is_reported_after_each_iteration(name: str, trained: TrainedModel) -> None:
    calls: list[tuple[int, float | None]] = []
    settings = model_settings(name)
    model = create_model(name, settings)
    model.fit(trained.interactions, progress=lambda done, loss: calls.append((done, loss)))
    iterations = {"als": settings.als.iterations, "bpr": settings.bpr.iterations}.get(name, 1)
    assert [done for done, _ in calls] == list(range(1, iterations + 1))
    assert all((loss is not None) == (name == "als") for _, loss in calls)


@pytest.mark.parametrize("model_name", PERSONALISED, ids=PERSONALISED)
def test_held_out_job_of_own_block_ranks_first(model_name: str) -> None:
    """Each user saw all but one job of their block: that job is their best unseen one."""
    trained = train_blocks(model_name)
    model = trained.model
    scores = model.user_scores(_all_rows(model.n_users), trained.interactions)
    scores[trained.interactions.toarray() > 0] = -np.inf
    for user_row, job_row in enumerate(scores.argmax(axis=1).tolist()):
        block = user_row // USERS_PER_BLOCK
        held_out = block * JOBS_PER_BLOCK + (user_row % USERS_PER_BLOCK) % JOBS_PER_BLOCK
        assert job_row == held_out, f"user row {user_row}"


@pytest.mark.parametrize("model_name", PERSONALISED, ids=PERSONALISED)
def test_most_similar_other_job_shares_its_block(model_name: str) -> None:
    model = train_blocks(model_name).model
    sims = model.similar_scores(_all_rows(model.n_items))
    np.fill_diagonal(sims, -np.inf)
    for job_row, nearest in enumerate(sims.argmax(axis=1).tolist()):
        assert nearest // JOBS_PER_BLOCK == job_row // JOBS_PER_BLOCK, f"job row {job_row}"


def test_popular_ranks_every_user_by_popularity() -> None:
    """Job 1000+j is redirected to by 5-j of five users: popularity falls with j."""
    records = [
        {"user_id": 100 + u, "job_id": 1000 + j, "type": kind}
        for j in range(5)
        for u in range(5 - j)
        for kind in ("impression", "redirect")
    ]
    settings = model_settings("popular")
    trained = train_on(records, settings)
    model = trained.model
    scores = model.user_scores(_all_rows(model.n_users), trained.interactions)
    assert (scores == scores[0]).all()
    assert np.argsort(-scores[0], kind="stable").tolist() == [0, 1, 2, 3, 4]
    # The fitted matrix is confidence_scale · score, so the scores are a multiple of popularity.
    np.testing.assert_allclose(scores[0], settings.als.confidence_scale * trained.popularity)
    sims = model.similar_scores(_all_rows(model.n_items))
    np.testing.assert_allclose(sims, np.tile(scores[0] / scores[0].max(), (5, 1)), rtol=1e-6)


def test_same_seed_same_model_other_seed_other_model(name: str, trained: TrainedModel) -> None:
    arrays = trained.model.arrays()
    again = train_blocks(name).model.arrays()
    other = train_blocks(name, seed=SEED + 1).model.arrays()
    assert set(again) == set(other) == set(arrays)
    for key, array in arrays.items():
        np.testing.assert_array_equal(again[key], array)
    differs = any(not np.array_equal(other[key], array) for key, array in arrays.items())
    assert differs == (name in RANDOMISED)


def _assert_same_model(model: Model, rebuilt: Model, trained: TrainedModel) -> None:
    assert type(rebuilt) is type(model)
    assert rebuilt.params() == model.params()
    assert (rebuilt.n_users, rebuilt.n_items) == (model.n_users, model.n_items)
    assert set(rebuilt.arrays()) == set(model.arrays())
    for key, array in model.arrays().items():
        assert rebuilt.arrays()[key].dtype == array.dtype, key
        np.testing.assert_array_equal(rebuilt.arrays()[key], array)
    users, items = _all_rows(model.n_users), _all_rows(model.n_items)
    np.testing.assert_array_equal(
        rebuilt.user_scores(users, trained.interactions),
        model.user_scores(users, trained.interactions),
    )
    np.testing.assert_array_equal(rebuilt.similar_scores(items), model.similar_scores(items))


def test_arrays_round_trip(trained: TrainedModel) -> None:
    model = trained.model
    for array in model.arrays().values():
        assert array.dtype.kind in "iuf"  # plain numbers: a bundle stores them without pickle
    rebuilt = MODEL_KINDS[model.kind].from_arrays(model.params(), model.arrays())
    _assert_same_model(model, rebuilt, trained)


def test_bundle_round_trip(tmp_path: Path, trained: TrainedModel) -> None:
    bundle_dir = write_bundle(trained, tmp_path)
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    assert manifest["model"]["kind"] == trained.model.kind
    for key in trained.model.arrays():
        assert (bundle_dir / f"model.{key}.npy").is_file()
    loaded = load_bundle(tmp_path)
    _assert_same_model(trained.model, loaded.model, trained)
    np.testing.assert_array_equal(
        loaded.model.user_scores(_all_rows(3), loaded.interactions),
        trained.model.user_scores(_all_rows(3), trained.interactions),
    )
