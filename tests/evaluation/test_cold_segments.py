"""The cold segments: the catalogue in evaluation, the cold-jobs and cold-users splits, the
breakdown by history length and the paired intervals between models."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from recommender.cli import main
from recommender.content.params import ContentParams
from recommender.data.catalogue import Catalogue
from recommender.data.demo import generate_demo_data
from recommender.errors import EvaluationError
from recommender.evaluation import runner
from recommender.evaluation.dataset import load_log
from recommender.evaluation.intervals import paired_bootstrap
from recommender.evaluation.report import all_tables, build_report
from recommender.evaluation.runner import (
    EVALUATION_RULES,
    comparisons,
    evaluate_models,
    fit_split,
)
from recommender.evaluation.segments import SEGMENTS, held_out_clicks, measure_segments
from recommender.evaluation.splits import (
    Split,
    cold_jobs_split,
    cold_users_split,
    make_split,
)
from recommender.recommender import Recommender
from recommender.settings import Settings
from tests.conftest import tiny_settings, write_jsonl

START = datetime(2026, 1, 1, tzinfo=UTC)


def events(rows: list[tuple[int, int, bool, int]]) -> pl.DataFrame:
    """(user, job, is_redirect, day) rows as an event log."""
    return pl.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "job_id": [r[1] for r in rows],
            "is_redirect": [r[2] for r in rows],
            "weight": [1.0] * len(rows),
            "timestamp": [START + timedelta(days=r[3]) for r in rows],
        },
        schema_overrides={
            "user_id": pl.Int64,
            "job_id": pl.Int64,
            "timestamp": pl.Datetime("us", "UTC"),
        },
    )


def catalogue(jobs: list[int], users: list[int] | None = None) -> Catalogue:
    frame = pl.DataFrame({"job_id": jobs, "description": [f"job {j}" for j in jobs]})
    people = None if users is None else pl.DataFrame({"user_id": users})
    return Catalogue(frame.cast({"job_id": pl.Int64}), people)


# --- a planted split with a known answer --------------------------------------------------------
#
# Training: user 1 redirected to five jobs (history 5+), user 2 to one (history 1), user 3 to
# three (history 2-4), user 5 to jobs 20 and 21; user 4 has no training event (history 0).
# Test: user 1 clicks the new job 15 (listed: cold) and job 20 (warm); user 2 clicks job 10 again
# (already redirected: never relevant) and job 11; user 3 clicks job 99, listed nowhere (no model
# can know it: counted apart); user 4 clicks job 10, the most popular.
TRAIN = [
    *[(1, j, True, 1) for j in (10, 11, 12, 13, 14)],
    (2, 10, True, 1),
    *[(3, j, True, 2) for j in (10, 11, 12)],
    (5, 20, True, 2),
    (5, 21, True, 2),
]
TEST = [(1, 15, True, 10), (1, 20, True, 10), (2, 10, True, 10), (2, 11, True, 10)]
TEST += [(3, 99, True, 11), (4, 10, True, 11)]
LISTED = [10, 11, 12, 13, 14, 15, 20, 21]


@pytest.fixture
def planted() -> Split:
    return Split("time", events(TRAIN), events(TEST))


def _segment_users(clicks: Any) -> dict[str, list[int]]:
    return {
        name: clicks.user_ids[np.flatnonzero(np.diff(matrix.indptr))].tolist()
        for name, matrix in clicks.relevant.items()
    }


def test_clicks_fall_into_segments_by_history_and_job(planted: Split) -> None:
    clicks = held_out_clicks(planted, Settings(), catalogue(LISTED))
    assert clicks.counts == {
        "cold_job_clicks": 1,
        "cold_job_unlisted_clicks": 1,
        "warm_job_clicks": 3,
        "segment_users": 3,
    }
    assert _segment_users(clicks) == {
        "cold jobs": [1],
        "warm jobs": [1, 2, 4],
        "history 0": [4],
        "history 1": [2],
        "history 2-4": [],  # user 3's only click is on a job no model can know
        "history 5+": [1],
    }
    cold = clicks.relevant["cold jobs"]
    assert clicks.jobs.ids_of(cold.indices).tolist() == [15]
    # the click repeated from training (user 2, job 10) is in no segment
    row = clicks.user_ids.tolist().index(2)
    assert clicks.jobs.ids_of(clicks.relevant["history 1"][row].indices).tolist() == [11]


def test_without_a_catalogue_no_cold_job_counts(planted: Split) -> None:
    clicks = held_out_clicks(planted, Settings(), None)
    assert clicks.counts["cold_job_clicks"] == 0
    assert clicks.counts["cold_job_unlisted_clicks"] == 2


def test_collaborative_models_cannot_reach_cold_jobs_and_answer_unknown_users(
    planted: Split,
) -> None:
    listed = catalogue(LISTED)
    collaborative = tiny_settings().model_copy(update={"content": ContentParams(enabled=False)})
    trained = fit_split(planted.train, collaborative, "popular", listed)
    clicks = held_out_clicks(planted, Settings(), listed)
    scores = measure_segments(Recommender(trained), clicks, [5, 10], EVALUATION_RULES)
    assert scores.metrics["cold jobs"][10]["hit_rate"] == 0.0
    # user 4 is unknown: the popular list, whose first job (10) they clicked
    assert scores.metrics["history 0"][10] == {"hit_rate": 1.0, "ndcg": 1.0, "recall": 1.0}
    assert "history 2-4" not in scores.metrics
    assert scores.users["history 2-4"] == 0
    assert scores.ndcg["warm jobs", 5].shape == (3,)


def test_the_catalogue_reaches_every_models_fit(
    planted: Split, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Catalogue | None] = []
    real = runner.fit_pairs

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("catalogue"))
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "fit_pairs", spy)
    listed = catalogue(LISTED)
    evaluate_models(planted, ["popular", "als"], tiny_settings(), [10], catalogue=listed)
    assert len(seen) == 2
    for got in seen:
        assert got is not None
        assert 15 in got.job_index  # the cold job's text reaches the model
        assert got.jobs["description"].to_list()[:1] == ["job 10"]


# --- the splits ---------------------------------------------------------------------------------


def _timed_log() -> pl.DataFrame:
    """Ten users over ten days; jobs 100 + day are posted (first clicked) on that day."""
    rows = [(u, 100 + d, d % 2 == 0, d) for u in range(1, 11) for d in range(10) if (u + d) % 3]
    return events(rows)


def test_cold_jobs_split_is_the_time_split_and_no_cold_job_trains() -> None:
    log = _timed_log()
    listed = catalogue([100 + d for d in range(9)])  # the last day's job is not listed
    split = cold_jobs_split(log, listed, test_fraction=0.2)
    assert split.kind == "cold-jobs"
    assert split.train["timestamp"].max() < split.test["timestamp"].min()
    trained = set(split.train["job_id"].to_list())
    cold = set(split.test["job_id"].to_list()) - trained
    assert {108, 109} <= cold  # posted after the cut
    assert split.params["cold_listed_jobs"] == len(cold) - 1
    assert split.params["cold_unlisted_jobs"] == 1  # job 109


def test_cold_splits_need_their_part_of_the_catalogue() -> None:
    log = _timed_log()
    with pytest.raises(EvaluationError, match="--jobs"):
        cold_jobs_split(log, Catalogue())
    with pytest.raises(EvaluationError, match="--users"):
        cold_users_split(log, catalogue([100]))
    with pytest.raises(ValueError, match="validation"):
        make_split(log, "cold-users", validation_fraction=0.1, catalogue=catalogue([], [1]))


def test_cold_users_are_held_out_whole_and_unknown_to_the_model() -> None:
    log = _timed_log()
    profiles = catalogue([], list(range(1, 9)))  # users 9 and 10 have no profile
    split = cold_users_split(log, profiles, test_fraction=0.5, seed=3)
    held = set(split.test["user_id"].to_list())
    assert len(held) == split.params["held_out_users"] == 4
    assert held <= set(range(1, 9))
    assert not held & set(split.train["user_id"].to_list())
    assert split.train.height + split.test.height == log.height
    for user in held:  # all of a held-out user's events test
        assert (
            split.test.filter(pl.col("user_id") == user).height
            == log.filter(pl.col("user_id") == user).height
        )
    trained = fit_split(split.train, tiny_settings(), "als")
    assert not trained.users.contains(np.array(sorted(held))).any()
    again = cold_users_split(log, profiles, test_fraction=0.5, seed=3)
    assert set(again.test["user_id"].to_list()) == held
    other = cold_users_split(log, profiles, test_fraction=0.5, seed=4)
    assert set(other.test["user_id"].to_list()) != held


def test_cold_users_need_two_redirected_jobs() -> None:
    log = events([(1, 10, True, 0), (1, 11, True, 1), (2, 10, True, 0), (2, 10, True, 2)])
    split = cold_users_split(log, catalogue([], [1, 2]), test_fraction=1.0)
    assert set(split.test["user_id"].to_list()) == {1}  # user 2 redirected to one job only
    with pytest.raises(EvaluationError, match="no user to hold out"):
        cold_users_split(log, catalogue([], [2]), test_fraction=1.0)


# --- intervals and the report -------------------------------------------------------------------


def test_paired_bootstrap_is_seeded_and_centred_on_the_mean_difference() -> None:
    rng = np.random.default_rng(0)
    reference = rng.random(500)
    ours = reference + 0.1 + rng.normal(0, 0.01, 500)
    interval = paired_bootstrap(ours, reference, seed=1)
    assert interval.low < interval.mean < interval.high
    assert interval.low > 0.09 and interval.high < 0.11
    assert paired_bootstrap(ours, reference, seed=1) == interval
    same = paired_bootstrap(reference, reference)
    assert (same.mean, same.low, same.high) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="aligned"):
        paired_bootstrap(ours[:3], reference)


def test_comparisons_pair_each_model_with_the_first(planted: Split) -> None:
    results, _ = evaluate_models(
        planted, ["popular", "als"], tiny_settings(), [10], catalogue=catalogue(LISTED)
    )
    rows = comparisons(results, seed=0)
    assert {(r["model"], r["reference"]) for r in rows} == {("als", "popular")}
    assert {r["segment"] for r in rows} == {
        "cold jobs",
        "warm jobs",
        "history 0",
        "history 1",
        "history 5+",
    }
    document = build_report("d", {"kind": "time"}, {}, results, {}, comparisons=rows)
    assert {r["segment"] for r in document["segments"]} <= set(SEGMENTS)
    text = all_tables(document)
    assert "| history 0 | 1 | popular | 10 |" in text
    assert "als - popular" in text


# --- the command end to end ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cold") / "data"
    generate_demo_data(out, seed=2, scale=0.03)
    return out


@pytest.mark.parametrize("split", ["cold-jobs", "cold-users"])
def test_cli_evaluates_the_cold_splits(
    demo: Path, tmp_path: Path, split: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOMMENDER_CONTENT__ENABLED", "false")  # collaborative: before content
    out = tmp_path / "reports"
    args = ["-q", "evaluate", "--data", str(demo), "--split", split]
    assert main([*args, "--models", "popular,als", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["split"]["kind"] == split
    assert report["settings"]["catalogue_jobs"] > 0
    assert report["settings"]["catalogue_users"] > 0
    segments = {(r["model"], r["segment"]) for r in report["segments"]}
    assert ("als", "history 0") in segments
    assert {r["model"] for r in report["comparisons"]} == {"als"}
    if split == "cold-jobs":
        assert report["test_set"]["cold_job_clicks"] > 0
        assert report["results"]  # the warm table too, from the same run
        cold = [r for r in report["segments"] if r["segment"] == "cold jobs"]
        assert all(r["hit_rate"] == 0.0 for r in cold)  # collaborative models: before content
    else:
        assert report["results"] == []
        assert report["split"]["held_out_users"] > 0
        assert "No warm test user" in (out / "report.md").read_text()


def test_cli_reads_a_catalogue_given_elsewhere(demo: Path, tmp_path: Path) -> None:
    data = tmp_path / "log"
    data.mkdir()
    shutil.copy(demo / "activities.jsonl", data)
    args = ["-q", "evaluate", "--data", str(data), "--split", "cold-jobs", "--models", "popular"]
    assert main([*args, "--out", str(tmp_path / "r")]) == 1  # no jobs.jsonl beside the log
    listed = ["--jobs", str(demo / "jobs.jsonl"), "--out", str(tmp_path / "r")]
    assert main([*args, *listed]) == 0
    missing = write_jsonl(tmp_path / "x" / "jobs.jsonl", []).with_name("none.jsonl")
    assert main([*args, "--jobs", str(missing)]) == 1


def test_the_log_reads_its_catalogue_only_when_asked(demo: Path) -> None:
    assert not load_log(demo).catalogue.has_jobs()
    log = load_log(demo, with_catalogue=True)
    assert log.catalogue.jobs.height == log.catalogue_jobs > 0
    assert log.catalogue.users.height > 0
    assert "attributes" in log.catalogue.jobs.columns  # read as training reads it
    assert log.events.columns == load_log(demo).events.columns  # and no event comes from it
    assert log.events.height == load_log(demo).events.height
