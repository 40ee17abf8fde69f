"""Text files read as whole lines, in bounded chunks, without a Python loop per line.

Shared by the JSON Lines reader (:mod:`recommender.data.jsonl`) and the interaction-log readers
(:mod:`recommender.data.interactions`): chunks of whole lines (or whole quoted records) with the
number of their first line, a file's line count, Arrow string arrays over a chunk's lines, and
which lines are not valid UTF-8.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

__all__ = [
    "LF",
    "QUOTE",
    "chunks",
    "count_lines",
    "invalid_utf8",
    "line_offsets",
    "string_array",
]

LF, QUOTE = 10, 34  # the bytes of "\n" and '"'
_BOM = b"\xef\xbb\xbf"
_COUNT_BYTES = 1 << 20  # count_lines reads blocks of this size, into one buffer


def chunks(
    path: Path, chunk_bytes: int, *, quoting: bool = False, skip_bom: bool = False
) -> Iterator[tuple[int, bytes]]:
    """Yield (number of the first line, bytes of whole records), each piece ending in a newline.

    A record is a line, or with ``quoting`` text up to a newline outside double quotes (RFC 4180),
    which may hold several lines. With ``skip_bom`` a UTF-8 byte order mark is skipped. The last
    piece gets a newline if the file has none (inside the quotes if a quote is never closed).
    """
    line = 1
    rest = b""
    inside = False  # whether the end of ``rest`` lies inside quotes
    with path.open("rb") as handle:
        if skip_bom and handle.read(len(_BOM)) != _BOM:
            handle.seek(0)
        while block := handle.read(chunk_bytes):
            if quoting and (inside or b'"' in block):
                b = np.frombuffer(block, dtype=np.uint8)
                in_quotes = np.logical_xor.accumulate(b == QUOTE) ^ inside
                inside = bool(in_quotes[-1])
                ends = np.flatnonzero((b == LF) & ~in_quotes)
                cut = int(ends[-1]) + 1 if ends.shape[0] else 0
            else:
                cut = block.rfind(b"\n") + 1
            if cut == 0:
                rest += block
                continue
            data, rest = rest + block[:cut], block[cut:]
            yield line, data
            line += data.count(b"\n")
    if rest:
        yield line, rest + b"\n"


def count_lines(path: Path) -> int:
    """How many lines ``path`` has, the last one counted whether or not it ends in a newline."""
    count = 0
    last = LF
    block = bytearray(_COUNT_BYTES)
    view = np.frombuffer(block, dtype=np.uint8)
    with path.open("rb", buffering=0) as handle:
        while size := handle.readinto(block):
            count += int(np.count_nonzero(view[:size] == LF))
            last = block[size - 1]
    return count + (last != LF)


def line_offsets(data: bytes) -> NDArray[np.int64]:
    """Where each line of ``data`` (which ends in a newline) starts, then the end of ``data``."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == LF)
    return np.concatenate([[0], ends + 1]).astype(np.int64)


def string_array(data: bytes, offsets: NDArray[np.int64]) -> pa.LargeStringArray:
    """``data[offsets[i]:offsets[i + 1]]`` as Arrow strings, sharing ``data``; UTF-8 unchecked."""
    return pa.LargeStringArray.from_buffers(
        int(offsets.shape[0]) - 1, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)
    )


def invalid_utf8(
    data: bytes, offsets: NDArray[np.int64], connect: Callable[[], duckdb.DuckDBPyConnection]
) -> NDArray[np.bool_]:
    """Which of the pieces ``data[offsets[i]:offsets[i + 1]]`` are not valid UTF-8.

    ``offsets`` runs from 0 to ``len(data)`` and each piece but the first starts after a newline.
    ``data`` is checked whole first; only if that fails is ``connect`` called for the DuckDB
    connection that checks each piece.
    """
    whole = string_array(data, np.array([0, len(data)], dtype=np.int64))
    try:
        whole.validate(full=True)
    except pa.ArrowInvalid:
        pass
    else:
        return np.zeros(offsets.shape[0] - 1, dtype=bool)
    pieces = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(),
        int(offsets.shape[0]) - 1,
        [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)],
    )
    relation = connect().from_arrow(pa.table({"p": pieces}))
    bad: NDArray[np.bool_] = relation.select("try(decode(p)) IS NULL AS bad").pl()["bad"].to_numpy()
    return bad
