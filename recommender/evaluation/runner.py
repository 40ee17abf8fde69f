"""Train each model on a split's training events and measure it on the held-out events.

The protocol, the same for every model:

1. score the training events into pairs and fit the model
   (:func:`recommender.training.fit.fit_pairs`);
2. the relevant test items of a user are the jobs they were redirected to in the test events and
   had not been redirected to in training (the service never recommends those again, so they
   cannot be hit); their weight, for MPR, is the test pair's implicit score;
3. users and jobs unseen in training are left out of these ("warm") metrics and counted apart;
   they are measured, with every test user, in the segments of
   :mod:`recommender.evaluation.segments` (history length, cold and warm jobs);
4. recommendations come from :class:`~recommender.recommender.Recommender`, exactly as the service
   makes them (redirected jobs excluded), ranked live over the whole catalogue, under
   :data:`EVALUATION_RULES`: no job is dropped for having expired since (the test clicks were made
   while it was live), so the figures do not depend on the day they are computed.

The catalogue (listed jobs with their text, user profiles), when given, reaches every model's fit
as it does in training; it carries no interaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.bundle.trained import TrainedModel
from recommender.data.catalogue import Catalogue
from recommender.data.pair_counts import score_activities
from recommender.errors import EvaluationError
from recommender.evaluation.fairness import FAIRNESS, fairness_at_k
from recommender.evaluation.intervals import paired_bootstrap
from recommender.evaluation.metrics import accuracy_at_k, beyond_accuracy_at_k, rank_metrics
from recommender.evaluation.segments import (
    SEGMENT_METRICS,
    SegmentScores,
    held_out_clicks,
    measure_segments,
)
from recommender.evaluation.splits import COLD_KINDS, Split
from recommender.matrix import build_matrix
from recommender.ranking.rules import Rules
from recommender.recommender import Recommender
from recommender.settings import Settings
from recommender.training.fit import fit_pairs

METRICS = (
    "precision",
    "recall",
    "map",
    "ndcg",
    "hit_rate",
    "mpr",
    "auc",
    "coverage",
    "popularity_bias",
    *FAIRNESS,
)
EVALUATION_RULES = Rules(now=np.iinfo(np.int64).min)
"""Rules every evaluated list is ranked under: no expiry, no exclusions, no employer cap."""


@dataclass(frozen=True)
class HeldOut:
    """The warm held-out items of each test user, as rows of the trained model."""

    user_rows: NDArray[np.int64]
    relevant: sp.csr_matrix
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelResult:
    """One model's metrics at each k, with its timings."""

    model: str
    metrics: dict[int, dict[str, float]]
    train_seconds: float
    score_seconds: float
    params: dict[str, Any]
    segments: SegmentScores | None = None

    def rows(self) -> list[dict[str, Any]]:
        """One flat record per k, in the report's ``results`` shape."""
        return [
            {
                "model": self.model,
                "k": k,
                **{m: round(values[m], 6) for m in METRICS},
                "train_seconds": round(self.train_seconds, 3),
                "score_seconds": round(self.score_seconds, 3),
            }
            for k, values in sorted(self.metrics.items())
        ]

    def segment_rows(self) -> list[dict[str, Any]]:
        """One record per (segment, k): users and the segment metrics."""
        if self.segments is None:
            return []
        return [
            {
                "model": self.model,
                "segment": segment,
                "k": k,
                "users": self.segments.users[segment],
                **{m: round(values[m], 6) for m in SEGMENT_METRICS},
            }
            for segment, by_k in self.segments.metrics.items()
            for k, values in sorted(by_k.items())
        ]


def comparisons(results: Sequence[ModelResult], seed: int = 0) -> list[dict[str, Any]]:
    """Each model's per-user NDCG minus the first model's, per segment and k: the mean and its
    paired bootstrap 95% interval (users resampled, ``seed``)."""
    if not results or results[0].segments is None:
        return []
    reference = results[0]
    assert reference.segments is not None
    rows = []
    for result in results[1:]:
        if result.segments is None:
            continue
        for (segment, k), ours in result.segments.ndcg.items():
            interval = paired_bootstrap(ours, reference.segments.ndcg[segment, k], seed=seed)
            rows.append(
                {
                    "model": result.model,
                    "reference": reference.model,
                    "segment": segment,
                    "k": k,
                    "users": int(ours.shape[0]),
                    "ndcg_diff": round(interval.mean, 6),
                    "low": round(interval.low, 6),
                    "high": round(interval.high, 6),
                }
            )
    return rows


