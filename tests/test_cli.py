from __future__ import annotations

from pathlib import Path

import pytest

from recommender.bundle.directory import list_bundles, set_current
from recommender.bundle.files import load_bundle
from recommender.cli import main
from recommender.models.blend import BlendModel
from recommender.settings import get_settings
from tests.conftest import WriteJsonl, block_activities, block_csv


def test_train_writes_a_bundle(
    tmp_path: Path, jsonl: WriteJsonl, capsys: pytest.CaptureFixture[str]
) -> None:
    jsonl(tmp_path / "data" / "activities.jsonl", block_activities())
    code = main(["-q", "train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "m")])
    assert code == 0
    assert len(list_bundles(tmp_path / "m")) == 1
    out = capsys.readouterr().out
    assert "12 users × 10 jobs (48 pairs)" in out
    data = load_bundle(tmp_path / "m").manifest.data
    assert data.fingerprint is not None
    assert len(data.fingerprint) == 32
    assert data.activity_lines == 96


def test_train_a_blend_counts_its_components_iterations(
    tmp_path: Path,
    jsonl: WriteJsonl,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RECOMMENDER_MODEL", "blend")
    monkeypatch.setenv("RECOMMENDER_ALS__ITERATIONS", "4")
    jsonl(tmp_path / "data" / "activities.jsonl", block_activities())
    code = main(["train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "m")])
    assert code == 0
    captured = capsys.readouterr()
    assert "trained blend on 12 users × 10 jobs" in captured.out
    assert "5/5" in captured.err  # ALS's 4 iterations, then EASE's one
    model = load_bundle(tmp_path / "m").model
    assert isinstance(model, BlendModel)
    assert [component.kind for component in model.components] == ["als", "ease"]


def test_train_on_a_bad_line_exits_1_naming_file_and_line(
    tmp_path: Path, jsonl: WriteJsonl, capsys: pytest.CaptureFixture[str]
) -> None:
    records: list[object] = [
        *block_activities()[:5],
        '{"user_id": 1, "job_id": "x", "type": "redirect"}',
    ]
    path = jsonl(tmp_path / "data" / "activities.jsonl", records)
    code = main(["-q", "train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "m")])
    assert code == 1
    err = capsys.readouterr().err
    assert f"error: {path}:6: field 'job_id': expected an integer" in err
    assert list_bundles(tmp_path / "m") == []


def test_skip_invalid_trains_and_reports_the_skips(
    tmp_path: Path, jsonl: WriteJsonl, capsys: pytest.CaptureFixture[str]
) -> None:
    jsonl(tmp_path / "data" / "activities.jsonl", [*block_activities(), "garbage"])
    args = ["-q", "train", "--skip-invalid", "--data", str(tmp_path / "data")]
    assert main([*args, "--out", str(tmp_path / "m")]) == 0
    assert "1 invalid lines skipped" in capsys.readouterr().out


def test_missing_data_dir_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-q", "train", "--data", str(tmp_path / "none"), "--out", str(tmp_path)]) == 1
    assert "activities.jsonl: file not found" in capsys.readouterr().err


def test_prepare_makes_demo_data_and_a_model_only_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECOMMENDER_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("RECOMMENDER_MODEL_DIR", str(tmp_path / "m"))
    monkeypatch.setenv("RECOMMENDER_ALS__FACTORS", "4")
    monkeypatch.setenv("RECOMMENDER_ALS__ITERATIONS", "1")
    assert main(["-q", "prepare"]) == 0
    out = capsys.readouterr().out
    assert "generating demo data" in out
    assert "training" in out
    assert (tmp_path / "d" / "activities.jsonl").exists()
    assert len(list_bundles(tmp_path / "m")) == 1
    assert main(["-q", "prepare"]) == 0
    assert capsys.readouterr().out == ""
    assert len(list_bundles(tmp_path / "m")) == 1


def test_train_keeps_the_newest_bundles_and_the_one_it_replaced(
    tmp_path: Path, jsonl: WriteJsonl, monkeypatch: pytest.MonkeyPatch
) -> None:
    jsonl(tmp_path / "data" / "activities.jsonl", block_activities())
    args = ["-q", "train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "m")]
    for _ in range(3):
        assert main(args) == 0
    first, _, third = list_bundles(tmp_path / "m")
    set_current(tmp_path / "m", first)  # a rollback: the service serves the oldest

    assert main([*args, "--keep", "2"]) == 0
    fourth = list_bundles(tmp_path / "m")[-1]
    assert list_bundles(tmp_path / "m") == [first, third, fourth]

    monkeypatch.setenv("RECOMMENDER_KEEP_BUNDLES", "2")  # the setting when --keep is absent
    get_settings.cache_clear()
    assert main(args) == 0
    assert list_bundles(tmp_path / "m")[0] == fourth
    assert len(list_bundles(tmp_path / "m")) == 2


def test_keep_must_be_a_positive_integer(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--keep", "0"])
    assert "--keep: 0 is outside [1, ∞)" in capsys.readouterr().err


@pytest.fixture
def tiny_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """tests.conftest.tiny_settings, as the CLI reads it: from the environment."""
    for name, value in {
        "ALS__FACTORS": "4",
        "ALS__ITERATIONS": "15",
        "ALS__REGULARIZATION": "1.0",
        "SEED": "7",
        "TRAIN_THREADS": "1",
    }.items():
        monkeypatch.setenv(f"RECOMMENDER_{name}", value)


@pytest.mark.usefixtures("tiny_env")
def test_train_from_a_csv_log_then_serve_the_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fastapi.testclient import TestClient

    from recommender.api import create_app
    from recommender.settings import Settings

    path = block_csv(tmp_path / "clicks.csv")
    mapping = ["--user-col", "user", "--item-col", "item", "--weight-col", "clicks"]
    code = main(["-q", "train", "--data", str(path), *mapping, "--out", str(tmp_path / "m")])

    assert code == 0
    out = capsys.readouterr().out
    assert f"{path}: 48 records from 49 lines" in out
    assert "trained als on 12 users × 10 jobs (48 pairs)" in out
    app = create_app(Settings(model_dir=tmp_path / "m", data_dir=tmp_path / "data"))
    with TestClient(app) as client:
        body = client.post("/recommend/jobs_single_user/", json={"user_id": 100, "n": 1}).json()
        assert client.get("/model").json()["data"]["source"] == str(path)
    assert body["source"] == "als"
    assert [job["job_id"] for job in body["jobs"]] == [1000]  # the one job of its block unseen


@pytest.mark.usefixtures("tiny_env")
def test_train_from_a_tsv_without_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = block_csv(tmp_path / "u.data", sep="\t", header=False)
    args = ["-q", "train", "--data", str(path), "--sep", "\\t", "--no-header"]
    args += ["--user-col", "1", "--item-col", "2", "--weight-col", "3"]
    assert main([*args, "--out", str(tmp_path / "m")]) == 0
    assert "12 users × 10 jobs (48 pairs)" in capsys.readouterr().out
    assert load_bundle(tmp_path / "m").manifest.data.mapping == {
        "user_col": "1",
        "item_col": "2",
        "weight_col": "3",
        "time_col": None,
        "type_col": None,
        "sep": "\t",
        "has_header": False,
    }


def test_a_bad_log_row_exits_1_naming_file_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "clicks.csv"
    path.write_text("user,item\n1,2\n1,x\n")
    args = ["-q", "train", "--data", str(path), "--user-col", "user", "--item-col", "item"]
    assert main([*args, "--out", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert f"error: {path}:3: field 'item': expected an integer (got 'x')" in err
    assert list_bundles(tmp_path / "m") == []


def test_a_column_mapping_with_a_data_directory_is_refused(
    tmp_path: Path, jsonl: WriteJsonl, capsys: pytest.CaptureFixture[str]
) -> None:
    jsonl(tmp_path / "data" / "activities.jsonl", block_activities())
    args = ["-q", "train", "--data", str(tmp_path / "data"), "--user-col", "a", "--item-col", "b"]
    assert main([*args, "--out", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert f"error: {tmp_path / 'data'}: a directory, not a log file" in err
    with pytest.raises(SystemExit, match="needs --user-col and --item-col"):
        main(["-q", "train", "--data", str(tmp_path / "data"), "--no-header"])
