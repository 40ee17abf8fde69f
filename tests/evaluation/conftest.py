"""A timed click log with a planted answer, for selection and its parts."""

from __future__ import annotations

from pathlib import Path

import pytest

BLOCK_USERS = (12, 6, 4)
"""Users per block: block 0 is the most popular, so popularity is right only for its users."""
JOBS_PER_BLOCK = 8
DAY = 86_400


def write_block_log(path: Path) -> Path:
    """Users redirect to 6 of their block's 8 jobs (which two they skip varies), one a day.

    Jobs co-occur only within a block, so an item-item model knows each user's next job's block
    while popularity ranks block 0's jobs first for everyone: the planted answer is that EASE or
    item-KNN beats popularity.
    """
    lines = ["user,item,time"]
    user = 0
    for block, users in enumerate(BLOCK_USERS):
        for u in range(users):
            user += 1
            skipped = {u % JOBS_PER_BLOCK, (u + 3) % JOBS_PER_BLOCK}
            jobs = [j for j in range(JOBS_PER_BLOCK) if j not in skipped]
            order = jobs[u % len(jobs) :] + jobs[: u % len(jobs)]
            for day, j in enumerate(order):
                item = 1000 + block * JOBS_PER_BLOCK + j
                lines.append(f"{user},{item},{day * DAY + user * 60}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


MAPPING = ["--user-col", "user", "--item-col", "item", "--time-col", "time"]


@pytest.fixture
def block_log(tmp_path: Path) -> Path:
    return write_block_log(tmp_path / "log" / "clicks.csv")
