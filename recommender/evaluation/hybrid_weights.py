"""The hybrid's weights, chosen on validation as every other setting is (``train``'s selection).

The model selection has chosen and set up the collaborative model; here it is fitted once with
content on the validation split's training part (the job text and profiles of the catalogue
beside the log), and served with each pair of weights of a small grid (``cold_weight`` ×
``history_weight``, :mod:`recommender.content.hybrid`; cold weights below ``min_cold_weight``
are raised to it, so new postings keep a place in lists); the pair with the best NDCG@10 over
every validation click (cold jobs' and warm jobs', every user, as
:mod:`~recommender.evaluation.segments` ranks them) is kept, ties to the smaller weights, so
content enters users' lists only where it was measured to help. The vectors do not depend on
the weights: one fit serves the whole grid.

With a ``cold_share`` above 0 (an exposure floor for new postings) the grid of cold weights
reaches :data:`SHARE_COLD_WEIGHTS`' top, and the smallest cold weight whose validation hit rate on
cold clicks is at least that share of its hit rate on warm clicks is kept (its best history
weight by NDCG), or the largest when none reaches it: new jobs are then shown at the cost of
some NDCG, which the choice records.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from recommender.bundle.trained import TrainedModel
from recommender.content.word2vec import has_text
from recommender.data.catalogue import Catalogue
from recommender.data.schema import JOBS_FILE, USERS_FILE
from recommender.errors import RecommenderError
from recommender.evaluation.dataset import log_file_of, read_catalogue
from recommender.evaluation.runner import EVALUATION_RULES, fit_split
from recommender.evaluation.segments import HISTORY_BUCKETS, held_out_clicks, measure_segments
from recommender.evaluation.splits import Split
from recommender.recommender import Recommender
from recommender.settings import Settings

log = logging.getLogger(__name__)

COLD_WEIGHTS = (0.0, 1.0, 2.0)
SHARE_COLD_WEIGHTS = (0.0, 1.0, 2.0, 3.0, 4.0)
"""The cold weights tried when ``cold_share`` asks new postings for a share of the hits."""
HISTORY_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
POPULARITY_WEIGHTS = (0.5, 1.0, 2.0, 4.0, 8.0)
"""β of a profile list, z(cosine) + β·z(log popularity): chosen on the validation users with no
training history (those profile lists answer), by their NDCG@10."""
K = 10


def catalogue_beside(path: Path) -> Catalogue | None:
    """The ``jobs.jsonl`` and ``users.jsonl`` beside a log (a data directory's or a log file's),
    read as ``evaluate`` reads them; None when there is no job text to embed."""
    try:
        folder = log_file_of(Path(path)).parent
    except (OSError, RecommenderError):
        return None
    jobs = folder / JOBS_FILE
    users = folder / USERS_FILE
    if not jobs.is_file():
        return None
    catalogue, _ = read_catalogue(jobs, users if users.is_file() else None)
    return catalogue if has_text(catalogue) else None


def served_with(trained: TrainedModel, **weights: float) -> TrainedModel:
    """The same fitted model served with other hybrid weights (nothing ranked ahead)."""
    info = trained.manifest.content
    assert info is not None
    content = info.model_copy(update={"params": info.params.model_copy(update=weights)})
    manifest = trained.manifest.model_copy(update={"content": content})
    return dataclasses.replace(trained, manifest=manifest, user_top=None, similar_top=None)


def ndcg_over_every_click(trained: TrainedModel, clicks: Any) -> float:
    """Mean NDCG@10 over every validation user with a usable click (cold or warm job)."""
    return _trial(trained, clicks)["score"]


def _trial(trained: TrainedModel, clicks: Any) -> dict[str, float]:
    """NDCG@10 over every validation click (``score``) and the hit rates@10 on cold and on warm
    clicks (0 where there are none)."""
    scores = measure_segments(Recommender(trained), clicks, [K], EVALUATION_RULES)
    parts = [scores.ndcg[name, K] for name, _, _ in HISTORY_BUCKETS if (name, K) in scores.ndcg]
    hits = {
        f"{kind}_hit_rate": scores.metrics.get(f"{kind} jobs", {}).get(K, {}).get("hit_rate", 0.0)
        for kind in ("cold", "warm")
    }
    return {"score": float(np.concatenate(parts).mean()) if parts else 0.0, **hits}


def _pick(trials: list[dict[str, float]], share: float) -> dict[str, float]:
    """The trial ``select_hybrid`` keeps (see the module docstring)."""
    by_score = lambda t: (round(t["score"], 6), -t["cold_weight"], -t["history_weight"])  # noqa: E731
    if share <= 0:
        return max(trials, key=by_score)
    reaching = [t for t in trials if t["cold_hit_rate"] >= share * t["warm_hit_rate"] > 0]
    cold = (
        min(t["cold_weight"] for t in reaching)
        if reaching
        else max(t["cold_weight"] for t in trials)
    )
    return max((t for t in trials if t["cold_weight"] == cold), key=by_score)


def newcomers_ndcg(trained: TrainedModel, clicks: Any) -> float | None:
    """Mean NDCG@10 of the validation users with no training history (None: there are none)."""
    scores = measure_segments(Recommender(trained), clicks, [K], EVALUATION_RULES)
    found = scores.ndcg.get(("history 0", K))
    return None if found is None or found.size == 0 else float(found.mean())


def select_hybrid(
    split: Split, settings: Settings, catalogue: Catalogue
) -> tuple[Settings, dict[str, Any]]:
    """``settings`` with the hybrid weights of the best validation NDCG@10 (and the profile
    lists' popularity weight best for the validation users with no history), and the manifest's
    record of the trials."""
    started = time.perf_counter()
    clicks = held_out_clicks(split, settings, catalogue)
    trained = fit_split(split.train, settings, settings.model, catalogue)
    trials = []
    floor = settings.content.min_cold_weight
    share = settings.content.cold_share
    grid = SHARE_COLD_WEIGHTS if share > 0 else COLD_WEIGHTS
    for cold in sorted({max(weight, floor) for weight in grid}):
        for history in HISTORY_WEIGHTS:
            served = served_with(trained, cold_weight=cold, history_weight=history)
            measured = _trial(served, clicks)
            trials.append({"cold_weight": cold, "history_weight": history, **measured})
    best = _pick(trials, share)
    weights: dict[str, float] = {
        "cold_weight": best["cold_weight"],
        "history_weight": best["history_weight"],
    }
    profile_trials = []
    for beta in POPULARITY_WEIGHTS:
        served = served_with(trained, **weights, popularity_weight=beta)
        newcomers = newcomers_ndcg(served, clicks)
        if newcomers is None:
            break
        profile_trials.append({"popularity_weight": beta, "score": newcomers})
    if profile_trials:
        top = max(profile_trials, key=lambda t: (round(t["score"], 6), -t["popularity_weight"]))
        weights["popularity_weight"] = top["popularity_weight"]
    chosen = settings.model_copy(update={"content": settings.content.model_copy(update=weights)})
    seconds = time.perf_counter() - started
    log.info(
        "hybrid weights: cold %.2f, history %.2f, profile popularity %s (ndcg@%d %.4f on "
        "validation) in %.1f s",
        weights["cold_weight"],
        weights["history_weight"],
        weights.get("popularity_weight", settings.content.popularity_weight),
        K,
        best["score"],
        seconds,
    )
    info = {
        "metric": f"ndcg@{K} over every validation click",
        "cold_share": share,
        "chosen": weights,
        "trials": [{k: round(v, 6) for k, v in t.items()} for t in trials],
        "profile_trials": [t | {"score": round(t["score"], 6)} for t in profile_trials],
        "cold_job_clicks": clicks.counts["cold_job_clicks"],
        "seconds": round(seconds, 3),
    }
    return chosen, info
