from __future__ import annotations

from pathlib import Path

import pytest

from recommender.bundle.directory import list_bundles, set_current
from recommender.bundle.files import load_bundle
from recommender.cli import main
from recommender.settings import get_settings
from tests.conftest import WriteJsonl, block_activities


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
