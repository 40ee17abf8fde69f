from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from recommender.data import jsonl as jsonl_module
from recommender.data import lines as lines_module
from recommender.data.jsonl import FieldSpec, read_jsonl
from recommender.data.lines import count_lines
from recommender.data.readers import read_activities, read_jobs, read_users
from recommender.errors import InvalidDataError, MissingDataError
from tests.conftest import WriteJsonl

GOOD = {"user_id": 1, "job_id": 2, "type": "impression"}


@pytest.mark.parametrize(
    ("bad_line", "field", "reason"),
    [
        ("not json", None, "not valid JSON"),
        ('{"user_id": 1, "job_id": 2', None, "not valid JSON"),
        ("[1, 2]", None, "expected a JSON object"),
        ("5", None, "expected a JSON object"),
        ('{"job_id": 2, "type": "impression"}', "user_id", "required field is missing"),
        ('{"user_id": null, "job_id": 2, "type": "impression"}', "user_id", "missing or null"),
        ('{"user_id": "5", "job_id": 2, "type": "impression"}', "user_id", "expected an integer"),
        ('{"user_id": 5, "job_id": 2.5, "type": "impression"}', "job_id", "expected an integer"),
        ('{"user_id": 5, "job_id": 2.0, "type": "impression"}', "job_id", "expected an integer"),
        ('{"user_id": true, "job_id": 2, "type": "impression"}', "user_id", "expected an integer"),
        ('{"user_id": 1e3, "job_id": 2, "type": "impression"}', "user_id", "expected an integer"),
        (
            '{"user_id": 9223372036854775808, "job_id": 2, "type": "impression"}',
            "user_id",
            "64-bit range",
        ),
        ('{"user_id": 5, "job_id": 2, "type": "click"}', "type", "expected one of"),
        ('{"user_id": 5, "job_id": 2, "type": 1}', "type", "expected a string"),
        ('{"user_id": 5, "job_id": 2}', "type", "required field"),
        (
            '{"user_id": 5, "job_id": 2, "type": "redirect", "timestamp": "yesterday"}',
            "timestamp",
            "ISO-8601",
        ),
        (
            '{"user_id": 5, "job_id": 2, "type": "redirect", "timestamp": [1]}',
            "timestamp",
            "ISO-8601",
        ),
        (
            '{"user_id": 5, "job_id": 2, "type": "redirect", "timestamp": "infinity"}',
            "timestamp",
            "ISO-8601",
        ),
        (
            '{"user_id": 5, "job_id": 2, "type": "redirect", "timestamp": 1e300}',
            "timestamp",
            "ISO-8601",
        ),
    ],
    ids=lambda v: str(v)[:40] if v else "-",
)
def test_strict_reading_names_file_line_field_and_value(
    tmp_path: Path, jsonl: WriteJsonl, bad_line: str, field: str | None, reason: str
) -> None:
    path = jsonl(tmp_path / "activities.jsonl", [GOOD, GOOD, bad_line, GOOD])
    with pytest.raises(InvalidDataError) as caught:
        read_activities(path)
    err = caught.value
    assert err.path == str(path)
    assert err.line == 3
    assert err.field == field
    assert reason in str(err)
    assert f"{path}:3" in str(err)
    if field is not None and field in bad_line:
        assert err.value is not None


def test_skip_invalid_drops_counts_and_reports(tmp_path: Path, jsonl: WriteJsonl) -> None:
    path = jsonl(
        tmp_path / "a.jsonl",
        [GOOD, "oops", {"user_id": "x", "job_id": 1, "type": "redirect"}, GOOD, ""],
    )
    frame, report = read_activities(path, skip_invalid=True)
    assert frame.height == 2
    assert report.skipped == 2
    assert report.blank == 1
    assert [e.line for e in report.errors] == [2, 3]
    assert "2 invalid lines skipped" in report.summary()


def test_first_error_is_reported_even_across_chunks(tmp_path: Path, jsonl: WriteJsonl) -> None:
    records: list[Any] = [GOOD] * 500 + ['{"user_id": 1, "job_id": "2", "type": "impression"}']
    path = jsonl(tmp_path / "a.jsonl", records + [GOOD] * 10)
    with pytest.raises(InvalidDataError) as caught:
        read_jsonl(path, [FieldSpec("job_id", "int")], chunk_bytes=1000)
    assert caught.value.line == 501


def test_chunked_reading_keeps_every_line_in_order(tmp_path: Path, jsonl: WriteJsonl) -> None:
    records = [{"user_id": i, "job_id": i * 2, "type": "redirect"} for i in range(3000)]
    path = jsonl(tmp_path / "a.jsonl", records)
    frame, report = read_jsonl(
        path, [FieldSpec("user_id", "int")], chunk_bytes=4096, with_line=True
    )
    assert frame["user_id"].to_list() == list(range(3000))
    assert frame["line"].to_list() == list(range(1, 3001))
    assert report.lines == 3000


def test_invalid_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"user_id": 1}\n{"user_id": 2, "x": "\xff"}\n{"user_id": 3}\n')
    with pytest.raises(InvalidDataError, match=r"a\.jsonl:2: not valid UTF-8"):
        read_jsonl(path, [FieldSpec("user_id", "int")])
    frame, report = read_jsonl(path, [FieldSpec("user_id", "int")], skip_invalid=True)
    assert frame["user_id"].to_list() == [1, 3]
    assert report.skipped == 1


