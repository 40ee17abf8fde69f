"""quality: the service's recommendations against anchors scripted directly on implicit and numpy.

Every figure uses one protocol (README, "Quality against library-direct baselines"): a global time
cut at the 80% quantile of event times, or each user's last distinct job held out; warm test users
and jobs; pairs seen in training never recommended and never relevant; the full catalogue ranked;
binary relevance; NDCG@10 with log2 discounts. ALS and EASE choose their settings on a validation
split carved the same way from the training period, then are refit on all of it and scored once.
The service is trained by its own CLI and asked over HTTP (:mod:`bench.quality_service`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench import quality_anchors as anchors
from bench.common import REPO, RESULTS, Context, Result, Row, say
from bench.quality_data import (
    SPLITS,
    Problem,
    Weighting,
    problem,
    read_activities,
    read_movielens,
    write_activities,
)
from bench.quality_metrics import (
    UserScores,
    coverage,
    paired_bootstrap,
    popularity_bias,
    popularity_percentiles,
    score_lists,
)
from bench.quality_service import run_service

ML_100K = REPO.parent / "shared" / "data" / "ml-100k" / "u.data"
SEED = 42
SERVICE_MODELS: tuple[str | None, ...] = (None, "als")
"""What ``train`` serves by default (the model it selects), then ALS pinned by its setting."""


@dataclass(frozen=True)
class DataSet:
    name: str
    events: pl.DataFrame
    weighting: Weighting
    split: str


@dataclass(frozen=True)
class Figures:
    """One model's lists, scored."""

    model: str
    kind: str  # "anchor" or "service"
    scores: UserScores
    coverage: float
    popularity_bias: float
    seconds: float

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ndcg": float(self.scores.ndcg.mean()),
            "map": float(self.scores.ap.mean()),
            "recall": float(self.scores.recall.mean()),
            "coverage": self.coverage,
            "popularity_bias": self.popularity_bias,
            "seconds": self.seconds,
        }


class Scoring:
    """Turns a model's lists (external job ids per test user) into :class:`Figures`."""

    def __init__(self, test: Problem) -> None:
        self.truth = [{int(test.job_ids[c]) for c in cols} for cols in test.truth]
        self.catalogue = int(test.job_ids.size)
        percentiles = popularity_percentiles(test.popularity)
        self.percentile = dict(zip(test.job_ids.tolist(), percentiles.tolist(), strict=True))

    def figures(self, model: str, kind: str, lists: list[list[int]], seconds: float) -> Figures:
        return Figures(
            model=model,
            kind=kind,
            scores=score_lists(lists, self.truth),
            coverage=coverage(lists, self.catalogue),
            popularity_bias=popularity_bias(lists, self.percentile),
            seconds=seconds,
        )


def run_anchors(
    data: DataSet, validation: Problem, test: Problem, quick: bool
) -> tuple[list[tuple[str, float, list[list[int]]]], dict[str, Any]]:
    """Each anchor's name, seconds (selection, fit and ranking) and lists of job ids."""
    als_grid = anchors.ALS_QUICK_GRID if quick else anchors.ALS_GRID
    ease_grid = anchors.EASE_QUICK_GRID if quick else anchors.EASE_GRID
    out: list[tuple[str, float, list[list[int]]]] = []
    raw: dict[str, Any] = {}

    def add(name: str, fitter: anchors.Fitter, started: float) -> None:
        cols = anchors.recommend(test, fitter(test.matrix))
        out.append((name, time.perf_counter() - started, test.job_ids[np.array(cols)].tolist()))
        say(f"quality: {data.name}: {name} done")

    started = time.perf_counter()
    chosen = anchors.select(
        validation,
        als_grid,
        lambda **s: anchors.als(int(s["factors"]), s["regularization"], s["scale"], SEED),
    )
    raw["als"] = {"selected": chosen.best, "validation": chosen.trials}
    best = chosen.best
    add(
        f"ALS (f {int(best['factors'])}, reg {best['regularization']:g}, scale {best['scale']:g})",
        anchors.als(int(best["factors"]), best["regularization"], best["scale"], SEED),
        started,
    )
    started = time.perf_counter()
    chosen = anchors.select(validation, ease_grid, lambda **s: anchors.ease(s["lam"]))
    raw["ease"] = {"selected": chosen.best, "validation": chosen.trials}
    add(f"EASE (λ {chosen.best['lam']:g})", anchors.ease(chosen.best["lam"]), started)
    for name, fitter in (
        ("item-KNN BM25", anchors.bm25()),
        ("BPR (64 f, 100 it)", anchors.bpr(SEED)),
        ("popularity", anchors.popularity()),
    ):
        add(name, fitter, time.perf_counter())
    return out, raw


