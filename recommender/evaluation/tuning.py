"""Hyper-parameter search for a model: select on the validation split, report on the test split.

``grid`` tries the combinations of the space in order (a seeded sample of them when the budget is
smaller); ``random`` tries a seeded random sample of ``budget`` distinct combinations;
``coordinate`` hill-climbs one parameter at a time from the middle of the space (at most
``budget`` trials, fewer when a pass finds nothing better). Each trial
trains on the training part and is scored on the validation part; the best settings are then
trained on training + validation and measured on the test part, beside the popularity baseline.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from recommender.bundle.trained import TrainedModel
from recommender.evaluation.metrics import accuracy_at_k
from recommender.evaluation.runner import (
    ModelResult,
    evaluate_models,
    evaluate_trained,
    fit_split,
    held_out,
    recommended_columns,
)
from recommender.evaluation.splits import Split
from recommender.models.registry import REGISTRY
from recommender.recommender import Recommender
from recommender.settings import Settings

Search = Literal["grid", "random", "coordinate"]
Space = Mapping[str, Sequence[Any]]

DEFAULT_SPACE: dict[str, list[float]] = {
    "factors": [16, 32, 64, 128, 256],
    "iterations": [5, 10, 15, 25],
    "regularization": [0.01, 0.1, 1, 10, 50, 200],
    "alpha": [0.25, 1, 4, 10, 20, 40, 100],
    "regularization_exponent": [0.0, 0.5],
}
"""ALS's default space, wide as "Revisiting iALS" asks (regularisation up to hundreds, where
well-tuned ALS often ends on small logs); ``alpha`` scales the confidence (implicit weighs a
pair alpha · value); ``regularization_exponent`` 0.5 scales each row's ridge by the square root
of its activity (the paper's frequency-scaled regularisation; 0 is implicit's plain ridge)."""

SPARK_SPACE: dict[str, list[float]] = {
    "factors": [5, 10, 15, 20],
    "regularization": [0.1, 1, 10],
    "iterations": [5, 10, 20],
    "alpha": [10, 20, 40],
}
"""The Spark write-up's grid: rank 5…20 × λ {0.1, 1, 10} × iterations {5, 10, 20} × α {10, 20, 40}.

Its α is Spark's (confidence 1 + α·r); here it is implicit's alpha on the same scores.
"""

SPACES: dict[str, dict[str, list[Any]]] = {
    "als": DEFAULT_SPACE,
    "ease": {"regularization": [500, 2000, 10_000, 50_000, 200_000, 1_000_000]},
    "rp3beta": {
        "alpha": [0.5, 0.75, 1.0, 1.25],
        "beta": [0.0, 0.25, 0.5, 0.75],
        "neighbours": [50, 100, 200],
    },
    "itemknn": {"neighbours": [20, 50, 100, 200, 400]},
    "itemknn-tfidf": {"neighbours": [20, 50, 100, 200, 400]},
    "itemknn-bm25": {
        "neighbours": [20, 50, 100, 200, 400],
        "bm25_k1": [0.6, 1.2, 2.0],
        "bm25_b": [0.25, 0.75, 1.0],
    },
    "userknn": {"neighbours": [10, 25, 50, 100, 200]},
    "bpr": {
        "factors": [32, 64, 128],
        "learning_rate": [0.005, 0.01, 0.05],
        "iterations": [100, 300],
    },
    "neural": {
        "temperature": [0.1, 0.2, 0.4],
        "dimensions": [32, 64, 128],
        "learning_rate": [0.002, 0.005, 0.01],
        "impressions": ["positive", "negative"],
    },
}
"""Each tunable model's default space (``EASE``'s λ reaches past every diagonal of ``XᵀX`` on
small logs, where it tends to plain co-occurrence, which won on MovieLens 100K)."""


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
class Searched:
    """One model's search: every trial in order, the best, and its fitted model if kept."""

    trials: list[Trial]
    best: Trial
    trained: TrainedModel | None = None


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


