from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from recommender.data.interactions import (
    INTERACTION_SCHEMA,
    JOB_CLICKS_MAPPING,
    ColumnMapping,
    read_interactions,
    read_job_categories,
)
from recommender.data.pair_counts import score_activities
from recommender.errors import InvalidDataError, MissingDataError

MAPPING = ColumnMapping(user_col="u", item_col="j", weight_col="w", time_col="t", type_col="k")
ROWS = [
    (1, 10, 4.0, "2024-01-01T10:00:00Z", "redirect"),
    (1, 11, 1.5, "2024-01-02T10:00:00Z", "impression"),
    (2, 10, 0.0, "2024-01-03T10:00:00Z", "redirect"),
]
EXPECTED = pl.DataFrame(
    {
        "user_id": [1, 1, 2],
        "job_id": [10, 11, 10],
        "is_redirect": [True, False, True],
        "weight": [4.0, 1.5, 0.0],
        "timestamp": [datetime(2024, 1, d, 10, tzinfo=UTC) for d in (1, 2, 3)],
    },
    schema=INTERACTION_SCHEMA,
)


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return path


def delimited(sep: str, header: bool = True) -> str:
    lines = [sep.join(map(str, row)) for row in ROWS]
    return "\n".join(([sep.join("ujwtk")] if header else []) + lines) + "\n"


def write_csv(path: Path) -> tuple[Path, ColumnMapping]:
    return write(path / "log.csv", delimited(",")), MAPPING


def write_tsv(path: Path) -> tuple[Path, ColumnMapping]:
    return write(path / "log.tsv", delimited("\t")), MAPPING


def write_tab(path: Path) -> tuple[Path, ColumnMapping]:
    return write(path / "log.tab", delimited("\t")), MAPPING


def write_semicolons(path: Path) -> tuple[Path, ColumnMapping]:
    mapping = ColumnMapping("u", "j", weight_col="w", time_col="t", type_col="k", sep=";")
    return write(path / "log.csv", delimited(";")), mapping


def write_headerless(path: Path) -> tuple[Path, ColumnMapping]:
    mapping = ColumnMapping(
        "1", "2", weight_col="3", time_col="4", type_col="5", sep="\t", has_header=False
    )
    return write(path / "u.data", delimited("\t", header=False)), mapping


def write_parquet(path: Path) -> tuple[Path, ColumnMapping]:
    frame = pl.DataFrame(ROWS, schema=["u", "j", "w", "t", "k"], orient="row")
    frame = frame.with_columns(pl.col("t").str.to_datetime(time_unit="ms", time_zone="UTC"))
    frame.write_parquet(path / "log.parquet")
    return path / "log.parquet", MAPPING


def write_mapped_jsonl(path: Path) -> tuple[Path, ColumnMapping]:
    lines = [json.dumps(dict(zip("ujwtk", row, strict=True))) for row in ROWS]
    return write(path / "log.jsonl", "\n".join(lines) + "\n"), MAPPING


def write_quoted_crlf_bom(path: Path) -> tuple[Path, ColumnMapping]:
    lines = [",".join(f'"{v}"' for v in row) for row in [tuple("ujwtk"), *ROWS]]
    return write(path / "log.csv", b"\xef\xbb\xbf" + "\r\n".join(lines).encode()), MAPPING


@pytest.mark.parametrize(
    "writer",
    [
        write_csv,
        write_tsv,
        write_tab,
        write_semicolons,
        write_headerless,
        write_parquet,
        write_mapped_jsonl,
        write_quoted_crlf_bom,
    ],
    ids=lambda f: f.__name__.removeprefix("write_"),
)
def test_every_format_gives_the_same_events(
    tmp_path: Path, writer: Callable[[Path], tuple[Path, ColumnMapping]]
) -> None:
    path, mapping = writer(tmp_path)
    frame, report = read_interactions(path, mapping)
    assert frame.schema == INTERACTION_SCHEMA
    assert frame.equals(EXPECTED)
    assert (report.records, report.skipped) == (3, 0)


def test_service_jsonl_without_mapping_uses_the_activity_schema(tmp_path: Path) -> None:
    path = write(
        tmp_path / "activities.jsonl",
        '{"user_id": 1, "job_id": 2, "type": "impression", "timestamp": 1704103200}\n'
        '{"user_id": 1, "job_id": 2, "type": "redirect"}\n',
    )
    frame, _ = read_interactions(path)
    assert frame.schema == INTERACTION_SCHEMA
    assert frame["is_redirect"].to_list() == [False, True]
    assert frame["weight"].to_list() == [1.0, 1.0]
    assert frame["timestamp"].to_list() == [datetime(2024, 1, 1, 10, tzinfo=UTC), None]


