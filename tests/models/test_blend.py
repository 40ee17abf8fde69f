"""The blend passes the model contract (ALS and EASE, half each), and its own rules: z-scores per
row, weights checked, a weight of 0 serving one model with another's similar jobs, history
scores only when every weighted component folds in, explanations, arrays, settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from pydantic import ValidationError

from recommender.errors import ExplainUnsupportedError
from recommender.models.als import ALSModel
from recommender.models.blend import STD_FLOOR, BlendModel, BlendParams, standardize_rows
from recommender.models.ease import EASEModel
from recommender.models.itemknn import ItemKNNModel
from recommender.models.popular import PopularityModel
from recommender.models.registry import create_model
from recommender.settings import Settings
from tests.models.conftest import SEED, model_settings, random_matrix
from tests.models.contract import ModelContract

CONTRACT_BLEND = BlendParams(components=("als", "ease"), weights=(0.5, 0.5))


class TestBlendContract(ModelContract):
    name: ClassVar[str] = "blend"
    kind: ClassVar[str] = "blend"
    randomised: ClassVar[bool] = True
    explains: ClassVar[bool] = True  # ALS's explanation: the first of the heaviest

    @classmethod
    def settings(cls, seed: int = SEED) -> Settings:
        return model_settings(cls.name, seed, blend=CONTRACT_BLEND)

    @classmethod
    def randomised_array(cls, key: str) -> bool:
        return key.startswith("0.")  # ALS's factors; EASE's fit does not depend on the seed

    @classmethod
    def progress_reports(cls, settings: Settings) -> list[int]:
        return list(range(1, settings.als.iterations + 2))  # ALS's iterations, then EASE's one


def _blend(components: tuple[str, ...], weights: tuple[float, ...], **more: Any) -> BlendModel:
    params = BlendParams(components=components, weights=weights, **more)
    model = create_model("blend", model_settings("blend", blend=params))
    assert isinstance(model, BlendModel)
    model.fit(random_matrix())
    return model


def _rows(n: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    return np.arange(n, dtype=np.int64)


def test_standardize_rows_gives_z_scores_and_zeros_for_a_constant_row() -> None:
    rng = np.random.default_rng(0)
    scores = np.vstack(
        [
            rng.normal(3.0, 5.0, size=(3, 50)),
            np.full((1, 50), 0.1),  # its mean is not 0.1 exactly in float32 arithmetic
            np.zeros((1, 50)),
            np.full((1, 50), -7.3e4),
        ]
    ).astype(np.float32)
    z = standardize_rows(scores)
    assert z.dtype == np.float32
    assert z.shape == scores.shape
    np.testing.assert_allclose(z[:3].mean(axis=1), 0.0, atol=1e-6)
    np.testing.assert_allclose(z[:3].std(axis=1), 1.0, rtol=1e-5)
    assert not z[3:].any()
    np.testing.assert_array_equal(np.argsort(z[:3], axis=1), np.argsort(scores[:3], axis=1))


def test_standardize_rows_does_not_blow_up_a_nearly_constant_row() -> None:
    row = np.array([[1.0, 1.0, 1.0, 1.0 + 1e-7 * 4]], dtype=np.float32)  # std far below the floor
    assert row.std() < STD_FLOOR
    assert np.abs(standardize_rows(row)).max() < 1.0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"components": (), "weights": ()}, r"1 to 3 components, not 0"),
        (
            {"components": ("als", "ease", "bpr", "popular"), "weights": (1, 1, 1, 1)},
            r"not 4: \['als', 'ease', 'bpr', 'popular'\]",
        ),
        ({"components": ("als", "blend"), "weights": (1, 1)}, r"cannot hold 'blend'"),
        ({"components": ("spark-als",), "weights": (1,)}, r"cannot hold 'spark-als'"),
        ({"components": ("als", "als"), "weights": (1, 1)}, r"must differ; repeated: als"),
        (
            {"components": ("als", "ease"), "weights": (1.0,)},
            r"1 weights \[1.0\] for 2 components \['als', 'ease'\]",
        ),
        ({"components": ("als", "ease"), "weights": (0.5, -0.1)}, r"got \[0.5, -0.1\]"),
        ({"components": ("als", "ease"), "weights": (0, 0)}, r"not all 0; got \[0.0, 0.0\]"),
        ({"components": ("als", "ease"), "weights": (1, float("nan"))}, r"finite.*nan"),
        (
            {"components": ("als", "ease"), "weights": (1, 1), "similar": "bpr"},
            r"similar='bpr' is not one of the components \['als', 'ease'\]",
        ),
    ],
    ids=[
        "none",
        "four",
        "itself",
        "spark-als",
        "repeated",
        "lengths",
        "negative",
        "all-zero",
        "nan",
        "similar-elsewhere",
    ],
)
def test_params_are_checked_with_messages_naming_the_values(
    params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        BlendParams(**params)


def test_similar_defaults_to_the_first_heaviest_component() -> None:
    assert BlendParams(components=("als", "ease"), weights=(1, 1)).similar_component == "als"
    assert BlendParams(components=("als", "ease"), weights=(1, 2)).similar_component == "ease"
    named = BlendParams(components=("als", "ease"), weights=(1, 2), similar="als")
    assert named.similar_component == "als"


def test_a_zero_weight_serves_one_model_with_another_models_similar_jobs() -> None:
    model = _blend(("ease", "itemknn"), (1.0, 0.0), similar="itemknn")
    ease, itemknn = model.components
    assert isinstance(ease, EASEModel)
    assert isinstance(itemknn, ItemKNNModel)
    matrix = random_matrix()
    users, items = _rows(matrix.shape[0]), _rows(matrix.shape[1])
    np.testing.assert_array_equal(
        model.user_scores(users, matrix), standardize_rows(ease.user_scores(users, matrix))
    )
    np.testing.assert_array_equal(model.similar_scores(items), itemknn.similar_scores(items))
    history = random_matrix(seed=3)[:4]
    own = np.full(4, -1, dtype=np.int64)
    np.testing.assert_array_equal(
        model.history_scores(history, own), standardize_rows(ease.user_scores(_rows(4), history))
    )


def test_scores_are_the_weighted_sum_of_standardised_scores() -> None:
    model = _blend(("als", "ease", "popular"), (0.5, 0.3, 0.2))
    matrix = random_matrix()
    users = np.array([3, 0, 17], dtype=np.int64)
    expected = sum(
        w * standardize_rows(m.user_scores(users, matrix))
        for m, w in zip(model.components, (0.5, 0.3, 0.2), strict=True)
    )
    scores = model.user_scores(users, matrix)
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)
    assert model.params()["similar"] == "als"


def test_it_scores_histories_when_every_weighted_component_does() -> None:
    both = _blend(("ease", "itemknn"), (0.6, 0.4))
    assert both.scores_histories
    matrix = random_matrix()
    rows = _rows(matrix.shape[0])
    np.testing.assert_array_equal(both.history_scores(matrix, rows), both.user_scores(rows, matrix))
    assert not _blend(("als", "ease"), (0.5, 0.5)).scores_histories
    assert _blend(("ease", "als"), (1.0, 0.0)).scores_histories  # ALS is not scored


def test_history_scores_are_none_when_a_weighted_component_cannot_fold_in() -> None:
    """BPR cannot: callers then keep what the blend learned, rather than serve EASE alone."""
    history = random_matrix(seed=3)[:2]
    own = np.array([0, -1], dtype=np.int64)
    assert _blend(("ease", "bpr"), (0.5, 0.5)).history_scores(history, own) is None
    scores = _blend(("ease", "bpr"), (1.0, 0.0), similar="bpr").history_scores(history, own)
    assert scores is not None
    assert scores.shape == (2, history.shape[1])


def test_explanations_are_the_heaviest_explaining_components() -> None:
    model = _blend(("ease", "als"), (0.7, 0.3))
    als = model.components[1]
    assert isinstance(als, ALSModel)
    history = random_matrix()[0]
    items = np.array([4, 0], dtype=np.int64)
    assert model.explain(history, items, top=3) == als.explain(history, items, top=3)
    for components, weights in ((("ease", "itemknn"), (0.5, 0.5)), (("ease", "als"), (1, 0))):
        with pytest.raises(ExplainUnsupportedError, match=r"blend of ease .*cannot explain"):
            _blend(components, weights).explain(history, items, top=3)


def test_arrays_are_each_components_under_its_position() -> None:
    model = _blend(("als", "itemknn"), (0.5, 0.5))
    assert set(model.arrays()) == {
        "0.user_factors",
        "0.item_factors",
        "1.similarity.data",
        "1.similarity.indices",
        "1.similarity.indptr",
        "1.similarity.shape",
        "1.n_users",
    }
    params = model.params()
    assert params["kinds"] == ["als", "itemknn"]
    assert params["component_params"][1]["measure"] == "cosine"


def test_components_fitted_on_other_matrices_are_refused() -> None:
    params = BlendParams(components=("popular", "ease"), weights=(1, 1))
    popular, ease = PopularityModel(), EASEModel()
    popular.fit(random_matrix(n_items=20))
    ease.fit(random_matrix(n_items=19))
    arrays = BlendModel(params, [popular, ease]).arrays()
    with pytest.raises(ValueError, match=r"disagree on users × jobs: \[\(30, 19\), \(30, 20\)\]"):
        BlendModel.from_arrays(BlendModel(params, [popular, ease]).params(), arrays)


@pytest.mark.parametrize("name", ["svd", "blend", "spark-als"])
def test_building_refuses_a_component_a_blend_cannot_hold(name: str) -> None:
    # model_copy skips validation, as a caller building settings in code may
    unchecked = BlendParams.model_construct(components=(name, "ease"), weights=(1.0, 1.0))
    settings = Settings().model_copy(update={"blend": unchecked})
    with pytest.raises(ValueError, match=f"blend component '{name}'"):
        create_model("blend", settings)


def test_the_blend_is_configured_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOMMENDER_MODEL", "blend")
    monkeypatch.setenv("RECOMMENDER_BLEND__COMPONENTS", '["ease", "itemknn-bm25", "popular"]')
    monkeypatch.setenv("RECOMMENDER_BLEND__WEIGHTS", "[0.5, 0.3, 0.2]")
    monkeypatch.setenv("RECOMMENDER_BLEND__SIMILAR", "itemknn-bm25")
    monkeypatch.setenv("RECOMMENDER_ITEMKNN__NEIGHBOURS", "7")
    settings = Settings()
    assert settings.blend == BlendParams(
        components=("ease", "itemknn-bm25", "popular"),
        weights=(0.5, 0.3, 0.2),
        similar="itemknn-bm25",
    )
    model = create_model(settings.model, settings)
    assert isinstance(model, BlendModel)
    assert [m.kind for m in model.components] == ["ease", "itemknn", "popular"]
    assert model.components[1].params()["measure"] == "bm25"
    assert model.components[1].params()["neighbours"] == 7  # each takes its own settings
    monkeypatch.setenv("RECOMMENDER_BLEND__COMPONENTS", '["ease", "svd", "itemknn-bm25"]')
    with pytest.raises(ValidationError, match=r"unknown blend component.*'svd'"):
        Settings()


def test_the_blend_is_configured_from_an_env_file(tmp_path: Path) -> None:
    """JSON lists, as in the environment (what ``--write-env`` must write for a blend)."""
    env = tmp_path / "blend.env"
    env.write_text(
        'RECOMMENDER_BLEND__COMPONENTS=["ease","rp3beta"]\nRECOMMENDER_BLEND__WEIGHTS=[1,3]\n'
    )
    blend = Settings(_env_file=env).blend
    assert (blend.components, blend.weights) == (("ease", "rp3beta"), (1.0, 3.0))


def test_the_default_blend_is_als_and_ease_half_each() -> None:
    assert Settings().blend == BlendParams(components=("als", "ease"), weights=(0.5, 0.5))


def test_comparable_moments_are_those_of_the_components_on_one_global_scale() -> None:
    """A blend's scores are z-scores per user; for an audience it names the weighted sum of
    its components' scores, each over its deviation across every user and job, which keeps
    how the users differ (each blend row alone would not)."""
    blend = _blend(("als", "ease"), (0.25, 0.75))
    matrix = random_matrix()
    users, jobs = _rows(blend.n_users), np.array([1, 4, 5, 9], dtype=np.int64)
    parts = [m.user_scores(users, matrix).astype(np.float64) for m in blend.components]
    summed = sum(w * p / p.std() for w, p in zip((0.25, 0.75), parts, strict=True))
    assert isinstance(summed, np.ndarray)
    got = blend.comparable_moments(jobs, matrix)
    np.testing.assert_allclose(got[0], summed[:, jobs].mean(axis=1), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got[1], summed[:, jobs].std(axis=1), rtol=1e-4, atol=1e-6)
    assert ALSModel(model_settings("als").als, seed=SEED).comparable_moments(jobs, matrix) is None
