"""The vectorised value rules: each column of raw rows typed as ids, weights, times or types.

A raw frame has ``line``, the columns :data:`ERRORS` (a problem found while splitting the row, or
null) and one column per role, text or already typed. :func:`check` splits it into typed good rows
and bad rows with the first problem of each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
import pyarrow as pa

from recommender.data.interactions.columns import Role
from recommender.data.interactions.duck import Duck
from recommender.data.schema import ACTIVITY_TYPES, FUTURE_SLACK
from recommender.data.schema_sql import ahead_reason, quote

_INT_TEXT = r"^[+-]?[0-9]+$"
_ISO_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
# datetime(1, 1, 1) and datetime(10000, 1, 1) as epoch seconds: the times Python can represent
_MIN_SECONDS, _END_SECONDS = -62_135_596_800, 253_402_300_800
_MIN_MICROS, _END_MICROS = _MIN_SECONDS * 1_000_000, _END_SECONDS * 1_000_000
_TYPES_REASON = "expected one of " + ", ".join(repr(t) for t in ACTIVITY_TYPES)

ERRORS = ("error_reason", "error_field", "error_value")


def no_errors(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.lit(None, pl.String).alias(name) for name in ERRORS)


def check(
    raw: pl.DataFrame, roles: Sequence[Role], duck: Duck
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type each role's column and split the rows into good and bad, both in file order.

    ``raw`` has ``line``, the columns ``error_reason``, ``error_field`` and ``error_value`` (a
    problem found while reading, which comes first) and one column per role, text or typed.
    Returns the good rows (``line`` and one typed column per role) and the bad ones (``line`` and
    the error columns: each row's first problem).

    Text is first taken as it is; only if some row fails is it stripped of white space and checked
    again, and which problem each bad row has is worked out for the bad rows alone.
    """
    staged, rules = _stage(raw, roles, duck, strip=False)
    if staged["__bad"].any():
        staged, rules = _stage(raw, roles, duck, strip=True)
    typed = [pl.col(f"__typed_{i}").alias(role.name) for i, role in enumerate(roles)]
    if not staged["__bad"].any():
        return staged.select("line", *typed), raw.select("line", *ERRORS).clear()
    good = staged.filter(~pl.col("__bad")).select("line", *typed)
    return good, _explain(staged.filter(pl.col("__bad")), roles, rules, raw.schema)


def _stage(
    raw: pl.DataFrame, roles: Sequence[Role], duck: Duck, *, strip: bool
) -> tuple[pl.DataFrame, list[_Rules]]:
    """``raw`` with each role's text, typed value and helpers, and the flag ``__bad``.

    Each stage is materialised before the next reads it, so that no cast runs twice.
    """
    text_roles = [i for i, role in enumerate(roles) if _is_text(raw.schema[role.name])]
    texts: list[pl.Expr] = []
    for i in text_roles:
        text = pl.col(roles[i].name).cast(pl.String)
        if strip or roles[i].kind == "text":
            text = text.str.strip_chars()
        texts.append(text.alias(f"__text_{i}"))
    staged = raw.with_columns(texts)
    for i in text_roles:
        if roles[i].kind == "time":
            text, seconds = pl.col(f"__text_{i}"), f"__seconds_{i}"
            staged = staged.with_columns(text.cast(pl.Float64, strict=False).alias(seconds))
            iso_text = staged.select(pl.when(pl.col(seconds).is_null()).then(text)).to_series()
            staged = staged.with_columns(_iso_micros(iso_text, duck).alias(f"__iso_{i}"))
    rules = [
        _rules(role, raw.schema[role.name], i, text=i in text_roles) for i, role in enumerate(roles)
    ]
    staged = staged.with_columns(r.value.alias(f"__typed_{i}") for i, r in enumerate(rules))
    flags = [condition.fill_null(False) for r in rules for condition, _ in r.checks]
    found = pl.col("error_reason").is_not_null()
    return staged.with_columns(pl.any_horizontal(found, *flags).alias("__bad")), rules


