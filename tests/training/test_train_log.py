"""``train_log``: any interaction log, read as ``evaluate`` reads it, trained as a directory is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recommender.bundle.files import load_bundle
from recommender.data.funnel import implicit_score
from recommender.data.interactions import ColumnMapping
from recommender.data.pair_counts import score_activities
from recommender.errors import InvalidDataError
from recommender.evaluation.dataset import load_log
from recommender.events import Event, SQLiteEventStore
from recommender.training.run import train_directory, train_log
from tests.conftest import WriteJsonl, block_activities, block_csv, tiny_settings

CLICKS = ColumnMapping(user_col="user", item_col="item", weight_col="clicks")


def _score(trained_dir: Path, user: int, job: int) -> float:
    trained = load_bundle(trained_dir)
    row = trained.users.rows(np.array([user]), missing="error")[0]
    col = trained.jobs.rows(np.array([job]), missing="error")[0]
    return float(trained.interactions[row, col])


def test_a_csv_log_trains_the_block_model_and_records_its_source(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    path = block_csv(tmp_path / "logs" / "clicks.csv")

    result = train_log(settings, path, CLICKS)

    trained = result.trained
    assert (len(trained.users), len(trained.jobs)) == (12, 10)
    data = trained.manifest.data_dict()
    assert data["source"] == str(path)
    assert data["mapping"] == {
        "user_col": "user",
        "item_col": "item",
        "weight_col": "clicks",
        "time_col": None,
        "type_col": None,
        "sep": None,
        "has_header": True,
    }
    assert data["activity_lines"] == 48
    assert len(data["fingerprint"]) == 32
    assert load_bundle(settings.model_dir).manifest.version == result.bundle_dir.name


@pytest.mark.parametrize(
    ("rows", "mapping", "impressions", "redirects"),
    [
        ("u,i,n\n1,10,4\n2,11,1\n", ColumnMapping("u", "i", weight_col="n"), 0, 4),
        (
            "u,i,n,t\n1,10,3,redirect\n1,10,2,impression\n1,10,1,impression\n2,11,1,redirect\n",
            ColumnMapping("u", "i", weight_col="n", type_col="t"),
            3,
            3,
        ),
        (
            "u,i,n,t\n1,10,7,impression\n2,11,1,redirect\n",
            ColumnMapping("u", "i", weight_col="n", type_col="t"),
            7,
            0,
        ),
    ],
    ids=["default-type", "typed", "impressions-only"],
)
def test_a_weight_counts_as_that_many_lines_of_its_type(
    tmp_path: Path, rows: str, mapping: ColumnMapping, impressions: int, redirects: int
) -> None:
    path = tmp_path / "log.csv"
    path.write_text(rows)
    result = train_log(tiny_settings(tmp_path), path, mapping)
    expected = implicit_score(impressions, redirects)
    assert _score(result.bundle_dir.parent, 1, 10) == expected
    # exactly what evaluate scores for the same rows
    pairs = score_activities(load_log(path, mapping).events)
    assert pairs.scores[(pairs.user_ids == 1) & (pairs.job_ids == 10)].tolist() == [expected]


def test_a_tsv_without_a_header_is_read_by_position(tmp_path: Path) -> None:
    path = block_csv(tmp_path / "u.data", sep="\t", header=False)
    mapping = ColumnMapping("1", "2", weight_col="3", sep="\t", has_header=False)
    result = train_log(tiny_settings(tmp_path), path, mapping)
    assert (len(result.trained.users), len(result.trained.jobs)) == (12, 10)


def test_parquet(tmp_path: Path) -> None:
    csv = block_csv(tmp_path / "clicks.csv")
    path = tmp_path / "clicks.parquet"
    pl.read_csv(csv).write_parquet(path)
    result = train_log(tiny_settings(tmp_path), path, CLICKS)
    assert result.trained.manifest.counts.interactions == 48


def test_a_bad_row_is_named_with_file_line_and_column(tmp_path: Path) -> None:
    path = block_csv(tmp_path / "clicks.csv")
    with path.open("a") as handle:
        handle.write("100,x,1\n")
    with pytest.raises(InvalidDataError, match=rf"{path}:50: field 'item': expected an integer"):
        train_log(tiny_settings(tmp_path), path, CLICKS)
    result = train_log(tiny_settings(tmp_path), path, CLICKS, skip_invalid=True)
    assert result.reports[0].skipped == 1


def test_the_window_applies_to_the_time_column(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    old = int((now - timedelta(days=400)).timestamp())
    recent = (now - timedelta(days=3)).isoformat()
    path = tmp_path / "log.csv"
    path.write_text(f"u,i,n,t\n1,10,2,{old}\n2,10,1,{recent}\n3,11,1,{recent}\n")
    mapping = ColumnMapping("u", "i", weight_col="n", time_col="t")

    result = train_log(tiny_settings(tmp_path), path, mapping, window=timedelta(days=90))

    assert sorted(result.trained.users.ids.tolist()) == [2, 3]
    data = result.trained.manifest.data_dict()
    assert data["window_days"] == 90
    assert data["window_dropped_lines"] == 2  # the weight of the row left out


def test_the_event_store_and_the_catalogue_beside_the_log_are_read(
    tmp_path: Path, jsonl: WriteJsonl
) -> None:
    settings = tiny_settings(tmp_path)
    path = block_csv(tmp_path / "logs" / "clicks.csv")
    jsonl(tmp_path / "logs" / "jobs.jsonl", [{"job_id": 1000, "description": "x"}])
    store = SQLiteEventStore(settings.events_file)
    store.append([Event(999, 1000, "redirect")])
    store.close()

    result = train_log(settings, path, CLICKS)

    assert 999 in result.trained.users
    data = result.trained.manifest.data_dict()
    assert (data["event_lines"], data["events_through"], data["catalogue_jobs"]) == (1, 1, 1)


def test_same_log_same_bundle_arrays(tmp_path: Path) -> None:
    path = block_csv(tmp_path / "clicks.csv")
    first = train_log(tiny_settings(tmp_path), path, CLICKS).trained.manifest
    second = train_log(tiny_settings(tmp_path), path, CLICKS).trained.manifest
    assert first.version != second.version
    assert first.files == second.files  # every array's SHA-256


def test_a_directory_is_not_a_log(tmp_path: Path, jsonl: WriteJsonl) -> None:
    settings = tiny_settings(tmp_path)
    jsonl(settings.data_dir / "activities.jsonl", block_activities())
    with pytest.raises(InvalidDataError, match="a directory, not a log file"):
        train_log(settings, settings.data_dir, CLICKS)
    # the directory itself trains as before, with no source or mapping recorded
    data = train_directory(settings).trained.manifest.data_dict()
    assert "source" not in data and "mapping" not in data
