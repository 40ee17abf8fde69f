"""Model directories with a few tiny bundles, and a switch serving one of them."""

from __future__ import annotations

from pathlib import Path

from recommender.api.deps import ModelSlot
from recommender.bundle.files import load_bundle, write_bundle
from recommender.bundle.trained import TrainedModel
from recommender.lifecycle import ModelSwitch
from recommender.lifecycle.startup import serve


def write_versions(model_dir: Path, trained: TrainedModel, count: int) -> list[str]:
    """Write ``trained`` ``count`` times; the versions, oldest first (CURRENT names the last)."""
    return [write_bundle(trained, model_dir).name for _ in range(count)]


def serving(model_dir: Path, version: str, keep: int = 5) -> tuple[ModelSwitch, ModelSlot]:
    """A switch whose slot serves bundle ``version``."""
    slot = ModelSlot(serve(load_bundle(model_dir, version)))
    return ModelSwitch(slot, model_dir, events=None, keep=keep), slot


def flip_byte(path: Path, offset: int = -5) -> None:
    """Corrupt ``path`` the way a bad disk or a partial copy would: one byte changed."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