def _explain(
    bad: pl.DataFrame, roles: Sequence[Role], rules: Sequence[_Rules], schema: pl.Schema
) -> pl.DataFrame:
    """``line`` and the first problem (reason, column, value as text) of each bad row."""
    checks = [(c, reason, i) for i, r in enumerate(rules) for c, reason in r.checks]
    bad = bad.with_columns(
        pl.coalesce(
            pl.when(c.fill_null(False)).then(j) for j, (c, _, _) in enumerate(checks)
        ).alias("__first")
    )
    reason: pl.Expr = pl.lit(None, pl.String)
    for j, (_, why, _) in reversed(list(enumerate(checks))):
        reason = pl.when(pl.col("__first") == j).then(why).otherwise(reason)
    owner = pl.col("__first").replace_strict(
        list(range(len(checks))), [i for _, _, i in checks], default=None
    )
    shown: pl.Expr = pl.lit(None, pl.String)
    for i, role in reversed(list(enumerate(roles))):
        as_text = pl.col(role.name).cast(pl.String)
        as_text = pl.when(as_text != "").then(as_text)  # polars reads an empty field as null
        shown = (
            pl.when(owner == i)
            .then(pl.lit(None, pl.String) if schema[role.name].is_nested() else as_text)
            .otherwise(shown)
        )
    sources = [role.source for role in roles]
    found = pl.col("error_reason").is_not_null()
    return bad.select(
        "line",
        pl.when(found).then(pl.col("error_reason")).otherwise(reason).alias("error_reason"),
        pl.when(found)
        .then(pl.col("error_field"))
        .otherwise(owner.replace_strict(list(range(len(roles))), sources, default=None))
        .alias("error_field"),
        pl.when(found).then(pl.col("error_value")).otherwise(shown).alias("error_value"),
    )


def _is_text(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.String | pl.Categorical | pl.Enum)


def _iso_micros(text: pl.Series, duck: Duck) -> pl.Series:
    """Microseconds since the epoch of each ISO-8601 text (DuckDB's TIMESTAMPTZ cast), else null.

    Only text that starts with a date (YYYY-MM-DD) is cast, which keeps out DuckDB's special
    values such as ``infinity`` and ``epoch``.
    """
    if text.null_count() == text.len():
        return pl.repeat(None, text.len(), dtype=pl.Int64, eager=True)
    query = f"""
        SELECT CASE WHEN regexp_matches(t, {quote(_ISO_TEXT)})
                    THEN epoch_us(try_cast(t AS TIMESTAMPTZ)) END AS us
        FROM times
    """
    result = duck.query(query, times=pa.table({"t": text.to_arrow()}))
    return result["us"].cast(pl.Int64)


@dataclass(frozen=True)
class _Rules:
    """How a column becomes typed (``value``), and (condition, reason) pairs marking problems.

    A reason may be an expression: it is evaluated for the bad rows only.
    """

    value: pl.Expr
    checks: list[tuple[pl.Expr, pl.Expr]]


def _rules(role: Role, dtype: pl.DataType, i: int, *, text: bool) -> _Rules:
    """The rules of ``role``, the ``i``-th, whose column has ``dtype``.

    They read the stripped text (column ``__text_i``) or the typed column itself, and the checks
    may read the typed value (``__typed_i``); the missing-value check comes first.
    """
    source = pl.col(f"__text_{i}") if text else pl.col(role.name)
    typed = pl.col(f"__typed_{i}")
    kind = role.kind
    if kind == "id":
        rules = _id_rules(dtype, text, source, typed)
    elif kind == "weight":
        rules = _weight_rules(dtype, text, source, typed)
    elif kind == "time":
        rules = _time_rules(dtype, text, source, typed, i)
    elif not text:
        rules = _Rules(
            pl.lit(None, pl.String), [(pl.lit(True), pl.lit(f"expected text, not {dtype}"))]
        )
    elif kind == "type":
        rules = _Rules(source, [(~source.is_in(ACTIVITY_TYPES), pl.lit(_TYPES_REASON))])
    else:
        rules = _Rules(source, [])
    missing = (source.is_null() | (source == "")) if text else source.is_null()
    return _Rules(rules.value, [(missing, pl.lit("missing value")), *rules.checks])


