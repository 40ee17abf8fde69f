"""Bytes to records: numpy splits a piece of text into records and fields, with exact line numbers.

Records end at line ends outside RFC 4180 double quotes (or at every line end, for JSON Lines);
fields end at separators outside quotes. Rows that cannot be split become error rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
from numpy.typing import NDArray

from recommender.data.interactions.columns import Role
from recommender.data.interactions.duck import Duck
from recommender.data.lines import LF, QUOTE, invalid_utf8

SHOWN_BYTES = 200  # how much of a malformed row an error quotes
_CR = 13


@dataclass(frozen=True)
class Records:
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
    def split(cls, data: bytes, first_line: int, sep: str | None) -> Records:
        """Split ``data`` (from :func:`~recommender.data.lines.chunks`) into records.

        With ``sep`` None the records are lines, without quoting.
        """
        b = np.frombuffer(data, dtype=np.uint8)
        newline = b == LF
        if sep is None:
            line_ends = np.flatnonzero(newline)
            seps = np.zeros(0, dtype=np.intp)
        elif b'"' not in data:
            line_ends = np.flatnonzero(newline)
            seps = np.flatnonzero(b == sep.encode()[0])
        else:
            outside: NDArray[np.bool_] = ~np.logical_xor.accumulate(b == QUOTE)
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

    def bad_utf8(self, duck: Duck) -> NDArray[np.bool_]:
        """Which records are not valid UTF-8 (one quick check of the whole piece, usually)."""
        bounds = np.append(self.starts, len(self.data)).astype(np.int64)
        return invalid_utf8(self.data, bounds, duck.connect)


def gather(
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
    """Ends cut to at most SHOWN_BYTES bytes, backed off to the start of a UTF-8 character."""
    cut = np.minimum(ends, starts + SHOWN_BYTES)
    for _ in range(3):  # a character has at most 3 continuation bytes
        continuation = (b[np.minimum(cut, b.shape[0] - 1)] & 0xC0) == 0x80
        cut = cut - ((cut < ends) & continuation)
    return cut


def broken_rows(
    records: Records,
    rows: NDArray[np.intp],
    roles: Sequence[Role],
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
            "text": pl.Series(gather(records.b, starts, ends)),
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