def settings_field(model: str) -> str:
    """The settings field holding ``model``'s Params.

    Raises
    ------
    ValueError
        The model has no hyper-parameters to tune (``popular``) or is unknown.
    """
    registered = REGISTRY.get(model)
    if registered is None or registered.settings_field is None:
        raise ValueError(f"{model!r} has no hyper-parameters to tune; tunable: {sorted(SPACES)}")
    return registered.settings_field


def with_params(settings: Settings, model: str, params: Mapping[str, Any]) -> Settings:
    """``settings`` with ``params`` set in ``model``'s Params (validated, so ``16.0`` factors
    become 16 and a value out of bounds is refused)."""
    field = settings_field(model)
    current = getattr(settings, field)
    updated = type(current).model_validate({**current.model_dump(), **params})
    return settings.model_copy(update={field: updated})


def _typed(settings: Settings, model: str, params: Mapping[str, Any]) -> dict[str, Any]:
    chosen = getattr(settings, settings_field(model))
    return {name: getattr(chosen, name) for name in params}


def search_split(
    select: Split,
    settings: Settings,
    *,
    model: str = "als",
    space: Space | None = None,
    search: Search = "random",
    budget: int | None = 20,
    metric: str = "ndcg",
    k: int = 10,
    seed: int = 0,
    progress: Callable[[Trial, Trial], None] | None = None,
    keep_best: bool = False,
    quick: bool = False,
) -> Searched:
    """Try ``model``'s settings from ``space`` (its default in :data:`SPACES` when None; a model
    without Params, ``popular``, gets one trial) trained on ``select.train`` and scored on
    ``select.test``.

    Parameters
    ----------
    select
        The split to select on: its ``test`` part is the validation data.
    settings
        The base settings; each trial overrides ``model``'s Params with its parameters.
    model, space, search, budget, seed
        What to search, how (:func:`candidates`) and with which seed.
    metric, k
        What the search maximises (MPR is minimised); ties keep the earlier trial.
    progress
        Called as ``progress(trial, best)`` after each trial.
    keep_best
        Keep the best trial's fitted model (in :attr:`Searched.trained`).
    quick
        Measure the accuracy metrics only (not MPR and AUC, which score every job again).

    Returns
    -------
    Searched
        Every trial in order, and the best.
    """
    space = SPACES.get(model, {}) if space is None else space
    trials: list[Trial] = []
    best: Trial | None = None
    best_params: dict[str, Any] = {}
    kept: TrainedModel | None = None

    def run(params: dict[str, Any]) -> None:
        nonlocal best, best_params, kept
        started = time.perf_counter()
        trial_settings = with_params(settings, model, params) if params else settings
        trained = fit_split(select.train, trial_settings, model)
        tests = held_out(trained, select.test, trial_settings)
        if quick:
            recommended = recommended_columns(Recommender(trained), tests.user_rows, k)
            metrics = accuracy_at_k(recommended, tests.relevant, [k])
        else:
            metrics, _ = evaluate_trained(trained, tests, [k])
        typed = _typed(trial_settings, model, params) if params else {}
        trial = Trial(typed, metrics, time.perf_counter() - started)
        trials.append(trial)
        if best is None or trial.score(metric, k) > best.score(metric, k):
            best, best_params = trial, params
            kept = trained if keep_best else None
        if progress is not None:
            progress(trial, best)

    if search == "coordinate" and space:
        _coordinate_search(space, budget, run, lambda: best_params)
    else:
        for params in candidates(space, search, budget, seed):
            run(params)
    if best is None:
        raise ValueError("the search space is empty")
    return Searched(trials, best, kept)


