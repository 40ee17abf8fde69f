"""Automatic model selection: tune each candidate model on a validation split, keep the best.

The validation split is carved from all the data: a global time cut at 80% of the events
(``time``), or each user's last relevant job (``last``). There is no test part: selection chooses
the settings to serve, and ``train`` then fits the winner on all the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from recommender.evaluation.splits import Split, leave_last_k, time_split
from recommender.evaluation.tuning import SPACES, Search, Trial, search_split
from recommender.models.registry import REGISTRY
from recommender.settings import Settings

ValidationKind = Literal["time", "last"]
SELECTABLE: tuple[str, ...] = (*sorted(SPACES), "popular")
"""The models selection can compare: every tunable model, and popularity (one trial)."""


@dataclass(frozen=True)
class Candidate:
    """One model's trials on validation and its best trial."""

    model: str
    trials: list[Trial]
    best: Trial


@dataclass(frozen=True)
class Selection:
    """Every candidate, the winner (the best candidate by ``metric``@``k``) and the split."""

    candidates: list[Candidate]
    winner: Candidate
    metric: str
    k: int
    split: Split


def validation_split(
    events: pl.DataFrame, kind: ValidationKind = "time", *, fraction: float = 0.2
) -> Split:
    """The split selection chooses on; its ``test`` part is the validation data.

    ``time``: events from the time before which ``1 - fraction`` of them fall validate; ``last``:
    each user's most recent relevant job validates (users with a single one only train).
    """
    if kind == "time":
        return time_split(events, test_fraction=fraction)
    return leave_last_k(events, k=1)


def select_model(
    split: Split,
    settings: Settings,
    models: Sequence[str],
    *,
    search: Search = "random",
    budget: int | None = 8,
    metric: str = "ndcg",
    k: int = 10,
    seed: int = 0,
    progress: Callable[[str, Trial, Trial], None] | None = None,
) -> Selection:
    """Tune each of ``models`` on ``split`` and pick the best by ``metric``@``k`` on validation.

    Parameters
    ----------
    split
        Training events and validation events (its ``test`` part), e.g. from
        :func:`validation_split`.
    settings
        The base settings; each trial overrides its model's Params.
    models
        The candidates, each in :data:`SELECTABLE`; on a tie the earlier one wins.
    search, budget, seed
        How each model's default space (:data:`~recommender.evaluation.tuning.SPACES`) is
        searched: at most ``budget`` trials per model, the same ones for the same seed.
    metric, k
        What selection maximises (MPR is minimised).
    progress
        Called as ``progress(model, trial, best_of_model)`` after each trial.

    Returns
    -------
    Selection
        Every candidate's trials and the winner.

    Raises
    ------
    ValueError
        No models, or one not in :data:`SELECTABLE`.
    """
    unknown = [m for m in models if m not in SELECTABLE or m not in REGISTRY]
    if not models or unknown:
        raise ValueError(
            f"unknown model(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"choose from {', '.join(SELECTABLE)}"
        )
    candidates: list[Candidate] = []
    for model in models:

        def report(trial: Trial, best: Trial, model: str = model) -> None:
            if progress is not None:
                progress(model, trial, best)

        trials, best = search_split(
            split,
            settings,
            model=model,
            search=search,
            budget=budget,
            metric=metric,
            k=k,
            seed=seed,
            progress=report,
        )
        candidates.append(Candidate(model, trials, best))
    winner = candidates[0]
    for candidate in candidates[1:]:
        if candidate.best.score(metric, k) > winner.best.score(metric, k):
            winner = candidate
    return Selection(candidates, winner, metric, k, split)
