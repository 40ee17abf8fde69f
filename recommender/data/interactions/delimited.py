"""Delimited text (CSV, TSV, ...): split by polars when that can be trusted, otherwise by numpy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl
from numpy.typing import NDArray

from recommender.data.interactions.checks import no_errors
from recommender.data.interactions.columns import Role, column_positions
from recommender.data.interactions.reading import Reading
from recommender.data.interactions.records import SHOWN_BYTES, Records, broken_rows, gather
from recommender.data.lines import chunks, count_lines
from recommender.errors import InvalidDataError, MissingDataError

_HEADER_BYTES = 1 << 16  # the header is read in blocks of this size


def read_delimited(
    reading: Reading, sep: str, has_header: bool, chunk_bytes: int
) -> list[pl.DataFrame]:
    names = delimited_columns(reading.path, sep, has_header)
    positions = column_positions(reading.path, names, reading.roles, has_header)
    fast = _split_by_polars(reading, sep, has_header, len(names), positions)
    if fast is not None:
        return [reading.finish(fast)]
    frames: list[pl.DataFrame] = []
    for first_line, data in chunks(reading.path, chunk_bytes, quoting=True, skip_bom=True):
        records = Records.split(data, first_line, sep)
        reading.report.lines += data.count(b"\n")
        first = 1 if has_header and first_line == 1 else 0
        rows = np.arange(first, records.count)
        frames.append(
            reading.finish(_delimited_rows(reading, records, rows, len(names), positions))
        )
    return frames


def delimited_columns(path: Path, sep: str, has_header: bool) -> list[str]:
    """The header's column names, or "1", "2", ... as many as the first line has fields."""
    first = next(chunks(path, _HEADER_BYTES, quoting=True, skip_bom=True), None)
    if first is None:
        raise MissingDataError("no records in file", path=path)
    records = Records.split(first[1], 1, sep)
    start, end = int(records.starts[0]), int(records.ends[0])
    if records.unclosed and records.count == 1:
        raise InvalidDataError("a quoted field is never closed", path=path, line=1)
    if not first[1][start:end].strip():
        expected = "the header" if has_header else "a row (without a header it sets the columns)"
        raise InvalidDataError(f"the first line is blank; expected {expected}", path=path, line=1)
    if not has_header:
        return [str(i + 1) for i in range(int(records.n_fields[0]))]
    seps = records.seps[records.first_sep[0] : records.first_sep[0] + records.n_fields[0] - 1]
    bounds = zip([start, *(seps + 1).tolist()], [*seps.tolist(), end], strict=True)
    names: list[str] = []
    for lo, hi in bounds:  # one header, a few fields
        raw = first[1][lo:hi]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidDataError("not valid UTF-8", path=path, line=1) from exc
        name = _unquoted(text)
        if name is None:
            raise InvalidDataError("malformed quotes in the header", path=path, line=1, value=text)
        names.append(name.strip())
    return names


def _unquoted(text: str) -> str | None:
    """A field's text without its RFC 4180 quotes, or None if they are malformed."""
    if '"' not in text:
        return text
    inner = text[1:-1]
    if len(text) < 2 or text[0] != '"' or text[-1] != '"' or '"' in inner.replace('""', ""):
        return None
    return inner.replace('""', '"')


