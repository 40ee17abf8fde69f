"""load: activities → scored pairs → users × jobs matrix, vs the original per-line loop; and the
strict counting read alone, vs DuckDB's own unchecked ``read_json`` + ``GROUP BY``."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import duckdb
import numpy as np
import polars as pl
import scipy.sparse as sp
from numpy.typing import NDArray

from bench import reference_loop
from bench.common import Context, Result, Row, alternate, say
from recommender.data.funnel import score_pair_counts
from recommender.data.pair_counts import read_activity_counts
from recommender.matrix import IdIndex, build_matrix

ROUNDS = 3
COUNT_ROUNDS = 5
DUCKDB_COUNTS = """
    SELECT user_id, job_id,
           count(*) FILTER (WHERE type = 'impression') AS impressions,
           count(*) FILTER (WHERE type = 'redirect') AS redirects
    FROM read_json($path) GROUP BY ALL
"""
"""The reference for counting: what a team would script with DuckDB, checking nothing."""


class Loaded(NamedTuple):
    user_ids: NDArray[np.int64]
    job_ids: NDArray[np.int64]
    matrix: sp.csr_matrix


def load_ours(path: Path) -> Loaded:
    """What training does before fitting (`training.train`, `fit_pairs`), up to the matrix."""
    counts, _, _ = read_activity_counts(path)
    pairs = score_pair_counts(
        counts["user_id"].to_numpy(),
        counts["job_id"].to_numpy(),
        counts["impressions"].to_numpy(),
        counts["redirects"].to_numpy(),
    )
    users, jobs = IdIndex(pairs.user_ids), IdIndex(pairs.job_ids)
    rows = users.rows(pairs.user_ids, missing="error")
    cols = jobs.rows(pairs.job_ids, missing="error")
    shape = (len(users), len(jobs))
    matrix = build_matrix(rows, cols, pairs.scores.astype(np.float32), shape)
    return Loaded(users.ids, jobs.ids, matrix)


def load_reference(path: Path) -> Loaded:
    users, jobs, matrix = reference_loop.load_matrix(path)
    return Loaded(np.asarray(users, dtype=np.int64), np.asarray(jobs, dtype=np.int64), matrix)


def count_duckdb(path: Path) -> pl.DataFrame:
    with duckdb.connect() as con:
        counts: pl.DataFrame = con.sql(DUCKDB_COUNTS, params={"path": str(path)}).pl()
    return counts


def same_counts(ours: pl.DataFrame, reference: pl.DataFrame) -> bool:
    """The same pairs with the same counts (DuckDB counts in integers, ours in floats)."""
    keys = ["user_id", "job_id"]
    floats = reference.cast({"impressions": pl.Float64, "redirects": pl.Float64})
    return ours.sort(keys).equals(floats.select(ours.columns).sort(keys))


def agree(a: Loaded, b: Loaded) -> bool:
    """Same row ids, column ids, and the same score for every (user, job) pair."""
    return (
        np.array_equal(a.user_ids, b.user_ids)
        and np.array_equal(a.job_ids, b.job_ids)
        and a.matrix.shape == b.matrix.shape
        and (a.matrix != b.matrix).nnz == 0
    )


def run(ctx: Context) -> Result:
    path = ctx.activities
    ours, reference = load_ours(path), load_reference(path)
    if not agree(ours, reference):
        raise AssertionError("the loader and the reference loop built different matrices")
    (users, jobs), pairs = ours.matrix.shape, int(ours.matrix.nnz)
    say(f"load: both build the same {users} × {jobs} matrix of {pairs} pairs")
    if not same_counts(read_activity_counts(path)[0], count_duckdb(path)):
        raise AssertionError("read_activity_counts and plain DuckDB counted different pairs")
    with path.open("rb") as f:
        lines = sum(1 for _ in f)

    ours_s, ref_s = alternate(lambda: load_ours(path), lambda: load_reference(path), ROUNDS)
    read_s, count_s = alternate(
        lambda: read_activity_counts(path), lambda: reference_loop.count_activities(path), ROUNDS
    )
    strict_s, duckdb_s = alternate(
        lambda: read_activity_counts(path), lambda: count_duckdb(path), COUNT_ROUNDS
    )
    best, ref_best = min(ours_s), min(ref_s)
    read, count = min(read_s), min(count_s)
    strict, plain = min(strict_s), min(duckdb_s)
    return Result(
        "load",
        rows=[
            Row(
                f"read + score + matrix, {lines:,} lines (best of {ROUNDS})",
                f"{best:.2f} s",
                f"per-line `json.loads` loop: {ref_best:.2f} s",
                f"{ref_best / best:.2f}× as fast",
            ),
            Row(
                "throughput",
                f"{lines / best:,.0f} lines/s",
                f"{lines / ref_best:,.0f} lines/s",
                f"{ref_best / best:.2f}×",
            ),
            Row(
                f"of which reading the file (best of {ROUNDS})",
                f"`read_activity_counts`: {read:.2f} s",
                f"`json.loads` + dict counts: {count:.2f} s",
                f"{count / read:.2f}× as fast",
            ),
            Row(
                f"counting pairs, every line checked (best of {COUNT_ROUNDS})",
                f"`read_activity_counts`: {strict:.3f} s",
                f"DuckDB `read_json` + `GROUP BY`, unchecked: {plain:.3f} s",
                f"{strict / plain:.2f}× its time",
            ),
            Row(
                "same matrix as the reference (checked, not timed)",
                f"yes: {users:,} users × {jobs:,} jobs, {pairs:,} pairs",
                "",
                "",
            ),
        ],
        raw={
            "lines": lines,
            "pairs": pairs,
            "matrices_agree": True,
            "seconds": ours_s,
            "reference_seconds": ref_s,
            "read_seconds": read_s,
            "reference_count_seconds": count_s,
            "strict_count_seconds": strict_s,
            "duckdb_count_seconds": duckdb_s,
            "strict_to_duckdb_ratio": strict / plain,
            "lines_per_second": lines / best,
            "reference_lines_per_second": lines / ref_best,
        },
    )
