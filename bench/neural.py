"""neural: the two-tower model against user-KNN, item-KNN, ALS, the service's selected model and
popularity, under the evaluation protocol, and what it costs to train and to serve.

Quality: ``evaluate``'s protocol (``recommender.evaluation.runner``) on the demo data (time
split, jobs and profiles listed), MovieLens 100K with ``u.item``/``u.user`` converted (time split
and leave-last-out); every model with the service's default settings and content on, except
"best": the model the service's own selection (``train``'s, on a validation split carved from the
training period) serves. Headline NDCG@10 on the warm held-out pairs, then per segment (history
length 0, 1, 2–4, 5+; cold and warm jobs) with the neural model's paired bootstrap interval
against user-KNN (the LinkedIn-style pipeline's baseline) and against the best. Every input of
every model comes from the training period (``fit_split``).

Cost: the neural fit's seconds per epoch and peak memory on the bench data, and on a 0.3 GB
generated set (``--scale 10.4``, skipped with ``--quick``), each in a child process; serving:
in-process single-user latency with the neural bundle, as a ratio to ALS's, same run.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import REPO, Context, Result, Row, say
from bench.content import movielens_with_content

K = 10
SEED = 0
MODELS = ("neural", "userknn", "itemknn", "als", "popular")
SEGMENTS = ("history 0", "history 1", "history 2-4", "history 5+", "cold jobs", "warm jobs")


def _compare(data: Path, split_kind: str, label: str) -> tuple[list[Row], dict[str, Any]]:
    from recommender.evaluation.auto import AutoSelector
    from recommender.evaluation.dataset import load_log
    from recommender.evaluation.intervals import paired_bootstrap
    from recommender.evaluation.runner import evaluate_models
    from recommender.evaluation.selection import served_settings, validation_split
    from recommender.evaluation.splits import make_split
    from recommender.settings import Settings

    log = load_log(data, with_catalogue=True)
    split = make_split(log.events, split_kind)  # type: ignore[arg-type]
    settings = Settings(seed=42)
    say(f"neural: {label}: fitting {', '.join(MODELS)} …")
    results, _ = evaluate_models(split, MODELS, settings, (K,), catalogue=log.catalogue)
    say(f"neural: {label}: the service's selection …")
    kind = "time" if split_kind == "time" else "last"
    chosen = AutoSelector().select(
        validation_split(split.train, kind), settings, settings.selection
    )
    best_settings = served_settings(chosen, settings)
    (best,), _ = evaluate_models(
        split, [best_settings.model], best_settings, (K,), catalogue=log.catalogue
    )
    by_name = {r.model: r for r in results} | {"best": best}
    neural, knn = by_name["neural"], by_name["userknn"]
    rows: list[Row] = []
    raw: dict[str, Any] = {"best": best_settings.model, "models": {}}
    for name, result in by_name.items():
        raw["models"][name] = {
            "ndcg": result.metrics[K]["ndcg"] if result.metrics else None,
            "train_seconds": round(result.train_seconds, 2),
            "segments": None if result.segments is None else result.segments.metrics,
        }
    headline = {n: r.metrics[K]["ndcg"] for n, r in by_name.items() if r.metrics}
    others = ", ".join(
        f"{'best (' + best_settings.model + ')' if n == 'best' else n} {v:.4f}"
        for n, v in headline.items()
        if n != "neural"
    )
    rows.append(
        Row(
            f"{label}: NDCG@{K}, warm held-out pairs",
            f"neural {headline['neural']:.4f}",
            others,
            f"{headline['neural'] / headline['userknn']:.2f}× user-KNN, "
            f"{headline['neural'] / headline['best']:.2f}× best",
        )
    )
    assert neural.segments is not None and knn.segments is not None
    for segment in SEGMENTS:
        if (segment, K) not in neural.segments.ndcg:
            continue
        users = neural.segments.users[segment]
        ours = neural.segments.metrics[segment][K]["ndcg"]
        refs = {
            n: r.segments.metrics[segment][K]["ndcg"]
            for n, r in by_name.items()
            if r.segments is not None and n != "neural"
        }
        vs_knn = paired_bootstrap(
            neural.segments.ndcg[segment, K], knn.segments.ndcg[segment, K], seed=SEED
        )
        assert best.segments is not None
        vs_best = paired_bootstrap(
            neural.segments.ndcg[segment, K], best.segments.ndcg[segment, K], seed=SEED
        )
        strongest = max(refs, key=lambda n: refs[n])
        rows.append(
            Row(
                f"{label}: {segment} ({users:,} users), NDCG@{K}",
                f"neural {ours:.4f}",
                ", ".join(f"{n} {v:.4f}" for n, v in refs.items()),
                f"Δ vs user-KNN {vs_knn.cell()}; Δ vs best {vs_best.cell()}; "
                f"strongest other: {strongest}",
            )
        )
        raw[f"segment {segment}"] = {
            "users": users,
            "neural": ours,
            **refs,
            "vs_userknn": [vs_knn.mean, vs_knn.low, vs_knn.high],
            "vs_best": [vs_best.mean, vs_best.low, vs_best.high],
        }
    return rows, raw


_FIT = """
import json, resource, sys, time
from recommender.settings import Settings
from recommender.training.run import train_directory
epochs = []
started = time.perf_counter()
def progress(done, loss):
    epochs.append((done, time.perf_counter()))
