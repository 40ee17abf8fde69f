"""Spark reads every input format into the events the local readers return, and refuses the
same bad records with the same reasons."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pytest

from recommender.data.interactions import INTERACTION_SCHEMA, ColumnMapping, read_interactions
from recommender.data.readers import read_jobs
from recommender.errors import InvalidDataError, MissingDataError, StorageError
from tests.conftest import WriteJsonl

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("spark")]

ACTIVITIES = [
    {"user_id": 1, "job_id": 10, "type": "impression", "timestamp": "2024-05-01T12:00:00Z"},
    {"user_id": 1, "job_id": 10, "type": "redirect", "timestamp": 1714565000},
    {"user_id": 2, "job_id": 11, "type": "impression", "timestamp": 1714565000.25},
    {"user_id": 2, "job_id": 12, "type": "redirect", "timestamp": "2024-05-02T08:30:00+02:00"},
    {"user_id": 3, "job_id": 10, "type": "impression", "title": "ignored"},
    {"user_id": 3, "job_id": 10, "type": "redirect", "timestamp": None},
]
JOBS = [
    {"job_id": 10, "description": "a", "employer": "acme", "expires_at": "2030-01-01T00:00:00Z"},
    {"job_id": 11, "description": "b", "employer": "bolt"},
    {"job_id": 12, "description": "c", "expires_at": 1893456000},
]
CSV = """user,item,rating,when,kind
1,10,4,2024-05-01T12:00:00Z,redirect
1,11,2.5,1714565000,impression
 2 ,10,1,1714565000.5,redirect
2,12,0,2024-05-03,impression
"""


def _events(frame: DataFrame) -> pl.DataFrame:
    """Spark's events on the driver, typed and ordered as the local frames are compared."""
    collected = pl.from_arrow(frame.toArrow())
    assert isinstance(collected, pl.DataFrame)
    return collected.cast(INTERACTION_SCHEMA).sort(pl.all())  # type: ignore[arg-type]


def _local(path: Path, mapping: ColumnMapping | None = None) -> pl.DataFrame:
    return read_interactions(path, mapping)[0].sort(pl.all())


def _read(spark: SparkSession, path: Path, mapping: ColumnMapping | None = None, **kw: Any) -> Any:
    from recommender.spark.inputs import read_inputs

    return read_inputs(spark, str(path), mapping, **kw)


def test_data_directory_reads_activities_and_jobs_as_the_local_readers(
    spark: SparkSession, tmp_path: Path, jsonl: WriteJsonl
) -> None:
    jsonl(tmp_path / "activities.jsonl", ACTIVITIES)
    jsonl(tmp_path / "jobs.jsonl", JOBS)
    inputs = _read(spark, tmp_path)
    assert _events(inputs.events).equals(_local(tmp_path / "activities.jsonl"))
    assert [r.records for r in inputs.reports] == [6, 3]
    jobs = pl.from_arrow(inputs.jobs.toArrow())
    assert isinstance(jobs, pl.DataFrame)
    local_jobs = read_jobs(tmp_path / "jobs.jsonl")[0]
    assert jobs.columns == local_jobs.columns  # every field, the text too (for the catalogue)
    assert jobs.cast(local_jobs.schema).sort("job_id").equals(local_jobs)  # type: ignore[arg-type]


def test_a_directory_without_jobs_has_no_job_frame(
    spark: SparkSession, tmp_path: Path, jsonl: WriteJsonl
) -> None:
    jsonl(tmp_path / "activities.jsonl", ACTIVITIES)
    inputs = _read(spark, tmp_path)
    assert inputs.jobs is None
    assert inputs.local_files == (tmp_path / "activities.jsonl",)


MAPPINGS = {
    "csv": ("log.csv", ColumnMapping("user", "item", "rating", "when", "kind")),
    "tsv-no-header": ("u.data", ColumnMapping("1", "2", "3", "4", sep="\t", has_header=False)),
    "jsonl": ("log.jsonl", ColumnMapping("user", "item", "rating", "when", "kind")),
    "parquet": ("log.parquet", ColumnMapping("user", "item", "rating", "when")),
}


def _write_log(path: Path) -> None:
    rows = [line.split(",") for line in CSV.strip().splitlines()[1:]]
    if path.suffix == ".csv":
        path.write_text(CSV)
    elif path.suffix == ".jsonl":
        keys = CSV.splitlines()[0].split(",")
        records = [dict(zip(keys, row, strict=True)) for row in rows]
        records[0]["user"] = 1  # JSON numbers and strings are both read
        pl.DataFrame(records).write_ndjson(path)
    elif path.suffix == ".parquet":
        pl.DataFrame(
            {
                "user": [1, 1, 2, 2],
                "item": [10, 11, 10, 12],
                "rating": [4.0, 2.5, 1.0, 0.0],
                "when": [1714564800, 1714565000, 1714565000, 1714694400],
            },
            schema_overrides={"user": pl.Int32},
        ).write_parquet(path)
    else:
        path.write_text("".join("\t".join(row[:4]) + "\n" for row in rows))


