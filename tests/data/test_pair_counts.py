"""read_activity_counts: the same lines accepted and refused as read_activities, grouped."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from recommender.data import pair_counts
from recommender.data.jsonl import LoadReport
from recommender.data.pair_counts import (
    add_pairs,
    count_pairs,
    read_activity_counts,
    total_lines,
)
from recommender.data.readers import read_activities
from recommender.errors import InvalidDataError, MissingDataError
from tests.conftest import WriteJsonl

RECORDS = [
    {"user_id": 1, "job_id": 10, "type": "impression", "timestamp": "2026-01-01T00:00:00Z"},
    {"user_id": 1, "job_id": 10, "type": "impression", "timestamp": 1767225600},
    {"user_id": 1, "job_id": 10, "type": "redirect", "timestamp": "2026-06-01T00:00:00Z"},
    {"user_id": 2, "job_id": 10, "type": "redirect"},
    {"user_id": 2, "job_id": 11, "type": "impression", "timestamp": "2025-01-01T00:00:00Z"},
]


def _grouped(frame: pl.DataFrame) -> list[tuple[int, int, float, float]]:
    return sorted(frame.select("user_id", "job_id", "impressions", "redirects").iter_rows())


def test_counts_equal_grouping_the_lines(tmp_path: Path, jsonl: WriteJsonl) -> None:
    path = jsonl(tmp_path / "a.jsonl", [*RECORDS, ""])  # a blank line is counted, not an error
    counts, report, dropped = read_activity_counts(path)
    lines, _ = read_activities(path)
    expected = lines.group_by("user_id", "job_id").agg(
        impressions=(~pl.col("is_redirect")).sum().cast(pl.Float64),
        redirects=pl.col("is_redirect").sum().cast(pl.Float64),
    )
    assert (
        _grouped(counts)
        == _grouped(expected)
        == [(1, 10, 2.0, 1.0), (2, 10, 0.0, 1.0), (2, 11, 1.0, 0.0)]
    )
    assert counts.schema["impressions"] == pl.Float64
    assert (report.records, report.blank, dropped) == (5, 1, 0)


def test_a_clean_file_is_counted_in_one_pass_without_the_precise_reader(
    tmp_path: Path, jsonl: WriteJsonl, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = jsonl(tmp_path / "a.jsonl", [*RECORDS, "", "  "])
    expected = read_activity_counts(path)
    monkeypatch.setattr(pair_counts, "_count_precise", None)  # calling it would raise
    for since in (None, datetime(2026, 3, 1, tzinfo=UTC)):
        counts, report, dropped = read_activity_counts(path, since=since)
        assert (report.lines, report.records, report.blank) == (7, 5, 2)
    assert _grouped(counts) == [(1, 10, 0.0, 1.0), (2, 10, 0.0, 1.0)] and dropped == 3
    assert _grouped(read_activity_counts(path)[0]) == _grouped(expected[0])


def test_since_drops_old_lines_and_keeps_undated(tmp_path: Path, jsonl: WriteJsonl) -> None:
    path = jsonl(tmp_path / "a.jsonl", RECORDS)
    counts, _, dropped = read_activity_counts(path, since=datetime(2026, 3, 1, tzinfo=UTC))
    assert _grouped(counts) == [(1, 10, 0.0, 1.0), (2, 10, 0.0, 1.0)]
    assert dropped == 3


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ('{"user_id": "1", "job_id": 10, "type": "redirect"}', "expected an integer"),
        ('{"user_id": 1, "job_id": 10, "type": "click"}', "expected one of"),
        ('{"user_id": 1, "job_id": 10, "type": "redirect", "timestamp": "soon"}', "ISO-8601"),
        ("not json", "not valid JSON"),
    ],
)
def test_a_bad_line_is_named_by_its_line(
    tmp_path: Path, jsonl: WriteJsonl, bad: str, match: str
) -> None:
    path = jsonl(tmp_path / "a.jsonl", [*RECORDS[:2], bad, *RECORDS[2:]])
    with pytest.raises(InvalidDataError, match=rf"a\.jsonl:3: .*{match}"):
        read_activity_counts(path)
    counts, report, _ = read_activity_counts(path, skip_invalid=True)
    assert report.skipped == 1 and total_lines(counts) == 5


EDGE_LINES: list[bytes] = [
    b'{"user_id": 1, "job_id": 1.0, "type": "impression"}',
    b'{"user_id": 1, "job_id": 1e1, "type": "impression"}',
    b'{"user_id": 1, "job_id": "12", "type": "impression"}',
    b'{"user_id": true, "job_id": 12, "type": "impression"}',
    b'{"user_id": 9223372036854775808, "job_id": 12, "type": "impression"}',
    b'{"user_id": -9223372036854775808, "job_id": -0, "type": "impression"}',
    b'{"user_id": 1, "job_id": 12}',
    b'{"user_id": 1, "job_id": 12, "type": null}',
    b'{"user_id": 1, "job_id": 12, "type": "click"}',
    b'{"user_id": 1, "job_id": 12, "type": "Redirect"}',
    b'{"user_id": 1, "job_id": 12, "type": ["redirect"]}',
    b'{"user_id": 1, "job_id": 12, "type": "\\u0072edirect"}',
    b'{"user_id": 1, "job_id": 12, "type": "redirect", "timestamp": "soon"}',
    b'{"user_id": 1, "job_id": 12, "type": "redirect", "timestamp": "1767225600"}',
    b'{"user_id": 1, "job_id": 12, "type": "redirect", "timestamp": 1767225600.5}',
    b'{"user_id": 1, "job_id": 12, "type": "redirect", "timestamp": true}',
    b'{"user_id": 1, "job_id": 12, "type": "redirect", "timestamp": NaN}',
    b'{"user_id": 1, "job_id": 12, "type": "redirect", "timestamp": "2026-02-01 00:00:00+01"}',
    b'{"user_id": 1, "job_id": 12, "type": "redirect", "timestamp": null, "extra": [1, {}]}',
    b'{"user_id": 1, "job_id": 12, "type": "impression", "type": "redirect"}',
    b'{"user_id": 1, "job_id": 12, "job_id": "x", "type": "redirect"}',
    b'{"user_id": 1, "job_id": 12, "type": "redirect",}',
    b'[1, 12, "redirect"]',
    b"12",
    b'{"user_id": 1, "job_id": 12, "type": "redirect"} {"user_id": 2}',
    b'{"user_id": 1, "job_id": 12, "type": "redirect", "x": "\xff"}',
    b'\xef\xbb\xbf{"user_id": 1, "job_id": 12, "type": "redirect"}',
    b"   ",
    b"\t\r",
    b"",
]


@pytest.mark.parametrize("line", EDGE_LINES, ids=lambda b: repr(b)[2:42])
@pytest.mark.parametrize("where", ["first", "last, no final newline"])
def test_edge_lines_are_taken_or_refused_as_by_read_activities(
    tmp_path: Path, line: bytes, where: str
) -> None:
    good = [json.dumps(r).encode() for r in RECORDS]
    lines = [line, *good] if where == "first" else [*good, line]
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\n".join(lines) + (b"" if where.startswith("last") else b"\n"))
    for skip_invalid in (False, True):
        try:
            expected = read_activities(path, skip_invalid=skip_invalid)
        except InvalidDataError as error:
            with pytest.raises(InvalidDataError) as caught:
                read_activity_counts(path, skip_invalid=skip_invalid)
            assert str(caught.value) == str(error)
            continue
        counts, report, dropped = read_activity_counts(path, skip_invalid=skip_invalid)
        assert _grouped(counts) == _grouped(count_pairs(expected[0]))
        assert _described(report) == _described(expected[1]) and dropped == 0


def _described(report: LoadReport) -> tuple[object, ...]:
    errors = [str(e) for e in report.errors]
    return report.lines, report.records, report.blank, report.skipped, errors


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match="file not found"):
        read_activity_counts(tmp_path / "none.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(MissingDataError, match="no records"):
        read_activity_counts(tmp_path / "empty.jsonl")


def test_add_pairs_sums_the_touched_pairs_and_keeps_the_rest() -> None:
    base = count_pairs(
        pl.DataFrame(
            {"user_id": [1, 1, 2], "job_id": [10, 10, 20], "is_redirect": [False, True, False]}
        )
    )
    more = count_pairs(
        pl.DataFrame({"user_id": [1, 3], "job_id": [10, 30], "is_redirect": [True, False]})
    )
    assert _grouped(add_pairs(base, more)) == [
        (1, 10, 1.0, 2.0),
        (2, 20, 1.0, 0.0),
        (3, 30, 1.0, 0.0),
    ]
    assert add_pairs(base, more.head(0)) is base
