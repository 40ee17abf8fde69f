"""Strict, vectorised reading of JSON Lines files against a field schema.

A file is read in chunks of bytes; each chunk's lines become one Arrow string array (no Python loop
per line) that DuckDB parses, type-checks and converts column by column. The first offending line
raises :class:`~recommender.errors.InvalidDataError` naming the file, the line, the field and the
value; with ``skip_invalid`` such lines are dropped and counted in the :class:`LoadReport` instead.

Blank lines are ignored. Fields not in the schema are ignored. JSON ``null`` counts as absent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from recommender.errors import InvalidDataError, MissingDataError

FieldKind = Literal["int", "str", "timestamp", "str_list"]
CHUNK_BYTES = 64 * 1024 * 1024
MAX_REPORTED_ERRORS = 20


@dataclass(frozen=True)
class FieldSpec:
    """One field of a JSON Lines schema.

    ``choices`` restricts a ``str`` field to a set of values.
    """

    name: str
    kind: FieldKind
    required: bool = False
    choices: tuple[str, ...] | None = None


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


_POLARS_TYPES: dict[FieldKind, pl.DataType] = {
    "int": pl.Int64(),
    "str": pl.String(),
    "timestamp": pl.Datetime("us", "UTC"),
    "str_list": pl.List(pl.String()),
}


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
        Add a ``line`` column (Int64) with each record's 1-based line number.
    chunk_bytes:
        How much of the file is parsed at a time; bounds memory for large files.

    Raises
    ------
    MissingDataError
        If the file does not exist or holds no records.
    InvalidDataError
        On the first offending line, unless ``skip_invalid``.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingDataError("file not found", path=path)
    report = LoadReport(path=path)
    query = _typed_query(fields)
    frames: list[pl.DataFrame] = []
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        for first_line, data in _chunks(path, chunk_bytes):
            frames.append(
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
            )
    finally:
        con.close()
    frame = pl.concat(frames) if frames else _empty(fields)
    if not with_line:
        frame = frame.drop("line")
    report.records = frame.height
    if frame.height == 0:
        detail = f" ({report.skipped} invalid lines skipped)" if report.skipped else ""
        raise MissingDataError(f"no records in file{detail}", path=path)
    return frame, report


def _empty(fields: Sequence[FieldSpec]) -> pl.DataFrame:
    return pl.DataFrame(schema={f.name: _POLARS_TYPES[f.kind] for f in fields} | {"line": pl.Int64})


def _chunks(path: Path, chunk_bytes: int) -> Iterator[tuple[int, bytes]]:
    """Yield (number of the chunk's first line, bytes of whole lines, each ending in a newline)."""
    line = 1
    rest = b""
    with path.open("rb") as handle:
        while True:
            block = handle.read(chunk_bytes)
            if not block:
                break
            data = rest + block
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            rest = data[cut:]
            yield line, data[:cut]
            line += data.count(b"\n", 0, cut)
    if rest:
        yield line, rest + b"\n"


def _line_array(data: bytes) -> pa.LargeStringArray:
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    offsets = np.concatenate([[0], ends + 1]).astype(np.int64)
    return pa.LargeStringArray.from_buffers(
        int(ends.shape[0]), pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)
    )


