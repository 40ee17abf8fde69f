"""Hyper-parameter search for ALS: select on the validation split, report on the test split.

``grid`` tries the combinations of the space in order (a seeded sample of them when the budget is
smaller); ``random`` tries a seeded random sample of ``budget`` distinct combinations. Each trial
trains on the training part and is scored on the validation part; the best settings are then
trained on training + validation and measured on the test part, beside the popularity baseline.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from recommender.evaluation.runner import (
    ModelResult,
    evaluate_models,
    evaluate_trained,
    fit_split,
    held_out,
)
from recommender.evaluation.splits import Split
from recommender.models.als import ALSParams
from recommender.settings import Settings

Search = Literal["grid", "random"]
Space = Mapping[str, Sequence[float]]

DEFAULT_SPACE: dict[str, list[float]] = {
    "factors": [16, 32, 64, 128],
    "iterations": [5, 10, 20],
    "regularization": [0.01, 0.1, 1, 10],
    "alpha": [1, 10, 20, 40],
}
"""The default space; ``alpha`` scales the confidence (implicit weighs a pair alpha · value)."""

SPARK_SPACE: dict[str, list[float]] = {
    "factors": [5, 10, 15, 20],
    "regularization": [0.1, 1, 10],
    "iterations": [5, 10, 20],
    "alpha": [10, 20, 40],
}
"""The Spark write-up's grid: rank 5…20 × λ {0.1, 1, 10} × iterations {5, 10, 20} × α {10, 20, 40}.

Its α is Spark's (confidence 1 + α·r); here it is implicit's alpha on the same scores.
"""


@dataclass(frozen=True)
class Trial:
    """One setting tried: its parameters, its validation metrics and how long it took."""

    params: dict[str, Any]
    metrics: dict[int, dict[str, float]]
    seconds: float

    def score(self, metric: str, k: int) -> float:
        """The value the search maximises (or minimises, for MPR)."""
        value = self.metrics[k][metric]
        return -value if metric == "mpr" else value


@dataclass(frozen=True)
class TuneResult:
    """Every trial, the best one, and the best settings and the baseline measured on test."""

    trials: list[Trial]
    best: Trial
    test: list[ModelResult]
    metric: str
    k: int


def candidates(space: Space, search: Search, budget: int | None, seed: int) -> list[dict[str, Any]]:
    """The parameter combinations to try, in order; deterministic for a seed."""
    names = sorted(space)
    grid = [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(space[n] for n in names))
    ]
    if search == "grid" and (budget is None or budget >= len(grid)):
        return grid
    take = len(grid) if budget is None else min(budget, len(grid))
    picked = np.random.default_rng(seed).choice(len(grid), size=take, replace=False)
    if search == "grid":
        picked = np.sort(picked)
    return [grid[i] for i in picked.tolist()]


def _with_params(settings: Settings, params: Mapping[str, Any]) -> Settings:
    als = ALSParams(**{**settings.als.model_dump(), **_typed(params)})
    return settings.model_copy(update={"als": als})


def _typed(params: Mapping[str, Any]) -> dict[str, Any]:
    ints = {"factors", "iterations"}
    return {k: int(v) if k in ints else float(v) for k, v in params.items()}


def tune(
    split: Split,
    settings: Settings,
    *,
    space: Space = DEFAULT_SPACE,
    search: Search = "random",
    budget: int | None = 20,
    metric: str = "ndcg",
    k: int = 10,
    seed: int = 0,
    progress: Callable[[Trial, Trial], None] | None = None,
) -> TuneResult:
    """Search ``space`` on ``split`` (which needs a validation part) and report the best on test.

    ``progress(trial, best)`` is called after each trial.
    """
    select, report = split.for_tuning()
    trials: list[Trial] = []
    best: Trial | None = None
    for params in candidates(space, search, budget, seed):
        started = time.perf_counter()
        trial_settings = _with_params(settings, params)
        trained = fit_split(select.train, trial_settings, "als")
        metrics, _ = evaluate_trained(trained, held_out(trained, select.test, trial_settings), [k])
        trial = Trial(_typed(params), metrics, time.perf_counter() - started)
        trials.append(trial)
        if best is None or trial.score(metric, k) > best.score(metric, k):
            best = trial
        if progress is not None:
            progress(trial, best)
    if best is None:
        raise ValueError("the search space is empty")
    tuned = _with_params(settings, best.params)
    test, _ = evaluate_models(report, ["popular", "als"], tuned, [k])
    return TuneResult(trials=trials, best=best, test=test, metric=metric, k=k)


def write_env(path: Path, params: Mapping[str, Any]) -> None:
    """Merge ``RECOMMENDER_ALS__<NAME>=value`` lines into an env file; ``train`` reads ``.env``."""
    path = Path(path)
    keys = {f"RECOMMENDER_ALS__{name.upper()}": value for name, value in _typed(params).items()}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines if line.split("=", 1)[0].strip() not in keys]
    kept += [f"{key}={value}" for key, value in keys.items()]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
