"""``activities.jsonl``: written globally sorted by timestamp with bounded memory.

Activities are simulated in blocks of active users, each block is spilled to per-time-bucket
binary files, then each bucket is read back, sorted and appended to the output, so memory stays
bounded by the bucket size however large the data set.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import polars as pl

from recommender.data.demo.activity import RECORD_DTYPE, activity_block, job_sampler
from recommender.data.demo.world import ACTIVITY_WINDOW_DAYS, DAY, World

_PAIRS_PER_BLOCK = 1_000_000
_LINES_PER_BUCKET = 4_000_000


@dataclass(frozen=True)
class ActivityCounts:
    """What :func:`write_activities` wrote, for the demo summary."""

    active_users: int
    jobs_with_activity: int
    impressions: int
    redirects: int


def write_activities(
    world: World,
    rng: np.random.Generator,
    fh: IO[bytes],
    out_dir: Path,
    progress: Callable[[int], None] | None,
) -> ActivityCounts:
    """Simulate all activity and write it to ``fh`` sorted by time, spilling under ``out_dir``."""
    sampler = job_sampler(world)
    n_buckets = max(1, math.ceil(world.target_lines / _LINES_PER_BUCKET))
    window = ACTIVITY_WINDOW_DAYS * DAY
    job_seen = np.zeros(len(world.job_ids), dtype=np.bool_)
    user_seen = np.zeros(len(world.user_ids), dtype=np.bool_)
    cum_pairs = np.cumsum(world.active_pairs)
    targets = np.arange(1, cum_pairs[-1] // _PAIRS_PER_BLOCK + 1) * _PAIRS_PER_BLOCK
    block_ends = np.unique(
        np.append(np.searchsorted(cum_pairs, targets, side="right"), len(cum_pairs))
    )
    impressions = redirects = 0

    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".demo-spill-") as spill_dir:
        spill_paths = [Path(spill_dir) / f"bucket-{k:04d}.bin" for k in range(n_buckets)]
        with contextlib.ExitStack() as stack:
            spills = [stack.enter_context(p.open("wb")) for p in spill_paths]
            start = 0
            for stop in block_ends:
                if stop <= start:
                    continue
                records = activity_block(world, sampler, rng, slice(start, int(stop)))
                start = int(stop)
                bucket = ((records["ts"] - world.window_start) * n_buckets // window).astype(
                    np.int16 if n_buckets < 2**15 else np.int64
                )
                order = np.argsort(bucket, kind="stable")  # radix sort for int16
                records = records[order]
                bounds = np.searchsorted(bucket[order], np.arange(n_buckets + 1))
                for k in range(n_buckets):
                    records[bounds[k] : bounds[k + 1]].tofile(spills[k])

        written = 0
        for path in spill_paths:
            records = np.fromfile(path, dtype=RECORD_DTYPE)
            path.unlink()
            records = records[np.argsort(records["ts"], kind="stable")]
            n_red = int(records["redirect"].sum())
            redirects += n_red
            impressions += len(records) - n_red
            job_seen[records["job"]] = True
            user_seen[records["user"]] = True
            pl.DataFrame(
                {
                    "user_id": world.user_ids[records["user"]],
                    "job_id": world.job_ids[records["job"]],
                    "type": pl.Series(records["redirect"]).replace_strict(
                        {0: "impression", 1: "redirect"}, return_dtype=pl.String
                    ),
                    "timestamp": records["ts"],
                }
            ).write_ndjson(fh)
            written += len(records)
            if progress is not None:
                progress(written)

    return ActivityCounts(
        active_users=int(user_seen.sum()),
        jobs_with_activity=int(job_seen.sum()),
        impressions=impressions,
        redirects=redirects,
    )
