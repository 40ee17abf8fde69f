"""What the benchmarks share: the run's context (data, a trained bundle, known ids) and results."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
SAMPLE = 1000
"""How many known user (and job) ids the HTTP and batch benchmarks rotate over."""


def say(message: str) -> None:
    """Progress for people, on stderr, so that stdout holds only the table."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Row:
    """One line of the table: a measure, our figure, the reference's, and how they compare."""

    measure: str
    ours: str
    reference: str
    ratio: str


@dataclass
class Result:
    """What one benchmark found: table rows, and the raw numbers for ``latest.json``."""

    name: str
    rows: list[Row] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """The run: where the data is, ``--quick``, a scratch directory, and what is built lazily."""

    data_dir: Path
    quick: bool
    workdir: Path

    @property
    def activities(self) -> Path:
        return self.data_dir / "activities.jsonl"

    @cached_property
    def model_dir(self) -> Path:
        """A model directory with one bundle, trained once on the bench data."""
        from recommender.settings import Settings
        from recommender.training.run import train_directory

        model_dir = self.workdir / "models"
        say(f"training a bundle on {self.data_dir} …")
        result = train_directory(Settings(), data_dir=self.data_dir, model_dir=model_dir)
        say(f"trained in {result.seconds:.1f} s → {result.bundle_dir.name}")
        return model_dir

    @cached_property
    def user_ids(self) -> list[int]:
        """:data:`SAMPLE` user ids known to the bundle, spread over its whole id range."""
        return spread(self._bundle_ids("user_ids.npy"))

    @cached_property
    def job_ids(self) -> list[int]:
        """:data:`SAMPLE` job ids known to the bundle, spread over its whole id range."""
        return spread(self._bundle_ids("job_ids.npy"))

    def _bundle_ids(self, name: str) -> np.ndarray[Any, Any]:
        from recommender.bundle.directory import current_version

        ids: np.ndarray[Any, Any] = np.load(self.model_dir / current_version(self.model_dir) / name)
        return ids

    def service_env(self) -> Mapping[str, str]:
        """The environment the real service runs with: the bench data and the trained bundle."""
        return {
            **os.environ,
            "RECOMMENDER_DATA_DIR": str(self.data_dir),
            "RECOMMENDER_MODEL_DIR": str(self.model_dir),
            "RECOMMENDER_TRAIN_IF_MISSING": "false",
        }


def spread(ids: np.ndarray[Any, Any]) -> list[int]:
    picks = np.linspace(0, ids.shape[0] - 1, num=min(SAMPLE, ids.shape[0])).astype(np.int64)
    return [int(i) for i in ids[np.unique(picks)]]


def timed(action: Callable[[], object]) -> float:
    """Seconds one call of ``action`` takes."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median(values: Iterable[float]) -> float:
    return float(np.median(list(values)))


def p95(values: Iterable[float]) -> float:
    return float(np.percentile(list(values), 95))


def alternate(
    ours: Callable[[], object], reference: Callable[[], object], rounds: int
) -> tuple[list[float], list[float]]:
    """Seconds of ``rounds`` calls of each, taking turns at going first (the machine is noisy)."""
    ours_s: list[float] = []
    ref_s: list[float] = []
    for k in range(rounds):
        if k % 2 == 0:
            ours_s.append(timed(ours))
            ref_s.append(timed(reference))
        else:
            ref_s.append(timed(reference))
            ours_s.append(timed(ours))
    return ours_s, ref_s
