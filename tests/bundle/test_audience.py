"""A job's audience scores every user as their own list does: on the lists' scale the scores are
the users' list scores of the job (warm and cold jobs, with and without the history term, every
model); on the model's scale they are those scores times each user's deviation plus their mean,
a cold job's inherited as the lists inherit it at cold weight 1 whatever weight they use."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from recommender.bundle.audience import AudienceScorer
from recommender.bundle.trained import TrainedModel
from recommender.evaluation.hybrid_weights import served_with
from recommender.models.registry import MODEL_NAMES
from recommender.training.fit import train
from tests.content.conftest import cold_jobs, content_settings, sector_dataset
from tests.models.conftest import model_settings

NAMES = [name for name in MODEL_NAMES if name != "spark-als"]  # Spark's ALS: an ALS model


@pytest.fixture(scope="module", params=NAMES)
def trained(request: pytest.FixtureRequest) -> TrainedModel:
    settings = model_settings(request.param).model_copy(
        update={"content": content_settings().content}
    )
    return train(sector_dataset(), settings)


def _every(trained: TrainedModel) -> tuple[np.ndarray, np.ndarray]:
    users = np.arange(len(trained.users), dtype=np.int64)
    return users, np.arange(len(trained.jobs), dtype=np.int64)


@pytest.mark.parametrize("history_weight", [0.0, 0.5], ids=["cold", "both"])
def test_list_scale_is_the_users_list_scores(trained: TrainedModel, history_weight: float) -> None:
    served = served_with(trained, cold_weight=1.0, history_weight=history_weight)
    users, jobs = _every(served)
    lists = served.user_scores(users, "none")
    got, inherited = AudienceScorer(served).scores(jobs, "list")
    assert got.shape == lists.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, lists, rtol=1e-5, atol=2e-5)
    cold = served.jobs.rows(cold_jobs(), missing="error")
    assert np.flatnonzero(inherited).tolist() == sorted(cold.tolist())
    some = np.array([cold[0], 3, cold[0], 0], dtype=np.int64)  # any order, repeats too
    np.testing.assert_allclose(
        AudienceScorer(served).scores(some, "list")[0], lists[:, some], rtol=1e-5, atol=2e-5
    )


@pytest.mark.parametrize(
    ("cold_weight", "history_weight"),
    [(1.0, 0.0), (2.0, 0.5), (0.0, 0.0), (1.0, 4.0)],
    ids=["cold", "both", "off", "audience-history-capped"],
)
def test_model_scale_is_the_list_score_times_each_users_deviation_plus_mean(
    trained: TrainedModel, cold_weight: float, history_weight: float
) -> None:
    served = served_with(trained, cold_weight=cold_weight, history_weight=history_weight)
    users, jobs = _every(served)
    got, inherited = AudienceScorer(served).scores(jobs, "model")
    assert inherited.sum() == len(cold_jobs())  # whatever weight the lists give cold jobs
    # an audience weighs the history term at audience_history_weight (0.5) at most
    audience = min(history_weight, served.manifest.content.params.audience_history_weight)
    at_one = served_with(trained, cold_weight=1.0, history_weight=audience)
    assert at_one.hybrid is not None
    lists = at_one.user_scores(users, "none")
    raw = served.model.user_scores(users, served.interactions)
    warm = at_one.hybrid.warm
    mean, std = _scale(served, warm)
    np.testing.assert_allclose(got, mean + std * lists, rtol=1e-4, atol=1e-4)
    if history_weight == 0 and served.model.kind != "blend":  # a warm job's own score
        np.testing.assert_allclose(got[:, warm], raw[:, warm], rtol=1e-4, atol=1e-4)


def _scale(trained: TrainedModel, warm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each user's mean and deviation over ``warm`` of the scores comparable across users: the
    model's own, or those a blend names, found here from every user's whole row."""
    model = trained.model
    comparable = model.comparable_moments(warm, trained.interactions)
    if comparable is None:
        every = model.user_scores(np.arange(model.n_users), trained.interactions)[:, warm]
        comparable = every.astype(np.float64).mean(axis=1), every.astype(np.float64).std(axis=1)
    mean, std = comparable
    return mean[:, None], np.where(std == 0, 1.0, std)[:, None]


def test_without_content_the_list_scale_is_the_lists_and_the_model_scale_their_z(
    trained: TrainedModel,
) -> None:
    plain = dataclasses.replace(trained, content=None)
    users, jobs = _every(plain)
    lists = plain.user_scores(users, "none")
    got, inherited = AudienceScorer(plain).scores(jobs, "list")
    np.testing.assert_allclose(got, lists, rtol=1e-5, atol=1e-5)
    assert not inherited.any()
    warm = np.flatnonzero(plain.interactions.getnnz(axis=0) > 0)
    part = lists[:, warm].astype(np.float64)
    std = part.std(axis=1, keepdims=True)
    z = (lists - part.mean(axis=1, keepdims=True)) / np.where(std == 0, 1.0, std)
    mean, spread = _scale(plain, warm)
    scaled = AudienceScorer(plain).scores(jobs, "model")[0]
    np.testing.assert_allclose(scaled, mean + spread * z, rtol=1e-4, atol=1e-4)
    if plain.model.comparable_moments(warm, plain.interactions) is None:
        np.testing.assert_allclose(scaled, lists, rtol=1e-4, atol=1e-4)  # the model's own


def test_top_leaves_out_the_redirected_and_the_excluded(trained: TrainedModel) -> None:
    scorer = AudienceScorer(trained)
    col = int(trained.jobs.rows([2000], missing="error")[0])
    redirected = set(trained.redirected.tocsc()[:, col].indices.tolist())
    assert redirected
    n_users = len(trained.users)
    scores = scorer.scores(np.array([col], dtype=np.int64))[0][:, 0]
    (everyone,) = scorer.top(np.array([col], dtype=np.int64), n_users, [np.zeros(0, np.int64)])
    assert set(everyone.rows.tolist()) == set(range(n_users)) - redirected
    assert everyone.scores.tolist() == sorted(everyone.scores.tolist(), reverse=True)
    np.testing.assert_array_equal(everyone.scores, scores[everyone.rows])
    best = int(everyone.rows[0])
    (after,) = scorer.top(np.array([col], dtype=np.int64), 3, [np.array([best], np.int64)])
    assert after.rows.tolist() == everyone.rows[1:4].tolist()
