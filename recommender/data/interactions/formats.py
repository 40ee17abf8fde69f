"""Which format a file is in, its mapping when none is given, and the reader for each format."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl

from recommender.data.input_file import readable_file
from recommender.data.interactions.columns import JOB_CLICKS_MAPPING, ColumnMapping, Role, listed
from recommender.data.interactions.delimited import delimited_columns, read_delimited
from recommender.data.interactions.duck import Duck
from recommender.data.interactions.jsonl_mapped import read_mapped_jsonl
from recommender.data.interactions.parquet import parquet_schema, read_parquet
from recommender.data.interactions.reading import Reading
from recommender.data.jsonl import LoadReport
from recommender.errors import InvalidDataError, MissingDataError

Format = Literal["delimited", "parquet", "jsonl"]

_SUFFIXES: dict[str, tuple[Format, str | None]] = {
    ".csv": ("delimited", ","),
    ".tsv": ("delimited", "\t"),
    ".tab": ("delimited", "\t"),
    ".parquet": ("parquet", None),
    ".jsonl": ("jsonl", None),
    ".ndjson": ("jsonl", None),
    ".json": ("jsonl", None),
}


def require_file(path: Path) -> None:
    readable_file(path)


def layout(path: Path, mapping: ColumnMapping | None) -> tuple[Format, str]:
    """The format of ``path`` and, for delimited text, its separator ("" for the other formats)."""
    suffix = path.suffix.lower()
    fmt, sep = _SUFFIXES.get(suffix, (None, None))
    given = mapping.sep if mapping is not None else None
    if given is not None:
        if fmt is not None and fmt != "delimited":
            raise InvalidDataError(
                f"a separator applies to delimited text, not to a {suffix} file",
                path=path,
                field="sep",
                value=given,
            )
        return "delimited", _checked_separator(path, given)
    if fmt is None:
        named = f"its suffix {suffix!r}" if suffix else "a name without a suffix"
        raise InvalidDataError(
            f"cannot tell the format from {named}: pass the column separator (--sep, e.g. "
            "--sep '\\t'), or name the file .csv, .tsv, .parquet or .jsonl",
            path=path,
        )
    return fmt, sep or ""


def _checked_separator(path: Path, sep: str) -> str:
    if len(sep.encode()) != 1 or sep in '"\r\n':
        raise InvalidDataError(
            "the separator must be one single-byte character, not a quote or a line end",
            path=path,
            field="sep",
            value=sep,
        )
    return sep


def detect_mapping(path: Path, fmt: Format, sep: str) -> ColumnMapping:
    """JOB_CLICKS_MAPPING if the file has its columns; otherwise an error listing the columns."""
    names = list(parquet_schema(path)) if fmt == "parquet" else delimited_columns(path, sep, True)
    if {"userId", "jobId", "Clicks"} <= set(names):
        return JOB_CLICKS_MAPPING
    raise InvalidDataError(
        f"no column mapping given and the columns ({listed(names)}) are not job_clicks.csv's "
        "(userId, jobId, Clicks): name the user and item columns (--user-col, --item-col)",
        path=path,
    )


def read_roles(
    path: Path,
    fmt: Format,
    sep: str,
    has_header: bool,
    roles: tuple[Role, ...],
    *,
    skip_invalid: bool,
    chunk_bytes: int,
) -> tuple[pl.DataFrame, LoadReport]:
    """A ``line`` column and one checked, typed column per role, in file order."""
    report = LoadReport(path=path)
    reading = Reading(path, roles, Duck(), report, skip_invalid)
    try:
        if fmt == "parquet":
            frames = [read_parquet(reading)]
        elif fmt == "jsonl":
            frames = list(read_mapped_jsonl(reading, chunk_bytes))
        else:
            frames = read_delimited(reading, sep, has_header, chunk_bytes)
    finally:
        reading.duck.close()
    frame = pl.concat(frames) if frames else None
    if frame is None or frame.height == 0:
        detail = f" ({report.skipped} invalid lines skipped)" if report.skipped else ""
        raise MissingDataError(f"no records in file{detail}", path=path)
    report.records = frame.height
    return frame, report
