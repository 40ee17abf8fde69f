"""JSON Lines read through a mapping: DuckDB extracts the mapped keys line by line."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import polars as pl
import pyarrow as pa

from recommender.data.interactions.columns import Role
from recommender.data.interactions.reading import Reading
from recommender.data.interactions.records import SHOWN_BYTES, Records, broken_rows, gather
from recommender.data.lines import chunks
from recommender.data.schema_sql import ident, json_path, quote

_JSON_SCALARS = "('BIGINT', 'UBIGINT', 'DOUBLE', 'VARCHAR')"


def read_mapped_jsonl(reading: Reading, chunk_bytes: int) -> Iterator[pl.DataFrame]:
    """A JSON Lines file read by key names (values are JSON numbers or strings), chunk by chunk."""
    query = _jsonl_query(reading.roles)
    for first_line, data in chunks(reading.path, chunk_bytes, skip_bom=True):
        records = Records.split(data, first_line, None)
        reading.report.lines += records.count
        bad = records.bad_utf8(reading.duck)
        rows = np.flatnonzero(~bad)
        table = pa.table(
            {
                "line": records.lines[rows].astype(np.int64),
                "j": gather(records.b, records.starts[rows], records.ends[rows]),
            }
        )
        result = reading.duck.query(query, chunk=table)
        reading.report.blank += int(result["blank"].sum())
        raw = result.filter(~pl.col("blank")).drop("blank")
        if bad.any():
            count = int(bad.sum())
            broken = broken_rows(
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


def _jsonl_query(roles: Sequence[Role]) -> str:
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
            f"WHEN {t} NOT IN {_JSON_SCALARS} THEN left(CAST({x} AS VARCHAR), {SHOWN_BYTES})",
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
                 WHEN NOT ok THEN left(rtrim(j, ' \t\r\n'), {SHOWN_BYTES})
                 {" ".join(shown)} END AS error_value,
            {", ".join(values)}
        FROM typed
        ORDER BY line
    """
