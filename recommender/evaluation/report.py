"""Evaluation reports: a table for people; ``report.json``, ``report.md`` and ``report.png``."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from recommender.evaluation.runner import METRICS, ModelResult
from recommender.evaluation.segments import SEGMENT_METRICS

LOWER_IS_BETTER = {"mpr", "popularity_bias", "gini_jobs", "gini_employers"}
_CHART_METRICS = ("ndcg", "map", "precision", "recall", "hit_rate", "coverage")


def build_report(
    dataset: str,
    split: dict[str, Any],
    settings: dict[str, Any],
    results: Sequence[ModelResult],
    counts: dict[str, int],
    *,
    comparisons: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The ``report.json`` document: dataset, split, settings, test-set counts, the warm
    results, the results by segment and the paired intervals between models."""
    return {
        "dataset": dataset,
        "split": split,
        "settings": settings,
        "test_set": counts,
        "results": [row for result in results for row in result.rows()],
        "segments": [row for result in results for row in result.segment_rows()],
        "comparisons": list(comparisons),
    }


def markdown_table(report: dict[str, Any]) -> str:
    """Models × metrics at each k, with training and scoring seconds; the best value in bold."""
    rows: list[dict[str, Any]] = report["results"]
    if not rows:
        return "No warm test user (every test user is cold): see the segments."
    header = ["model", "k", *METRICS, "train s", "score s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    best: dict[tuple[int, str], float] = {}
    for metric in METRICS:
        for k in {r["k"] for r in rows}:
            values = [r[metric] for r in rows if r["k"] == k]
            pick = min if metric in LOWER_IS_BETTER else max
            best[(k, metric)] = pick(values)
    for r in sorted(rows, key=lambda r: (r["k"], r["model"])):
        cells = [r["model"], str(r["k"])]
        for metric in METRICS:
            text = f"{r[metric]:.4f}"
            is_best = r[metric] == best[(r["k"], metric)] and len(rows) > 1
            cells.append(f"**{text}**" if is_best else text)
        cells += [f"{r['train_seconds']:.2f}", f"{r['score_seconds']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def segments_table(report: dict[str, Any]) -> str:
    """Every test user by segment (history length, cold and warm jobs): models × metrics."""
    rows: list[dict[str, Any]] = report.get("segments", [])
    if not rows:
        return ""
    header = ["segment", "users", "model", "k", *SEGMENT_METRICS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r["segment"], str(r["users"]), r["model"], str(r["k"])]
        lines.append("| " + " | ".join(cells + [f"{r[m]:.4f}" for m in SEGMENT_METRICS]) + " |")
    return "\n".join(lines)


def comparisons_table(report: dict[str, Any]) -> str:
    """Each model's NDCG minus the first model's, by segment, with its paired 95% interval."""
    rows: list[dict[str, Any]] = report.get("comparisons", [])
    if not rows:
        return ""
    lines = [
        "| segment | users | model - reference | k | NDCG difference [95% interval] |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        cell = f"{r['ndcg_diff']:+.4f} [{r['low']:+.4f}, {r['high']:+.4f}]"
        pair = f"{r['model']} - {r['reference']}"
        lines.append(f"| {r['segment']} | {r['users']} | {pair} | {r['k']} | {cell} |")
    return "\n".join(lines)


def all_tables(report: dict[str, Any]) -> str:
    """The warm table, then the segments and the intervals when there are any."""
    parts = [markdown_table(report)]
    if segments := segments_table(report):
        parts.append("Every test user, by segment (relevance by job id, cold jobs included):")
        parts.append(segments)
    if intervals := comparisons_table(report):
        parts.append("Paired bootstrap of per-user NDCG against the first model listed:")
        parts.append(intervals)
    return "\n\n".join(parts)


def markdown_report(report: dict[str, Any]) -> str:
    """``report.md``: what was evaluated, how, and the tables."""
    split = ", ".join(f"{k}={v}" for k, v in report["split"].items() if v is not None)
    counts = ", ".join(f"{k} {v}" for k, v in report["test_set"].items())
    return (
        f"# Evaluation of {report['dataset']}\n\n"
        f"Split: {split}.\n\nTest set: {counts}.\n\n"
        "Higher is better except MPR (expected percentile rank) and popularity bias.\n\n"
        f"{all_tables(report)}\n"
    )


def write_chart(report: dict[str, Any], path: Path) -> None:
    """``report.png``: each chart metric against k, one line per model."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib  # noqa: PLC0415 - only a report with charts pays for matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after choosing the Agg backend

    rows: list[dict[str, Any]] = report["results"]
    models = sorted({r["model"] for r in rows})
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), constrained_layout=True)
    for ax, metric in zip(axes.ravel(), _CHART_METRICS, strict=True):
        for model in models:
            mine = sorted((r for r in rows if r["model"] == model), key=lambda r: r["k"])
            ks = [r["k"] for r in mine]
            ax.plot(ks, [r[metric] for r in mine], marker="o", label=model)
            ax.set_xticks(ks)
        ax.set_title(f"{metric}@k")
        ax.set_xlabel("k")
        ax.grid(alpha=0.3)
    if models:  # a cold split may have no warm result to draw
        axes.ravel()[0].legend(fontsize="small")
    fig.suptitle(f"{report['dataset']}, {report['split'].get('kind', '')} split")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _finite(value: Any) -> Any:
    """NaN (a metric averaged over nothing) as null: report.json must stay strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write_report(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write ``report.json``, ``report.md`` and ``report.png`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "report.json", out_dir / "report.md", out_dir / "report.png"]
    text = json.dumps(_finite(report), indent=2, default=str, allow_nan=False)
    paths[0].write_text(text + "\n", encoding="utf-8")
    paths[1].write_text(markdown_report(report), encoding="utf-8")
    write_chart(report, paths[2])
    return paths
