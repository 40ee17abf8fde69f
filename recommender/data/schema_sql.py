"""SQL that type-checks JSON values against a field schema, for both JSON Lines read paths.

Every field arrives as a DuckDB ``JSON`` value (SQL NULL when absent or JSON ``null``).

* :func:`precise_query` (line by line) types each value by ``json_type`` and gives every refused
  record the first failing check, its field and its value.
* :func:`fast_query` (``read_json`` over the whole file) only needs to know whether a record is
  refused, and judges each value from its JSON text, which is cheaper than parsing it again.

Both accept and refuse exactly the same values, with the same typed result;
``tests/data/test_schema_sql.py`` checks that value by value for every field kind.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

FieldKind = Literal["int", "str", "timestamp", "str_list"]

MAX_EPOCH_SECONDS = 1e11
"""Epoch seconds from this on (the year 5138) are refused: such a number is epoch milliseconds
(or microseconds) in all likelihood, and read as seconds it would lie thousands of years ahead."""


@dataclass(frozen=True)
class FieldSpec:
    """One field of a JSON Lines schema; ``choices`` restricts a ``str`` field to those values,
    ``ahead`` a ``timestamp`` field to times at most that far after now (when the file is read)."""

    name: str
    kind: FieldKind
    required: bool = False
    choices: tuple[str, ...] | None = None
    ahead: timedelta | None = None


def _latest(f: FieldSpec) -> str | None:
    """The SQL for the latest time field ``f`` accepts, if it has a bound."""
    if f.ahead is None:
        return None
    return f"(now() + INTERVAL '{int(f.ahead.total_seconds())} seconds')"


def ahead_reason(ahead: timedelta) -> str:
    """Why a time more than ``ahead`` after now is refused, in words."""
    hours = ahead.total_seconds() / 3600
    span = f"{hours / 24:g} day" if hours % 24 == 0 else f"{hours:g} hour"
    plural = "" if span.startswith("1 ") else "s"
    return f"time more than {span}{plural} ahead of now (clocks may drift that far, no further)"


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def json_path(name: str) -> str:
    """The JSON path of a top-level key."""
    return "$." + name if name.isidentifier() else '$."' + name.replace('"', '\\"') + '"'


def _value_and_checks(f: FieldSpec, x: str, t: str, v: str) -> tuple[str, list[tuple[str, str]]]:
    """(typed value, [(condition marking an error, reason)]) of field ``f``.

    ``x`` names its JSON value, ``t`` that value's JSON type and ``v`` the typed value, so each is
    computed once per record (parsing JSON text again for every check made reading 4× slower).
    """
    present = f"{t} IS NOT NULL"
    checks: list[tuple[str, str]] = []
    if f.required:
        checks.append((f"{t} IS NULL", "required field is missing or null"))
    if f.kind == "int":
        value = f"CASE WHEN {t} IN ('BIGINT', 'UBIGINT') THEN try_cast({x} AS BIGINT) END"
        checks.append((f"{present} AND {t} NOT IN ('BIGINT', 'UBIGINT')", "expected an integer"))
        checks.append((f"{present} AND {v} IS NULL", "integer out of the 64-bit range"))
    elif f.kind == "str":
        value = f"CASE WHEN {t} = 'VARCHAR' THEN json_extract_string({x}, '$') END"
        checks.append((f"{present} AND {t} <> 'VARCHAR'", "expected a string"))
        if f.choices:
            allowed = ", ".join(quote(c) for c in f.choices)
            reason = "expected one of " + ", ".join(repr(c) for c in f.choices)
            checks.append((f"{present} AND {v} NOT IN ({allowed})", reason))
    elif f.kind == "timestamp":
        parsed = (
            f"CASE WHEN {t} = 'VARCHAR' "
            f"THEN try_cast(json_extract_string({x}, '$') AS TIMESTAMPTZ) "
            f"WHEN {t} IN ('BIGINT', 'UBIGINT', 'DOUBLE') "
            f"THEN try(to_timestamp(try_cast({x} AS DOUBLE))) END"
        )
        too_large = (
            f"{t} IN ('BIGINT', 'UBIGINT', 'DOUBLE') "
            f"AND abs(try_cast({x} AS DOUBLE)) >= {MAX_EPOCH_SECONDS:.0f}"
        )
        # DuckDB reads "infinity" as a time; polars cannot hold it, so it is refused too
        value = f"CASE WHEN isfinite({parsed}) AND NOT ({too_large}) THEN {parsed} END"
        checks.append(
            (
                f"{present} AND {too_large}",
                f"epoch seconds of {MAX_EPOCH_SECONDS:.0e} or more (the year 5138): milliseconds? "
                "give seconds or an ISO-8601 time",
            )
        )
        checks.append((f"{present} AND {v} IS NULL", "expected an ISO-8601 time or epoch seconds"))
        latest = _latest(f)
        if (
            f.ahead is not None and latest is not None
        ):  # the refused rows are dropped: the value may stay for this check
            checks.append((f"{present} AND {v} > {latest}", ahead_reason(f.ahead)))
    else:  # str_list
        elements_ok = (
            f"coalesce(list_bool_and(list_transform(json_type({x}, '$[*]'), "
            "lambda e: e = 'VARCHAR')), true)"
        )
        value = f"CASE WHEN {t} = 'ARRAY' AND {elements_ok} THEN try_cast({x} AS VARCHAR[]) END"
        checks.append((f"{present} AND {v} IS NULL", "expected a list of strings"))
    return value, checks


def typed_query(fields: Sequence[FieldSpec], source: str, keep: Sequence[str] = ()) -> str:
    """Check and type the records of ``source``, a query with JSON columns ``f0``, ``f1``, ... .

    ``source`` may also have a boolean column ``ok`` (false: the line is not a JSON object, so no
    field is looked at) and the columns named in ``keep``, which are passed through. The result has
    ``error_reason``, ``error_field``, ``error_value`` (the first failing check of each record, else
    NULL) and one typed column per field.
    """
    n = len(fields)
    xs = [f"f{i}" for i in range(n)]
    ts = [f"t{i}" for i in range(n)]
    vs = [f"v{i}" for i in range(n)]
    values: list[str] = []
    reasons: list[str] = []
    names: list[str] = []
    shown: list[str] = []
    for f, x, t, v in zip(fields, xs, ts, vs, strict=True):
        value, checks = _value_and_checks(f, x, t, v)
        values.append(f"{value} AS {v}")
        for cond, reason in checks:
            reasons.append(f"WHEN {cond} THEN {quote(reason)}")
            names.append(f"WHEN {cond} THEN {quote(f.name)}")
            shown.append(f"WHEN {cond} THEN CAST({x} AS VARCHAR)")
    if not reasons:
        reasons = names = shown = ["WHEN false THEN NULL"]
    types = ", ".join(
        f"CASE WHEN ok THEN nullif(json_type({x}), 'NULL') END AS {t}"
        for x, t in zip(xs, ts, strict=True)
    )
    passed = "".join(f"{k}, " for k in keep)
    outputs = ", ".join(f"{v} AS {ident(f.name)}" for f, v in zip(fields, vs, strict=True))
    return f"""
        WITH src AS ({source}),
        typed AS (SELECT *, {types} FROM src),
        valued AS (SELECT *, {", ".join(values)} FROM typed)
        SELECT {passed}
            CASE WHEN ok THEN CASE {" ".join(reasons)} END END AS error_reason,
            CASE WHEN ok THEN CASE {" ".join(names)} END END AS error_field,
            CASE WHEN ok THEN CASE {" ".join(shown)} END END AS error_value,
            {outputs}
        FROM valued
    """


def _fast_value(f: FieldSpec, x: str, s: str) -> str:
    """The typed value of field ``f`` (NULL where absent or refused), from its JSON text alone.

    ``x`` names the field's ``JSON`` column and ``s`` its text, which ``read_json`` writes back
    out canonically: an integer as digits (``-0`` as ``0``), any other number with a ``.`` or an
    ``e`` (``1e3`` as ``1000.0``) or as ``NaN``/``Infinity``, a string in double quotes, escaped
    only where it must be. So the first character tells the JSON type, and digits that cast to
    BIGINT are an integer in range, without ``json_type`` parsing every value again.
    """
    string = (
        f"CASE WHEN starts_with({s}, '\"') THEN CASE WHEN contains({s}, '\\') "
        f"THEN json_extract_string({x}, '$') ELSE trim({s}, '\"') END END"
    )
    if f.kind == "int":
        no_fraction = f"NOT contains({s}, '.') AND NOT contains({s}, 'e')"
        return f"CASE WHEN {no_fraction} THEN try_cast({s} AS BIGINT) END"
    if f.kind == "str":
        if not f.choices:
            return string
        # the choices as written texts first (a plain compare), then any other string
        known = " ".join(
            f"WHEN {quote(json.dumps(c, ensure_ascii=False))} THEN {quote(c)}" for c in f.choices
        )
        allowed = ", ".join(quote(c) for c in f.choices)
        return f"CASE {s} {known} ELSE CASE WHEN {string} IN ({allowed}) THEN {string} END END"
    if f.kind == "timestamp":
        number = f"try_cast({s} AS DOUBLE)"
        parsed = (
            f"CASE WHEN starts_with({s}, '\"') THEN try_cast({string} AS TIMESTAMPTZ) "
            f"WHEN abs({number}) < {MAX_EPOCH_SECONDS:.0f} THEN try(to_timestamp({number})) END"
        )
        latest = _latest(f)
        bounded = "" if latest is None else f" AND {parsed} <= {latest}"
        return f"CASE WHEN isfinite({parsed}){bounded} THEN {parsed} END"
    elements_ok = (
        f"coalesce(list_bool_and(list_transform(json_type({x}, '$[*]'), "
        "lambda e: e = 'VARCHAR')), true)"
    )
    return (
        f"CASE WHEN starts_with({s}, '[') THEN "
        f"CASE WHEN {elements_ok} THEN try_cast({x} AS VARCHAR[]) END END"
    )


def fast_query(fields: Sequence[FieldSpec]) -> str:
    """The whole file through ``read_json`` (parallel, one parse per line); parameter ``$path``.

    The result has a boolean ``invalid`` (the record breaks the schema: the precise path then
    names why) and one typed column per field, typed as :func:`precise_query` types them.
    DuckDB raises on any line that is not a JSON object; the caller then takes the precise path.
    """
    json_columns = ", ".join(f"{quote(f.name)}: 'JSON'" for f in fields)
    renames = ", ".join(f"{ident(f.name)} AS x{i}" for i, f in enumerate(fields))
    texts = ", ".join(f"x{i}::VARCHAR AS s{i}" for i in range(len(fields)))
    values = ", ".join(f"{_fast_value(f, f'x{i}', f's{i}')} AS v{i}" for i, f in enumerate(fields))
    refused = [
        f"v{i} IS NULL" if f.required else f"(x{i} IS NOT NULL AND v{i} IS NULL)"
        for i, f in enumerate(fields)
    ]
    outputs = ", ".join(f"v{i} AS {ident(f.name)}" for i, f in enumerate(fields))
    return f"""
        WITH src AS (
            SELECT {renames}
            FROM read_json($path, format = 'newline_delimited', records = true,
                           columns = {{{json_columns}}})
        ),
        texts AS (SELECT *, {texts} FROM src),
        valued AS (SELECT *, {values} FROM texts)
        SELECT ({" OR ".join(refused) or "false"}) AS invalid, {outputs}
        FROM valued
    """


def precise_query(fields: Sequence[FieldSpec]) -> str:
    """Line by line over the Arrow table ``chunk(line_index, j)``, with every line's first error."""
    paths = ", ".join(quote(json_path(f.name)) for f in fields)
    extracted = ", ".join(f"vals[{i + 1}] AS f{i}" for i in range(len(fields)))
    source = f"""
        WITH lines AS (
            SELECT line_index, j, trim(j, ' \t\r\n') = '' AS blank FROM chunk
        ), valid AS (
            SELECT *, CASE WHEN blank THEN false ELSE json_valid(j) END AS valid FROM lines
        ), parsed AS (
            SELECT *, CASE WHEN valid THEN json_type(j) = 'OBJECT' ELSE false END AS ok
            FROM valid
        ), fields AS (
            SELECT *, CASE WHEN ok THEN json_extract(j, [{paths}]) END AS vals FROM parsed
        )
        SELECT line_index, blank, ok, {extracted},
            CASE WHEN blank THEN NULL
                 WHEN NOT valid THEN 'not valid JSON'
                 WHEN NOT ok THEN 'expected a JSON object' END AS line_error,
            CASE WHEN NOT blank AND NOT ok THEN left(rtrim(j, ' \t\r\n'), 200) END AS line_text
        FROM fields
    """
    query = typed_query(fields, source, keep=("line_index", "blank", "line_error", "line_text"))
    return query + " ORDER BY line_index"
