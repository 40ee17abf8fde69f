"""Job postings taken at serve time, as rows of the catalogue's jobs frame.

``POST /jobs`` checks a job as a ``jobs.jsonl`` line is checked and stores the record; serving
puts it among the catalogue's jobs at once (:mod:`recommender.bundle.listed`), and training
lays the stored postings over ``jobs.jsonl`` (the newest version of a job wins), so the next
model is trained with them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import polars as pl

from recommender.data.catalogue import JOB_KEY
from recommender.data.schema import JOB_FIELDS

_TEXT = ("description", "title", "employer")
_TIMES = ("posted_at", "expires_at")
_NAMED = {f.name for f in JOB_FIELDS}
JOBS_SCHEMA: dict[str, pl.DataType] = {
    JOB_KEY: pl.Int64(),
    "description": pl.String(),
    "title": pl.String(),
    "employer": pl.String(),
    "posted_at": pl.Datetime("us", "UTC"),
    "expires_at": pl.Datetime("us", "UTC"),
    "attributes": pl.String(),
}
"""The catalogue's jobs frame, as :func:`~recommender.data.readers.copy_jobs` writes it."""


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 time of a stored record (always with its zone), or None."""
    return None if text is None else datetime.fromisoformat(text)


def listings_frame(records: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """The catalogue rows of checked job records (``jobs.jsonl`` fields, times as ISO 8601
    text): the named fields as columns, the others as the JSON object text ``attributes``."""
    columns: dict[str, list[Any]] = {name: [] for name in JOBS_SCHEMA}
    for record in records:
        columns[JOB_KEY].append(int(record[JOB_KEY]))
        for name in _TEXT:
            columns[name].append(record.get(name))
        for name in _TIMES:
            columns[name].append(parse_time(record.get(name)))
        other = {k: v for k, v in record.items() if k not in _NAMED}
        columns["attributes"].append(json.dumps(other, sort_keys=True) if other else None)
    return pl.DataFrame(columns, schema=JOBS_SCHEMA)


def overlay(jobs: pl.DataFrame, records: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """``jobs`` (a catalogue jobs frame) with ``records`` laid over it: a record replaces the
    row of its ``job_id`` or adds one (the last record of a job wins); sorted by ``job_id``."""
    if not records:
        return jobs
    newest = {int(r[JOB_KEY]): r for r in records}
    listed = listings_frame(list(newest.values()))
    missing = [pl.lit(None, dtype).alias(c) for c, dtype in JOBS_SCHEMA.items() if c not in jobs]
    kept = (
        jobs.with_columns(missing)
        .select(list(JOBS_SCHEMA))
        .cast(JOBS_SCHEMA)  # type: ignore[arg-type]
        .filter(~pl.col(JOB_KEY).is_in(listed[JOB_KEY].implode()))
    )
    return pl.concat([kept, listed], how="vertical").sort(JOB_KEY)


def records_of(jobs: pl.DataFrame) -> list[dict[str, Any]]:
    """Each row of a catalogue jobs frame as a ``jobs.jsonl`` line holds it (times as ISO 8601
    UTC text, the attributes as fields; a field the line did not give is not given here)."""
    out: list[dict[str, Any]] = []
    for row in jobs.to_dicts():
        attributes = row.pop("attributes", None)
        record: dict[str, Any] = json.loads(attributes) if attributes else {}
        for name, value in row.items():
            if value is not None:
                record[name] = value.isoformat() if isinstance(value, datetime) else value
        out.append(record)
    return out


def record_of(jobs: pl.DataFrame, job_id: int) -> dict[str, Any] | None:
    """The record of ``job_id`` in a catalogue jobs frame (see :func:`records_of`), or None
    when it is not listed."""
    if JOB_KEY not in jobs.columns:
        return None
    found = records_of(jobs.filter(pl.col(JOB_KEY) == job_id))
    return found[0] if found else None


def changed(listed: pl.DataFrame, served: pl.DataFrame) -> list[dict[str, Any]]:
    """The records of ``listed`` (a jobs frame read from ``jobs.jsonl``) that ``served`` (the
    catalogue being served) lacks or holds otherwise: what a reload of the file posts."""
    served_records = {int(r[JOB_KEY]): r for r in records_of(served)} if JOB_KEY in served else {}
    return [r for r in records_of(listed) if served_records.get(int(r[JOB_KEY])) != r]
