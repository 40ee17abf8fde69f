"""Times in the input files: a byte order mark at the start of ``activities.jsonl``, epoch
milliseconds where seconds are read, and activity dated further ahead than the event API takes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recommender.data.interactions import ColumnMapping, read_interactions
from recommender.data.pair_counts import read_activity_counts
from recommender.data.readers import read_activities, read_jobs
from recommender.errors import InvalidDataError

BOM = b"\xef\xbb\xbf"
LINES = [
    {"user_id": 1, "job_id": 10, "type": "impression", "timestamp": 1704103200},
    {"user_id": 1, "job_id": 10, "type": "redirect"},
    {"user_id": 2, "job_id": 11, "type": "impression", "timestamp": "2024-01-02T00:00:00Z"},
]


def _write(path: Path, records: list[dict[str, object]], prefix: bytes = b"") -> Path:
    path.write_bytes(prefix + "".join(json.dumps(r) + "\n" for r in records).encode())
    return path


def test_a_byte_order_mark_is_read_past_as_the_csv_readers_do(tmp_path: Path) -> None:
    plain = _write(tmp_path / "plain.jsonl", LINES)
    marked = _write(tmp_path / "activities.jsonl", LINES, prefix=BOM)
    assert read_activities(marked)[0].equals(read_activities(plain)[0])
    counts, report, _ = read_activity_counts(marked)
    assert counts.sort("user_id", "job_id").equals(
        read_activity_counts(plain)[0].sort("user_id", "job_id")
    )
    assert (report.lines, report.records) == (3, 3)


@pytest.mark.parametrize("value", [1704103200000, 1.7041032e12, -1704103200000])
def test_epoch_milliseconds_are_refused_naming_file_line_field_and_value(
    tmp_path: Path, value: float
) -> None:
    jobs = _write(
        tmp_path / "jobs.jsonl",
        [
            {"job_id": 1, "description": "a", "expires_at": 1704103200},
            {"job_id": 2, "description": "b", "expires_at": value},
        ],
    )
    with pytest.raises(InvalidDataError, match="milliseconds") as error:
        read_jobs(jobs)
    assert (error.value.path, error.value.line, error.value.field) == (str(jobs), 2, "expires_at")
    assert str(int(value)) in str(error.value) or str(value) in str(error.value)


def test_activity_more_than_two_days_ahead_is_refused_or_skipped_as_the_event_api_does(
    tmp_path: Path,
) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=40)).isoformat()
    later = (datetime.now(UTC) + timedelta(days=400)).timestamp()
    records = [
        *LINES,
        {"user_id": 3, "job_id": 12, "type": "impression", "timestamp": soon},
        {"user_id": 3, "job_id": 13, "type": "redirect", "timestamp": later},
    ]
    path = _write(tmp_path / "activities.jsonl", records)
    for read in (read_activities, read_activity_counts):
        with pytest.raises(InvalidDataError, match="more than 2 days ahead of now") as error:
            read(path)
        assert (error.value.line, error.value.field) == (5, "timestamp")
    frame, report = read_activities(path, skip_invalid=True)
    assert (frame.height, report.skipped) == (4, 1)
    counts, report, _ = read_activity_counts(path, skip_invalid=True)
    assert (int(counts["impressions"].sum() + counts["redirects"].sum()), report.skipped) == (4, 1)


def test_jobs_may_expire_far_ahead(tmp_path: Path) -> None:
    jobs = _write(
        tmp_path / "jobs.jsonl",
        [{"job_id": 1, "description": "a", "expires_at": "2999-01-01T00:00:00Z"}],
    )
    assert read_jobs(jobs)[0]["expires_at"].dt.year().to_list() == [2999]


def test_a_log_file_applies_the_same_rule_to_its_times(tmp_path: Path) -> None:
    ahead = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    mapping = ColumnMapping(
        user_col="user_id", item_col="job_id", type_col="type", time_col="timestamp"
    )
    log = tmp_path / "clicks.csv"
    log.write_text(
        f"user_id,job_id,type,timestamp\n1,10,redirect,2024-01-01\n2,11,redirect,{ahead}\n"
    )
    with pytest.raises(InvalidDataError, match="more than 2 days ahead of now") as error:
        read_interactions(log, mapping)
    assert error.value.line == 3