def test_missing_and_empty_files_get_clear_messages(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match="file not found"):
        read_activities(tmp_path / "nope.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(MissingDataError, match="no records"):
        read_activities(empty)
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n  \n\n")
    with pytest.raises(MissingDataError, match="no records"):
        read_activities(blank)


def test_all_lines_invalid_with_skip_says_so(tmp_path: Path, jsonl: WriteJsonl) -> None:
    path = jsonl(tmp_path / "a.jsonl", ["x", "y"])
    with pytest.raises(MissingDataError, match="2 invalid lines skipped"):
        read_activities(path, skip_invalid=True)


def test_timestamps_iso_and_epoch_extra_fields_crlf_and_no_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(
        b'{"user_id": 1, "job_id": 2, "type": "impression", "timestamp": "2024-01-01T10:00:00Z",'
        b' "extra": {"nested": [1, 2]}}\r\n'
        b'{"user_id": 1, "job_id": 2, "type": "redirect", "timestamp": 1704103200}\r\n'
        b'{"user_id": 1, "job_id": 3, "type": "redirect", "timestamp": "2024-01-01T12:00:00+02:00"}'
    )
    frame, _ = read_activities(path)
    assert frame.columns == ["user_id", "job_id", "is_redirect", "timestamp"]
    assert frame["is_redirect"].to_list() == [False, True, True]
    epoch = frame["timestamp"].dt.epoch("s").to_list()
    assert epoch == [1704103200, 1704103200, 1704103200]


def test_jobs_and_users_schemas(tmp_path: Path, jsonl: WriteJsonl) -> None:
    jobs = jsonl(
        tmp_path / "jobs.jsonl",
        [
            {"job_id": 1, "description": "<p>Analyst</p>", "title": "Analyst", "employer": "Acme"},
            {"job_id": 2, "description": "x", "expires_at": "2030-01-01"},
        ],
    )
    frame, _ = read_jobs(jobs)
    assert frame["job_id"].to_list() == [1, 2]
    assert frame.schema["expires_at"] == pl.Datetime("us", "UTC")
    users = jsonl(
        tmp_path / "users.jsonl",
        [{"user_id": 1, "languages": ["en", "fr"], "graduation_year": 2020}, {"user_id": 2}],
    )
    frame, _ = read_users(users)
    assert frame["languages"].to_list() == [["en", "fr"], None]
    bad = jsonl(tmp_path / "bad_users.jsonl", [{"user_id": 1, "languages": ["en", 3]}])
    with pytest.raises(InvalidDataError, match="expected a list of strings"):
        read_users(bad)
    no_desc = jsonl(tmp_path / "bad_jobs.jsonl", [{"job_id": 1}])
    with pytest.raises(InvalidDataError, match="'description'"):
        read_jobs(no_desc)


def test_repeated_ids_in_jobs_name_both_lines(tmp_path: Path, jsonl: WriteJsonl) -> None:
    path = jsonl(
        tmp_path / "jobs.jsonl",
        [
            {"job_id": 1, "description": "a"},
            {"job_id": 2, "description": "b"},
            {"job_id": 1, "description": "c"},
        ],
    )
    with pytest.raises(InvalidDataError) as caught:
        read_jobs(path)
    assert caught.value.line == 3
    assert "first given on line 1" in str(caught.value)


def test_fast_and_precise_paths_agree_on_a_clean_file(tmp_path: Path, jsonl: WriteJsonl) -> None:
    records: list[Any] = [
        {"user_id": 1, "languages": ["en"], "graduation_year": 2020, "gender": "F"},
        {"user_id": 2, "languages": [], "extra": {"x": None}},
        {"user_id": -3, "gender": None, "languages": None},
        "",
        {"user_id": 9223372036854775807, "university": "Ünïcödé \u2603"},
    ]
    path = jsonl(tmp_path / "users.jsonl", records)
    fast, fast_report = read_users(path)
    fields = [FieldSpec("user_id", "int"), FieldSpec("languages", "str_list")]
    precise, precise_report = read_jsonl(path, fields, with_line=True)
    assert precise["line"].to_list() == [1, 2, 3, 5]
    assert fast.select("user_id", "languages").equals(precise.drop("line"))
    assert fast["university"].to_list()[-1] == "Ünïcödé \u2603"
    assert (fast_report.lines, fast_report.blank) == (precise_report.lines, precise_report.blank)
    assert fast_report.lines == 5


def test_duplicate_keys_fall_back_to_the_precise_path(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"user_id": 1, "user_id": 1}\n')
    frame, _ = read_jsonl(path, [FieldSpec("user_id", "int", required=True)])
    assert frame["user_id"].to_list() == [1]


def test_a_clean_file_is_read_in_one_pass_without_the_precise_reader(
    tmp_path: Path, jsonl: WriteJsonl, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = jsonl(tmp_path / "a.jsonl", [GOOD, "", {**GOOD, "timestamp": "2026-01-01"}])
    monkeypatch.setattr(jsonl_module, "_read_precise", None)  # calling it would raise
    frame, report = read_activities(path)
    assert frame["user_id"].to_list() == [1, 1] and (report.lines, report.blank) == (3, 1)


@pytest.mark.parametrize(
    "data", [b"", b"a", b"\n", b"a\nb", b"a\nb\n", b"\n\n\n", b"ab\n" * 5 + b"x"]
)
@pytest.mark.parametrize("block", [1, 3, 1 << 20])
def test_count_lines_counts_a_last_line_without_newline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, block: int
) -> None:
    monkeypatch.setattr(lines_module, "_COUNT_BYTES", block)
    path = tmp_path / "a.txt"
    path.write_bytes(data)
    assert count_lines(path) == len(data.splitlines())