@pytest.mark.parametrize("case", list(MAPPINGS), ids=list(MAPPINGS))
def test_mapped_logs_read_as_the_local_reader(
    spark: SparkSession, tmp_path: Path, case: str
) -> None:
    name, mapping = MAPPINGS[case]
    path = tmp_path / name
    _write_log(path)
    inputs = _read(spark, path, mapping)
    assert _events(inputs.events).equals(_local(path, mapping))
    assert inputs.jobs is None


def test_job_clicks_columns_need_no_mapping(spark: SparkSession, tmp_path: Path) -> None:
    path = tmp_path / "job_clicks.csv"
    path.write_text("userId,jobId,Clicks\n1,10,3\n2,10,1\n")
    assert _events(_read(spark, path).events).equals(_local(path))


BAD_ACTIVITIES = {
    "string id": (
        '{"user_id": "5", "job_id": 1, "type": "redirect"}',
        "user_id",
        "expected an integer",
    ),
    "float id": (
        '{"user_id": 5, "job_id": 1.5, "type": "redirect"}',
        "job_id",
        "expected an integer",
    ),
    "missing id": ('{"job_id": 1, "type": "redirect"}', "user_id", "required field is missing"),
    "type": ('{"user_id": 5, "job_id": 1, "type": "click"}', "type", "expected one of"),
    "time": (
        '{"user_id": 5, "job_id": 1, "type": "redirect", "timestamp": "soon"}',
        "timestamp",
        "ISO-8601",
    ),
    "not json": ("{user_id: 5", None, "not valid JSON"),
}


@pytest.mark.parametrize("case", list(BAD_ACTIVITIES), ids=list(BAD_ACTIVITIES))
def test_a_bad_activity_is_refused_naming_file_field_and_reason(
    spark: SparkSession, tmp_path: Path, jsonl: WriteJsonl, case: str
) -> None:
    line, field, reason = BAD_ACTIVITIES[case]
    path = jsonl(tmp_path / "activities.jsonl", [ACTIVITIES[0], line, ACTIVITIES[1]])
    with pytest.raises(InvalidDataError, match=reason) as raised:
        _read(spark, tmp_path)
    assert raised.value.path == str(path)
    assert raised.value.field == field
    with pytest.raises(InvalidDataError, match=reason):  # the local reader refuses it too
        read_interactions(path)
    skipped = _read(spark, tmp_path, skip_invalid=True).reports[0]
    assert (skipped.records, skipped.skipped) == (2, 1)
    assert reason in str(skipped.first_error)


@pytest.mark.parametrize(
    ("line", "column", "reason"),
    [
        ("3,10,-1,1714565000,redirect", "rating", "a weight cannot be negative"),
        ("3,x1,1,1714565000,redirect", "item", "expected an integer"),
        ("3,99999999999999999999,1,1714565000,redirect", "item", "out of the 64-bit range"),
        ("3,10,1,yesterday,redirect", "when", "ISO-8601 time or epoch seconds"),
        ("3,10,1,1714565000,view", "kind", "expected one of"),
        ("3,,1,1714565000,view", "item", "missing value"),
    ],
    ids=["weight", "id", "range", "time", "type", "missing"],
)
def test_a_bad_log_row_is_refused_as_the_local_reader_refuses_it(
    spark: SparkSession, tmp_path: Path, line: str, column: str, reason: str
) -> None:
    path = tmp_path / "log.csv"
    path.write_text(CSV + line + "\n")
    mapping = MAPPINGS["csv"][1]
    with pytest.raises(InvalidDataError, match=reason) as raised:
        _read(spark, path, mapping)
    assert raised.value.field == column
    with pytest.raises(InvalidDataError, match=reason) as local:
        read_interactions(path, mapping)
    assert local.value.field == column


def test_missing_columns_and_files_are_named(spark: SparkSession, tmp_path: Path) -> None:
    from recommender.spark.inputs import read_inputs

    path = tmp_path / "log.csv"
    path.write_text(CSV)
    with pytest.raises(InvalidDataError, match=r"no such column; the columns are 'user'") as raised:
        _read(spark, path, ColumnMapping("user", "job"))
    assert raised.value.field == "job"
    with pytest.raises(MissingDataError, match="file not found"):
        _read(spark, tmp_path / "nothing")
    with pytest.raises(StorageError, match='No FileSystem for scheme "nosuch"'):
        read_inputs(spark, "nosuch://bucket/log.csv")
    with pytest.raises(InvalidDataError, match=r"are not job_clicks\.csv.s"):
        _read(spark, path)
