"""The value rules of :mod:`recommender.data.interactions.checks`, as Spark column expressions.

Each mapped column becomes a typed value (id: bigint, weight: double, time: timestamp, type:
string) and a list of (condition, reason) pairs marking what is wrong with a row, with the local
reader's reasons. Text is stripped of surrounding white space first; an empty field is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import functions as sf
from pyspark.sql import types

from recommender.data.interactions.columns import Role
from recommender.data.schema import ACTIVITY_TYPES

if TYPE_CHECKING:
    from pyspark.sql import Column

INT_TEXT = r"^[+-]?[0-9]+$"
ISO_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
# datetime(1, 1, 1) and datetime(10000, 1, 1) as epoch seconds: the times Python can represent
MIN_SECONDS, END_SECONDS = -62_135_596_800, 253_402_300_800
TYPES_REASON = "expected one of " + ", ".join(repr(t) for t in ACTIVITY_TYPES)
TIME_REASON = "expected an ISO-8601 time or epoch seconds"
TIME_RANGE_REASON = "time out of range: years 1 to 9999, epoch times in seconds"

ERROR_REASON, ERROR_FIELD, ERROR_VALUE = "error_reason", "error_field", "error_value"


@dataclass(frozen=True)
class Rule:
    """How one column becomes typed, and (condition, reason) pairs marking a bad value."""

    value: Column
    checks: list[tuple[Column, str]]


def rule_of(role: Role, dtype: types.DataType, column: Column) -> Rule:
    """The rule of ``role`` for a column of ``dtype``; the missing-value check comes first."""
    text = isinstance(dtype, types.StringType)
    source = sf.trim(column) if text else column
    if role.kind == "id":
        rule = _id_rule(dtype, source, text=text)
    elif role.kind == "weight":
        rule = _weight_rule(dtype, source, text=text)
    elif role.kind == "time":
        rule = _time_rule(dtype, source, text=text)
    elif not text:
        rule = Rule(
            sf.lit(None).cast("string"), [(sf.lit(True), f"expected text, not {_name(dtype)}")]
        )
    elif role.kind == "type":
        rule = Rule(source, [(~source.isin(*ACTIVITY_TYPES), TYPES_REASON)])
    else:
        rule = Rule(source, [])
    missing = (source.isNull() | (source == "")) if text else source.isNull()
    return Rule(rule.value, [(missing, "missing value"), *rule.checks])


def time_value(text: Column) -> Column:
    """A timestamp from stripped text: epoch seconds (a number) or ISO-8601; null otherwise."""
    seconds = text.try_cast("double")
    iso = sf.when(text.rlike(ISO_TEXT), text.try_cast("timestamp"))
    return sf.when(_finite(seconds), _from_seconds(seconds)).otherwise(iso)


def first_error(rules: Sequence[tuple[str, Rule, Column]]) -> tuple[Column, Column, Column]:
    """(reason, field, value as text) of each row's first failing check, null when none fails.

    ``rules`` holds (the column's name in the file, its rule, its raw column).
    """
    reason: Column = sf.lit(None).cast("string")
    field: Column = sf.lit(None).cast("string")
    value: Column = sf.lit(None).cast("string")
    for name, rule, raw in reversed(rules):
        for condition, why in reversed(rule.checks):
            bad = sf.coalesce(condition, sf.lit(False))
            reason = sf.when(bad, sf.lit(why)).otherwise(reason)
            field = sf.when(bad, sf.lit(name)).otherwise(field)
            value = sf.when(bad, raw.cast("string")).otherwise(value)
    return reason.alias(ERROR_REASON), field.alias(ERROR_FIELD), value.alias(ERROR_VALUE)


def _name(dtype: types.DataType) -> str:
    return dtype.simpleString()


def _id_rule(dtype: types.DataType, source: Column, *, text: bool) -> Rule:
    out_of_range = "integer out of the 64-bit range"
    if text:
        value = sf.when(source.rlike(INT_TEXT), source.try_cast("bigint"))
        shape_ok = source.rlike(INT_TEXT)
        return Rule(
            value,
            [(~shape_ok, "expected an integer"), (shape_ok & value.isNull(), out_of_range)],
        )
    if isinstance(dtype, types.IntegralType):
        return Rule(source.cast("bigint"), [])
    return Rule(
        sf.lit(None).cast("bigint"), [(sf.lit(True), f"expected an integer, not {_name(dtype)}")]
    )


def _weight_rule(dtype: types.DataType, source: Column, *, text: bool) -> Rule:
    if not (text or isinstance(dtype, types.NumericType)):
        return Rule(
            sf.lit(None).cast("double"), [(sf.lit(True), f"expected a number, not {_name(dtype)}")]
        )
    value = source.try_cast("double")
    infinite = (value == float("inf")) | (value == float("-inf"))
    return Rule(
        value,
        [
            (value.isNull(), "expected a number"),
            (sf.isnan(value), "a weight cannot be NaN"),
            (infinite, "a weight must be finite"),
            (value < 0, "a weight cannot be negative"),
        ],
    )


def _time_rule(dtype: types.DataType, source: Column, *, text: bool) -> Rule:
    """ISO-8601 text, epoch seconds (text or numbers), or Parquet dates and timestamps."""
    if text:
        value = time_value(source)
        seconds = source.try_cast("double")
        iso = source.rlike(ISO_TEXT) & source.try_cast("timestamp").isNotNull()
        parsed = _finite(seconds) | iso
    elif isinstance(dtype, types.NumericType):
        seconds = source.cast("double")
        value = _from_seconds(seconds)
        parsed = _finite(seconds)
    elif isinstance(dtype, types.TimestampType | types.TimestampNTZType | types.DateType):
        value = source.cast("timestamp")
        parsed = sf.lit(True)
    else:
        return Rule(
            sf.lit(None).cast("timestamp"), [(sf.lit(True), f"expected a time, not {_name(dtype)}")]
        )
    bad = value.isNull()
    return Rule(value, [(bad & ~parsed, TIME_REASON), (bad & parsed, TIME_RANGE_REASON)])


def _finite(seconds: Column) -> Column:
    infinite = (seconds == float("inf")) | (seconds == float("-inf"))
    return seconds.isNotNull() & ~sf.isnan(seconds) & ~infinite


def _from_seconds(seconds: Column) -> Column:
    """Epoch seconds as a timestamp (rounded to the microsecond, half to even as polars rounds),
    null outside years 1 to 9999."""
    in_range = (seconds >= MIN_SECONDS) & (seconds < END_SECONDS)
    micros = sf.bround(seconds * 1_000_000).cast("bigint")
    return sf.when(in_range, sf.timestamp_micros(micros))
