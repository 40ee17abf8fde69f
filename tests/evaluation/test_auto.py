"""``train``'s model selection (``RECOMMENDER_MODEL=auto``): what it serves, when it steps aside,
and that it is the same twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recommender.bundle.files import load_bundle
from recommender.cli import main
from recommender.data.interactions import ColumnMapping
from recommender.evaluation.auto import AutoSelector, sample_users
from recommender.evaluation.dataset import load_log
from recommender.settings import SelectionParams, Settings
from recommender.training.run import LogSpec, train_log
from tests.evaluation.conftest import MAPPING

CLICKS = ColumnMapping(user_col="user", item_col="item", time_col="time")


def _settings(tmp_path: Path, **selection: Any) -> Settings:
    params = {"candidates": ("popular", "ease", "itemknn"), "budget": 2, "budgets": {}}
    return Settings(
        seed=3,
        train_threads=1,
        model_dir=tmp_path / "models",
        data_dir=tmp_path / "data",
        selection=SelectionParams(**(params | selection)),
    )


def test_selection_serves_an_item_item_model_over_popularity_and_records_why(
    block_log: Path, tmp_path: Path
) -> None:
    choice = AutoSelector()(LogSpec(block_log, CLICKS), _settings(tmp_path))

    info = choice.info
    served = info["served"]
    assert choice.settings.model == served["model"]
    assert set(served["components"]) <= {"ease", "itemknn"}
    scores = {c["model"]: c["best"]["score"] for c in info["candidates"]}
    assert served["validation_score"] >= max(scores["ease"], scores["itemknn"])
    assert served["validation_score"] > scores["popular"] + 0.1
    assert [len(c["trials"]) for c in info["candidates"]] == [1, 2, 2]
    assert info["similar"]["model"] in {"ease", "itemknn"}  # popularity answers no similar jobs
    assert set(info["similar"]["next_job_hit_rate@10"]) == {"ease", "itemknn"}
    assert info["metric"] == "ndcg@10"
    assert info["validation"]["validation_events"] > 0


def test_a_log_over_the_size_bound_trains_the_fallback_with_the_reason(
    block_log: Path, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, max_log_bytes=10, fallback="itemknn")

    choice = AutoSelector()(LogSpec(block_log, CLICKS), settings)

    assert choice.settings.model == "itemknn"
    assert "over selection.max_log_bytes" in choice.info["skipped"]


def test_a_log_without_times_trains_the_fallback_with_the_reason(tmp_path: Path) -> None:
    log = tmp_path / "clicks.csv"
    log.write_text("user,item\n" + "".join(f"{u},{u % 4}\n" for u in range(40)))

    choice = AutoSelector()(LogSpec(log, ColumnMapping("user", "item")), _settings(tmp_path))

    assert choice.settings.model == "als"
    assert choice.info["skipped"].startswith("no validation split: ")
    assert "timestamp" in choice.info["skipped"]


def test_sampling_keeps_whole_histories_of_a_seeded_set_of_users(block_log: Path) -> None:
    events = load_log(block_log, CLICKS).events

    kept, info = sample_users(events, 40, seed=1)
    again, _ = sample_users(events, 40, seed=1)
    other, _ = sample_users(events, 40, seed=2)

    assert kept.equals(again)
    assert not kept.equals(other)
    assert 40 <= kept.height < 40 + 6  # whole histories: one user past the target at most
    sizes = events.group_by("user_id").len()
    kept_sizes = kept.group_by("user_id").len()
    assert kept_sizes.join(sizes, on="user_id")["len"].equals(
        kept_sizes.join(sizes, on="user_id")["len_right"]
    )
    assert info == {
        "events": events.height,
        "users": sizes.height,
        "sampled_events": kept.height,
        "sampled_users": kept_sizes.height,
    }


def test_a_sampled_selection_says_so(block_log: Path, tmp_path: Path) -> None:
    # sample_events' bound is 1000 in settings; a smaller bound exercises the path
    settings = _settings(tmp_path).model_copy(
        update={"selection": _settings(tmp_path).selection.model_copy(update={"sample_events": 90})}
    )
    choice = AutoSelector()(LogSpec(block_log, CLICKS), settings)

    assert choice.info["sampled"]["sampled_events"] < choice.info["sampled"]["events"]


def test_training_with_selection_is_the_same_twice(block_log: Path, tmp_path: Path) -> None:
    def run(out: str) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]]]:
        settings = _settings(tmp_path).model_copy(update={"model_dir": tmp_path / out})
        result = train_log(settings, block_log, CLICKS, select=AutoSelector())
        selection = result.trained.manifest.selection
        assert selection is not None
        _strip_seconds(selection)
        return selection, result.trained.model.arrays()

    first, first_arrays = run("a")
    second, second_arrays = run("b")

    assert first == second
    assert first_arrays.keys() == second_arrays.keys()
    for name, values in first_arrays.items():
        np.testing.assert_array_equal(values, second_arrays[name])


def _strip_seconds(info: Any) -> None:
    if isinstance(info, dict):
        info.pop("seconds", None)
        for value in info.values():
            _strip_seconds(value)
    elif isinstance(info, list):
        for value in info:
            _strip_seconds(value)


def test_train_selects_by_default_and_model_pins_one(
    block_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.setenv("RECOMMENDER_SELECTION__CANDIDATES", '["popular", "itemknn"]')
    monkeypatch.setenv("RECOMMENDER_SELECTION__BUDGET", "2")
    args = ["-q", "train", "--data", str(block_log), *MAPPING]

    assert main([*args, "--out", str(tmp_path / "auto")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("selected itemknn (itemknn×1; similar jobs by itemknn): ndcg@10 ")
    manifest = load_bundle(tmp_path / "auto").manifest
    assert manifest.model.kind == "itemknn"
    assert manifest.selection is not None
    assert manifest.describe()["selection"] == manifest.selection
    assert "select_seconds" in manifest.timings

    assert main([*args, "--model", "popular", "--out", str(tmp_path / "pinned")]) == 0
    assert "selected" not in capsys.readouterr().out
    pinned = load_bundle(tmp_path / "pinned").manifest
    assert pinned.model.kind == "popular"
    assert pinned.selection is None


def test_a_model_name_that_is_not_one_is_refused(
    block_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["-q", "train", "--data", str(block_log), *MAPPING, "--model", "svd"]
    assert main([*args, "--out", str(tmp_path / "m")]) != 0
    assert "unknown model 'svd'" in capsys.readouterr().err


def test_selection_candidates_are_checked_when_settings_are_read() -> None:
    with pytest.raises(ValueError, match="'spark-als' cannot be selected"):
        SelectionParams(candidates=("als", "spark-als"))
    with pytest.raises(ValueError, match="unknown fallback model 'blend'"):
        SelectionParams(fallback="blend")


def test_ease_is_skipped_on_logs_with_more_jobs_than_selection_bounds_it_to(
    block_log: Path, tmp_path: Path
) -> None:
    choice = AutoSelector()(LogSpec(block_log, CLICKS), _settings(tmp_path, ease_max_items=5))

    assert "ease" in choice.info["candidates_skipped"]
    assert "EASE fits at most 5 jobs" in choice.info["candidates_skipped"]["ease"]
    assert [c["model"] for c in choice.info["candidates"]] == ["popular", "itemknn"]
    assert choice.settings.ease.max_items == Settings().ease.max_items  # served settings kept
