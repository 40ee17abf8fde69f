"""``train``'s model selection (``RECOMMENDER_MODEL=auto``): read the log with its times, carve
a validation split, :func:`~recommender.evaluation.selection.select_model`, and say what to fit.

Selection reads the run's log again as ``evaluate`` does (its times are needed for the split;
training reads pair counts): a data directory's ``activities.jsonl`` or a log file with its
column mapping, within the run's window. Events in the event store are trained on but not
selected on. A log of more than ``selection.sample_events`` events is selected on a seeded
sample of its users; a log file larger than ``selection.max_log_bytes``, a log without times or
one too small to validate on is not selected on: ``selection.fallback`` is trained, and the
manifest says why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from recommender.errors import EvaluationError, InvalidDataError, RecommenderError
from recommender.evaluation.dataset import load_log, log_file_of
from recommender.evaluation.hybrid_weights import catalogue_beside, select_hybrid
from recommender.evaluation.selection import (
    Selection,
    select_model,
    served_settings,
    validation_split,
)
from recommender.evaluation.splits import Split
from recommender.evaluation.tuning import SPACES, Trial, candidates
from recommender.settings import SelectionParams, Settings
from recommender.training.run import Choice, LogSpec

log = logging.getLogger(__name__)

SelectionProgress = Callable[[int, int, str], None]
"""Called as ``progress(trials done, trials in all, what)`` while selection runs."""


class AutoSelector:
    """The :class:`~recommender.training.run.Selector` ``train``, start-up and retraining use.

    Parameters
    ----------
    progress:
        Told of each trial (see :data:`SelectionProgress`), for a progress bar.
    """

    def __init__(self, progress: SelectionProgress | None = None) -> None:
        self.progress = progress

    def __call__(self, log_spec: LogSpec, settings: Settings) -> Choice:
        """Select on ``log_spec``; the settings to train with and the manifest's section."""
        started = time.perf_counter()
        params = settings.selection
        fallback = settings.model_copy(update={"model": params.fallback})
        size = _log_bytes(log_spec.path)
        if params.max_log_bytes and size > params.max_log_bytes:
            reason = (
                f"the log is {size / 1e9:.2f} GB, over selection.max_log_bytes "
                f"({params.max_log_bytes / 1e9:.2f} GB)"
            )
            return _skipped(fallback, reason, started)
        events = load_log(
            log_spec.path, log_spec.mapping, skip_invalid=log_spec.skip_invalid
        ).events
        if log_spec.since is not None:
            events = events.filter(
                pl.col("timestamp").is_null() | (pl.col("timestamp") >= log_spec.since)
            )
        sampled = None
        if events.height > params.sample_events:
            events, sampled = sample_users(events, params.sample_events, settings.seed)
        try:
            split = validation_split(events, params.validation, fraction=params.fraction)
            selection = self.select(split, settings, params)
        except (InvalidDataError, EvaluationError) as exc:
            return _skipped(fallback, f"no validation split: {exc}", started)
        chosen = served_settings(selection, settings)
        hybrid: dict[str, Any] | None = None
        catalogue = catalogue_beside(log_spec.path) if chosen.content.enabled else None
        if catalogue is not None:
            chosen, hybrid = select_hybrid(split, chosen, catalogue)
        info = describe(selection, params, time.perf_counter() - started)
        info["sampled"] = sampled
        info["hybrid"] = hybrid
        log.info(
            "selected %s (%s@%d %.4f on validation) in %.1f s",
            selection.served.model,
            selection.metric,
            selection.k,
            selection.served.score,
            info["seconds"],
        )
        return Choice(chosen, info)

    def select(self, split: Split, settings: Settings, params: SelectionParams) -> Selection:
        """Tune the candidates on ``split`` (training and validation events) and weigh their
        blend: what :meth:`__call__` does once it has read and split a log."""
        total = sum(
            len(candidates(SPACES.get(m, {}), params.search, params.trials_of(m), settings.seed))
            for m in params.candidates
        )
        done = 0

        def progress(model: str, _trial: Trial, best: Trial) -> None:
            nonlocal done
            done += 1
            if self.progress is not None:
                score = best.metrics[params.k][params.metric]
                self.progress(done, total, f"{model} {params.metric}@{params.k}={score:.4f}")

        bound = min(settings.ease.max_items, params.ease_max_items)  # each trial solves again
        trial_settings = settings.model_copy(
            update={"ease": settings.ease.model_copy(update={"max_items": bound})}
        )
        selection = select_model(
            split,
            trial_settings,
            params.candidates,
            search=params.search,
            budget=params.budget,
            budgets=params.budgets,
            metric=params.metric,
            k=params.k,
            seed=settings.seed,
            blend=params.blend,
            blend_gain=params.blend_gain,
            similar=True,
            progress=progress,
        )
        if self.progress is not None and done < total:  # a hill-climb that stopped early
            self.progress(total, total, f"{selection.served.model}")
        return selection


