"""Activity lines and pair counts: one typed shape each, the same answers to what training asks."""

from __future__ import annotations

import polars as pl
import pytest

from recommender.data.activities import ActivityLines, PairCounts
from tests.conftest import activities_frame

RECORDS = [
    {"user_id": 1, "job_id": 10, "type": "impression"},
    {"user_id": 1, "job_id": 10, "type": "redirect"},
    {"user_id": 1, "job_id": 11, "type": "impression"},
    {"user_id": 2, "job_id": 11, "type": "impression"},
]


def test_lines_and_their_counts_agree() -> None:
    lines = ActivityLines.unweighted(activities_frame(RECORDS))
    counts = lines.counts()
    assert (len(lines), len(counts)) == (4, 3)
    assert lines.lines() == counts.lines() == 4
    assert sorted(lines.job_ids().tolist()) == sorted(counts.job_ids().tolist()) == [10, 11]
    a, b = lines.score(), counts.score()
    got = sorted(zip(a.user_ids.tolist(), a.job_ids.tolist(), a.scores.tolist(), strict=True))
    want = sorted(zip(b.user_ids.tolist(), b.job_ids.tolist(), b.scores.tolist(), strict=True))
    assert got == want


def test_a_weighted_line_counts_weight_times() -> None:
    frame = activities_frame(RECORDS[:2]).with_columns(weight=pl.Series([3.0, 2.0]))
    counts = ActivityLines(frame).counts().frame.row(0, named=True)
    assert (counts["impressions"], counts["redirects"]) == (3.0, 2.0)
    assert ActivityLines(frame).lines() == 5


def test_counts_add_up_pair_by_pair() -> None:
    base = ActivityLines.unweighted(activities_frame(RECORDS)).counts()
    more = ActivityLines.unweighted(activities_frame(RECORDS[1:2])).counts()
    total = base.plus(more).frame.sort("user_id", "job_id")
    assert total["redirects"].to_list() == [2.0, 0.0, 0.0]


@pytest.mark.parametrize("shape", [ActivityLines, PairCounts], ids=["lines", "counts"])
def test_a_frame_of_another_shape_is_refused(shape: type[ActivityLines | PairCounts]) -> None:
    with pytest.raises(ValueError, match="must have the columns"):
        shape(pl.DataFrame({"user_id": [1], "job_id": [2]}))