def _split_by_polars(
    reading: Reading, sep: str, has_header: bool, width: int, positions: Mapping[str, int]
) -> pl.DataFrame | None:
    """The raw frame of the whole file split by polars, or None if that split cannot be trusted.

    It can when polars reads the file (it raises on a row with too many fields, malformed quotes
    or invalid UTF-8), no row lacks its last field (a short row or a blank line; an empty field
    would do too) and there is one row per line (no quoted line breaks), so that row i is line
    i + 1 + header.
    """
    try:
        table = pl.read_csv(
            reading.path,
            separator=sep,
            has_header=has_header,
            infer_schema=False,
            quote_char='"',
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        return None
    lines = count_lines(reading.path)
    if table.width != width or width < 2 or table.height + has_header != lines:
        return None
    if table.to_series(width - 1).has_nulls():
        return None
    reading.report.lines = lines
    raw = table.select(pl.nth(positions[role.name]).alias(role.name) for role in reading.roles)
    raw = raw.with_row_index("line", offset=2 if has_header else 1)
    return no_errors(raw.with_columns(pl.col("line").cast(pl.Int64)))


def _delimited_rows(
    reading: Reading,
    records: Records,
    rows: NDArray[np.intp],
    width: int,
    positions: Mapping[str, int],
) -> pl.DataFrame:
    """The raw frame of ``rows`` of ``records``: blank ones dropped, malformed ones as errors."""
    bad_utf8 = records.bad_utf8(reading.duck)[rows]
    n_fields = records.n_fields[rows]
    single = (n_fields == 1) & ~bad_utf8
    blank = np.zeros(rows.shape[0], dtype=bool)
    if single.any():
        picked = rows[single]
        text = pl.Series(gather(records.b, records.starts[picked], records.ends[picked]))
        blank[single] = (text.str.strip_chars() == "").to_numpy()
    reading.report.blank += int(blank.sum())
    rows, n_fields, bad_utf8 = rows[~blank], n_fields[~blank], bad_utf8[~blank]
    unclosed = np.zeros(rows.shape[0], dtype=bool)
    if records.unclosed and rows.shape[0] and rows[-1] == records.count - 1:
        _check_unclosed(reading.path, records)
        unclosed[-1] = True
    good = (n_fields == width) & ~bad_utf8 & ~unclosed
    frame = _field_rows(records, rows[good], width, positions, reading.roles)
    if good.all():
        return frame
    broken = broken_rows(
        records,
        rows[~good],
        reading.roles,
        width=width,
        n_fields=n_fields[~good],
        bad_utf8=bad_utf8[~good],
        unclosed=unclosed[~good],
    )
    return pl.concat([frame, broken], how="diagonal").sort("line")


def _check_unclosed(path: Path, records: Records) -> None:
    """A quote never closed on the last line spoils only that line; earlier, the rest of the file.

    Parity of quotes decides where records end, so a stray quote turns every later line into one
    record: that is an error even with ``skip_invalid``, which would otherwise drop them all.
    """
    start = int(records.starts[-1])
    line_end = records.data.index(b"\n", start)
    if records.data[line_end + 1 :].strip():
        first_line = records.data[start:line_end]
        raise InvalidDataError(
            "a quote is never closed, so the rest of the file cannot be split into rows",
            path=path,
            line=int(records.lines[-1]),
            value=first_line[:SHOWN_BYTES].decode("utf-8", errors="replace"),
        )


def _field_rows(
    records: Records,
    rows: NDArray[np.intp],
    width: int,
    positions: Mapping[str, int],
    roles: Sequence[Role],
) -> pl.DataFrame:
    """Well-formed rows: each role's field unquoted.

    Like polars, a quote inside a field that does not start with one is taken literally; a field
    that starts with a quote must end with one, and hold no other quotes than doubled ones.
    """
    columns: dict[str, pl.Series] = {"line": pl.Series(records.lines[rows].astype(np.int64))}
    for role in roles:
        starts, ends = records.field_bounds(rows, positions[role.name], width)
        columns[role.name] = pl.Series(gather(records.b, starts, ends))
    frame = no_errors(pl.DataFrame(columns))
    quoted = [
        i for i, role in enumerate(roles) if frame[role.name].str.contains('"', literal=True).any()
    ]
    if not quoted:
        return frame
    flags: list[pl.Expr] = []
    values: list[pl.Expr] = []
    for i in quoted:
        raw = pl.col(roles[i].name)
        enclosed = raw.str.starts_with('"') & raw.str.ends_with('"') & (raw.str.len_bytes() >= 2)
        inner = raw.str.strip_prefix('"').str.strip_suffix('"')
        stray = inner.str.replace_all('""', "", literal=True).str.contains('"', literal=True)
        malformed = raw.str.starts_with('"') & ~(enclosed & ~stray)
        flags.append(malformed.fill_null(False).alias(f"__malformed_{i}"))
        unquoted = inner.str.replace_all('""', '"', literal=True)
        values.append(pl.when(enclosed).then(unquoted).otherwise(raw).alias(f"__unquoted_{i}"))
    frame = frame.with_columns(*flags, *values)
    first = pl.coalesce(pl.when(pl.col(f"__malformed_{i}")).then(i) for i in quoted)
    frame = frame.with_columns(first.alias("__first"))
    shown: pl.Expr = pl.lit(None, pl.String)
    for i in reversed(quoted):
        shown = pl.when(pl.col("__first") == i).then(pl.col(roles[i].name)).otherwise(shown)
    sources = [roles[i].source for i in quoted]
    return frame.select(
        "line",
        pl.when(pl.col("__first").is_not_null())
        .then(pl.lit("malformed quotes"))
        .alias("error_reason"),
        pl.col("__first").replace_strict(quoted, sources, default=None).alias("error_field"),
        shown.alias("error_value"),
        *(
            pl.col(f"__unquoted_{i}" if i in quoted else role.name).alias(role.name)
            for i, role in enumerate(roles)
        ),
    )
