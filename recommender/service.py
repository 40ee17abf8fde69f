"""Entry points shared by the API and the CLI: train a data directory, load or train a model."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from recommender.bundle import current_version, list_bundles, load_bundle, write_bundle
from recommender.errors import BundleError, BundleNotFoundError
from recommender.models.base import Progress
from recommender.recommender import Recommender
from recommender.settings import Settings
from recommender.trained import TrainedModel

if TYPE_CHECKING:  # the readers pull in DuckDB, pyarrow and polars: only training needs them
    from recommender.data.jsonl import LoadReport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """A finished training run: the model, its bundle, and what reading the data found."""

    trained: TrainedModel
    bundle_dir: Path
    reports: tuple[LoadReport, ...]
    seconds: float


def train_directory(
    settings: Settings,
    *,
    data_dir: Path | None = None,
    model_dir: Path | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> TrainResult:
    """Read a data directory, train, and write a new bundle that becomes ``CURRENT``."""
    from recommender.data.readers import ACTIVITIES_FILE, JOBS_FILE, USERS_FILE, load_dataset
    from recommender.training import fingerprint_files, train

    data_dir = Path(data_dir or settings.data_dir)
    model_dir = Path(model_dir or settings.model_dir)
    started = time.perf_counter()
    dataset = load_dataset(data_dir, skip_invalid=skip_invalid)
    read = time.perf_counter()
    inputs = [data_dir / name for name in (ACTIVITIES_FILE, JOBS_FILE, USERS_FILE)]
    fingerprint = fingerprint_files(p for p in inputs if p.exists())
    trained = train(dataset, settings, fingerprint=fingerprint, progress=progress)
    seconds = time.perf_counter() - started
    trained.info["timings"] = {
        "read_seconds": round(read - started, 4),
        **trained.info["timings"],
        "total_seconds": round(seconds, 4),
    }
    trained.info["train_seconds"] = round(seconds, 4)
    bundle_dir = write_bundle(trained, model_dir)
    return TrainResult(
        trained=trained, bundle_dir=bundle_dir, reports=dataset.reports, seconds=seconds
    )


def load_newest_valid(model_dir: Path) -> TrainedModel:
    """Load ``CURRENT``; if it is refused, the newest older bundle that loads, logging each refusal.

    Raises
    ------
    BundleNotFoundError
        No bundle at all.
    BundleError
        Bundles exist but none can be loaded (the error of the first one tried).
    """
    try:
        return load_bundle(model_dir)
    except BundleNotFoundError:
        raise
    except BundleError as first:
        log.error("refusing bundle: %s", first)
        tried = _pointed_to(model_dir)
        for version in reversed(list_bundles(model_dir)):
            if version == tried:
                continue
            try:
                trained = load_bundle(model_dir, version)
            except BundleError as exc:
                log.error("refusing bundle: %s", exc)
                continue
            log.warning("serving older bundle %s instead", version)
            return trained
        raise first


def _pointed_to(model_dir: Path) -> str | None:
    try:
        return current_version(model_dir)
    except BundleError:
        return None


def load_or_train(settings: Settings) -> Recommender:
    """The recommender the service starts with: the newest valid bundle, or a fresh training run."""
    try:
        trained = load_newest_valid(settings.model_dir)
    except BundleNotFoundError:
        if not settings.train_if_missing:
            raise
        log.info("no bundle in %s: training on %s", settings.model_dir, settings.data_dir)
        trained = train_directory(settings).trained
    return Recommender(trained)
