"""JSON Lines records of a fixed schema (:class:`~recommender.data.schema_sql.FieldSpec`) in Spark.

Spark parses each line with the schema (integers as ``bigint``, the rest as text); a line that
is not a JSON object, or whose integer field holds anything but a JSON integer, lands whole in
the corrupt-record column. :func:`diagnose` then names the field and reason of such a line, for
the first one only, on the driver, with the local reader's reasons.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pyspark.sql import functions as sf
from pyspark.sql import types

from recommender.data.schema_sql import FieldSpec
from recommender.spark.checks import TIME_REASON, Rule, time_value

CORRUPT = "_corrupt_record"
_INT64 = (-(2**63), 2**63)


def json_schema(fields: Sequence[FieldSpec]) -> types.StructType:
    """Spark's schema for ``fields``: ``int`` as bigint, everything else as text, plus the
    corrupt-record column."""
    columns = [
        types.StructField(f.name, types.LongType() if f.kind == "int" else types.StringType())
        for f in fields
    ]
    return types.StructType([*columns, types.StructField(CORRUPT, types.StringType())])


def json_rules(fields: Sequence[FieldSpec]) -> list[tuple[str, Rule]]:
    """(name, rule) of each field, read from the column of that name (see :func:`json_schema`)."""
    rules: list[tuple[str, Rule]] = []
    for f in fields:
        column = sf.col(f.name)
        checks: list[tuple[Any, str]] = []
        if f.required:
            checks.append((column.isNull(), "required field is missing or null"))
        value = column
        if f.kind == "str" and f.choices:
            reason = "expected one of " + ", ".join(repr(c) for c in f.choices)
            checks.append((column.isNotNull() & ~column.isin(*f.choices), reason))
        elif f.kind == "timestamp":
            value = time_value(sf.trim(column))
            checks.append((column.isNotNull() & value.isNull(), TIME_REASON))
        rules.append((f.name, Rule(value, checks)))
    return rules


def diagnose(text: str, fields: Sequence[FieldSpec]) -> tuple[str | None, str, object]:
    """(field or None, reason, value) of a record Spark could not parse with the schema."""
    try:
        record = json.loads(text)
    except ValueError:
        return None, "not valid JSON", text[:200]
    if not isinstance(record, dict):
        return None, "expected a JSON object", text[:200]
    for f in fields:
        value = record.get(f.name)
        if value is None:
            continue
        problem = _problem(f, value)
        if problem is not None:
            return f.name, problem, value
    return None, "the record does not match the schema", text[:200]


def _problem(f: FieldSpec, value: object) -> str | None:
    if f.kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            return "expected an integer"
        if not _INT64[0] <= value < _INT64[1]:
            return "integer out of the 64-bit range"
    elif f.kind == "str" and not isinstance(value, str):
        return "expected a string"
    elif f.kind == "timestamp" and (
        isinstance(value, bool) or not isinstance(value, str | int | float)
    ):
        return TIME_REASON
    return None
