"""Every registered model builds its kind; settings name a registered model."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from recommender import settings as settings_module
from recommender.models.registry import MODEL_KINDS, MODEL_NAMES, create_model
from recommender.settings import Settings

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