def measure(data: DataSet, workdir: Path, quick: bool) -> tuple[list[Figures], dict[str, Any]]:
    splitter = SPLITS[data.split]
    train, test_events = splitter(data.events)
    val_train, val_test = splitter(train)
    validation = problem(val_train, val_test, data.weighting)
    test = problem(train, test_events, data.weighting)
    counts = {
        "events": data.events.height,
        "train_events": train.height,
        "train_users": int(test.user_ids.size),
        "catalogue_jobs": int(test.job_ids.size),
        "test_users": int(test.test_rows.size),
        "validation_users": int(validation.test_rows.size),
    }
    say(f"quality: {data.name}: {counts}")
    scoring = Scoring(test)
    found, raw = run_anchors(data, validation, test, quick)
    figures = [scoring.figures(name, "anchor", lists, s) for name, s, lists in found]

    slug = data.name.replace(", ", "-").replace(" ", "-")
    data_dir = workdir / slug / "data"
    lines = write_activities(train, data_dir / "activities.jsonl")
    counts["service_lines"] = lines
    user_ids = test.user_ids[test.test_rows].tolist()
    for model in SERVICE_MODELS:
        validation = "last" if data.split == "last" else "time"
        run = run_service(data_dir, workdir / slug, user_ids, model, validation)
        name = f"service ({model or 'default: ' + run.trained.split()[1]})"
        seconds = run.train_seconds + run.request_seconds
        figures.append(scoring.figures(name, "service", run.lists, seconds))
        raw.setdefault("service", {})[name] = {
            "trained": run.trained,
            "selected": run.selected,
            "train_s": run.train_seconds,
        }
    raw["counts"] = counts
    return figures, raw


def rows_of(data: DataSet, figures: list[Figures]) -> tuple[list[Row], dict[str, Any]]:
    best = max((f for f in figures if f.kind == "anchor"), key=lambda f: f.scores.ndcg.mean())
    best_ndcg = float(best.scores.ndcg.mean())
    rows: list[Row] = []
    per_model: dict[str, Any] = {}
    for f in figures:
        summary = f.summary()
        ratio = summary["ndcg"] / best_ndcg if best_ndcg > 0 else float("nan")
        summary["ndcg_ratio_to_best_anchor"] = ratio
        cell = f"{ratio:.2f}× best anchor"
        if f is not best:
            interval = paired_bootstrap(f.scores.ndcg, best.scores.ndcg, seed=SEED)
            summary["ndcg_difference_ci95"] = [interval.mean, interval.low, interval.high]
            cell += f"; ΔNDCG {interval.cell()}"
        per_model[f.model] = summary
        rows.append(
            Row(
                f"{data.name}: {f.model}",
                f"NDCG {summary['ndcg']:.4f}, MAP {summary['map']:.4f}, "
                f"recall {summary['recall']:.4f}, coverage {f.coverage:.3f}, "
                f"pop. bias {f.popularity_bias:.3f}",
                f"best anchor {best.model}: NDCG {best_ndcg:.4f}",
                cell,
            )
        )
    return rows, {"best_anchor": best.model, "models": per_model}


def wide_table(name: str, raw: dict[str, Any]) -> str:
    """The README's table for one set."""
    lines = [
        f"**{name}** ({raw['counts']['test_users']:,} warm test users, "
        f"{raw['counts']['catalogue_jobs']:,} jobs ranked)",
        "",
        "| model | NDCG@10 | MAP@10 | recall@10 | coverage | pop. bias | NDCG / best anchor "
        "| ΔNDCG vs best anchor [95% CI] | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for model, s in raw["models"].items():
        ci = s.get("ndcg_difference_ci95")
        delta = f"{ci[0]:+.4f} [{ci[1]:+.4f}, {ci[2]:+.4f}]" if ci else "(best anchor)"
        lines.append(
            f"| {model} | {s['ndcg']:.4f} | {s['map']:.4f} | {s['recall']:.4f} | "
            f"{s['coverage']:.3f} | {s['popularity_bias']:.3f} | "
            f"{s['ndcg_ratio_to_best_anchor']:.2f} | {delta} | {s['seconds']:.1f} |"
        )
    return "\n".join(lines)


def data_sets(ctx: Context) -> tuple[list[DataSet], list[Row]]:
    demo = read_activities(ctx.activities)
    sets = [DataSet("demo, time split", demo, "funnel", "time")]
    if not ML_100K.is_file():
        say(f"quality: {ML_100K} is absent: MovieLens 100K skipped")
        return sets, [Row(f"MovieLens 100K skipped: no {ML_100K}", "", "", "")]
    movielens = read_movielens(ML_100K)
    sets.append(DataSet("ml-100k, time split", movielens, "sum", "time"))
    sets.append(DataSet("ml-100k, leave-last-out", movielens, "sum", "last"))
    return sets, []


def run(ctx: Context) -> Result:
    sets, rows = data_sets(ctx)
    raw: dict[str, Any] = {"quick": ctx.quick, "seed": SEED}
    tables = []
    for data in sets:
        say(f"quality: {data.name} …")
        figures, found = measure(data, ctx.workdir / "quality", ctx.quick)
        found_rows, summary = rows_of(data, figures)
        rows += found_rows
        raw[data.name] = found | summary
        tables.append(wide_table(data.name, raw[data.name]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "quality.md").write_text("\n\n".join(tables) + "\n", encoding="utf-8")
    return Result("quality", rows=rows, raw=raw)
