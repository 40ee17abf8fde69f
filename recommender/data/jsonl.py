"""Strict, vectorised reading of JSON Lines files against a field schema.

Two paths accept and refuse exactly the same records (their checks come from ``schema_sql``):

* **fast**: DuckDB's ``read_json`` parses the whole file in parallel, once per line, and
  type-checks every field. Clean files, the common case, take only this path.
* **precise**: when the fast path finds any problem (or line numbers are asked for), the file is
  read in chunks of bytes whose lines become Arrow string arrays (no Python loop per line); DuckDB
  checks each line and the first offending one raises
  :class:`~recommender.errors.InvalidDataError` naming the file, the line, the field and the value.
  With ``skip_invalid`` such lines are dropped and counted in the :class:`LoadReport` instead.

Blank lines are ignored. Fields not in the schema are ignored. JSON ``null`` counts as absent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from recommender.data.input_file import readable_file
from recommender.data.lines import chunks, count_lines, invalid_utf8, line_offsets, string_array
from recommender.data.schema_sql import (
    FieldKind,
    FieldSpec,
    fast_query,
    ident,
    precise_query,
    quote,
)
from recommender.errors import InvalidDataError, MissingDataError

__all__ = ["FieldKind", "FieldSpec", "LoadReport", "read_jsonl"]

CHUNK_BYTES = 64 * 1024 * 1024
MAX_REPORTED_ERRORS = 20
COPY_MEMORY = "256MB"
"""What :func:`copy_jsonl_to_parquet` lets DuckDB hold in memory before it spills to disk."""

_POLARS_TYPES: dict[FieldKind, pl.DataType] = {
    "int": pl.Int64(),
    "str": pl.String(),
    "timestamp": pl.Datetime("us", "UTC"),
    "str_list": pl.List(pl.String()),
}


@dataclass
class LoadReport:
    """What reading one file found: lines, records kept, lines skipped and the first reasons."""

    path: Path
    lines: int = 0
    records: int = 0
    blank: int = 0
    skipped: int = 0
    errors: list[InvalidDataError] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        text = f"{self.path}: {self.records} records from {self.lines} lines"
        if self.skipped:
            text += f", {self.skipped} invalid lines skipped (first: {self.errors[0]})"
        return text


def read_jsonl(
    path: Path,
    fields: Sequence[FieldSpec],
    *,
    skip_invalid: bool = False,
    with_line: bool = False,
    chunk_bytes: int = CHUNK_BYTES,
) -> tuple[pl.DataFrame, LoadReport]:
    """Read ``path`` into a DataFrame with one typed column per field, in file order.

    Parameters
    ----------
    path:
        A JSON Lines file.
    fields:
        The schema; columns come out in this order, typed Int64, String, Datetime(us, UTC) or
        List(String).
    skip_invalid:
        Drop offending lines (counted in the report) instead of raising on the first one.
    with_line:
        Add a ``line`` column (Int64) with each record's 1-based line number (precise path).
    chunk_bytes:
        How much of the file the precise path parses at a time; bounds its memory.

    Raises
    ------
    MissingDataError
        If the file does not exist or holds no records.
    InvalidDataError
        If it is not a regular file or cannot be read
        (:func:`~recommender.data.input_file.readable_file`).
    InvalidDataError
        On the first offending line, unless ``skip_invalid``.
    """
    path = readable_file(Path(path))
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")  # it would print to stdout
        fast = None if with_line else _read_fast(con, path, fields)
        if fast is not None:
            frame, report = fast
        else:
            frame, report = _read_precise(con, path, fields, skip_invalid, chunk_bytes)
            if not with_line:
                frame = frame.drop("line")
    finally:
        con.close()
    report.records = frame.height
    if frame.height == 0:
        detail = f" ({report.skipped} invalid lines skipped)" if report.skipped else ""
        raise MissingDataError(f"no records in file{detail}", path=path)
    return frame, report


def _typed(fields: Sequence[FieldSpec]) -> list[pl.Expr]:
    return [pl.col(f.name).cast(_POLARS_TYPES[f.kind]) for f in fields]


def _read_fast(
    con: duckdb.DuckDBPyConnection, path: Path, fields: Sequence[FieldSpec]
) -> tuple[pl.DataFrame, LoadReport] | None:
    """The whole file in one parallel pass, or None if any line needs the precise path."""
    if path.stat().st_size == 0:
        return None
    try:
        result: pl.DataFrame = con.sql(fast_query(fields), params={"path": str(path)}).pl()
    except duckdb.Error:
        return None
    if result["invalid"].any():
        return None
    frame = result.select(_typed(fields))
    lines = count_lines(path)
    return frame, LoadReport(path=path, lines=lines, blank=lines - frame.height)


def _read_precise(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fields: Sequence[FieldSpec],
    skip_invalid: bool,
    chunk_bytes: int,
) -> tuple[pl.DataFrame, LoadReport]:
    report = LoadReport(path=path)
    query = precise_query(fields)
    frames = [
        _parse_chunk(
            con,
            query=query,
            fields=fields,
            path=path,
            first_line=first_line,
            data=data,
            report=report,
            skip_invalid=skip_invalid,
        )
        for first_line, data in chunks(path, chunk_bytes, skip_bom=True)
    ]
    if frames:
        return pl.concat(frames), report
    schema = {f.name: _POLARS_TYPES[f.kind] for f in fields} | {"line": pl.Int64()}
    return pl.DataFrame(schema=schema), report


def _parse_chunk(
    con: duckdb.DuckDBPyConnection,
    *,
    query: str,
    fields: Sequence[FieldSpec],
    path: Path,
    first_line: int,
    data: bytes,
    report: LoadReport,
    skip_invalid: bool,
) -> pl.DataFrame:
    offsets = line_offsets(data)
    lines = string_array(data, offsets)
    n_lines = len(lines)
    report.lines += n_lines
    bad = np.flatnonzero(invalid_utf8(data, offsets, lambda: con)).tolist()
    found = [InvalidDataError("not valid UTF-8", path=path, line=first_line + i) for i in bad]
    index = pa.array(np.arange(n_lines, dtype=np.int64))
    if bad:
        keep = np.ones(n_lines, dtype=bool)
        keep[bad] = False
        mask = pa.array(keep)
        index, lines = index.filter(mask), lines.filter(mask)
    con.register("chunk", pa.table({"line_index": index, "j": lines}))
    try:
        result: pl.DataFrame = con.sql(query).pl()
    finally:
        con.unregister("chunk")
    result = result.with_columns(
        line=pl.col("line_index") + first_line,
        error_reason=pl.coalesce("line_error", "error_reason"),
        error_value=pl.coalesce("line_text", "error_value"),
    )
    errors = result.filter(pl.col("error_reason").is_not_null())
    if errors.height or found:
        found += [
            _to_error(path, r) for r in errors.head(MAX_REPORTED_ERRORS).iter_rows(named=True)
        ]
        found.sort(key=lambda e: e.line or 0)
        if not skip_invalid:
            raise found[0]
        _record_skips(report, found, errors.height + len(bad))
    report.blank += result.filter(pl.col("blank")).height
    kept = result.filter(pl.col("error_reason").is_null() & ~pl.col("blank"))
    return kept.select(*_typed(fields), "line")


def _record_skips(report: LoadReport, errors: list[InvalidDataError], count: int) -> None:
    report.skipped += count
    room = MAX_REPORTED_ERRORS - len(report.errors)
    report.errors.extend(errors[: max(room, 0)])


def _to_error(path: Path, row: dict[str, object]) -> InvalidDataError:
    line = row["line"]
    return InvalidDataError(
        str(row["error_reason"]),
        path=path,
        line=int(line) if isinstance(line, int) else None,
        field=str(row["error_field"]) if row["error_field"] is not None else None,
        value=row["error_value"],
    )


def copy_jsonl_to_parquet(
    path: Path, fields: Sequence[FieldSpec], out: Path, *, key: str
) -> LoadReport | None:
    """Check ``path`` in one parallel pass and write its records, sorted by ``key``, to the
    Parquet file ``out``, with bounded memory however large the file (DuckDB holds the checked
    records in a table that spills to ``out``'s directory past :data:`COPY_MEMORY`).

    Accepts exactly what :func:`read_jsonl` accepts (the same checks, :func:`fast_query`), and
    also refuses a repeated ``key``. Returns None, writing nothing, when any line is refused or
    a key repeats (or DuckDB cannot parse the file): the caller then reads the file with
    :func:`read_jsonl`, which names the offending line.
    """
    path, out = Path(path), Path(out)
    if not path.is_file() or path.stat().st_size == 0:
        return None
    con = duckdb.connect()
    try:
        for setting in (
            "TimeZone = 'UTC'",
            "enable_progress_bar = false",
            f"memory_limit = '{COPY_MEMORY}'",
            f"temp_directory = {quote(str(out.parent))}",
            "preserve_insertion_order = false",
        ):
            con.execute(f"SET {setting}")
        query = fast_query(fields).replace("$path", quote(str(path)))
        con.execute(f"CREATE TEMP TABLE checked AS {query}")
        ((refused, repeated, records),) = con.sql(
            f"SELECT coalesce(bool_or(invalid), false), count(*) - count(DISTINCT {ident(key)}),"
            " count(*) FROM checked"
        ).fetchall()
        if refused or repeated or records == 0:
            return None
        con.execute(
            f"COPY (SELECT * EXCLUDE (invalid) FROM checked ORDER BY {ident(key)}) "
            f"TO {quote(str(out))} (FORMAT parquet)"
        )
    except duckdb.Error:
        out.unlink(missing_ok=True)
        return None
    finally:
        con.close()
    lines = count_lines(path)
    return LoadReport(path=path, lines=lines, records=int(records), blank=lines - int(records))


def keep_other_fields(path: Path, out: Path, fields: Sequence[FieldSpec], key: str) -> None:
    """Add to the Parquet file ``out`` (one row per ``key``, as checked from ``path``) a column
    ``attributes``: each record's fields that ``fields`` does not name, as a JSON object text,
    null when there are none. Lines that were skipped as invalid are not matched."""
    schema_nulls = json.dumps({f.name: None for f in fields})
    joined = out.with_name(f".{out.name}.attributes")
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(
            f"""COPY (
                SELECT listed.*, other.attributes
                FROM read_parquet({quote(str(out))}) AS listed
                LEFT JOIN (
                    SELECT TRY_CAST(json ->> {quote(key)} AS BIGINT) AS {ident(key)},
                           first(NULLIF(json_merge_patch(json, {quote(schema_nulls)})::VARCHAR,
                                        '{{}}')) AS attributes
                    FROM read_ndjson_objects({quote(str(path))}, ignore_errors = true)
                    GROUP BY ALL
                ) AS other USING ({ident(key)})
                ORDER BY {ident(key)}
            ) TO {quote(str(joined))} (FORMAT parquet)"""
        )
        joined.replace(out)
    finally:
        con.close()
        joined.unlink(missing_ok=True)