def _bad_utf8_lines(data: bytes) -> list[int]:
    """0-based indices of the lines in ``data`` that are not valid UTF-8 (error path only)."""
    bad: list[int] = []
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    start = 0
    while start < len(data):
        try:
            data[start:].decode("utf-8")
            break
        except UnicodeDecodeError as exc:
            line = int(np.searchsorted(ends, start + exc.start))
            bad.append(line)
            start = int(ends[line]) + 1
    return bad


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
    lines = _line_array(data)
    n_lines = len(lines)
    report.lines += n_lines
    bad_utf8 = [] if _is_utf8(data) else _bad_utf8_lines(data)
    found = [InvalidDataError("not valid UTF-8", path=path, line=first_line + i) for i in bad_utf8]
    index = pa.array(np.arange(n_lines, dtype=np.int64))
    if bad_utf8:
        keep = np.ones(n_lines, dtype=bool)
        keep[bad_utf8] = False
        mask = pa.array(keep)
        index, lines = index.filter(mask), lines.filter(mask)
    con.register("chunk", pa.table({"line_index": index, "j": lines}))
    try:
        result: pl.DataFrame = con.sql(query).pl()
    finally:
        con.unregister("chunk")
    result = result.with_columns((pl.col("line_index") + first_line).alias("line"))
    errors = result.filter(pl.col("error_reason").is_not_null())
    if errors.height or found:
        found += [
            _to_error(path, r) for r in errors.head(MAX_REPORTED_ERRORS).iter_rows(named=True)
        ]
        found.sort(key=lambda e: e.line or 0)
        if not skip_invalid:
            raise found[0]
        _record_skips(report, found, errors.height + len(bad_utf8))
    report.blank += result.filter(pl.col("blank")).height
    kept = result.filter(pl.col("error_reason").is_null() & ~pl.col("blank"))
    return kept.select(*[pl.col(f.name).cast(_POLARS_TYPES[f.kind]) for f in fields], "line")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _typed_query(fields: Sequence[FieldSpec]) -> str:
    """SQL over the Arrow table ``chunk(line_index, j)``: typed columns, each line's first error."""
    value_cols: list[str] = []
    checks: list[tuple[str, str, str]] = []  # (condition that marks an error, field, reason)
    for f in fields:
        path = _sql_str("$." + f.name if f.name.isidentifier() else f'$."{f.name}"')
        t = f"json_type(j, {path})"
        raw = f"json_extract(j, {path})"
        present = f"coalesce({t}, 'NULL') <> 'NULL'"
        if f.required:
            checks.append((f"NOT ({present})", f.name, "required field is missing or null"))
        if f.kind == "int":
            value = f"CASE WHEN {t} IN ('BIGINT', 'UBIGINT') THEN try_cast({raw} AS BIGINT) END"
            checks.append(
                (f"{present} AND {t} NOT IN ('BIGINT', 'UBIGINT')", f.name, "expected an integer")
            )
            checks.append(
                (f"{present} AND ({value}) IS NULL", f.name, "integer out of the 64-bit range")
            )
        elif f.kind == "str":
            value = f"CASE WHEN {t} = 'VARCHAR' THEN json_extract_string(j, {path}) END"
            checks.append((f"{present} AND {t} <> 'VARCHAR'", f.name, "expected a string"))
            if f.choices:
                allowed = ", ".join(_sql_str(c) for c in f.choices)
                checks.append(
                    (
                        f"{present} AND ({value}) NOT IN ({allowed})",
                        f.name,
                        "expected one of " + ", ".join(repr(c) for c in f.choices),
                    )
                )
        elif f.kind == "timestamp":
            value = (
                f"CASE WHEN {t} = 'VARCHAR' "
                f"THEN try_cast(json_extract_string(j, {path}) AS TIMESTAMPTZ) "
                f"WHEN {t} IN ('BIGINT', 'UBIGINT', 'DOUBLE') "
                f"THEN try(to_timestamp(try_cast({raw} AS DOUBLE))) END"
            )
            checks.append(
                (
                    f"{present} AND ({value}) IS NULL",
                    f.name,
                    "expected an ISO-8601 time or epoch seconds",
                )
            )
        else:  # str_list
            elem_ok = f"list_bool_and(list_transform(json_type(j, {_sql_str(path[1:-1] + '[*]')}), "
            elem_ok += "lambda x: x = 'VARCHAR'))"
            value = f"CASE WHEN {t} = 'ARRAY' THEN try_cast({raw} AS VARCHAR[]) END"
            checks.append(
                (
                    f"{present} AND NOT ({t} = 'ARRAY' AND coalesce({elem_ok}, true))",
                    f.name,
                    "expected a list of strings",
                )
            )
        value_cols.append(f"CASE WHEN ok THEN {value} END AS {_ident(f.name)}")
    case_reason = " ".join(f"WHEN {cond} THEN {_sql_str(reason)}" for cond, _, reason in checks)
    case_field = " ".join(f"WHEN {cond} THEN {_sql_str(name)}" for cond, name, _ in checks)
    case_value = " ".join(
        f"WHEN {cond} THEN CAST(json_extract(j, {_sql_str('$.' + name)}) AS VARCHAR)"
        for cond, name, _ in checks
    )
    return f"""
        WITH lines AS (
            SELECT line_index, j, trim(j, ' \t\r\n') = '' AS blank FROM chunk
        ), parsed AS (
            SELECT line_index, j, blank, valid,
                   CASE WHEN valid THEN json_type(j) = 'OBJECT' ELSE false END AS ok
            FROM (SELECT *, CASE WHEN blank THEN false ELSE json_valid(j) END AS valid FROM lines)
        ), checked AS (
            SELECT line_index, j, blank, valid, ok,
                CASE WHEN blank THEN NULL
                     WHEN NOT valid THEN 'not valid JSON'
                     WHEN NOT ok THEN 'expected a JSON object'
                     ELSE CASE {case_reason} END END AS error_reason,
                CASE WHEN ok THEN CASE {case_field} END END AS error_field,
                CASE WHEN NOT blank AND NOT ok THEN left(rtrim(j, ' \t\r\n'), 200)
                     WHEN ok THEN CASE {case_value} END END AS error_value
            FROM parsed
        )
        SELECT line_index, blank, error_reason, error_field, error_value,
               {", ".join(value_cols)}
        FROM checked
        ORDER BY line_index
    """


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
