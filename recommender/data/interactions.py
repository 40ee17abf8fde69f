"""Interaction logs of any layout (CSV, TSV, Parquet, JSON Lines) read as activities.

:func:`read_interactions` maps a log's columns (a :class:`ColumnMapping`) onto the frame that
:func:`recommender.scoring.score_activities` and the time-based splits take, in file order::

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
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
from numpy.typing import NDArray

from recommender.data.jsonl import CHUNK_BYTES, MAX_REPORTED_ERRORS, LoadReport
from recommender.data.readers import ACTIVITY_TYPES, read_activities
from recommender.data.schema_sql import ident, json_path, quote
from recommender.errors import InvalidDataError, MissingDataError

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

_Format = Literal["delimited", "parquet", "jsonl"]
_Kind = Literal["id", "weight", "time", "type", "text"]

_SUFFIXES: dict[str, tuple[_Format, str | None]] = {
    ".csv": ("delimited", ","),
    ".tsv": ("delimited", "\t"),
    ".tab": ("delimited", "\t"),
    ".parquet": ("parquet", None),
    ".jsonl": ("jsonl", None),
    ".ndjson": ("jsonl", None),
    ".json": ("jsonl", None),
}

_BOM = b"\xef\xbb\xbf"
_LF, _CR, _QUOTE = 10, 13, 34
_SHOWN_BYTES = 200  # how much of a malformed row an error quotes
_HEADER_BYTES = 1 << 16  # the header is read in blocks of this size
_MAX_LISTED_COLUMNS = 30

_INT_TEXT = r"^[+-]?[0-9]+$"
_ISO_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
# datetime(1, 1, 1) and datetime(10000, 1, 1) as epoch seconds: the times Python can represent
_MIN_SECONDS, _END_SECONDS = -62_135_596_800, 253_402_300_800
_MIN_MICROS, _END_MICROS = _MIN_SECONDS * 1_000_000, _END_SECONDS * 1_000_000
_JSON_SCALARS = "('BIGINT', 'UBIGINT', 'DOUBLE', 'VARCHAR')"
_TYPES_REASON = "expected one of " + ", ".join(repr(t) for t in ACTIVITY_TYPES)


@dataclass(frozen=True)
class ColumnMapping:
    """Which columns of an interaction log hold what.

    Parameters
    ----------
    user_col:
        The user id column (integers).
    item_col:
        The job (item) id column (integers).
    weight_col:
        A numeric column >= 0, such as a rating or a number of clicks: each row counts that many
        times. Without it every row counts once.
    time_col:
        When each interaction happened: epoch seconds (integer or float) or ISO-8601 text. Without
        it the timestamps are null.
    type_col:
        ``"impression"`` or ``"redirect"``. Without it every row is a redirect.
    sep:
        The field separator of delimited text (one character); overrides the one the suffix implies
        and is required for a file whose suffix implies none (MovieLens' ``u.data``).
    has_header:
        Whether the first line of delimited text names the columns. Without a header the columns
        are named by position ``"1"``, ``"2"``, ... (1-based, like ``cut -f``).
    """

    user_col: str
    item_col: str
    weight_col: str | None = None
    time_col: str | None = None
    type_col: str | None = None
    sep: str | None = None
    has_header: bool = True


#: The Spark write-up's ``job_clicks.csv``: ``userId,jobId,Clicks``, each click a redirect.
JOB_CLICKS_MAPPING = ColumnMapping(user_col="userId", item_col="jobId", weight_col="Clicks")


@dataclass(frozen=True)
class _Role:
    """One column to read: its output name, its name in the file and how to check it."""

    name: str
    source: str
    kind: _Kind


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
        a time column), ready for :func:`recommender.scoring.score_activities`; and what reading
        found.

    Raises
    ------
    MissingDataError
        If the file does not exist or holds no rows.
    InvalidDataError
        If the format or the columns cannot be told or found, and on the first offending row
        (with its line, column and value) unless ``skip_invalid``.
    """
    path = Path(path)
    _require_file(path)
    fmt, sep = _layout(path, mapping)
    if mapping is None:
        if fmt == "jsonl":
            frame, report = read_activities(path, skip_invalid=skip_invalid)
            return frame.with_columns(weight=pl.lit(1.0)).select(INTERACTION_SCHEMA.names()), report
        mapping = _detect_mapping(path, fmt, sep)
    roles = _interaction_roles(mapping)
    frame, report = _read_roles(
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
    _require_file(path)
    fmt, sep = _layout(path, None)
    roles = (_Role("job_id", "jobID", "id"), _Role("category", "job_category", "text"))
    frame, report = _read_roles(
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


# --- format and columns


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise MissingDataError("file not found", path=path)


def _layout(path: Path, mapping: ColumnMapping | None) -> tuple[_Format, str]:
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


def _detect_mapping(path: Path, fmt: _Format, sep: str) -> ColumnMapping:
    """JOB_CLICKS_MAPPING if the file has its columns; otherwise an error listing the columns."""
    names = list(_parquet_schema(path)) if fmt == "parquet" else _delimited_columns(path, sep, True)
    if {"userId", "jobId", "Clicks"} <= set(names):
        return JOB_CLICKS_MAPPING
    raise InvalidDataError(
        f"no column mapping given and the columns ({_listed(names)}) are not job_clicks.csv's "
        "(userId, jobId, Clicks): name the user and item columns (--user-col, --item-col)",
        path=path,
    )


def _interaction_roles(mapping: ColumnMapping) -> tuple[_Role, ...]:
    roles = [_Role("user_id", mapping.user_col, "id"), _Role("job_id", mapping.item_col, "id")]
    if mapping.weight_col is not None:
        roles.append(_Role("weight", mapping.weight_col, "weight"))
    if mapping.time_col is not None:
        roles.append(_Role("timestamp", mapping.time_col, "time"))
    if mapping.type_col is not None:
        roles.append(_Role("type", mapping.type_col, "type"))
    return tuple(roles)


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_MAX_LISTED_COLUMNS])
    more = len(names) - _MAX_LISTED_COLUMNS
    return shown + (f" and {more} more" if more > 0 else "")


def _positions(
    path: Path, names: Sequence[str], roles: Sequence[_Role], has_header: bool
) -> dict[str, int]:
    """The 0-based position of each role's column; a missing or repeated column is an error."""
    positions: dict[str, int] = {}
    for role in roles:
        hits = [i for i, name in enumerate(names) if name == role.source]
        if len(hits) > 1:
            raise InvalidDataError(
                f"the column appears {len(hits)} times in the header", path=path, field=role.source
            )
        if not hits:
            hint = ""
            if has_header and role.source.isdigit():
                hint = "; columns are named by position only without a header (--no-header)"
            elif not has_header and not role.source.isdigit():
                hint = "; without a header, columns are named by position: '1', '2', ..."
            raise InvalidDataError(
                f"no such column; the columns are {_listed(names)}{hint}",
                path=path,
                field=role.source,
            )
        positions[role.name] = hits[0]
    return positions


# --- reading


_ERRORS = ("error_reason", "error_field", "error_value")


class _Duck:
    """A DuckDB connection opened on first use (opening one takes about 20 ms)."""

    def __init__(self) -> None:
        self._con: duckdb.DuckDBPyConnection | None = None

    def query(self, sql: str, **tables: pa.Table) -> pl.DataFrame:
        """Run ``sql`` over Arrow tables, each registered under its keyword's name."""
        if self._con is None:
            self._con = duckdb.connect()
            self._con.execute("SET TimeZone = 'UTC'")
            self._con.execute("SET enable_progress_bar = false")  # it would print to stdout
        for name, table in tables.items():
            self._con.register(name, table)
        try:
            result: pl.DataFrame = self._con.sql(sql).pl()
        finally:
            for name in tables:
                self._con.unregister(name)
        return result

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


@dataclass
class _Reading:
    """What every format's reader needs: where, what, how strictly, and the report to fill."""

    path: Path
    roles: tuple[_Role, ...]
    duck: _Duck
    report: LoadReport
    skip_invalid: bool

    def finish(self, raw: pl.DataFrame) -> pl.DataFrame:
        """Check ``raw`` (see :func:`_check`); raise on its first error or drop and count them."""
        good, bad = _check(raw, self.roles, self.duck)
        if bad.height:
            rows = bad.head(MAX_REPORTED_ERRORS).iter_rows(named=True)
            errors = [_to_error(self.path, row) for row in rows]
            if not self.skip_invalid:
                raise errors[0]
            self.report.skipped += bad.height
            room = max(MAX_REPORTED_ERRORS - len(self.report.errors), 0)
            self.report.errors.extend(errors[:room])
        return good


def _read_roles(
    path: Path,
    fmt: _Format,
    sep: str,
    has_header: bool,
    roles: tuple[_Role, ...],
    *,
    skip_invalid: bool,
    chunk_bytes: int,
) -> tuple[pl.DataFrame, LoadReport]:
    """A ``line`` column and one checked, typed column per role, in file order."""
    report = LoadReport(path=path)
    reading = _Reading(path, roles, _Duck(), report, skip_invalid)
    try:
        if fmt == "parquet":
            frames = [_read_parquet(reading)]
        elif fmt == "jsonl":
            frames = list(_read_jsonl(reading, chunk_bytes))
        else:
            frames = _read_delimited(reading, sep, has_header, chunk_bytes)
    finally:
        reading.duck.close()
    frame = pl.concat(frames) if frames else None
    if frame is None or frame.height == 0:
        detail = f" ({report.skipped} invalid lines skipped)" if report.skipped else ""
        raise MissingDataError(f"no records in file{detail}", path=path)
    report.records = frame.height
    return frame, report


def _no_errors(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.lit(None, pl.String).alias(name) for name in _ERRORS)


def _to_error(path: Path, row: dict[str, object]) -> InvalidDataError:
    line, field = row["line"], row["error_field"]
    return InvalidDataError(
        str(row["error_reason"]),
        path=path,
        line=line if isinstance(line, int) else None,
        field=field if isinstance(field, str) else None,
        value=row["error_value"],
    )


# --- Parquet


def _parquet_schema(path: Path) -> dict[str, pl.DataType]:
    try:
        return dict(pl.read_parquet_schema(path))
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _unreadable_parquet(path, exc) from exc


def _unreadable_parquet(path: Path, exc: Exception) -> InvalidDataError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InvalidDataError(f"not a readable Parquet file ({reason})", path=path)


def _read_parquet(reading: _Reading) -> pl.DataFrame:
    """The whole file (typed columns are checked like text); ``line`` is the 1-based row."""
    _positions(reading.path, list(_parquet_schema(reading.path)), reading.roles, True)
    sources = list(dict.fromkeys(role.source for role in reading.roles))
    try:
        table = pl.read_parquet(reading.path, columns=sources)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _unreadable_parquet(reading.path, exc) from exc
    reading.report.lines = table.height
    raw = table.select(pl.col(role.source).alias(role.name) for role in reading.roles)
    raw = raw.with_row_index("line", offset=1).with_columns(pl.col("line").cast(pl.Int64))
    return reading.finish(_no_errors(raw))


# --- JSON Lines


def _read_jsonl(reading: _Reading, chunk_bytes: int) -> Iterator[pl.DataFrame]:
    """A JSON Lines file read by key names (values are JSON numbers or strings), chunk by chunk."""
    query = _jsonl_query(reading.roles)
    for first_line, data in _chunks(reading.path, chunk_bytes, quoting=False):
        records = _Records.split(data, first_line, None)
        reading.report.lines += records.count
        bad = records.bad_utf8(reading.duck)
        rows = np.flatnonzero(~bad)
        table = pa.table(
            {
                "line": records.lines[rows].astype(np.int64),
                "j": _gather(records.b, records.starts[rows], records.ends[rows]),
            }
        )
        result = reading.duck.query(query, chunk=table)
        reading.report.blank += int(result["blank"].sum())
        raw = result.filter(~pl.col("blank")).drop("blank")
        if bad.any():
            count = int(bad.sum())
            broken = _broken_rows(
                records,
                np.flatnonzero(bad),
                reading.roles,
                width=1,
                n_fields=np.ones(count, dtype=np.intp),
                bad_utf8=np.ones(count, dtype=bool),
                unclosed=np.zeros(count, dtype=bool),
            )
            raw = pl.concat([raw, broken], how="diagonal").sort("line")
        yield reading.finish(raw)


def _jsonl_query(roles: Sequence[_Role]) -> str:
    """SQL over ``chunk(line, j)``: each role's value as text and each line's first problem."""
    paths = ", ".join(quote(json_path(role.source)) for role in roles)
    picked = ", ".join(
        f"v[{i + 1}] AS x{i}, json_type(v[{i + 1}]) AS t{i}" for i in range(len(roles))
    )
    keys = "array_to_string(json_keys(j), ', ')"
    reasons: list[str] = []
    fields: list[str] = []
    shown: list[str] = []
    values: list[str] = []
    for i, role in enumerate(roles):
        t, x = f"t{i}", f"x{i}"
        reasons += [
            f"WHEN {t} IS NULL THEN 'no such key; the keys on this line are ' || {keys}",
            f"WHEN {t} = 'NULL' THEN 'missing value'",
            f"WHEN {t} NOT IN {_JSON_SCALARS} THEN 'expected a JSON number or string'",
        ]
        fields.append(f"WHEN {t} IS NULL OR {t} NOT IN {_JSON_SCALARS} THEN {quote(role.source)}")
        shown += [
            f"WHEN {t} IS NULL OR {t} = 'NULL' THEN NULL",
            f"WHEN {t} NOT IN {_JSON_SCALARS} THEN left(CAST({x} AS VARCHAR), {_SHOWN_BYTES})",
        ]
        values.append(
            f"CASE WHEN {t} IN {_JSON_SCALARS} THEN json_extract_string({x}, '$') END "
            f"AS {ident(role.name)}"
        )
    return f"""
        WITH lines AS (
            SELECT line, j, trim(j, ' \t\r\n') = '' AS blank FROM chunk
        ), valid AS (
            SELECT *, CASE WHEN blank THEN false ELSE json_valid(j) END AS valid FROM lines
        ), parsed AS (
            SELECT *, CASE WHEN valid THEN json_type(j) = 'OBJECT' ELSE false END AS ok FROM valid
        ), extracted AS (
            SELECT *, CASE WHEN ok THEN json_extract(j, [{paths}]) END AS v FROM parsed
        ), typed AS (
            SELECT *, {picked} FROM extracted
        )
        SELECT line, blank,
            CASE WHEN blank THEN NULL
                 WHEN NOT valid THEN 'not valid JSON'
                 WHEN NOT ok THEN 'expected a JSON object'
                 {" ".join(reasons)} END AS error_reason,
            CASE WHEN NOT ok THEN NULL {" ".join(fields)} END AS error_field,
            CASE WHEN blank THEN NULL
                 WHEN NOT ok THEN left(rtrim(j, ' \t\r\n'), {_SHOWN_BYTES})
                 {" ".join(shown)} END AS error_value,
            {", ".join(values)}
        FROM typed
        ORDER BY line
    """


# --- delimited text


def _read_delimited(
    reading: _Reading, sep: str, has_header: bool, chunk_bytes: int
) -> list[pl.DataFrame]:
    names = _delimited_columns(reading.path, sep, has_header)
    positions = _positions(reading.path, names, reading.roles, has_header)
    fast = _split_by_polars(reading, sep, has_header, len(names), positions)
    if fast is not None:
        return [reading.finish(fast)]
    frames: list[pl.DataFrame] = []
    for first_line, data in _chunks(reading.path, chunk_bytes, quoting=True):
        records = _Records.split(data, first_line, sep)
        reading.report.lines += data.count(b"\n")
        first = 1 if has_header and first_line == 1 else 0
        rows = np.arange(first, records.count)
        frames.append(
            reading.finish(_delimited_rows(reading, records, rows, len(names), positions))
        )
    return frames


def _delimited_columns(path: Path, sep: str, has_header: bool) -> list[str]:
    """The header's column names, or "1", "2", ... as many as the first line has fields."""
    first = next(_chunks(path, _HEADER_BYTES, quoting=True), None)
    if first is None:
        raise MissingDataError("no records in file", path=path)
    records = _Records.split(first[1], 1, sep)
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
    reading: _Reading, sep: str, has_header: bool, width: int, positions: Mapping[str, int]
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
    lines = _count_lines(reading.path)
    if table.width != width or width < 2 or table.height + has_header != lines:
        return None
    if table.to_series(width - 1).has_nulls():
        return None
    reading.report.lines = lines
    raw = table.select(pl.nth(positions[role.name]).alias(role.name) for role in reading.roles)
    raw = raw.with_row_index("line", offset=2 if has_header else 1)
    return _no_errors(raw.with_columns(pl.col("line").cast(pl.Int64)))


def _delimited_rows(
    reading: _Reading,
    records: _Records,
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
        text = pl.Series(_gather(records.b, records.starts[picked], records.ends[picked]))
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
    broken = _broken_rows(
        records,
        rows[~good],
        reading.roles,
        width=width,
        n_fields=n_fields[~good],
        bad_utf8=bad_utf8[~good],
        unclosed=unclosed[~good],
    )
    return pl.concat([frame, broken], how="diagonal").sort("line")


def _check_unclosed(path: Path, records: _Records) -> None:
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
            value=first_line[:_SHOWN_BYTES].decode("utf-8", errors="replace"),
        )


def _field_rows(
    records: _Records,
    rows: NDArray[np.intp],
    width: int,
    positions: Mapping[str, int],
    roles: Sequence[_Role],
) -> pl.DataFrame:
    """Well-formed rows: each role's field unquoted.

    Like polars, a quote inside a field that does not start with one is taken literally; a field
    that starts with a quote must end with one, and hold no other quotes than doubled ones.
    """
    columns: dict[str, pl.Series] = {"line": pl.Series(records.lines[rows].astype(np.int64))}
    for role in roles:
        starts, ends = records.field_bounds(rows, positions[role.name], width)
        columns[role.name] = pl.Series(_gather(records.b, starts, ends))
    frame = _no_errors(pl.DataFrame(columns))
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


def _broken_rows(
    records: _Records,
    rows: NDArray[np.intp],
    roles: Sequence[_Role],
    *,
    width: int,
    n_fields: NDArray[np.intp],
    bad_utf8: NDArray[np.bool_],
    unclosed: NDArray[np.bool_],
) -> pl.DataFrame:
    """Rows that cannot be split into fields: not UTF-8, a quote never closed, or ragged."""
    starts = records.starts[rows]
    ends = np.where(bad_utf8, starts, _shortened(records.b, starts, records.ends[rows]))
    facts = pl.DataFrame(
        {
            "line": records.lines[rows].astype(np.int64),
            "fields": n_fields.astype(np.int64),
            "utf8": bad_utf8,
            "unclosed": unclosed,
            "text": pl.Series(_gather(records.b, starts, ends)),
        }
    )
    reason = (
        pl.when(pl.col("utf8"))
        .then(pl.lit("not valid UTF-8"))
        .when(pl.col("unclosed"))
        .then(pl.lit("a quoted field is never closed"))
        .otherwise(pl.format("expected {} fields, found {}", pl.lit(width), pl.col("fields")))
    )
    return facts.select(
        "line",
        reason.alias("error_reason"),
        pl.lit(None, pl.String).alias("error_field"),
        pl.when(~pl.col("utf8")).then(pl.col("text")).alias("error_value"),
        *(pl.lit(None, pl.String).alias(role.name) for role in roles),
    )


# --- bytes to records


def _chunks(path: Path, chunk_bytes: int, *, quoting: bool) -> Iterator[tuple[int, bytes]]:
    """Yield (number of the first line, bytes of whole records), each piece ending in a newline.

    With ``quoting`` a newline inside double quotes does not end a record. A byte order mark is
    skipped; the last piece gets a newline if the file has none (inside the quotes if a quote is
    never closed).
    """
    line = 1
    rest = b""
    inside = False  # whether the end of ``rest`` lies inside quotes
    with path.open("rb") as handle:
        if handle.read(len(_BOM)) != _BOM:
            handle.seek(0)
        while block := handle.read(chunk_bytes):
            b = np.frombuffer(block, dtype=np.uint8)
            newline = b == _LF
            if quoting and (inside or b'"' in block):
                in_quotes = np.logical_xor.accumulate(b == _QUOTE) ^ inside
                newline &= ~in_quotes
                inside = bool(in_quotes[-1])
            ends = np.flatnonzero(newline)
            if ends.shape[0] == 0:
                rest += block
                continue
            cut = int(ends[-1]) + 1
            data, rest = rest + block[:cut], block[cut:]
            yield line, data
            line += data.count(b"\n")
    if rest:
        yield line, rest + b"\n"


@dataclass(frozen=True)
class _Records:
    """The records of a piece of text; record r is ``b[starts[r]:ends[r]]`` (no line end)."""

    data: bytes
    b: NDArray[np.uint8]
    starts: NDArray[np.intp]
    ends: NDArray[np.intp]
    lines: NDArray[np.intp]  # the 1-based line on which each record starts
    seps: NDArray[np.intp]  # positions of the separators outside quotes
    first_sep: NDArray[np.intp]  # index in ``seps`` of each record's first separator
    n_fields: NDArray[np.intp]
    unclosed: bool  # the last record holds a quote never closed and runs to the end

    @classmethod
    def split(cls, data: bytes, first_line: int, sep: str | None) -> _Records:
        """Split ``data`` (from :func:`_chunks`) into records; ``sep`` None: lines, no quoting."""
        b = np.frombuffer(data, dtype=np.uint8)
        newline = b == _LF
        if sep is None:
            line_ends = np.flatnonzero(newline)
            seps = np.zeros(0, dtype=np.intp)
        elif b'"' not in data:
            line_ends = np.flatnonzero(newline)
            seps = np.flatnonzero(b == sep.encode()[0])
        else:
            outside: NDArray[np.bool_] = ~np.logical_xor.accumulate(b == _QUOTE)
            line_ends = np.flatnonzero(newline & outside)
            seps = np.flatnonzero((b == sep.encode()[0]) & outside)
        unclosed = line_ends.shape[0] == 0 or int(line_ends[-1]) != b.shape[0] - 1
        if unclosed:
            line_ends = np.append(line_ends, b.shape[0] - 1)
        starts = np.concatenate([np.zeros(1, dtype=np.intp), line_ends[:-1] + 1])
        ends = line_ends - ((line_ends > starts) & (b[line_ends - 1] == _CR))
        first_sep = np.searchsorted(seps, starts)
        return cls(
            data=data,
            b=b,
            starts=starts,
            ends=ends,
            lines=first_line + np.searchsorted(np.flatnonzero(newline), starts),
            seps=seps,
            first_sep=first_sep,
            n_fields=np.searchsorted(seps, ends) - first_sep + 1,
            unclosed=unclosed,
        )

    @property
    def count(self) -> int:
        """How many records."""
        return int(self.starts.shape[0])

    def field_bounds(
        self, rows: NDArray[np.intp], k: int, width: int
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Where field ``k`` of each of ``rows`` (records of exactly ``width`` fields) lies."""
        first = self.first_sep[rows]
        starts = self.starts[rows] if k == 0 else self.seps[first + k - 1] + 1
        ends = self.ends[rows] if k == width - 1 else self.seps[first + k]
        return starts, ends

    def bad_utf8(self, duck: _Duck) -> NDArray[np.bool_]:
        """Which records are not valid UTF-8 (one quick check of the whole piece, usually)."""
        offsets = np.array([0, len(self.data)], dtype=np.int64)
        whole = pa.LargeStringArray.from_buffers(
            1, pa.py_buffer(offsets.tobytes()), pa.py_buffer(self.data)
        )
        try:
            whole.validate(full=True)
        except pa.ArrowInvalid:
            pass
        else:
            return np.zeros(self.count, dtype=bool)
        bounds = np.append(self.starts, len(self.data)).astype(np.int64)
        records = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(),
            self.count,
            [None, pa.py_buffer(bounds.tobytes()), pa.py_buffer(self.data)],
        )
        query = "SELECT try(decode(r)) IS NULL AS bad FROM records"
        return duck.query(query, records=pa.table({"r": records}))["bad"].to_numpy()


def _gather(
    b: NDArray[np.uint8], starts: NDArray[np.intp], ends: NDArray[np.intp]
) -> pa.LargeStringArray:
    """The strings ``b[starts[i]:ends[i]]`` (valid UTF-8) as one Arrow array."""
    lengths = (ends - starts).astype(np.int64)
    offsets = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    index = np.repeat(starts.astype(np.int64) - offsets[:-1], lengths)
    index += np.arange(offsets[-1], dtype=np.int64)
    return pa.LargeStringArray.from_buffers(
        lengths.shape[0], pa.py_buffer(offsets.tobytes()), pa.py_buffer(b[index].tobytes())
    )


def _shortened(
    b: NDArray[np.uint8], starts: NDArray[np.intp], ends: NDArray[np.intp]
) -> NDArray[np.intp]:
    """Ends cut to at most _SHOWN_BYTES bytes, backed off to the start of a UTF-8 character."""
    cut = np.minimum(ends, starts + _SHOWN_BYTES)
    for _ in range(3):  # a character has at most 3 continuation bytes
        continuation = (b[np.minimum(cut, b.shape[0] - 1)] & 0xC0) == 0x80
        cut = cut - ((cut < ends) & continuation)
    return cut


def _count_lines(path: Path) -> int:
    count = 0
    last = b"\n"
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


# --- checks


def _check(
    raw: pl.DataFrame, roles: Sequence[_Role], duck: _Duck
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
        return staged.select("line", *typed), raw.select("line", *_ERRORS).clear()
    good = staged.filter(~pl.col("__bad")).select("line", *typed)
    return good, _explain(staged.filter(pl.col("__bad")), roles, rules, raw.schema)


def _stage(
    raw: pl.DataFrame, roles: Sequence[_Role], duck: _Duck, *, strip: bool
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
    bad: pl.DataFrame, roles: Sequence[_Role], rules: Sequence[_Rules], schema: pl.Schema
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


def _iso_micros(text: pl.Series, duck: _Duck) -> pl.Series:
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


def _rules(role: _Role, dtype: pl.DataType, i: int, *, text: bool) -> _Rules:
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
    return _Rules(value, [(typed.is_null(), reason)])


def _seconds_to_micros(seconds: pl.Expr) -> pl.Expr:
    """Epoch seconds as microseconds, null outside years 1 to 9999 (or NaN)."""
    in_range = seconds.is_between(_MIN_SECONDS, _END_SECONDS, closed="left") & ~seconds.is_nan()
    return pl.when(in_range).then((seconds * 1_000_000).round().cast(pl.Int64))
