"""Checked reads: each record typed by its rules, the bad ones counted or the first one raised.

Spark cannot number lines, so an error names the file, the field and the value. The checked frame
is cached: it is counted, then scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as sf

from recommender.data.schema_sql import FieldSpec
from recommender.errors import InvalidDataError, MissingDataError
from recommender.spark.checks import Rule, first_error
from recommender.spark.records import CORRUPT, diagnose, json_rules

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


@dataclass
class SparkReadReport:
    """What reading one input found: records kept, records skipped and the first reason."""

    path: str
    records: int = 0
    skipped: int = 0
    first_error: InvalidDataError | None = None

    def summary(self) -> str:
        """One line for people."""
        text = f"{self.path}: {self.records} records"
        if self.skipped:
            text += f", {self.skipped} invalid records skipped (first: {self.first_error})"
        return text


def validated_json(
    raw: DataFrame, fields: Sequence[FieldSpec], path: str, skip_invalid: bool
) -> tuple[DataFrame, SparkReadReport]:
    """The typed good records of a JSON Lines file read with the schema of ``fields`` (see
    :func:`~recommender.spark.records.json_schema`); a corrupt record is explained on the
    driver."""
    rules = json_rules(fields)
    corrupt = sf.col(CORRUPT)
    checked = [(name, name, rule, sf.col(name)) for name, rule in rules]
    reason, field, value = first_error(
        [(name, rule, raw_col) for _, name, rule, raw_col in checked]
    )
    staged = raw.select(
        *(rule.value.alias(name) for name, _, rule, _ in checked),
        sf.when(corrupt.isNotNull(), sf.lit("corrupt")).otherwise(reason).alias("error_reason"),
        field.alias("error_field"),
        sf.coalesce(corrupt, value).alias("error_value"),
    )
    return _split(staged, path, skip_invalid, lambda row: _json_error(row, path, fields))


def validated_columns(
    raw: DataFrame,
    checked: list[tuple[str, str, Rule, Column]],
    path: str,
    skip_invalid: bool,
) -> tuple[DataFrame, SparkReadReport]:
    """The typed good rows of a mapped log; ``checked`` holds (output name, the column's name in
    the file, its rule, its raw column)."""
    reason, field, value = first_error([(source, rule, col) for _, source, rule, col in checked])
    staged = raw.select(
        *(rule.value.alias(name) for name, _, rule, _ in checked), reason, field, value
    )
    return _split(staged, path, skip_invalid, lambda row: _row_error(row, path))


def _split(
    staged: DataFrame, path: str, skip_invalid: bool, to_error: Any
) -> tuple[DataFrame, SparkReadReport]:
    """Good rows (persisted, error columns dropped) and the report; raise on a bad row unless
    ``skip_invalid``."""
    staged = staged.persist()
    bad = staged.where(sf.col("error_reason").isNotNull())
    first = bad.limit(1).collect()
    report = SparkReadReport(path=path)
    if first:
        error: InvalidDataError = to_error(first[0])
        if not skip_invalid:
            staged.unpersist()
            raise error
        report.first_error = error
        report.skipped = bad.count()
    good = staged.where(sf.col("error_reason").isNull()).drop(
        "error_reason", "error_field", "error_value"
    )
    report.records = good.count()
    if report.records == 0:
        staged.unpersist()
        detail = f" ({report.skipped} invalid records skipped)" if report.skipped else ""
        raise MissingDataError(f"no records in file{detail}", path=path)
    return good, report


def _row_error(row: Any, path: str) -> InvalidDataError:
    return InvalidDataError(
        row["error_reason"], path=path, field=row["error_field"], value=row["error_value"]
    )


def _json_error(row: Any, path: str, fields: Sequence[FieldSpec]) -> InvalidDataError:
    if row["error_reason"] != "corrupt":
        return _row_error(row, path)
    field, reason, value = diagnose(row["error_value"], fields)
    return InvalidDataError(reason, path=path, field=field, value=value)