def sample_users(
    events: pl.DataFrame, target: int, seed: int
) -> tuple[pl.DataFrame, dict[str, int]]:
    """The events of a seeded random sample of users holding about ``target`` events (whole
    histories, so each sampled user's validation follows their own training), and its size."""
    counts = events.group_by("user_id").len().sort("user_id")
    order = np.random.default_rng(seed).permutation(counts.height)
    sizes = counts["len"].to_numpy()[order]
    take = int(np.searchsorted(np.cumsum(sizes), target, side="right")) + 1
    users = counts["user_id"].to_numpy()[order[:take]]
    kept = events.filter(pl.col("user_id").is_in(users))
    info = {
        "events": events.height,
        "users": counts.height,
        "sampled_events": kept.height,
        "sampled_users": int(users.shape[0]),
    }
    log.info(
        "selecting on %s of %s users (%s of %s events)",
        f"{users.shape[0]:,}",
        f"{counts.height:,}",
        f"{kept.height:,}",
        f"{events.height:,}",
    )
    return kept, info


def describe(selection: Selection, params: SelectionParams, seconds: float) -> dict[str, Any]:
    """The manifest's ``selection`` section: JSON, every trial included."""
    metric, k = selection.metric, selection.k
    served = selection.served
    split = selection.split
    return {
        "metric": f"{metric}@{k}",
        "served": {
            "model": served.model,
            "components": list(served.components),
            "weights": list(served.weights),
            "similar": served.similar,
            "validation_score": round(served.score, 6),
        },
        "validation": {
            "kind": params.validation,
            "fraction": params.fraction if params.validation == "time" else None,
            "train_events": split.train.height,
            "validation_events": split.test.height,
        },
        "candidates": [
            {
                "model": c.model,
                "best": {"params": c.best.params, "score": round(c.best.metrics[k][metric], 6)},
                "trials": [
                    {
                        "params": t.params,
                        "score": round(t.metrics[k][metric], 6),
                        "seconds": round(t.seconds, 3),
                    }
                    for t in c.trials
                ],
            }
            for c in selection.candidates
        ],
        "candidates_skipped": selection.skipped,
        "blend": None
        if selection.blend is None
        else {
            "components": list(selection.blend.components),
            "weights": list(selection.blend.weights),
            "score": round(selection.blend.score, 6),
            "weightings_tried": len(selection.blend.tried),
        },
        "similar": None
        if selection.similar is None
        else {
            "model": selection.similar.model,
            "next_job_hit_rate@10": {
                m: round(v, 6) for m, v in selection.similar.hit_rates.items()
            },
            "pairs": selection.similar.pairs,
        },
        "seconds": round(seconds, 3),
    }


def _skipped(fallback: Settings, reason: str, started: float) -> Choice:
    log.info("selection skipped (%s): training %s", reason, fallback.model)
    seconds = round(time.perf_counter() - started, 3)
    return Choice(
        fallback, {"skipped": reason, "served": {"model": fallback.model}, "seconds": seconds}
    )


def _log_bytes(path: Path) -> int:
    """The size of what selection would read: the log file, or a directory's activity log."""
    try:
        return log_file_of(Path(path)).stat().st_size
    except (OSError, RecommenderError):
        return 0
