from __future__ import annotations

import numpy as np

from recommender.matrix import IdIndex
from recommender.ranking.pipeline import CAP_DEPTH, RankingPipeline
from recommender.ranking.rules import NEVER, NO_EMPLOYER, JobMeta, Rules
from recommender.ranking.topn import TopLists

# six jobs, ids 10-15 at columns 0-5; job 11 (column 1) expires at 5 µs; employers: columns
# 0-2 are employer 0, 3 is employer 1, 4-5 unknown
JOBS = IdIndex(np.arange(10, 16))
META = JobMeta(
    expires_at=np.array([NEVER, 5, NEVER, NEVER, NEVER, NEVER], dtype=np.int64),
    employer=np.array([0, 0, 0, 1, NO_EMPLOYER, NO_EMPLOYER], dtype=np.int32),
)
# two rows ranked ahead, 3 deep: row 1 held only two eligible jobs
AHEAD = TopLists(
    cols=np.array([[1, 0, 2], [3, 5, -1]], dtype=np.int32),
    scores=np.array([[0.9, 0.8, 0.7], [0.6, 0.5, -np.inf]], dtype=np.float32),
)
ROWS = np.array([0, 1], dtype=np.int64)


def _cols(lists: list[tuple[np.ndarray, np.ndarray]]) -> list[list[int]]:
    return [cols.tolist() for cols, _ in lists]


def test_passthrough_until_a_job_expires_or_a_rule_is_asked() -> None:
    pipeline = RankingPipeline(JOBS, META)
    assert pipeline.passthrough(Rules(now=4))
    assert pipeline.ranking(2, Rules(now=4)).passthrough
    for rules in (Rules(now=5), Rules(4, (12,)), Rules(4, (), 1)):
        assert not pipeline.passthrough(rules)
        assert not pipeline.ranking(2, rules).passthrough
    assert RankingPipeline(JOBS, None).passthrough(Rules(now=NEVER - 1))


def test_lists_ranked_ahead_are_sliced_when_no_rule_applies() -> None:
    sliced = RankingPipeline(JOBS, META).ranking(2, Rules(now=4)).from_lists(AHEAD, ROWS)
    assert sliced.short == []
    assert _cols(sliced.filled([])) == [[1, 0], [3, 5]]


def test_lists_ranked_ahead_report_the_rows_the_rules_leave_short() -> None:
    ranking = RankingPipeline(JOBS, META).ranking(2, Rules(now=5, exclude_job_ids=(10,)))
    sliced = ranking.from_lists(AHEAD, ROWS)
    # row 0 lost jobs 11 (expired) and 10 (excluded), and 3-deep lists may hide more eligible
    # jobs; row 1's list held every eligible job
    assert sliced.short == [0]
    live = [(np.array([2, 4]), np.array([0.7, 0.1], dtype=np.float32))]
    assert _cols(sliced.filled(live)) == [[2, 4], [3, 5]]


def test_scores_are_masked_ranked_and_capped() -> None:
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5, 0.4]], dtype=np.float32)
    ranking = RankingPipeline(JOBS, META).ranking(3, Rules(now=5, max_per_employer=1))
    assert _cols(ranking.from_scores(scores.copy())) == [[0, 3, 4]]
    uncapped = RankingPipeline(JOBS, META).ranking(3, Rules(now=5))
    assert _cols(uncapped.from_scores(scores.copy())) == [[0, 2, 3]]


def test_a_row_the_cap_starves_is_ranked_in_full() -> None:
    n_jobs = 2 + CAP_DEPTH * 2
    jobs = IdIndex(np.arange(n_jobs))
    # every job but the last two is employer 0, and they score highest
    employer = np.zeros(n_jobs, dtype=np.int32)
    employer[-2:] = [1, 2]
    meta = JobMeta(np.full(n_jobs, NEVER, dtype=np.int64), employer)
    scores = np.linspace(1.0, 0.1, n_jobs, dtype=np.float32)[None, :]
    ranking = RankingPipeline(jobs, meta).ranking(2, Rules(now=0, max_per_employer=1))
    # ranked 8 deep, the cap leaves one job; ranked in full, the list is filled
    assert _cols(ranking.from_scores(scores)) == [[0, n_jobs - 2]]