def test_job_clicks_csv_is_recognised_and_clicks_weigh_redirects(tmp_path: Path) -> None:
    path = write(tmp_path / "job_clicks.csv", "userId,jobId,Clicks\n1,31,4\n1,32,12\n2,31,0\n")
    frame, report = read_interactions(path)
    assert frame["weight"].to_list() == [4.0, 12.0, 0.0]
    assert frame["is_redirect"].all()
    assert frame["timestamp"].null_count() == 3
    assert report.lines == 4
    pairs = score_activities(frame)
    # 4 clicks = 4 redirects: 2·min(4, 10) = 8; 12 clicks clip at 10; 0 clicks score 0 (dropped)
    assert list(zip(pairs.user_ids, pairs.job_ids, pairs.scores, strict=True)) == [
        (1, 31, 8.0),
        (1, 32, 20.0),
    ]


def test_ratings_and_types_weigh_the_funnel(tmp_path: Path) -> None:
    path = write(tmp_path / "u.data", "7\t1\t4\t881250949\n7\t2\t3\t1\n")
    mapping = ColumnMapping("1", "2", weight_col="3", time_col="4", sep="\t", has_header=False)
    frame, _ = read_interactions(path, mapping)
    assert frame["timestamp"][0] == datetime(1997, 12, 4, 15, 55, 49, tzinfo=UTC)
    assert score_activities(frame).scores.tolist() == [8.0, 6.0]  # rating 4 = 4 redirects
    typed = write(
        tmp_path / "typed.csv", "u,j,w,k\n1,2,3,impression\n1,2,1,redirect\n1,3,2,impression\n"
    )
    frame, _ = read_interactions(typed, ColumnMapping("u", "j", weight_col="w", type_col="k"))
    pairs = score_activities(frame)
    assert pairs.scores.tolist() == [3.0, 1.0]  # (3 impressions, 1 redirect) → 3; (2, 0) → 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T10:00:00Z", datetime(2024, 1, 1, 10, tzinfo=UTC)),
        ("2024-01-01 12:00:00+02:00", datetime(2024, 1, 1, 10, tzinfo=UTC)),
        ("2024-01-01T10:00:00.250", datetime(2024, 1, 1, 10, 0, 0, 250_000, tzinfo=UTC)),
        ("2024-01-01", datetime(2024, 1, 1, tzinfo=UTC)),
        ("1704103200", datetime(2024, 1, 1, 10, tzinfo=UTC)),
        ("1704103200.5", datetime(2024, 1, 1, 10, 0, 0, 500_000, tzinfo=UTC)),
        (" -86400 ", datetime(1969, 12, 31, tzinfo=UTC)),
    ],
    ids=["iso-z", "iso-offset", "iso-naive-fraction", "date", "epoch", "epoch-float", "negative"],
)
def test_time_column_takes_iso_and_epoch_seconds(
    tmp_path: Path, text: str, expected: datetime
) -> None:
    path = write(tmp_path / "log.csv", f"u,j,t\n1,2,{text}\n")
    frame, _ = read_interactions(path, ColumnMapping("u", "j", time_col="t"))
    assert frame["timestamp"].to_list() == [expected]