def _id_rules(dtype: pl.DataType, text: bool, source: pl.Expr, typed: pl.Expr) -> _Rules:
    out_of_range = pl.lit("integer out of the 64-bit range")
    if text:  # polars' cast takes exactly [+-]?[0-9]+ (and no more than 64 bits)
        reason = pl.when(source.str.contains(_INT_TEXT)).then(out_of_range)
        return _Rules(
            source.cast(pl.Int64, strict=False),
            [(typed.is_null(), reason.otherwise(pl.lit("expected an integer")))],
        )
    if dtype.is_integer():
        return _Rules(source.cast(pl.Int64, strict=False), [(typed.is_null(), out_of_range)])
    return _Rules(
        pl.lit(None, pl.Int64), [(pl.lit(True), pl.lit(f"expected an integer, not {dtype}"))]
    )


def _weight_rules(dtype: pl.DataType, text: bool, source: pl.Expr, typed: pl.Expr) -> _Rules:
    if not (text or dtype.is_numeric()):
        return _Rules(
            pl.lit(None, pl.Float64), [(pl.lit(True), pl.lit(f"expected a number, not {dtype}"))]
        )
    return _Rules(
        source.cast(pl.Float64, strict=False),
        [
            (typed.is_null(), pl.lit("expected a number")),
            (typed.is_nan(), pl.lit("a weight cannot be NaN")),
            (typed.is_infinite(), pl.lit("a weight must be finite")),
            (typed < 0, pl.lit("a weight cannot be negative")),
        ],
    )


def _time_rules(dtype: pl.DataType, text: bool, source: pl.Expr, typed: pl.Expr, i: int) -> _Rules:
    """ISO-8601 text, epoch seconds (text or numbers), or Parquet dates and datetimes."""
    iso_micros = pl.col(f"__iso_{i}")
    if text:
        seconds = pl.col(f"__seconds_{i}")
        iso_in_range = iso_micros.is_between(_MIN_MICROS, _END_MICROS, closed="left")
        micros = (
            pl.when(seconds.is_finite())
            .then(_seconds_to_micros(seconds))
            .otherwise(pl.when(iso_in_range).then(iso_micros))
        )
        parsed = seconds.is_finite() | iso_micros.is_not_null()
    elif dtype.is_numeric():
        micros = _seconds_to_micros(source.cast(pl.Float64))
        parsed = source.cast(pl.Float64).is_finite()
    elif isinstance(dtype, pl.Datetime | pl.Date):
        moment = source.cast(pl.Datetime("us")) if isinstance(dtype, pl.Date) else source
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            moment = moment.dt.convert_time_zone("UTC")
        epoch = moment.dt.epoch("us")
        micros = pl.when(epoch.is_between(_MIN_MICROS, _END_MICROS, closed="left")).then(epoch)
        parsed = pl.lit(True)
    else:
        no_time = pl.lit(None, pl.Datetime("us", "UTC"))
        return _Rules(no_time, [(pl.lit(True), pl.lit(f"expected a time, not {dtype}"))])
    reason = (
        pl.when(parsed)
        .then(pl.lit("time out of range: years 1 to 9999, epoch times in seconds"))
        .otherwise(pl.lit("expected an ISO-8601 time or epoch seconds"))
    )
    value = micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    latest = pl.lit(datetime.now(UTC) + FUTURE_SLACK, pl.Datetime("us", "UTC"))
    ahead = (typed > latest, pl.lit(ahead_reason(FUTURE_SLACK)))  # as activities.jsonl, /events
    return _Rules(value, [(typed.is_null(), reason), ahead])


def _seconds_to_micros(seconds: pl.Expr) -> pl.Expr:
    """Epoch seconds as microseconds, null outside years 1 to 9999 (or NaN)."""
    in_range = seconds.is_between(_MIN_SECONDS, _END_SECONDS, closed="left") & ~seconds.is_nan()
    return pl.when(in_range).then((seconds * 1_000_000).round().cast(pl.Int64))
