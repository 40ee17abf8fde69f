"""evaluation: seconds to evaluate every model on all test users, and seconds per tuning trial.

The reference is implicit's own ``ranking_metrics_at_k`` on the same ALS factors and test set: it
computes precision, MAP, NDCG and AUC at one k; ours computes all nine metrics,
including the full-catalogue MPR and AUC.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.common import REPO, Context, Result, Row, say
from recommender.data.interactions import ColumnMapping
from recommender.evaluation.dataset import EventLog, load_log
from recommender.evaluation.runner import evaluate_models, fit_split, held_out
from recommender.evaluation.splits import time_split
from recommender.evaluation.tuning import tune
from recommender.models.registry import MODEL_NAMES
from recommender.settings import Settings

LOCAL_MODELS = tuple(name for name in MODEL_NAMES if name != "spark-als")
"""Every model but spark-als, which needs the optional pyspark (README: Training on Spark)."""

ML_100K = REPO.parent / "shared" / "data" / "ml-100k" / "u.data"
ML_MAPPING = ColumnMapping("1", "2", weight_col="3", time_col="4", sep="\t", has_header=False)
TUNING_TRIALS = 4


def implicit_reference(log: EventLog, settings: Settings) -> tuple[float, int]:
    """Seconds implicit's ranking_metrics_at_k takes on our ALS factors and warm test users."""
    import numpy as np
    import scipy.sparse as sp
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.evaluation import ranking_metrics_at_k
    from threadpoolctl import threadpool_limits

    split = time_split(log.events)
    trained = fit_split(split.train, settings, "als")
    tests = held_out(trained, split.test, settings)
    coo = tests.relevant.tocoo()
    test_matrix = sp.csr_matrix(
        (np.ones(coo.nnz, dtype=np.float32), (tests.user_rows[coo.row], coo.col)),
        shape=trained.interactions.shape,
    )
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=settings.als.factors, random_state=0)
    arrays = trained.model.arrays()
    model.user_factors = np.asarray(arrays["user_factors"])
    model.item_factors = np.asarray(arrays["item_factors"])
    started = time.perf_counter()
    ranking_metrics_at_k(model, trained.redirected, test_matrix.tocsr(), K=10, show_progress=False)
    return time.perf_counter() - started, int(tests.user_rows.shape[0])


def _ratio(ours: float, reference: float) -> str:
    if ours <= 0 or reference <= 0:
        return ""
    if ours <= reference:
        return f"{reference / ours:.1f}× as fast"
    return f"{ours / reference:.1f}× implicit's time (it also ranks the whole catalogue)"


def measure(name: str, log: EventLog, settings: Settings) -> tuple[list[Row], dict[str, object]]:
    split = time_split(log.events)
    say(f"evaluation: {name}, {len(LOCAL_MODELS)} models")
    results, counts = evaluate_models(split, LOCAL_MODELS, settings, [10])
    users = counts["warm_users"]
    rows = [
        Row(
            f"{name}: `{r.model}`, {users:,} warm test users, k=10",
            f"train {r.train_seconds:.2f} s, evaluate {r.score_seconds:.2f} s",
            "",
            "",
        )
        for r in results
    ]
    reference, ref_users = implicit_reference(log, settings)
    als = next(r for r in results if r.model == "als")
    rows.append(
        Row(
            f"{name}: evaluating ALS (all 9 metrics vs implicit's 4)",
            f"{als.score_seconds:.2f} s",
            f"`ranking_metrics_at_k`: {reference:.2f} s ({ref_users:,} users)",
            _ratio(als.score_seconds, reference),
        )
    )
    raw = {r.model: {"train": r.train_seconds, "score": r.score_seconds} for r in results}
    return rows, {"models": raw, "implicit_reference_seconds": reference, "counts": counts}


def run(ctx: Context) -> Result:
    settings = Settings(seed=42)
    logs = [("demo", load_log(ctx.data_dir))]
    if Path(ML_100K).is_file():
        logs.append(("ml-100k", load_log(ML_100K, ML_MAPPING)))
    rows: list[Row] = []
    raw: dict[str, object] = {}
    for name, log in logs:
        found, raw[name] = measure(name, log, settings)
        rows += found
    demo = logs[0][1]
    split = time_split(demo.events, validation_fraction=0.1)
    space = {"factors": [16, 64], "iterations": [10], "regularization": [0.1, 10], "alpha": [1]}
    say(f"evaluation: {TUNING_TRIALS} tuning trials on demo")
    result = tune(split, settings, space=space, search="grid", budget=TUNING_TRIALS)
    per_trial = sum(t.seconds for t in result.trials) / len(result.trials)
    rows.append(
        Row(
            f"demo: seconds per tuning trial (fit + validate, {len(result.trials)} trials)",
            f"{per_trial:.2f} s",
            "",
            "",
        )
    )
    raw["tuning_seconds_per_trial"] = per_trial
    return Result("evaluation", rows=rows, raw=raw)
