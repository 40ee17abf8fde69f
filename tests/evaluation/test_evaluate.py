"""The evaluation protocol end to end: models on a split, tuning, the CLI's three reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recommender.cli import main
from recommender.data.demo import generate_demo_data
from recommender.evaluation.dataset import load_log
from recommender.evaluation.runner import METRICS, evaluate_models
from recommender.evaluation.splits import time_split
from recommender.evaluation.tuning import (
    SPACES,
    SPARK_SPACE,
    candidates,
    settings_field,
    tune,
    with_params,
    write_env,
)
from recommender.models.als import ALSParams
from recommender.settings import Settings


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("eval") / "data"
    generate_demo_data(out, seed=1, scale=0.03)
    return out


def _settings() -> Settings:
    return Settings(als=ALSParams(factors=16, iterations=5), seed=3, train_threads=1)


def test_models_are_measured_on_warm_held_out_redirects(demo: Path) -> None:
    log = load_log(demo)
    split = time_split(log.events, test_fraction=0.2)
    results, counts = evaluate_models(split, ["popular", "als"], _settings(), [5, 10])
    assert [r.model for r in results] == ["popular", "als"]
    assert counts["warm_pairs"] > 0
    assert (
        counts["warm_pairs"]
        + counts["cold_user_pairs"]
        + counts["cold_job_pairs"]
        + counts["already_redirected_pairs"]
        == counts["test_pairs"]
    )
    for result in results:
        for k in (5, 10):
            assert set(result.metrics[k]) == set(METRICS)
            assert 0 <= result.metrics[k]["precision"] <= 1
            assert 0 <= result.metrics[k]["mpr"] <= 1
        assert result.metrics[10]["recall"] >= result.metrics[5]["recall"]
    # the latent sector structure is learnable: ALS beats popularity on the demo data
    assert results[1].metrics[10]["ndcg"] > results[0].metrics[10]["ndcg"]


def test_the_same_evaluation_twice_gives_identical_numbers(demo: Path) -> None:
    log = load_log(demo)
    split = time_split(log.events)
    first, _ = evaluate_models(split, ["als", "popular"], _settings(), [10])
    second, _ = evaluate_models(split, ["als", "popular"], _settings(), [10])
    assert [r.metrics for r in first] == [r.metrics for r in second]


def test_tuning_on_a_tiny_grid_selects_on_validation(demo: Path, tmp_path: Path) -> None:
    log = load_log(demo)
    split = time_split(log.events, test_fraction=0.2, validation_fraction=0.1)
    space = {"factors": [4, 16], "regularization": [0.1], "iterations": [3], "alpha": [1]}
    seen = []
    result = tune(
        split,
        _settings(),
        space=space,
        search="grid",
        budget=None,
        progress=lambda t, b: seen.append(t),
    )
    assert len(result.trials) == len(seen) == 2
    assert result.best == max(result.trials, key=lambda t: t.metrics[10]["ndcg"])
    assert [r.model for r in result.test] == ["popular", "als"]
    env = tmp_path / ".env"
    env.write_text("OTHER=1\nRECOMMENDER_ALS__FACTORS=999\n")
    write_env(env, result.best.params)
    text = env.read_text()
    assert "OTHER=1" in text
    assert f"RECOMMENDER_ALS__FACTORS={result.best.params['factors']}" in text
    assert "999" not in text


def test_als_search_tries_the_frequency_scaled_ridge() -> None:
    """ν = 0 (implicit's plain ridge) first, so the coordinate search can step between them."""
    assert SPACES["als"]["regularization_exponent"] == [0.0, 0.5]
    assert "regularization_exponent" not in SPARK_SPACE  # Spark's ALS refuses ν > 0


def test_candidates_are_deterministic_and_within_budget() -> None:
    space = {"a": [1, 2, 3], "b": [1, 2]}
    assert len(candidates(space, "grid", None, 0)) == 6
    assert candidates(space, "random", 4, 7) == candidates(space, "random", 4, 7)
    assert len(candidates(space, "random", 4, 7)) == 4
    assert candidates(space, "random", 4, 7) != candidates(space, "random", 4, 8)


def test_cli_evaluate_writes_its_three_report_files(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    code = main(
        [
            "-q",
            "evaluate",
            "--data",
            str(demo),
            "--models",
            "popular,als",
            "--k",
            "5,10",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert {"dataset", "split", "settings", "results"} <= set(report)
    assert {r["model"] for r in report["results"]} == {"popular", "als"}
    assert {r["k"] for r in report["results"]} == {5, 10}
    row = report["results"][0]
    assert {*METRICS, "model", "k", "train_seconds", "score_seconds"} <= set(row)
    assert "| model | k |" in (out / "report.md").read_text()
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_evaluate_reads_a_mapped_csv(tmp_path: Path) -> None:
    rows = ["u,i,r,t"] + [
        f"{u},{(u * 7 + j) % 40},{1 + j % 5},{1000 + u * 50 + j}"
        for u in range(60)
        for j in range(12)
    ]
    (tmp_path / "log.csv").write_text("\n".join(rows) + "\n")
    args = [
        "-q",
        "evaluate",
        "--data",
        str(tmp_path / "log.csv"),
        "--user-col",
        "u",
        "--item-col",
        "i",
    ]
    args += [
        "--weight-col",
        "r",
        "--time-col",
        "t",
        "--models",
        "popular",
        "--out",
        str(tmp_path / "r"),
    ]
    assert main(args) == 0
    assert (
        json.loads((tmp_path / "r" / "report.json").read_text())["results"][0]["model"] == "popular"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--models", "als,foo"],
        ["--test-fraction", "1.5"],
        ["--test-fraction", "0"],
        ["--last-k", "0"],
        ["--k", "0"],
        ["--window", "ninety days"],
    ],
    ids=["model", "fraction>1", "fraction0", "last-k", "k", "window"],
)
def test_cli_refuses_bad_options_with_a_usage_error(
    demo: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["-q", "evaluate", "--data", str(demo), *args])
    assert caught.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_cli_tune_refuses_an_unknown_metric_and_zero_budget(demo: Path) -> None:
    for args in (["--metric", "popularity_bias"], ["--budget", "0"]):
        with pytest.raises(SystemExit) as caught:
            main(["-q", "tune", "--data", str(demo), *args])
        assert caught.value.code == 2


def test_cli_reports_invalid_settings_in_one_line(
    demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECOMMENDER_ALS__FACTORS", "abc")
    assert main(["-q", "evaluate", "--data", str(demo), "--models", "als"]) == 2
    assert "invalid settings: als.factors" in capsys.readouterr().err


def test_an_evaluation_with_no_warm_user_is_an_error(
    demo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["-q", "evaluate", "--data", str(demo), "--models", "popular", "--out", str(tmp_path)]
    assert main([*args, "--test-fraction", "0.00001"]) == 1
    assert "nothing to evaluate" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("model", "space", "key"),
    [
        ("ease", {"regularization": [5, 5000]}, "RECOMMENDER_EASE__REGULARIZATION"),
        ("rp3beta", {"alpha": [0.5, 1], "beta": [0.0]}, "RECOMMENDER_RP3BETA__ALPHA"),
        ("itemknn-bm25", {"neighbours": [5.0, 50]}, "RECOMMENDER_ITEMKNN__NEIGHBOURS"),
    ],
    ids=["ease", "rp3beta", "itemknn-bm25"],
)
def test_any_model_with_hyper_parameters_can_be_tuned(
    demo: Path, tmp_path: Path, model: str, space: dict[str, list[float]], key: str
) -> None:
    split = time_split(load_log(demo).events, test_fraction=0.2, validation_fraction=0.1)
    result = tune(split, _settings(), model=model, space=space, search="grid", budget=None)
    assert len(result.trials) == 2
    assert result.best == max(result.trials, key=lambda t: t.metrics[10]["ndcg"])
    assert [r.model for r in result.test] == ["popular", model]
    defaults = getattr(_settings(), settings_field(model))
    for name, value in result.trials[0].params.items():  # validated into the Params' own types
        assert type(value) is type(getattr(defaults, name))  # 5.0 neighbours become 5
    env = tmp_path / ".env"
    write_env(env, result.best.params, model)
    assert key in env.read_text()


def test_a_model_without_hyper_parameters_is_refused() -> None:
    with pytest.raises(ValueError, match="'popular' has no hyper-parameters to tune"):
        with_params(_settings(), "popular", {"x": 1})
