"""Every registered model builds its kind and has exactly one contract test class; settings name
a registered model."""

from __future__ import annotations

import importlib
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from recommender import settings as settings_module
from recommender.models.als import ALSModel
from recommender.models.base import model_class
from recommender.models.registry import MODEL_KINDS, MODEL_NAMES, REGISTRY, create_model
from recommender.settings import Settings
from tests.models.contract import ModelContract

ROOT = Path(__file__).resolve().parents[2]
EXTRA_CONTRACTS = Counter({"als": 1})
"""Names with a second contract class: ALS with frequency-scaled regularisation (its own solver)."""


def _contracts() -> list[type[ModelContract]]:
    """Every subclass of ModelContract in the test modules (each one that names it is imported,
    as pytest would, so that the check does not depend on which tests were collected)."""
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if "(ModelContract)" in path.read_text(encoding="utf-8"):
            importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
    found: list[type[ModelContract]] = []
    pending = list(ModelContract.__subclasses__())
    while pending:
        contract = pending.pop()
        found.append(contract)
        pending.extend(contract.__subclasses__())
    return found


@pytest.fixture(scope="module")
def contracts() -> list[type[ModelContract]]:
    return _contracts()


def test_every_name_has_its_contract_test_classes(
    contracts: list[type[ModelContract]],
) -> None:
    names = Counter(contract.name for contract in contracts)
    assert names == Counter(MODEL_NAMES) + EXTRA_CONTRACTS, (
        "one ModelContract subclass per registered name (and the extra variants listed)"
    )
    for contract in contracts:
        # collected by pytest: a Test* class in a test_*.py module
        assert contract.__name__.startswith("Test"), contract
        assert contract.__module__.rpartition(".")[2].startswith("test_"), contract


def test_every_name_builds_its_registered_kind(contracts: list[type[ModelContract]]) -> None:
    kind_of = {contract.name: contract.kind for contract in contracts}
    assert MODEL_NAMES == settings_module.MODEL_NAMES
    assert tuple(REGISTRY) == MODEL_NAMES
    assert set(kind_of) == set(MODEL_NAMES)
    assert set(MODEL_KINDS) == set(kind_of.values())
    for model_name in MODEL_NAMES:
        model = create_model(model_name, Settings())
        assert model.kind == kind_of[model_name]
        assert type(model) is MODEL_KINDS[model.kind] is REGISTRY[model_name].model_class
    with pytest.raises(ValueError, match="unknown model"):
        create_model("svd", Settings())


def test_defining_a_model_class_records_its_kind() -> None:
    """What a blend rebuilds its components through, without importing the registry."""
    for kind, cls in MODEL_KINDS.items():
        assert model_class(kind) is cls
    with pytest.raises(ValueError, match="unknown model kind 'svd'; known: als, "):
        model_class("svd")
    with pytest.raises(TypeError, match="model kind 'als' is taken by ALSModel"):

        class OtherALS(ALSModel):
            kind = "als"


def test_settings_model_is_validated_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().model == "auto"
    with pytest.raises(ValidationError, match="unknown model"):
        Settings(model="svd")
    monkeypatch.setenv("RECOMMENDER_MODEL", "itemknn-bm25")
    monkeypatch.setenv("RECOMMENDER_USERKNN__NEIGHBOURS", "7")
    from_env = Settings()
    assert (from_env.model, from_env.userknn.neighbours) == ("itemknn-bm25", 7)
