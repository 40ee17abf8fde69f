"""Parquet files: polars reads the mapped columns, which may already be typed."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from recommender.data.interactions.checks import no_errors
from recommender.data.interactions.columns import column_positions
from recommender.data.interactions.reading import Reading
from recommender.errors import InvalidDataError


def parquet_schema(path: Path) -> dict[str, pl.DataType]:
    try:
        return dict(pl.read_parquet_schema(path))
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _unreadable_parquet(path, exc) from exc


def _unreadable_parquet(path: Path, exc: Exception) -> InvalidDataError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InvalidDataError(f"not a readable Parquet file ({reason})", path=path)


def read_parquet(reading: Reading) -> pl.DataFrame:
    """The whole file (typed columns are checked like text); ``line`` is the 1-based row."""
    column_positions(reading.path, list(parquet_schema(reading.path)), reading.roles, True)
    sources = list(dict.fromkeys(role.source for role in reading.roles))
    try:
        table = pl.read_parquet(reading.path, columns=sources)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _unreadable_parquet(reading.path, exc) from exc
    reading.report.lines = table.height
    raw = table.select(pl.col(role.source).alias(role.name) for role in reading.roles)
    raw = raw.with_row_index("line", offset=1).with_columns(pl.col("line").cast(pl.Int64))
    return reading.finish(no_errors(raw))
