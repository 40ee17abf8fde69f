"""The fast path (``fast_query``) accepts and refuses exactly the values the precise path does."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from recommender.data.jsonl import read_jsonl
from recommender.data.schema_sql import FieldSpec, fast_query

ABSENT = "<absent>"
VALUES = [
    ABSENT,
    "null",
    # numbers
    "0",
    "-0",
    "12",
    "-12",
    "1704103200",
    "1704103200000",
    "-1704103200000",
    "99999999999",
    "100000000000",
    "32503680000",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
    "1.0",
    "2.5",
    "-0.0",
    "1e3",
    "1E+2",
    "1.5e-7",
    "1e-7",
    "-1e-7",
    "5e-324",
    "1e20",
    "12e0",
    "0.5",
    "1704103200.5",
    "1e300",
    "-1e300",
    "NaN",
    "Infinity",
    "-Infinity",
    # other JSON types
    "true",
    "false",
    "[]",
    "[1]",
    '["a", "b"]',
    '["a", 1]',
    "[null]",
    '[["a"]]',
    "{}",
    '{"k": 1}',
    # strings
    '""',
    '"12"',
    '"1e3"',
    '"0x10"',
    '"1_0"',
    '" 12"',
    '"true"',
    '"impression"',
    '"redirect"',
    '"\\u0069mpression"',
    '"Impression"',
    '"impression "',
    '"2024-01-01T10:00:00Z"',
    '"2024-01-01T10:00:00\\u005a"',
    '"2024-01-01"',
    '"2024-01-01T12:00:00+02:00"',
    '"2999-01-01T00:00:00Z"',
    '" 2024-01-01"',
    '"1704103200"',
    '"yesterday"',
    '"infinity"',
    '"-infinity"',
    '"a\\"b"',
    '"a\\\\b"',
    '"a/b\\/c"',
    '"x\\ny"',
    '"\\u2603 \u2603"',
    '"\\ud83d\\ude00"',
    '"[1]"',
    '"\\u0301x"',
    '"\u0301x\u0301"',
]
SPECS = [
    FieldSpec("f", "int"),
    FieldSpec("f", "int", required=True),
    FieldSpec("f", "str"),
    FieldSpec("f", "str", required=True, choices=("impression", "redirect")),
    FieldSpec("f", "str", choices=('a"b', "x\ny", "\u2603 \u2603", "1704103200")),
    FieldSpec("f", "timestamp"),
    FieldSpec("f", "timestamp", ahead=timedelta(days=1)),
    FieldSpec("f", "str_list"),
]


def _line(value: str) -> str:
    return '{"n": 0}' if value == ABSENT else f'{{"n": 0, "f": {value}}}'


@pytest.mark.parametrize(
    "spec", SPECS, ids=lambda s: f"{s.kind}-{s.required}-{bool(s.choices)}-{bool(s.ahead)}"
)
def test_fast_and_precise_accept_the_same_values_with_the_same_result(
    tmp_path: Path, spec: FieldSpec
) -> None:
    path = tmp_path / "values.jsonl"
    path.write_text("".join(_line(v) + "\n" for v in VALUES), encoding="utf-8")
    precise, _ = read_jsonl(path, [spec], skip_invalid=True, with_line=True)
    accepted = dict(zip(precise["line"].to_list(), precise["f"].to_list(), strict=True))
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        fast = con.sql(fast_query([spec]), params={"path": str(path)}).pl()
    fast = fast.with_columns(pl.col("f").cast(precise.schema["f"]))
    assert fast.height == len(VALUES)
    for line, (value, invalid, typed) in enumerate(
        zip(VALUES, fast["invalid"].to_list(), fast["f"].to_list(), strict=True), start=1
    ):
        assert (not invalid) == (line in accepted), value
        if not invalid:
            assert typed == accepted[line], value


def test_field_names_do_not_clash_with_the_query_s_own_columns(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"x1": 1, "s0": "a", "v0": 2, "x0": "b"}\n{"x1": 3, "s0": "c", "v0": 4}\n')
    fields = [FieldSpec("v0", "int"), FieldSpec("x1", "int"), FieldSpec("s0", "str")]
    fast, _ = read_jsonl(path, fields)
    precise, _ = read_jsonl(path, fields, with_line=True)
    assert (
        fast.to_dicts()
        == precise.drop("line").to_dicts()
        == [
            {"v0": 2, "x1": 1, "s0": "a"},
            {"v0": 4, "x1": 3, "s0": "c"},
        ]
    )