def test_parquet_columns_may_already_be_typed(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    pl.DataFrame(
        {
            "u": pl.Series([1, 2], dtype=pl.UInt32),
            "j": pl.Series(["10", "11"]),
            "w": pl.Series([3, 1], dtype=pl.Int8),
            "t": pl.Series(
                [datetime(2024, 1, 1, 11), datetime(2024, 1, 2, 11)]
            ).dt.replace_time_zone("Europe/Paris"),
            "d": [date(2024, 1, 1), date(2024, 1, 2)],
            "e": [1704103200.0, 1704103200.5],
            "k": pl.Series(["redirect", "impression"], dtype=pl.Categorical),
        }
    ).write_parquet(path)
    frame, _ = read_interactions(path, MAPPING)
    assert frame.select("user_id", "job_id", "is_redirect", "weight").rows() == [
        (1, 10, True, 3.0),
        (2, 11, False, 1.0),
    ]
    assert frame["timestamp"].to_list() == [datetime(2024, 1, d, 10, tzinfo=UTC) for d in (1, 2)]
    by_date, _ = read_interactions(path, ColumnMapping("u", "j", time_col="d"))
    assert by_date["timestamp"][1] == datetime(2024, 1, 2, tzinfo=UTC)
    by_epoch, _ = read_interactions(path, ColumnMapping("u", "j", time_col="e"))
    assert by_epoch["timestamp"][1] == datetime(2024, 1, 1, 10, 0, 0, 500_000, tzinfo=UTC)


BAD_VALUES = [
    # (row, field, reason, value); every row sits on line 3 of "u,j,w,t,k"
    ("1.5,2,1,1,redirect", "u", "expected an integer", "1.5"),
    ("x,2,1,1,redirect", "u", "expected an integer", "x"),
    ("1,9223372036854775808,1,1,redirect", "j", "64-bit range", "9223372036854775808"),
    (",2,1,1,redirect", "u", "missing value", None),
    ("  ,2,1,1,redirect", "u", "missing value", "  "),
    ("1,2,many,1,redirect", "w", "expected a number", "many"),
    ("1,2,-1,1,redirect", "w", "cannot be negative", "-1"),
    ("1,2,NaN,1,redirect", "w", "cannot be NaN", "NaN"),
    ("1,2,inf,1,redirect", "w", "must be finite", "inf"),
    ("1,2,1,yesterday,redirect", "t", "ISO-8601 time or epoch seconds", "yesterday"),
    ("1,2,1,2024-02-30,redirect", "t", "ISO-8601 time or epoch seconds", "2024-02-30"),
    ("1,2,1,1704103200000,redirect", "t", "out of range", "1704103200000"),
    ("1,2,1,1,click", "k", "expected one of 'impression', 'redirect'", "click"),
    ('1,2,1,1,re"dir"ect', "k", "expected one of", 're"dir"ect'),  # literal, as in polars
    ('"1"x,2,1,1,redirect', "u", "malformed quotes", '"1"x'),
    ("1,2,1,1", None, "expected 5 fields, found 4", "1,2,1,1"),
    ("1,2,1,1,redirect,extra", None, "expected 5 fields, found 6", "1,2,1,1,redirect,extra"),
]


@pytest.mark.parametrize(
    ("row", "field", "reason", "value"),
    BAD_VALUES,
    ids=[f"{field or 'row'}:{reason[:22]}" for _, field, reason, _ in BAD_VALUES],
)
def test_strict_reading_names_file_line_field_and_value(
    tmp_path: Path, row: str, field: str | None, reason: str, value: str | None
) -> None:
    path = write(tmp_path / "log.csv", f"u,j,w,t,k\n1,2,1,1,redirect\n{row}\n3,4,1,1,redirect\n")
    with pytest.raises(InvalidDataError) as caught:
        read_interactions(path, MAPPING)
    err = caught.value
    assert (err.path, err.line, err.field, err.value) == (str(path), 3, field, value)
    assert reason in str(err)
    assert str(err).startswith(f"{path}:3: ")


@pytest.mark.parametrize(
    ("line", "reason", "field"),
    [
        ("not json", "not valid JSON", None),
        ("[1, 2]", "expected a JSON object", None),
        ('{"j": 2, "w": 1}', "no such key; the keys on this line are j, w", "u"),
        ('{"u": null, "j": 2, "w": 1}', "missing value", "u"),
        ('{"u": true, "j": 2, "w": 1}', "expected a JSON number or string", "u"),
        ('{"u": 1, "j": 2.5, "w": 1}', "expected an integer", "j"),
        ('{"u": 1, "j": "2", "w": "-3"}', "cannot be negative", "w"),
    ],
    ids=["not-json", "not-object", "no-key", "null", "bool", "float-id", "negative-weight"],
)
def test_mapped_jsonl_errors_name_their_line(
    tmp_path: Path, line: str, reason: str, field: str | None
) -> None:
    path = write(tmp_path / "log.jsonl", f'{{"u": 1, "j": 2, "w": 1}}\n\n{line}\n')
    with pytest.raises(InvalidDataError) as caught:
        read_interactions(path, ColumnMapping("u", "j", weight_col="w"))
    assert (caught.value.line, caught.value.field) == (3, field)
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("log.csv", b"u,j\n1,2\n3,\xff4\n5,6\n"),
        ("log.jsonl", b'{"u": 1, "j": 2}\n\n{"u": 3, "j": "\xff"}\n{"u": 5, "j": 6}\n'),
    ],
    ids=["csv", "jsonl"],
)
def test_invalid_utf8_names_its_line(tmp_path: Path, name: str, text: bytes) -> None:
    path = write(tmp_path / name, text)
    with pytest.raises(InvalidDataError, match=r":3: not valid UTF-8"):
        read_interactions(path, ColumnMapping("u", "j"))
    frame, report = read_interactions(path, ColumnMapping("u", "j"), skip_invalid=True)
    assert (frame["user_id"].to_list(), report.skipped) == ([1, 5], 1)


