"""The training inputs read into Spark: a data directory or any mapped interaction log.

The events come out as the local readers return them (see
:mod:`recommender.data.interactions`)::

    user_id: bigint, job_id: bigint, is_redirect: boolean, weight: double, timestamp: timestamp

* a **data directory** holds ``activities.jsonl`` (the service's schema, read as strictly as
  :func:`recommender.data.readers.read_activities`: ids must be JSON integers, ``type`` one of
  ``impression``/``redirect``) and optionally ``jobs.jsonl`` (expiry and employer, for the job
  rules);
* a **log file** (CSV, TSV, Parquet or JSON Lines, or delimited text with ``mapping.sep``) is read
  with a :class:`~recommender.data.interactions.ColumnMapping`, with the local semantics: a weight
  column counts a row that many times, without a type column every row is a redirect, a time
  column gives the timestamps.

Reading is strict: the first bad record raises :class:`~recommender.errors.InvalidDataError`
naming the file, the field and the value (Spark does not number lines), unless ``skip_invalid``
drops such records and counts them. One difference: Spark reads a JSON value as text before it
is checked, so a quoted epoch time (``"1714564800"``) is taken as epoch seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark.errors import AnalysisException
from pyspark.sql import functions as sf
from pyspark.sql import types

from recommender.data.interactions import JOB_CLICKS_MAPPING, ColumnMapping
from recommender.data.interactions.columns import Role, interaction_roles, listed
from recommender.data.interactions.formats import layout
from recommender.data.schema import (
    ACTIVITIES_FILE,
    ACTIVITY_FIELDS,
    JOB_FIELDS,
    JOBS_FILE,
    USERS_FILE,
)
from recommender.errors import InvalidDataError, MissingDataError, StorageError
from recommender.spark.checks import Rule, rule_of
from recommender.spark.records import json_schema
from recommender.spark.validation import SparkReadReport, validated_columns, validated_json

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

EVENT_COLUMNS = ("user_id", "job_id", "is_redirect", "weight", "timestamp")


@dataclass(frozen=True)
class SparkInputs:
    """The events, the jobs of ``jobs.jsonl`` (every field; None without it), a report per
    file, and the local files read (for the data fingerprint)."""

    events: DataFrame
    jobs: DataFrame | None
    reports: tuple[SparkReadReport, ...]
    local_files: tuple[Path, ...]


def is_url(path: str) -> bool:
    """Whether ``path`` names a Hadoop filesystem (``s3a://``, ``hdfs://``), not a local path."""
    return "://" in path and not path.startswith("file://")


def read_inputs(
    spark: SparkSession,
    path: str,
    mapping: ColumnMapping | None = None,
    *,
    skip_invalid: bool = False,
) -> SparkInputs:
    """Read a data directory or a log file (see the module docstring) into Spark.

    A path is a log file when a mapping is given, when it is a local file, or when it is a URL
    whose suffix names a format (``.csv``, ``.tsv``, ``.parquet``, ``.jsonl``, ...); otherwise it is
    a data directory.

    Raises
    ------
    MissingDataError
        A file is missing or holds no records.
    InvalidDataError
        A column or a record breaks its rules (unless ``skip_invalid``).
    """
    if _is_log(path, mapping):
        events, report = read_log(spark, path, mapping, skip_invalid=skip_invalid)
        return SparkInputs(events, None, (report,), _local_files([report]))
    base = path.rstrip("/")
    events, report = read_activities(spark, f"{base}/{ACTIVITIES_FILE}", skip_invalid=skip_invalid)
    reports = [report]
    jobs = None
    if _exists(spark, f"{base}/{JOBS_FILE}"):
        jobs, jobs_report = read_jobs(spark, f"{base}/{JOBS_FILE}", skip_invalid=skip_invalid)
        reports.append(jobs_report)
    local = _local_files(reports)
    users = Path(base, USERS_FILE)
    if local and users.is_file():  # fingerprinted, as local training does, though not read
        local = (*local, users)
    return SparkInputs(events, jobs, tuple(reports), local)


def _local_files(reports: list[SparkReadReport]) -> tuple[Path, ...]:
    """The files behind ``reports`` that are local (a Parquet path may be a directory)."""
    paths = [Path(r.path.removeprefix("file://")) for r in reports if not is_url(r.path)]
    return tuple(p for p in paths if p.is_file())


def read_activities(
    spark: SparkSession, path: str, *, skip_invalid: bool = False
) -> tuple[DataFrame, SparkReadReport]:
    """``activities.jsonl`` as events (weight 1), with the service's schema and checks."""
    raw = _load(spark, path, lambda: spark.read.schema(json_schema(ACTIVITY_FIELDS)).json(path))
    good, report = validated_json(raw, ACTIVITY_FIELDS, path, skip_invalid)
    events = good.select(
        "user_id",
        "job_id",
        (sf.col("type") == "redirect").alias("is_redirect"),
        sf.lit(1.0).alias("weight"),
        sf.col("timestamp"),
    )
    return events, report


def read_jobs(
    spark: SparkSession, path: str, *, skip_invalid: bool = False
) -> tuple[DataFrame, SparkReadReport]:
    """``jobs.jsonl``'s fields (for the catalogue and the job rules); a repeated id is an error."""
    raw = _load(spark, path, lambda: spark.read.schema(json_schema(JOB_FIELDS)).json(path))
    good, report = validated_json(raw, JOB_FIELDS, path, skip_invalid)
    jobs = good.select(*(f.name for f in JOB_FIELDS))
    repeated = jobs.groupBy("job_id").count().where("count > 1").limit(1).collect()
    if repeated:
        raise InvalidDataError("repeated id", path=path, field="job_id", value=repeated[0][0])
    return jobs, report


def read_log(
    spark: SparkSession,
    path: str,
    mapping: ColumnMapping | None,
    *,
    skip_invalid: bool = False,
) -> tuple[DataFrame, SparkReadReport]:
    """A CSV/TSV/Parquet/JSON Lines log as events, its columns named by ``mapping``.

    Without a mapping, JSON Lines is read as ``activities.jsonl`` and a file with
    ``job_clicks.csv``'s columns with :data:`JOB_CLICKS_MAPPING`.
    """
    fmt, sep = layout(Path(path), mapping)
    if mapping is None and fmt == "jsonl":
        return read_activities(spark, path, skip_invalid=skip_invalid)
    if fmt == "jsonl":
        assert mapping is not None
        names = [role.source for role in interaction_roles(mapping)]
        schema = types.StructType([types.StructField(name, types.StringType()) for name in names])
        raw = _load(spark, path, lambda: spark.read.schema(schema).json(path))
    elif fmt == "parquet":
        raw = _load(spark, path, lambda: spark.read.parquet(path))
    else:
        header = mapping.has_header if mapping is not None else True
        raw = _load(spark, path, lambda: _read_delimited(spark, path, sep, header))
    if mapping is None:
        if not {"userId", "jobId", "Clicks"} <= set(raw.columns):
            raise InvalidDataError(
                f"no column mapping given and the columns ({listed(raw.columns)}) are not "
                "job_clicks.csv's (userId, jobId, Clicks): name the user and item columns "
                "(--user-col, --item-col)",
                path=path,
            )
        mapping = JOB_CLICKS_MAPPING
    roles = interaction_roles(mapping)
    checked: list[tuple[str, str, Rule, Column]] = []
    for role in roles:
        column = raw[_spark_name(raw, role, path, fmt, mapping)]
        checked.append((role.name, role.source, rule_of(role, _dtype(raw, column), column), column))
    good, report = validated_columns(raw, checked, path, skip_invalid)
    present = {role.name for role in roles}
    events = good.select(
        "user_id",
        "job_id",
        (sf.col("type") == "redirect" if "type" in present else sf.lit(True)).alias("is_redirect"),
        (sf.col("weight") if "weight" in present else sf.lit(1.0)).alias("weight"),
        (sf.col("timestamp") if "timestamp" in present else sf.lit(None))
        .cast("timestamp")
        .alias("timestamp"),
    )
    return events, report


def _is_log(path: str, mapping: ColumnMapping | None) -> bool:
    if mapping is not None:
        return True
    if not is_url(path):
        return Path(path.removeprefix("file://")).is_file()
    suffix = Path(path.rstrip("/")).suffix.lower()
    return suffix in {".csv", ".tsv", ".tab", ".parquet", ".jsonl", ".ndjson", ".json"}


def _exists(spark: SparkSession, path: str) -> bool:
    """Whether ``path`` exists, asked of its Hadoop filesystem (local paths: of the OS)."""
    if not is_url(path):
        return Path(path.removeprefix("file://")).exists()
    context: Any = spark.sparkContext
    try:
        hadoop_path = context._jvm.org.apache.hadoop.fs.Path(path)
        filesystem = hadoop_path.getFileSystem(context._jsc.hadoopConfiguration())
        return bool(filesystem.exists(hadoop_path))
    except Exception as exc:  # py4j's Java exception: no such filesystem, no credentials, ...
        cause = str(getattr(exc, "java_exception", exc)).strip()
        reason = cause.splitlines()[0] if cause else type(exc).__name__
        raise StorageError(
            f"{path}: Spark cannot reach this filesystem ({reason}); s3a:// needs hadoop-aws on "
            "the classpath and credentials (README: Training on Spark)"
        ) from exc


def _load(spark: SparkSession, path: str, read: Any) -> DataFrame:
    """``read()``, with a missing path as :class:`MissingDataError` (asked first: Spark would log
    a stack trace)."""
    if not _exists(spark, path):
        raise MissingDataError("file not found", path=path)
    try:
        frame: DataFrame = read()
    except AnalysisException as exc:
        if "PATH_NOT_FOUND" in str(exc) or "does not exist" in str(exc):
            raise MissingDataError("file not found", path=path) from exc
        raise InvalidDataError(f"Spark cannot read it: {exc}", path=path) from exc
    return frame


def _read_delimited(spark: SparkSession, path: str, sep: str, header: bool) -> DataFrame:
    reader = spark.read.option("header", header).option("sep", sep)
    reader = reader.option("quote", '"').option("escape", '"').option("inferSchema", False)
    return reader.csv(path)


def _spark_name(raw: DataFrame, role: Role, path: str, fmt: str, mapping: ColumnMapping) -> str:
    """The role's column in ``raw``; without a header Spark names columns ``_c0``, ``_c1``, ...
    for the 1-based positions ``1``, ``2``, ... of the mapping."""
    names = list(raw.columns)
    positional = fmt == "delimited" and not mapping.has_header
    name = role.source
    if positional and role.source.isdigit():
        name = f"_c{int(role.source) - 1}"
    if name not in names:
        shown = [str(i + 1) for i in range(len(names))] if positional else names
        hint = (
            "; without a header, columns are named by position: '1', '2', ..." if positional else ""
        )
        raise InvalidDataError(
            f"no such column; the columns are {listed(shown)}{hint}", path=path, field=role.source
        )
    return name


def _dtype(raw: DataFrame, column: Column) -> types.DataType:
    return raw.select(column).schema.fields[0].dataType
