"""Interaction logs of any layout (CSV, TSV, Parquet, JSON Lines) read as activities.

:func:`read_interactions` maps a log's columns (a :class:`ColumnMapping`) onto the frame that
:func:`~recommender.data.pair_counts.score_activities` and the time-based splits take, in file
order::

    user_id: Int64, job_id: Int64, is_redirect: Boolean, weight: Float64,
    timestamp: Datetime(us, UTC)

The format follows the file suffix (``.csv``, ``.tsv``/``.tab``, ``.parquet``,
``.jsonl``/``.ndjson``/``.json``); any other file is delimited text whose separator must be given.
Reading is strict: the first offending row raises :class:`~recommender.errors.InvalidDataError`
naming the file, the line, the column and the value, unless ``skip_invalid`` drops such rows and
counts them in the :class:`~recommender.data.jsonl.LoadReport`. Line numbers are lines of the file
(a header is line 1); in a Parquet file they are 1-based row numbers.

Each format is split into rows of raw values, which one set of vectorised checks then types:

* **delimited text** is split by polars when that split can be trusted: polars reads the file and
  finds one row per line, none of them short. Otherwise (a ragged row, a blank line, a line break
  inside quotes, malformed quotes, invalid UTF-8) numpy splits it, chunk by chunk, into records and
  fields with RFC 4180 quoting and exact line numbers, with no Python loop per row. A quote never
  closed before the last line is an error even with ``skip_invalid``, as it swallows the rest of
  the file.
* **JSON Lines** with a mapping: DuckDB extracts the mapped keys, JSON numbers or strings, line by
  line (without a mapping the file is the service's ``activities.jsonl``).
* **Parquet**: polars reads the mapped columns, which may already be typed.

Blank lines are ignored and counted. Values are stripped of surrounding white space.

The modules: ``columns`` (the mapping and the columns to read), ``formats`` (the format, the
mapping when none is given, and which reader reads the file), one reader per format
(``delimited``, ``jsonl_mapped``, ``parquet``), ``records`` (numpy's split of bytes into records
and fields), ``rules`` (the vectorised value checks), and what the readers share (``reading``,
``duck``). Chunks of whole lines come from :mod:`recommender.data.lines`.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from recommender.data.interactions.columns import (
    JOB_CLICKS_MAPPING,
    ColumnMapping,
    Role,
    interaction_roles,
)
from recommender.data.interactions.formats import detect_mapping, layout, read_roles, require_file
from recommender.data.jsonl import CHUNK_BYTES, LoadReport
from recommender.data.readers import read_activities
from recommender.errors import InvalidDataError

__all__ = [
    "CATEGORY_SCHEMA",
    "INTERACTION_SCHEMA",
    "JOB_CLICKS_MAPPING",
    "ColumnMapping",
    "read_interactions",
    "read_job_categories",
]

INTERACTION_SCHEMA = pl.Schema(
    {
        "user_id": pl.Int64(),
        "job_id": pl.Int64(),
        "is_redirect": pl.Boolean(),
        "weight": pl.Float64(),
        "timestamp": pl.Datetime("us", "UTC"),
    }
)
CATEGORY_SCHEMA = pl.Schema({"job_id": pl.Int64(), "category": pl.String()})


def read_interactions(
    path: Path,
    mapping: ColumnMapping | None = None,
    *,
    skip_invalid: bool = False,
    chunk_bytes: int = CHUNK_BYTES,
) -> tuple[pl.DataFrame, LoadReport]:
    """Read an interaction log into activities, one row per log row, in file order.

    Parameters
    ----------
    path:
        A ``.csv``, ``.tsv``/``.tab``, ``.parquet`` or ``.jsonl``/``.ndjson``/``.json`` file, or
        delimited text of any other name when ``mapping.sep`` is given.
    mapping:
        Which columns hold what. Without it, a JSON Lines file is read with the service's
        activity schema (:func:`recommender.data.readers.read_activities`) and a file whose columns
        include ``userId``, ``jobId`` and ``Clicks`` with :data:`JOB_CLICKS_MAPPING`.
    skip_invalid:
        Drop offending rows (counted in the report, with the first reasons) instead of raising on
        the first one.
    chunk_bytes:
        How much of a file the precise paths parse at a time; bounds their memory.

    Returns
    -------
    tuple[polars.DataFrame, LoadReport]
        The columns ``user_id`` and ``job_id`` (Int64), ``is_redirect`` (Boolean), ``weight``
        (Float64, 1.0 without a weight column) and ``timestamp`` (Datetime(us, UTC), null without
        a time column), ready for :func:`~recommender.data.pair_counts.score_activities`; and what
        reading found.

    Raises
    ------
    MissingDataError
        If the file does not exist or holds no rows.
    InvalidDataError
        If the format or the columns cannot be told or found, and on the first offending row
        (with its line, column and value) unless ``skip_invalid``.
    """
    path = Path(path)
    require_file(path)
    fmt, sep = layout(path, mapping)
    if mapping is None:
        if fmt == "jsonl":
            frame, report = read_activities(path, skip_invalid=skip_invalid)
            return frame.with_columns(weight=pl.lit(1.0)).select(INTERACTION_SCHEMA.names()), report
        mapping = detect_mapping(path, fmt, sep)
    roles = interaction_roles(mapping)
    frame, report = read_roles(
        path,
        fmt,
        sep,
        mapping.has_header,
        roles,
        skip_invalid=skip_invalid,
        chunk_bytes=chunk_bytes,
    )
    present = set(frame.columns)
    is_redirect = pl.col("type") == "redirect" if "type" in present else pl.lit(True)
    weight = pl.col("weight") if "weight" in present else pl.lit(1.0)
    timestamp = pl.col("timestamp") if "timestamp" in present else pl.lit(None)
    events = frame.select(
        "user_id",
        "job_id",
        is_redirect.alias("is_redirect"),
        weight.alias("weight"),
        timestamp.alias("timestamp"),
    )
    return events.cast(INTERACTION_SCHEMA), report


def read_job_categories(path: Path) -> tuple[pl.DataFrame, LoadReport]:
    """Read the Spark write-up's ``jobs.csv`` (``jobID,job_category``), one row per job.

    Parameters
    ----------
    path:
        The file; its format follows its suffix as in :func:`read_interactions`.

    Returns
    -------
    tuple[polars.DataFrame, LoadReport]
        ``job_id`` (Int64) and ``category`` (String) in file order, and what reading found.

    Raises
    ------
    MissingDataError
        If the file does not exist or holds no rows.
    InvalidDataError
        On the first offending row, or a job id given twice (naming both lines).
    """
    path = Path(path)
    require_file(path)
    fmt, sep = layout(path, None)
    roles = (Role("job_id", "jobID", "id"), Role("category", "job_category", "text"))
    frame, report = read_roles(
        path, fmt, sep, True, roles, skip_invalid=False, chunk_bytes=CHUNK_BYTES
    )
    repeats = frame.filter(~pl.col("job_id").is_first_distinct())
    if repeats.height:
        line, job_id = repeats["line"][0], repeats["job_id"][0]
        first = frame.filter(pl.col("job_id") == job_id)["line"][0]
        raise InvalidDataError(
            f"repeated job id, first given on line {first}",
            path=path,
            line=line,
            field="jobID",
            value=job_id,
        )
    return frame.select(CATEGORY_SCHEMA.names()), report