def test_line_numbers_are_file_lines(tmp_path: Path) -> None:
    text = b'\xef\xbb\xbfu,j,note\r\n1,2,"two\r\nlines"\r\n\r\n3,4,x\r\n5,oops,y'
    with pytest.raises(InvalidDataError) as caught:
        read_interactions(write(tmp_path / "log.csv", text), ColumnMapping("u", "j"))
    assert (caught.value.line, caught.value.value) == (6, "oops")


def test_skip_invalid_drops_counts_and_reports(tmp_path: Path) -> None:
    text = "u,j,w\n1,2,1\nx,2,1\n\n3,4,-2\n5,6\n7,8,\xff\n9,10,2\n"
    path = write(tmp_path / "log.csv", text.encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
    frame, report = read_interactions(
        path, ColumnMapping("u", "j", weight_col="w"), skip_invalid=True
    )
    assert frame.select("user_id", "weight").rows() == [(1, 1.0), (9, 2.0)]
    assert (report.lines, report.records, report.blank, report.skipped) == (8, 2, 1, 4)
    assert [(e.line, e.field) for e in report.errors] == [(3, "u"), (5, "w"), (6, None), (7, None)]
    assert "not valid UTF-8" in str(report.errors[3])
    assert "4 invalid lines skipped" in report.summary()


@pytest.mark.parametrize("chunk_bytes", [16, 64, 1 << 20], ids=["16B", "64B", "1MiB"])
def test_precise_path_agrees_with_the_fast_path(tmp_path: Path, chunk_bytes: int) -> None:
    rows = [f'{i},{i * 7},"note, {i} ""quoted"""' for i in range(1, 40)]
    mapping = ColumnMapping("u", "j")
    clean = write(tmp_path / "clean.csv", "u,j,note\n" + "\n".join(rows) + "\n")
    fast, fast_report = read_interactions(clean, mapping)  # polars splits it
    short_row = write(tmp_path / "dirty.csv", "u,j,note\n" + "\n".join([*rows, "1,2"]) + "\n")
    precise, report = read_interactions(  # numpy splits it
        short_row, mapping, skip_invalid=True, chunk_bytes=chunk_bytes
    )
    assert precise.equals(fast)
    assert fast["job_id"].to_list() == [i * 7 for i in range(1, 40)]
    assert (report.lines, report.skipped) == (fast_report.lines + 1, 1)
    assert report.errors[0].line == 41


@pytest.mark.parametrize("chunk_bytes", [16, 1 << 20], ids=["16B", "1MiB"])
def test_quoted_line_breaks_keep_line_numbers_across_chunks(
    tmp_path: Path, chunk_bytes: int
) -> None:
    rows = [f'{i},{i * 7},"note {i}\r\nsecond line"' for i in range(1, 40)]
    path = write(tmp_path / "log.csv", "u,j,note\n" + "\n".join([*rows, "x,1,y"]) + "\n")
    mapping = ColumnMapping("u", "j")
    frame, report = read_interactions(path, mapping, skip_invalid=True, chunk_bytes=chunk_bytes)
    assert frame["user_id"].to_list() == list(range(1, 40))
    assert (report.lines, report.records, report.skipped) == (80, 39, 1)
    assert (report.errors[0].line, report.errors[0].value) == (80, "x")


def test_a_quote_never_closed_before_the_last_line_fails_even_when_skipping(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "log.csv", 'u,j\n1,2\n3,4"\n5,6\n7,8\n')
    with pytest.raises(InvalidDataError, match="rest of the file") as caught:
        read_interactions(path, ColumnMapping("u", "j"), skip_invalid=True)
    assert caught.value.line == 3
    last = write(tmp_path / "last.csv", 'u,j\n1,2\n3,"4\n')
    frame, report = read_interactions(last, ColumnMapping("u", "j"), skip_invalid=True)
    assert (frame.height, report.skipped) == (1, 1)


@pytest.mark.parametrize(
    ("name", "text", "mapping", "message"),
    [
        (
            "log.csv",
            "a,b\n1,2\n",
            ColumnMapping("u", "b"),
            r"no such column; the columns are 'a', 'b'",
        ),
        ("log.csv", "a,b\n1,2\n", ColumnMapping("1", "2"), r"without a header \(--no-header\)"),
        ("log.csv", "a,b,a\n1,2,3\n", ColumnMapping("a", "b"), r"appears 2 times in the header"),
        (
            "u.data",
            "1\t2\n",
            ColumnMapping("u", "i", sep="\t", has_header=False),
            r"'1', '2', \.\.\.",
        ),
        ("log.csv", "a,b\n1,2\n", None, r"columns \('a', 'b'\).*--user-col, --item-col"),
        ("u.data", "1\t2\n", None, r"'\.data': pass the column separator \(--sep"),
        (
            "events",
            "1\t2\n",
            ColumnMapping("u", "i"),
            r"without a suffix: pass the column separator",
        ),
        ("log.csv", "a::b\n", ColumnMapping("a", "b", sep="::"), r"one single-byte character"),
        ("log.jsonl", "{}\n", ColumnMapping("a", "b", sep=","), r"not to a \.jsonl file"),
        ("log.parquet", "not parquet", ColumnMapping("a", "b"), r"not a readable Parquet file"),
        (
            "log.csv",
            "\na,b\n",
            ColumnMapping("a", "b"),
            r"first line is blank; expected the header",
        ),
    ],
    ids=[
        "missing-column",
        "position-with-header",
        "repeated-column",
        "name-without-header",
        "unknown-layout",
        "unknown-suffix",
        "no-suffix",
        "long-separator",
        "separator-for-jsonl",
        "bad-parquet",
        "blank-header",
    ],
)
def test_layout_errors_say_what_to_pass(
    tmp_path: Path, name: str, text: str, mapping: ColumnMapping | None, message: str
) -> None:
    with pytest.raises(InvalidDataError, match=message):
        read_interactions(write(tmp_path / name, text), mapping)


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("u", [1.0, 2.0], r"field 'u': expected an integer, not Float64 \(got '1\.0'\)"),
        ("w", [True, False], r"field 'w': expected a number, not Boolean"),
        ("w", [1.0, float("nan")], r"log\.parquet:2: field 'w': a weight cannot be NaN"),
        ("t", [1.0, float("inf")], r"log\.parquet:2: field 't': expected an ISO-8601 time"),
    ],
    ids=["float-id", "bool-weight", "nan-weight", "inf-time"],
)
def test_typed_parquet_columns_are_checked(
    tmp_path: Path, column: str, values: list[object], message: str
) -> None:
    frame = pl.DataFrame({"u": [1, 2], "j": [3, 4], "w": [1.0, 2.0], "t": [0, 1]})
    frame.with_columns(pl.Series(column, values)).write_parquet(tmp_path / "log.parquet")
    with pytest.raises(InvalidDataError, match=message):
        read_interactions(tmp_path / "log.parquet", ColumnMapping("u", "j", "w", "t"))


