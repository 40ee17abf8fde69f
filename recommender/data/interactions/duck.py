"""A DuckDB connection for the interaction readers, opened only if a step needs one."""

from __future__ import annotations

import duckdb
import polars as pl
import pyarrow as pa


class Duck:
    """A DuckDB connection opened on first use (opening one takes about 20 ms)."""

    def __init__(self) -> None:
        self._con: duckdb.DuckDBPyConnection | None = None

    def connect(self) -> duckdb.DuckDBPyConnection:
        """The connection, opened now if it is not yet."""
        if self._con is None:
            self._con = duckdb.connect()
            self._con.execute("SET TimeZone = 'UTC'")
            self._con.execute("SET enable_progress_bar = false")  # it would print to stdout
        return self._con

    def query(self, sql: str, **tables: pa.Table) -> pl.DataFrame:
        """Run ``sql`` over Arrow tables, each registered under its keyword's name."""
        con = self.connect()
        for name, table in tables.items():
            con.register(name, table)
        try:
            result: pl.DataFrame = con.sql(sql).pl()
        finally:
            for name in tables:
                con.unregister(name)
        return result

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