def held_out(trained: TrainedModel, test_events: pl.DataFrame, settings: Settings) -> HeldOut:
    """The warm relevant items of the test events for a model trained on the training events."""
    pairs = score_activities(test_events, settings.scoring)
    relevant = pairs.redirects > 0
    rows, known_user = trained.users.lookup(pairs.user_ids)
    cols, known_job = trained.jobs.lookup(pairs.job_ids)
    cold_user, cold_job = ~known_user, ~known_job
    warm = relevant & ~cold_user & ~cold_job
    seen = np.zeros(warm.shape[0], dtype=bool)
    if warm.any():
        redirected = trained.redirected
        w_rows, w_cols = rows[warm], cols[warm]
        keys = w_rows * redirected.shape[1] + w_cols
        coo = redirected.tocoo()
        train_keys = np.sort(coo.row.astype(np.int64) * redirected.shape[1] + coo.col)
        seen[np.flatnonzero(warm)] = np.isin(keys, train_keys, assume_unique=False)
    keep = warm & ~seen
    user_rows, positions = np.unique(rows[keep], return_inverse=True)
    matrix = build_matrix(
        positions.astype(np.int64),
        cols[keep],
        pairs.scores[keep],
        (user_rows.shape[0], len(trained.jobs)),
    )
    counts = {
        "test_pairs": int(relevant.sum()),
        "warm_pairs": int(keep.sum()),
        "cold_user_pairs": int((relevant & cold_user).sum()),
        "cold_job_pairs": int((relevant & ~cold_user & cold_job).sum()),
        "already_redirected_pairs": int(seen.sum()),
        "test_users": int(np.unique(pairs.user_ids[relevant]).shape[0]),
        "warm_users": int(user_rows.shape[0]),
    }
    return HeldOut(user_rows=user_rows.astype(np.int64), relevant=matrix, counts=counts)


def recommended_columns(
    recommender: Recommender, user_rows: NDArray[np.int64], k: int
) -> NDArray[np.int64]:
    """Each test user's top-k job columns as the service ranks them (-1 padding), in one call."""
    trained = recommender.trained
    user_ids = trained.users.ids_of(user_rows).tolist()
    out = np.full((user_rows.shape[0], k), -1, dtype=np.int64)
    ranked = recommender.recommend_many(user_ids, k, "redirected", EVALUATION_RULES)
    for i, rec in enumerate(ranked):
        cols = trained.jobs.rows(rec.job_ids, missing="error")
        out[i, : cols.shape[0]] = cols
    return out


def evaluate_trained(
    trained: TrainedModel, tests: HeldOut, ks: Sequence[int]
) -> tuple[dict[int, dict[str, float]], float]:
    """Every metric at every k for one trained model, and the seconds scoring took."""
    started = time.perf_counter()
    recommender = Recommender(trained)
    recommended = recommended_columns(recommender, tests.user_rows, max(ks))
    accuracy = accuracy_at_k(recommended, tests.relevant, ks)
    beyond = beyond_accuracy_at_k(recommended, ks, len(trained.jobs), trained.popularity)
    employers = None if trained.job_meta is None else trained.job_meta.employer
    fair = fairness_at_k(recommended, ks, trained.popularity, employers)
    ranks = rank_metrics(
        lambda positions: trained.user_scores(tests.user_rows[positions], "redirected"),
        tests.relevant,
    )
    seconds = time.perf_counter() - started
    return {k: {**accuracy[k], **beyond[k], **fair[k], **ranks} for k in ks}, seconds


def fit_split(
    train_events: pl.DataFrame,
    settings: Settings,
    model: str,
    catalogue: Catalogue | None = None,
) -> TrainedModel:
    """A model trained on ``train_events`` alone, with the ``catalogue``'s text and profiles
    as known by the last training event (no lists ranked ahead: evaluation ranks live)."""
    pairs = score_activities(train_events, settings.scoring)
    return fit_pairs(
        pairs,
        settings.model_copy(update={"model": model, "precompute_top": 0}),
        catalogue=catalogue,
        known_until=training_end(train_events),
    )


def training_end(train_events: pl.DataFrame) -> datetime | None:
    """The newest training event's time: jobs posted later teach the content nothing (their
    words would leak the test period into the vectors). None for a log without times."""
    if "timestamp" not in train_events.columns or train_events.height == 0:
        return None
    end = train_events["timestamp"].max()
    return end if isinstance(end, datetime) else None


def evaluate_models(
    split: Split,
    models: Sequence[str],
    settings: Settings,
    ks: Sequence[int] = (10,),
    *,
    catalogue: Catalogue | None = None,
    progress: Callable[[ModelResult], None] | None = None,
) -> tuple[list[ModelResult], dict[str, int]]:
    """Fit and measure each model on ``split``; also returns the test-set counts.

    Each model is fitted with the ``catalogue`` and measured twice: on the warm held-out items
    (:func:`held_out`, all metrics) and on every test user by segment
    (:mod:`recommender.evaluation.segments`). A cold split (``cold-users``) may have no warm
    test user at all: its warm metrics are then empty. ``progress`` is called with each model's
    result as it is done.
    """
    results: list[ModelResult] = []
    clicks = held_out_clicks(split, settings, catalogue)
    counts: dict[str, int] = {}
    for name in models:
        started = time.perf_counter()
        trained = fit_split(split.train, settings, name, catalogue)
        train_seconds = time.perf_counter() - started
        tests = held_out(trained, split.test, settings)
        counts = tests.counts | clicks.counts
        metrics: dict[int, dict[str, float]] = {}
        score_seconds = 0.0
        if tests.user_rows.shape[0] > 0:
            metrics, score_seconds = evaluate_trained(trained, tests, ks)
        elif split.kind not in COLD_KINDS:
            raise EvaluationError(
                f"nothing to evaluate: none of the {counts['test_users']} test users has a "
                "relevant job that training saw (try a larger test fraction or another split)"
            )
        segments = measure_segments(Recommender(trained), clicks, list(ks), EVALUATION_RULES)
        results.append(
            ModelResult(
                model=name,
                metrics=metrics,
                train_seconds=train_seconds,
                score_seconds=score_seconds,
                params=trained.manifest.model.params,
                segments=segments,
            )
        )
        if progress is not None:
            progress(results[-1])
    return results, counts