def _coordinate_search(
    space: Space,
    budget: int | None,
    run: Callable[[dict[str, Any]], None],
    best: Callable[[], dict[str, Any]],
) -> None:
    """Hill-climb one parameter at a time: start from each list's middle value; for each
    parameter in turn step to the next larger value, then the next smaller, going on in a
    direction while it improves; repeat while a pass improves, for at most ``budget`` trials.
    The lists are taken as ordered (a larger index, a larger value)."""
    names = sorted(space)
    tried: set[tuple[tuple[str, Any], ...]] = set()
    limit = budget if budget is not None else sum(len(v) for v in space.values()) * 2

    def attempt(params: dict[str, Any]) -> bool:
        key = tuple(sorted(params.items()))
        if key in tried or len(tried) >= limit:
            return False
        tried.add(key)
        run(params)
        return True

    attempt({name: space[name][len(space[name]) // 2] for name in names})
    while len(tried) < limit:
        start = best()
        for name in names:
            values = list(space[name])
            for direction in (1, -1):
                while True:
                    current = best()
                    step = values.index(current[name]) + direction
                    if not 0 <= step < len(values) or not attempt(current | {name: values[step]}):
                        break
                    if best() is current:  # no better: try the other direction
                        break
        if best() is start:
            break


def tune(
    split: Split,
    settings: Settings,
    *,
    model: str = "als",
    space: Space | None = None,
    search: Search = "random",
    budget: int | None = 20,
    metric: str = "ndcg",
    k: int = 10,
    seed: int = 0,
    progress: Callable[[Trial, Trial], None] | None = None,
) -> TuneResult:
    """Search ``model``'s ``space`` (its default in :data:`SPACES` when None) on ``split`` (which
    needs a validation part) and report the best on test, beside popularity.

    ``progress(trial, best)`` is called after each trial (see :func:`search_split`).
    """
    space = SPACES[model] if space is None else space
    select, report = split.for_tuning()
    searched = search_split(
        select,
        settings,
        model=model,
        space=space,
        search=search,
        budget=budget,
        metric=metric,
        k=k,
        seed=seed,
        progress=progress,
    )
    tuned = with_params(settings, model, searched.best.params)
    test, _ = evaluate_models(report, ["popular", model], tuned, [k])
    return TuneResult(trials=searched.trials, best=searched.best, test=test, metric=metric, k=k)


def write_env(
    path: Path, params: Mapping[str, Any], model: str = "als", *, set_model: bool = False
) -> None:
    """Merge ``RECOMMENDER_<FIELD>__<NAME>=value`` lines (``RECOMMENDER_ALS__FACTORS=64``) for
    ``model``'s Params into an env file; ``train`` reads ``.env``. With ``set_model`` also
    ``RECOMMENDER_MODEL=<model>``, so that ``train`` trains that model."""
    path = Path(path)
    keys: dict[str, Any] = {"RECOMMENDER_MODEL": model} if set_model else {}
    if params:
        prefix = f"RECOMMENDER_{settings_field(model).upper()}__"
        keys |= {f"{prefix}{name.upper()}": value for name, value in params.items()}
    _merge_env(path, keys)


def _merge_env(path: Path, keys: Mapping[str, Any]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines if line.split("=", 1)[0].strip() not in keys]
    kept += [f"{key}={value}" for key, value in keys.items()]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")


def write_settings_env(path: Path, chosen: Settings, base: Settings) -> None:
    """Merge into an env file the lines that make ``base`` into ``chosen``: ``RECOMMENDER_MODEL``
    and every model Params field that differs (a blend's components and weights as JSON), so
    that ``train`` fits ``chosen`` without selecting again."""
    keys: dict[str, Any] = {"RECOMMENDER_MODEL": chosen.model}
    for name in sorted({r.settings_field for r in REGISTRY.values() if r.settings_field}):
        now, before = getattr(chosen, name), getattr(base, name)
        for field_name, value in now.model_dump(mode="json").items():
            if value != before.model_dump(mode="json")[field_name]:
                text = json.dumps(value) if isinstance(value, list | dict) else value
                keys[f"RECOMMENDER_{name.upper()}__{field_name.upper()}"] = text
    _merge_env(Path(path), keys)
