"""The quality benchmark's data: events, the two splits, and the matrices and truth they give.

Events are one frame ``user, job, time (epoch s), redirect (bool), weight (how many times the
row counts)``, read with plain polars, not the service's readers. A pair's anchor weight is the
funnel score of its impressions and redirects (the service's own data, ``"funnel"``), or the sum of
its rows' weights (MovieLens: the rating; a plain log: the number of rows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.data.funnel import score_counts

Weighting = Literal["funnel", "sum"]
Splitter = Callable[[pl.DataFrame], tuple[pl.DataFrame, pl.DataFrame]]
TEST_QUANTILE = 0.8
MIN_JOBS_FOR_LAST = 3


def read_activities(path: Path) -> pl.DataFrame:
    """The service's ``activities.jsonl`` (epoch seconds or ISO-8601), one row per line."""
    raw = pl.read_ndjson(path)
    time = pl.col("timestamp")
    if raw.schema["timestamp"] == pl.String:
        time = time.str.to_datetime(time_zone="UTC").dt.epoch("s")
    return raw.select(
        user=pl.col("user_id").cast(pl.Int64),
        job=pl.col("job_id").cast(pl.Int64),
        time=time.cast(pl.Int64),
        redirect=pl.col("type") == "redirect",
        weight=pl.lit(1.0),
    )


def read_movielens(path: Path) -> pl.DataFrame:
    """MovieLens ``u.data``: every rating a redirect that counts ``rating`` times."""
    raw = pl.read_csv(
        path, separator="\t", has_header=False, new_columns=["user", "job", "rating", "time"]
    )
    return raw.select(
        pl.col("user").cast(pl.Int64),
        pl.col("job").cast(pl.Int64),
        pl.col("time").cast(pl.Int64),
        redirect=pl.lit(True),
        weight=pl.col("rating").cast(pl.Float64),
    )


def time_split(events: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A global cut at the 80% quantile of event times: train before it, test from it on."""
    cut = events["time"].quantile(TEST_QUANTILE, interpolation="lower")
    return events.filter(pl.col("time") < cut), events.filter(pl.col("time") >= cut)


def last_split(events: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each user with at least 3 distinct jobs holds out (all events of) their last distinct job.

    A job's time is the user's first event on it; ties go to the larger job id.
    """
    first = events.group_by("user", "job").agg(first=pl.col("time").min())
    held = (
        first.filter(pl.len().over("user") >= MIN_JOBS_FOR_LAST)
        .sort("user", "first", "job")
        .group_by("user", maintain_order=True)
        .last()
        .select("user", "job", held=pl.lit(True))
    )
    marked = events.join(held, on=["user", "job"], how="left")
    is_held = pl.col("held").fill_null(False)
    return marked.filter(~is_held).drop("held"), marked.filter(is_held).drop("held")


SPLITS: dict[str, Splitter] = {"time": time_split, "last": last_split}


def pair_weights(events: pl.DataFrame, weighting: Weighting) -> pl.DataFrame:
    """One row per (user, job) with a positive weight."""
    pairs = events.group_by("user", "job").agg(
        red=pl.col("weight").filter(pl.col("redirect")).sum(),
        imp=pl.col("weight").filter(~pl.col("redirect")).sum(),
    )
    if weighting == "funnel":
        weight = score_counts(pairs["imp"].to_numpy(), pairs["red"].to_numpy())
    else:
        weight = (pairs["imp"] + pairs["red"]).to_numpy().astype(np.float32)
    return (
        pairs.select("user", "job")
        .with_columns(weight=pl.Series(weight))
        .filter(pl.col("weight") > 0)
    )


@dataclass(frozen=True)
class Problem:
    """A training matrix and the warm test users' relevant jobs (column indices)."""

    user_ids: NDArray[np.int64]
    job_ids: NDArray[np.int64]
    matrix: sp.csr_matrix
    test_rows: NDArray[np.int64]
    truth: list[set[int]]

    @property
    def popularity(self) -> NDArray[np.float64]:
        """Training users per job."""
        counts: NDArray[np.float64] = np.diff(self.matrix.tocsc().indptr).astype(np.float64)
        return counts


def problem(train: pl.DataFrame, test: pl.DataFrame, weighting: Weighting) -> Problem:
    """Index the training pairs; the truth is test redirects of known users and jobs, new pairs."""
    pairs = pair_weights(train, weighting)
    user_ids = np.sort(pairs["user"].unique().to_numpy())
    job_ids = np.sort(pairs["job"].unique().to_numpy())
    rows = np.searchsorted(user_ids, pairs["user"].to_numpy())
    cols = np.searchsorted(job_ids, pairs["job"].to_numpy())
    weights = pairs["weight"].to_numpy().astype(np.float32)
    matrix = sp.csr_matrix((weights, (rows, cols)), shape=(user_ids.size, job_ids.size))
    truth_pairs = (
        test.filter(pl.col("redirect"))
        .select("user", "job")
        .unique()
        .filter(pl.col("user").is_in(user_ids) & pl.col("job").is_in(job_ids))
        .join(pairs.select("user", "job"), on=["user", "job"], how="anti")
        .sort("user", "job")
    )
    t_rows = np.searchsorted(user_ids, truth_pairs["user"].to_numpy())
    t_cols = np.searchsorted(job_ids, truth_pairs["job"].to_numpy())
    test_rows, starts = np.unique(t_rows, return_index=True)
    truth = [set(map(int, chunk)) for chunk in np.split(t_cols, starts[1:])] if t_rows.size else []
    return Problem(user_ids, job_ids, matrix, test_rows.astype(np.int64), truth)


def write_activities(events: pl.DataFrame, path: Path) -> int:
    """The events as the service's ``activities.jsonl``: a row of weight w becomes w lines.

    This is how ``evaluate`` maps a weight column ("a row counts that many times"), so a rating of
    4 is 4 redirects, which the funnel rule scores 2·min(4, 10) = 8.
    """
    copies = events["weight"].round().cast(pl.Int64)
    if (copies != events["weight"]).any() or (copies < 1).any():
        raise ValueError("weights must be whole numbers ≥ 1 to be written as lines")
    expanded = events.with_columns(n=copies).select(pl.all().repeat_by(pl.col("n")).explode())
    lines = expanded.sort("time", maintain_order=True).select(
        user_id="user",
        job_id="job",
        type=pl.when("redirect").then(pl.lit("redirect")).otherwise(pl.lit("impression")),
        timestamp="time",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    lines.write_ndjson(path)
    return lines.height
