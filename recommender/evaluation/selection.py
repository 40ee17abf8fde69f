"""Automatic model selection: tune each candidate on a validation split, weigh a blend of the
best, choose the similar-jobs method, and say what to serve.

The validation split is carved from all the data: a global time cut at 80% of the events
(``time``), or each user's last relevant job (``last``). There is no test part: selection chooses
the settings to serve, and ``train`` then fits them on all the data
(:func:`served_settings`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from recommender.bundle.trained import TrainedModel
from recommender.errors import CatalogueTooLargeError, EvaluationError
from recommender.evaluation.blending import Blend, weigh_blend
from recommender.evaluation.metrics import ACCURACY
from recommender.evaluation.similar import next_job_hit_rate, next_jobs
from recommender.evaluation.splits import Split, leave_last_k, time_split
from recommender.evaluation.tuning import SPACES, Search, Trial, search_split, with_params
from recommender.models.blend import MAX_COMPONENTS
from recommender.models.registry import REGISTRY
from recommender.settings import Settings

log = logging.getLogger(__name__)

ValidationKind = Literal["time", "last"]
SELECTABLE: tuple[str, ...] = (*sorted(SPACES), "popular")
"""The models selection can compare: every tunable model, and popularity (one trial)."""
SIMILAR_K = 10
"""The similar jobs a next-job hit is looked for among (``find_similar_jobs``' default n)."""

Progress = Callable[[str, Trial, Trial], None]
"""Called as ``progress(model, trial, best_of_model)`` after each trial."""


@dataclass(frozen=True)
class Candidate:
    """One model's trials on validation and its best trial."""

    model: str
    trials: list[Trial]
    best: Trial


@dataclass(frozen=True)
class SimilarChoice:
    """Each candidate's next-job hit rate@:data:`SIMILAR_K` on validation, and the best."""

    model: str
    hit_rates: dict[str, float]
    pairs: int


@dataclass(frozen=True)
class Served:
    """What selection serves: one model, or a blend of up to three, and who answers similar
    jobs. ``score`` is its validation ``metric``@``k``."""

    components: tuple[str, ...]
    weights: tuple[float, ...]
    similar: str
    score: float

    @property
    def model(self) -> str:
        """The model name ``train`` fits: the single component, or ``blend``."""
        if len(self.components) == 1 and self.similar == self.components[0]:
            return self.components[0]
        return "blend"


@dataclass(frozen=True)
class Selection:
    """Every candidate, the best single one (``winner``), the blend weighed, the similar-jobs
    choice, and what is served."""

    candidates: list[Candidate]
    winner: Candidate
    metric: str
    k: int
    split: Split
    served: Served
    blend: Blend | None = None
    similar: SimilarChoice | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    """Candidates that could not be fitted on this log, with the reason."""


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
    budgets: dict[str, int] | None = None,
    metric: str = "ndcg",
    k: int = 10,
    seed: int = 0,
    blend: bool = False,
    blend_gain: float = 0.01,
    similar: bool = False,
    progress: Progress | None = None,
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
        The candidates, each in :data:`SELECTABLE`; on a tie the earlier one wins. A candidate
        that cannot fit this log (EASE over too many jobs) is skipped and recorded.
    search, budget, budgets, seed
        How each model's default space (:data:`~recommender.evaluation.tuning.SPACES`) is
        searched: at most ``budgets[model]`` (else ``budget``) trials per model, the same ones
        for the same seed.
    metric, k
        What selection maximises (MPR is minimised).
    blend, blend_gain
        Also weigh a blend of the best two or three candidates (:func:`weigh_blend`); it is
        served when it beats the best single model by ``blend_gain`` (a share).
    similar
        Also choose the similar-jobs method by next-job hit rate (else the served model's own).
    progress
        Called as ``progress(model, trial, best_of_model)`` after each trial.

    Raises
    ------
    ValueError
        No models, or one not in :data:`SELECTABLE`.
    EvaluationError
        No candidate could be fitted.
    """
    unknown = [m for m in models if m not in SELECTABLE or m not in REGISTRY]
    if not models or unknown:
        raise ValueError(
            f"unknown model(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"choose from {', '.join(SELECTABLE)}"
        )
    keep = blend or similar
    candidates: list[Candidate] = []
    fitted: dict[str, TrainedModel] = {}
    skipped: dict[str, str] = {}
    for model in models:

        def report(trial: Trial, best: Trial, model: str = model) -> None:
            if progress is not None:
                progress(model, trial, best)

        trials = (budgets or {}).get(model, budget)
        try:
            searched = search_split(
                split,
                settings,
                model=model,
                search=search,
                budget=trials,
                metric=metric,
                k=k,
                seed=seed,
                progress=report,
                keep_best=keep,
                quick=metric in ACCURACY,
            )
        except CatalogueTooLargeError as exc:
            log.info("selection skips %s: %s", model, exc)
            skipped[model] = str(exc)
            continue
        candidates.append(Candidate(model, searched.trials, searched.best))
        if searched.trained is not None:
            fitted[model] = searched.trained
    if not candidates:
        raise EvaluationError(f"no candidate could be fitted: {skipped}")
    ranked = sorted(candidates, key=lambda c: -c.best.score(metric, k))  # stable: ties keep order
    winner = ranked[0]
    weighed = None
    if blend and len(ranked) > 1:
        weighed = weigh_blend(
            [(c.model, fitted[c.model]) for c in _blendable(ranked)], split, settings, metric, k
        )
    similar_choice = _similar_choice(split, fitted) if similar and fitted else None
    served = _served(
        winner, weighed=weighed, gain=blend_gain, similar=similar_choice, metric=metric, k=k
    )
    return Selection(candidates, winner, metric, k, split, served, weighed, similar_choice, skipped)


def _blendable(ranked: list[Candidate]) -> list[Candidate]:
    """The best three candidates whose Params live in different settings fields (``itemknn``
    and ``itemknn-bm25`` share one, so a blend holds only the better of them)."""
    chosen: list[Candidate] = []
    fields: set[str | None] = set()
    for candidate in ranked:
        field_name = REGISTRY[candidate.model].settings_field
        if field_name is not None and field_name in fields:
            continue
        fields.add(field_name)
        chosen.append(candidate)
        if len(chosen) == 3:
            break
    return chosen


def _similar_choice(split: Split, fitted: dict[str, TrainedModel]) -> SimilarChoice:
    pairs = next_jobs(split.train, split.test)
    rates = {
        model: next_job_hit_rate(trained, pairs, SIMILAR_K)
        for model, trained in fitted.items()
        if model != "popular"  # its similar jobs are the popular ones, for every job
    }
    best = max(rates, key=lambda m: rates[m]) if rates else next(iter(fitted))
    return SimilarChoice(best, rates, len(pairs))


def _served(
    winner: Candidate,
    *,
    weighed: Blend | None,
    gain: float,
    similar: SimilarChoice | None,
    metric: str,
    k: int,
) -> Served:
    single = winner.best.score(metric, k)
    if weighed is not None and weighed.score > single * (1 + gain):
        kept = [(c, w) for c, w in zip(weighed.components, weighed.weights, strict=True) if w > 0]
        components, weights = tuple(c for c, _ in kept), tuple(w for _, w in kept)
        score = weighed.score
    else:
        components, weights, score = (winner.model,), (1.0,), single
    chosen = components[0] if similar is None else _similar_model(components, similar)
    return Served(components, weights, chosen, score)


def _similar_model(components: tuple[str, ...], similar: SimilarChoice) -> str:
    """The best similar-jobs method that can sit beside ``components`` in one blend: one of
    them, or another whose Params live in a settings field none of them uses, while the blend
    has room for a component."""
    fields = {REGISTRY[c].settings_field for c in components}
    room = len(components) < MAX_COMPONENTS
    for model in sorted(similar.hit_rates, key=lambda m: -similar.hit_rates[m]):
        if model in components or (room and REGISTRY[model].settings_field not in fields):
            return model
    return components[0]


def served_settings(selection: Selection, settings: Settings) -> Settings:
    """``settings`` set to train what ``selection`` serves: the winner's model and Params, or
    ``blend`` with each component's Params (the similar-jobs method as a zero-weight component
    when it is none of them)."""
    best = {c.model: c.best.params for c in selection.candidates}
    served = selection.served
    components, weights = list(served.components), list(served.weights)
    if served.similar not in components:
        components.append(served.similar)
        weights.append(0.0)
    chosen = settings
    for model in components:
        if best.get(model):
            chosen = with_params(chosen, model, best[model])
    if served.model != "blend":
        return chosen.model_copy(update={"model": served.model})
    blend = type(chosen.blend).model_validate(
        {"components": components, "weights": weights, "similar": served.similar}
    )
    return chosen.model_copy(update={"model": "blend", "blend": blend})
