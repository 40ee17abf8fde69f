"""audience: who should hear about a job (``POST /recommend/users_for_job/``), measured.

Quality, on the demo data's cold-jobs split (:func:`recommender.evaluation.splits.cold_jobs_split`):
ALS with content, the hybrid's weights chosen on a cold-jobs split of the training period (as
``bench content`` and ``train`` choose them), fitted on the training period; for each job clicked
in the test period, recall@100 of its audience against the users who clicked it, beside the 100
most active users and 100 random active users (seeded), with paired bootstrap intervals over jobs
(:mod:`recommender.evaluation.audience`). Targets (issue 13): ≥ 2× the most active, ≥ 5× random,
for cold jobs (their audience from their text) and warm jobs (the collaborative audience). The
users ranked by their lists' own z-scores (the scale the audience does not rank by) are shown too.
Then, with the same weights, the other models ``train`` may serve (not with ``--quick``).

Speed: ``Recommender.users_for_jobs`` on the same model, in process with BLAS on one thread as the
service holds it, for one job (50 jobs in turn) and for 100 jobs in one call, warm and cold; and
the per-user statistics found on the first audience of a loaded model.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import numpy as np

from bench.common import Context, Result, Row, median, p95, say, timed

K = 100
SEED = 42
ROUNDS = 50
BATCH = 100
OTHER_MODELS = {
    "blend": "blend (ALS 0.5 + EASE 0.5)",
    "ease": "EASE",
    "itemknn-bm25": "item-KNN (BM25)",
    "rp3beta": "RP3beta",
    "userknn": "user-KNN",
}
"""The other models an audience is measured for (not with ``--quick``), on ALS's weights."""


def _settings(**params: Any) -> Any:
    from recommender.settings import Settings

    settings = Settings(model="als", seed=SEED)
    return settings.model_copy(
        update={"content": settings.content.model_copy(update={"enabled": True, **params})}
    )


def _others(ctx: Context, split: Any, chosen: dict[str, float]) -> list[Row]:
    """One row per other model and segment: the audience's recall against both baselines."""
    from recommender.evaluation.audience import audience_recall
    from recommender.evaluation.dataset import load_log
    from recommender.evaluation.runner import fit_split
    from recommender.recommender import Recommender

    catalogue = load_log(ctx.data_dir, with_catalogue=True).catalogue
    settings = _settings(**chosen)
    rows = []
    for name, label in OTHER_MODELS.items():
        say(f"audience: {name} …")
        trained = fit_split(split.train, settings, name, catalogue)
        measured = audience_recall(Recommender(trained), split, settings, k=K, seed=SEED)
        for segment, got in measured.items():
            ours, active, drawn = (
                got.mean(m) for m in ("audience", "most active", "random active")
            )
            rows.append(
                Row(
                    f"demo, cold-jobs split, {segment}: {label} with content, audience recall@{K}",
                    f"{ours:.4f}",
                    f"most active {active:.4f}, random active {drawn:.4f}",
                    f"{ours / active:.2f}× most active (≥ 2), {ours / drawn:.1f}× random (≥ 5)",
                )
            )
    return rows


def _fitted(ctx: Context) -> tuple[Any, Any, Any, dict[str, float]]:
    from recommender.evaluation.dataset import load_log
    from recommender.evaluation.hybrid_weights import select_hybrid
    from recommender.evaluation.runner import fit_split
    from recommender.evaluation.splits import cold_jobs_split

    log = load_log(ctx.data_dir, with_catalogue=True)
    split = cold_jobs_split(log.events, log.catalogue)
    say("audience: choosing the hybrid's weights on a cold-jobs split of the training period …")
    validation = cold_jobs_split(split.train, log.catalogue)
    chosen_settings, _ = select_hybrid(validation, _settings(), log.catalogue)
    params = chosen_settings.content
    chosen = {"cold_weight": params.cold_weight, "history_weight": params.history_weight}
    settings = _settings(**chosen)
    say(f"audience: fitting ALS with content ({chosen}) on the training period …")
    return split, settings, fit_split(split.train, settings, "als", log.catalogue), chosen