def test_missing_and_empty_files(tmp_path: Path) -> None:
    mapping = ColumnMapping("u", "j")
    with pytest.raises(MissingDataError, match="file not found"):
        read_interactions(tmp_path / "nope.csv", mapping)
    for name, text in [("empty.csv", ""), ("header.csv", "u,j\n"), ("blank.csv", "u,j\n\n\n")]:
        with pytest.raises(MissingDataError, match="no records"):
            read_interactions(write(tmp_path / name, text), mapping)
    with pytest.raises(MissingDataError, match="2 invalid lines skipped"):
        read_interactions(
            write(tmp_path / "bad.csv", "u,j\nx,1\ny,2\n"), mapping, skip_invalid=True
        )


def test_job_clicks_mapping_constant() -> None:
    assert (JOB_CLICKS_MAPPING.user_col, JOB_CLICKS_MAPPING.item_col) == ("userId", "jobId")
    assert JOB_CLICKS_MAPPING.weight_col == "Clicks"


def test_job_categories(tmp_path: Path) -> None:
    path = write(tmp_path / "jobs.csv", "jobID,job_category\n1,IT\n2, Retial \n")
    frame, report = read_job_categories(path)
    assert frame.schema == pl.Schema({"job_id": pl.Int64(), "category": pl.String()})
    assert frame.rows() == [(1, "IT"), (2, "Retial")]
    assert report.records == 2


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "jobID,job_category\n1,IT\n2,IT\n3,IT\n2,Sales\n",
            5,
            "repeated job id, first given on line 3",
        ),
        ("jobID,job_category\n1,IT\n2,\n", 3, "field 'job_category': missing value"),
        ("jobID,job_category\n1,IT\nx,IT\n", 3, "field 'jobID': expected an integer"),
    ],
    ids=["repeated-id", "no-category", "bad-id"],
)
def test_job_categories_errors(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(InvalidDataError, match=message) as caught:
        read_job_categories(write(tmp_path / "jobs.csv", text))
    assert caught.value.line == line


def test_job_categories_need_their_columns(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataError, match=r"field 'jobID': no such column"):
        read_job_categories(write(tmp_path / "jobs.csv", "id,category\n1,IT\n"))