settings = Settings(model=sys.argv[3], neural={"epochs": int(sys.argv[4]), "patience": 99})
result = train_directory(settings, data_dir=sys.argv[1], model_dir=sys.argv[2], progress=progress)
timings = result.trained.manifest.timings
print(json.dumps({
    "fit_seconds": timings["fit_seconds"], "content_seconds": timings.get("content_seconds"),
    "epochs": len(epochs) if sys.argv[3] == "neural" else None,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def _fit_cost(data: Path, model_dir: Path, model: str, epochs: int) -> dict[str, Any]:
    """Train ``model`` in a child process; its fit seconds, epochs and peak memory."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _FIT, str(data), str(model_dir), model, str(epochs)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _latency(model_dirs: dict[str, Path]) -> dict[str, dict[str, float]]:
    """In-process single-user lists for 1,000 known users and 300 users seen afresh (a new
    history of three jobs), per bundle: median and p99 milliseconds."""
    import scipy.sparse as sp
    from threadpoolctl import threadpool_limits

    from recommender.bundle.files import load_bundle
    from recommender.recommender import Recommender

    out: dict[str, dict[str, float]] = {}
    with threadpool_limits(1, "blas"):
        for name, model_dir in model_dirs.items():
            trained = load_bundle(model_dir)
            recommender = Recommender(trained)
            rng = np.random.default_rng(SEED)
            users = rng.choice(trained.users.ids, 1000, replace=False).tolist()
            known: list[float] = []
            for user in users * 2:
                started = time.perf_counter()
                recommender.recommend(user, 10)
                known.append(time.perf_counter() - started)
            fresh: list[float] = []
            jobs = trained.jobs.ids
            for i in range(300):
                history = np.zeros((1, len(jobs)), dtype=np.float32)
                history[0, rng.choice(len(jobs), 3, replace=False)] = 2.0
                started = time.perf_counter()
                trained.model.history_scores(
                    sp.csr_matrix(history),
                    np.array([-1 if i % 2 else 0], dtype=np.int64),
                )
                fresh.append(time.perf_counter() - started)
            out[name] = {
                "known_p50_ms": 1000 * float(np.median(known[1000:])),
                "known_p99_ms": 1000 * float(np.quantile(known[1000:], 0.99)),
                "fresh_p50_ms": 1000 * float(np.median(fresh)),
            }
    return out


def _costs(ctx: Context) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    raw: dict[str, Any] = {}
    sets = [("bench data", ctx.data_dir)]
    if not ctx.quick:
        big = ctx.workdir / "scale-10.4"
        if not (big / "activities.jsonl").is_file():
            say("neural: generating the 0.3 GB set (--scale 10.4) …")
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "recommender",
                    "-q",
                    "generate-demo-data",
                    "--out",
                    str(big),
                    "--seed",
                    "0",
                    "--scale",
                    "10.4",
                ],
                check=True,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                capture_output=True,
            )
        sets.append(("0.3 GB set", big))
    dirs: dict[str, Path] = {}
    for label, data in sets:
        for model in ("als", "neural"):
            say(f"neural: training {model} on the {label} …")
            model_dir = ctx.workdir / f"cost-{model}-{label.replace(' ', '-')}"
            raw[f"{label} {model}"] = _fit_cost(data, model_dir, model, 3)
            if label == "bench data":
                dirs[model] = model_dir
        ours, als = raw[f"{label} neural"], raw[f"{label} als"]
        per_epoch = ours["fit_seconds"] / max(1, ours["epochs"])
        rows.append(
            Row(
                f"{label}: neural fit, CPU (2 cores), seconds per epoch; peak RSS",
                f"{per_epoch:.1f} s/epoch ({ours['epochs']} epochs), {ours['peak_rss_mb']:,.0f} MB",
                f"ALS fit {als['fit_seconds']:.1f} s in all, {als['peak_rss_mb']:,.0f} MB",
                f"{per_epoch / als['fit_seconds']:.2f}× ALS's whole fit per epoch",
            )
        )
    say("neural: serving latency …")
    raw["latency"] = latency = _latency(dirs)
    rows.append(
        Row(
            "single-user list, known user, in process (p50 / p99)",
            f"neural {latency['neural']['known_p50_ms']:.3f} / "
            f"{latency['neural']['known_p99_ms']:.3f} ms",
            f"ALS {latency['als']['known_p50_ms']:.3f} / {latency['als']['known_p99_ms']:.3f} ms",
            f"{latency['neural']['known_p50_ms'] / latency['als']['known_p50_ms']:.2f}× ALS",
        )
    )
    rows.append(
        Row(
            "a history seen afresh (3 jobs): the model's fold-in, p50",
            f"neural {latency['neural']['fresh_p50_ms']:.3f} ms",
            f"ALS {latency['als']['fresh_p50_ms']:.3f} ms",
            f"{latency['neural']['fresh_p50_ms'] / latency['als']['fresh_p50_ms']:.2f}× ALS",
        )
    )
    raw["peak_rss_parent_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return rows, raw


def run(ctx: Context) -> Result:
    rows: list[Row] = []
    raw: dict[str, Any] = {}
    sets: list[tuple[Path | None, str, str]] = [(ctx.data_dir, "time", "demo, time split")]
    movielens = movielens_with_content(ctx.workdir)
    if movielens is None:
        say("neural: MovieLens 100K not found, skipped")
    else:
        sets += [
            (movielens, "time", "MovieLens 100K, time split"),
            (movielens, "last", "MovieLens 100K, leave-last-out"),
        ]
    for data, kind, label in sets:
        assert data is not None
        found, raw[label] = _compare(data, kind, label)
        rows += found
    cost_rows, raw["costs"] = _costs(ctx)
    rows += cost_rows
    return Result("neural", rows=rows, raw=raw)