def _quality(recommender: Any, split: Any, settings: Any, chosen: dict[str, float]) -> list[Row]:
    from recommender.evaluation.audience import audience_recall

    rows = []
    measured = audience_recall(recommender, split, settings, k=K, seed=SEED)
    for segment, got in measured.items():
        label = (
            f"demo, cold-jobs split, {segment} ({got.job_ids.shape[0]:,} jobs clicked in test, "
            f"{got.clickers:,} clicks, {got.known_clickers:,} by users the model knows; "
            f"ALS + content, cold {chosen['cold_weight']}, history {chosen['history_weight']})"
        )
        ours = got.mean("audience")
        for method, target in (("most active", 2.0), ("random active", 5.0)):
            ref = got.mean(method)
            ratio = f"{ours / ref:.2f}×" if ref > 0 else "n/a"
            rows.append(
                Row(
                    f"{label}: audience recall@{K} against {K} {method} users",
                    f"{ours:.4f}",
                    f"{method}: {ref:.4f}",
                    f"{ratio} (target ≥ {target:g}×); Δ {got.interval(method, SEED).cell()}",
                )
            )
        listed = got.mean("list scale")
        rows.append(
            Row(
                f"{label}: users ranked by the lists' z-scores instead (not served)",
                f"{listed:.4f}",
                f"most active: {got.mean('most active'):.4f}",
                f"{listed / got.mean('most active'):.2f}×" if got.mean("most active") else "n/a",
            )
        )
    return rows


def _jobs(trained: Any) -> tuple[list[int], list[int]]:
    """Warm and cold job ids of the model, spread over their id range."""
    cold = np.diff(trained.interactions.tocsc().indptr) == 0
    ids = trained.jobs.ids
    out = []
    for mask in (~cold, cold):
        picked = ids[mask]
        at = np.unique(np.linspace(0, picked.shape[0] - 1, num=min(BATCH, picked.shape[0])))
        out.append([int(j) for j in picked[at.astype(np.int64)]])
    return out[0], out[1]


def _speed(trained: Any) -> tuple[list[Row], dict[str, Any]]:
    from threadpoolctl import threadpool_limits

    from recommender.recommender import Recommender

    recommender = Recommender(trained)
    warm, cold = _jobs(trained)
    shape = f"{len(trained.users):,} users × {len(trained.jobs):,} jobs"
    raw: dict[str, Any] = {}
    rows = []
    with threadpool_limits(1, "blas"):
        prepare = timed(recommender.audiences.prepare)
        rows.append(
            Row(
                f"audience: per-user statistics on a model's first audience ({shape})",
                f"{prepare * 1000:.0f} ms once",
                "",
                "",
            )
        )
        raw["prepare_s"] = prepare
        for name, jobs in (("warm", warm), ("cold", cold)):
            batch = jobs[:BATCH]
            one = [timed(partial(recommender.users_for_jobs, [j], K)) for j in jobs[:ROUNDS]]
            many = [timed(partial(recommender.users_for_jobs, batch, K)) for _ in range(5)]
            raw[name] = {"one_s": one, "batch_s": many, "jobs": len(jobs)}
            rows.append(
                Row(
                    f"audience of one {name} job, n={K} ({shape}; {len(one)} jobs in turn)",
                    f"median {median(one) * 1000:.1f} ms, p95 {p95(one) * 1000:.1f} ms",
                    "",
                    "",
                )
            )
            rows.append(
                Row(
                    f"audiences of {min(BATCH, len(jobs))} {name} jobs in one call, n={K} "
                    f"({shape}; 5 calls)",
                    f"median {median(many) * 1000:.0f} ms",
                    "",
                    f"{median(many) / max(1, min(BATCH, len(jobs))) * 1000:.2f} ms a job",
                )
            )
    return rows, raw


def run(ctx: Context) -> Result:
    started = time.perf_counter()
    split, settings, trained, chosen = _fitted(ctx)
    from recommender.recommender import Recommender

    say("audience: recall of the test clickers …")
    rows = _quality(Recommender(trained), split, settings, chosen)
    if not ctx.quick:
        rows += _others(ctx, split, chosen)
    say("audience: latency …")
    speed_rows, raw = _speed(trained)
    raw["chosen"] = chosen
    raw["seconds"] = time.perf_counter() - started
    return Result("audience", rows=rows + speed_rows, raw=raw)
