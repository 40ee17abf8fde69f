"""``select``: tune each candidate on a validation split, pick the best, feed ``train``."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from recommender.bundle.files import load_bundle
from recommender.cli import main
from recommender.data.interactions import ColumnMapping
from recommender.evaluation.dataset import load_log
from recommender.evaluation.selection import Candidate, Selection, select_model, validation_split
from recommender.evaluation.tuning import Trial, write_env
from recommender.settings import Settings
from tests.evaluation.conftest import MAPPING


def _select(block_log: Path, models: list[str], seed: int = 0) -> Selection:
    from recommender.data.interactions import ColumnMapping

    mapping = ColumnMapping(user_col="user", item_col="item", time_col="time")
    split = validation_split(load_log(block_log, mapping).events, "time")
    settings = Settings(seed=seed, train_threads=1)
    return select_model(split, settings, models, budget=3, seed=seed)


def test_selection_picks_the_planted_best_over_popularity(block_log: Path) -> None:
    result = _select(block_log, ["popular", "ease", "itemknn"])

    assert result.winner.model in {"ease", "itemknn"}
    by_model = {c.model: c.best.metrics[10]["ndcg"] for c in result.candidates}
    assert by_model[result.winner.model] > by_model["popular"] + 0.1
    assert [len(c.trials) for c in result.candidates] == [1, 3, 3]
    assert result.split.validation is None  # no test part: the "test" events validate
    assert result.split.test.height > 0


def test_the_same_data_and_seed_give_the_same_trials_and_winner(block_log: Path) -> None:
    first, second = (_select(block_log, ["als", "ease"], seed=7) for _ in range(2))

    def trials(result: Selection) -> list[tuple[str, dict[str, object], float]]:
        return [
            (c.model, t.params, t.metrics[10]["ndcg"]) for c in result.candidates for t in c.trials
        ]

    assert trials(first) == trials(second)
    assert first.winner.model == second.winner.model


def test_an_unknown_model_is_a_clear_error(
    block_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match=r"unknown model.*'nope'.*choose from"):
        _select(block_log, ["ease", "nope"])
    with pytest.raises(SystemExit) as exited:
        main(["-q", "select", "--data", str(block_log), *MAPPING, "--models", "ease,nope"])
    assert exited.value.code == 2
    assert "unknown nope; choose from" in capsys.readouterr().err


def test_write_env_sets_the_model_line_and_keeps_other_lines(tmp_path: Path) -> None:
    env = tmp_path / "chosen.env"
    env.write_text("RECOMMENDER_MODEL=als\nRECOMMENDER_SEED=4\n")

    write_env(env, {"regularization": 50.0}, "ease", set_model=True)
    write_env(env, {}, "popular", set_model=True)

    assert env.read_text().splitlines() == [
        "RECOMMENDER_SEED=4",
        "RECOMMENDER_EASE__REGULARIZATION=50.0",
        "RECOMMENDER_MODEL=popular",
    ]


def test_the_env_file_select_writes_makes_train_serve_the_winner(
    block_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / "selected.env"
    args = ["-q", "select", "--data", str(block_log), *MAPPING, "--models", "popular,ease"]

    assert main([*args, "--budget", "2", "--write-env", str(env)]) == 0

    out = capsys.readouterr().out
    assert "| model | settings | ndcg@10 | seconds | |" in out
    assert "best model: ease (regularization=" in out
    assert "served: ease (ease; similar jobs by ease)" in out
    assert "RECOMMENDER_MODEL=ease" in env.read_text()
    train = ["--env-file", str(env), "-q", "train", "--data", str(block_log), *MAPPING]
    assert main([*train, "--out", str(tmp_path / "models")]) == 0
    manifest = load_bundle(tmp_path / "models").manifest
    assert manifest.model.kind == "ease"
    chosen = next(line for line in env.read_text().splitlines() if "EASE__REGULARIZATION" in line)
    assert manifest.model.params["regularization"] == float(chosen.split("=")[1])


def test_the_last_split_validates_on_each_users_last_job(block_log: Path) -> None:
    from recommender.data.interactions import ColumnMapping

    mapping = ColumnMapping(user_col="user", item_col="item", time_col="time")
    events = load_log(block_log, mapping).events
    split = validation_split(events, "last")

    last = events.sort("timestamp").group_by("user_id").agg(pl.col("job_id").last())
    held = split.test.select("user_id", "job_id")
    assert held.sort("user_id").equals(last.sort("user_id"))
    assert split.train.height + held.height == events.height


def test_the_coordinate_search_climbs_to_the_best_of_a_separable_space() -> None:
    from recommender.evaluation.tuning import _coordinate_search

    space = {"a": [1, 2, 3, 4, 5], "b": [10, 20, 30, 40, 50]}
    runs: list[dict[str, int]] = []
    best: list[dict[str, int]] = []

    def run(params: dict[str, int]) -> None:
        runs.append(params)
        score = -((params["a"] - 4) ** 2) - (params["b"] / 10 - 2) ** 2
        if not best or score > -((best[0]["a"] - 4) ** 2) - (best[0]["b"] / 10 - 2) ** 2:
            best[:] = [params]

    _coordinate_search(space, 20, run, lambda: best[0])
    assert runs[0] == {"a": 3, "b": 30}  # the middle of the space
    assert best[0] == {"a": 4, "b": 20}
    assert len(runs) < 10 and len({tuple(sorted(r.items())) for r in runs}) == len(runs)

    runs.clear()
    best.clear()
    _coordinate_search(space, 3, run, lambda: best[0])
    assert len(runs) == 3


def test_blend_weightings_sum_to_one_and_never_leave_one_model_alone() -> None:
    from recommender.evaluation.blending import weight_grid

    for n, size in ((2, 9), (3, 3 * 9 + 6)):
        grid = weight_grid(n)
        assert len(grid) == size == len(set(grid))
        assert all(abs(sum(w) - 1) < 1e-9 and sum(x > 0 for x in w) >= 2 for w in grid)


def _candidate(model: str, params: dict[str, object], score: float) -> Candidate:
    trial = Trial(params, {10: {"ndcg": score}}, 0.1)
    return Candidate(model, [trial], trial)


def test_served_settings_train_the_blend_with_each_components_settings(block_log: Path) -> None:
    from recommender.evaluation.selection import Served, served_settings

    candidates = [
        _candidate("ease", {"regularization": 70.0}, 0.3),
        _candidate("itemknn", {"neighbours": 9}, 0.2),
        _candidate("rp3beta", {"alpha": 0.5, "beta": 0.25, "neighbours": 7}, 0.1),
    ]
    split = validation_split(
        load_log(block_log, ColumnMapping("user", "item", time_col="time")).events
    )
    blend = Served(("ease", "itemknn"), (0.6, 0.4), "rp3beta", 0.35)
    selection = Selection(candidates, candidates[0], "ndcg", 10, split, blend)

    chosen = served_settings(selection, Settings())

    assert chosen.model == "blend"
    assert chosen.blend.components == ("ease", "itemknn", "rp3beta")
    assert chosen.blend.weights == (0.6, 0.4, 0.0)
    assert chosen.blend.similar == "rp3beta"
    assert (chosen.ease.regularization, chosen.itemknn.neighbours) == (70.0, 9)
    assert (chosen.rp3beta.alpha, chosen.rp3beta.beta, chosen.rp3beta.neighbours) == (0.5, 0.25, 7)

    single = Served(("ease",), (1.0,), "ease", 0.3)
    chosen = served_settings(
        Selection(candidates, candidates[0], "ndcg", 10, split, single),
        Settings(),
    )
    assert (chosen.model, chosen.ease.regularization) == ("ease", 70.0)


def test_the_env_file_of_a_blend_reads_back_as_the_same_settings(tmp_path: Path) -> None:
    from recommender.evaluation.tuning import write_settings_env
    from recommender.models.blend import BlendParams

    base = Settings()
    blend = BlendParams(components=("ease", "itemknn"), weights=(0.7, 0.3), similar="itemknn")
    chosen = base.model_copy(
        update={
            "model": "blend",
            "blend": blend,
            "ease": base.ease.model_copy(update={"regularization": 123.0}),
        }
    )
    env = tmp_path / "blend.env"
    write_settings_env(env, chosen, base)

    lines = env.read_text().splitlines()
    assert 'RECOMMENDER_BLEND__COMPONENTS=["ease", "itemknn"]' in lines
    read = Settings(_env_file=env)  # type: ignore[call-arg]
    assert (read.model, read.blend, read.ease.regularization) == ("blend", blend, 123.0)
