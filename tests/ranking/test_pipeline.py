from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recommender.data.catalogue import Catalogue
from recommender.errors import UnknownFieldError
from recommender.matrix import IdIndex
from recommender.ranking.pipeline import CAP_DEPTH, RankingPipeline
from recommender.ranking.rules import NEVER, NO_EMPLOYER, JobMeta, Rules
from recommender.ranking.stages import TopN
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


# the six jobs' cities: job 14 has none
CITIES = Catalogue(
    pl.DataFrame(
        {"job_id": np.arange(10, 16), "city": ["Leeds", "York", "Leeds", "York", None, "Leeds"]}
    )
)
IN_YORK = (("city", ("York",)),)


def test_a_filter_leaves_lists_ranked_ahead_short_and_live_scores_fill_them() -> None:
    pipeline = RankingPipeline(JOBS, META, CITIES)
    rules = Rules(now=4, filters=IN_YORK)
    assert not pipeline.passthrough(rules)
    ranking = pipeline.ranking(2, rules)
    sliced = ranking.from_lists(AHEAD, ROWS)
    # row 0's list holds one York job (11) of two; row 1's held every eligible job
    assert sliced.short == [0]
    scores = np.array([[0.8, 0.9, 0.7, 0.6, 0.5, 0.4]], dtype=np.float32)
    assert _cols(sliced.filled(ranking.from_scores(scores))) == [[1, 3], [3]]


def test_an_unknown_field_is_refused_when_the_ranking_is_built() -> None:
    with pytest.raises(UnknownFieldError, match="'country'"):
        RankingPipeline(JOBS, META, CITIES).ranking(
            2, Rules(now=4, filters=(("country", ("UK",)),))
        )


@pytest.mark.parametrize(
    "rules",
    [
        Rules(now=0),
        Rules(now=0, max_per_employer=2),
        Rules(now=0, exclude_job_ids=(3, 7), filters=(("city", ("Leeds", "York")),)),
        Rules(now=5, max_per_employer=1, filters=(("city", ("Leeds",)),)),
    ],
    ids=["none", "cap", "exclusions-and-filter", "cap-and-filter"],
)
def test_pages_are_consecutive_slices_of_one_list(rules: Rules) -> None:
    n_jobs = 60
    rng = np.random.default_rng(0)
    jobs = IdIndex(np.arange(n_jobs))
    meta = JobMeta(
        np.where(rng.random(n_jobs) < 0.1, 5, NEVER).astype(np.int64),
        rng.integers(-1, 4, n_jobs).astype(np.int32),
    )
    catalogue = Catalogue(
        pl.DataFrame(
            {"job_id": np.arange(n_jobs), "city": rng.choice(["Leeds", "York", "Hull"], n_jobs)}
        )
    )
    pipeline = RankingPipeline(jobs, meta, catalogue)
    scores = rng.random((3, n_jobs)).astype(np.float32)
    whole = pipeline.ranking(24, rules).from_scores(scores.copy())
    pages = [
        pipeline.ranking(8, rules._replace(offset=offset)).from_scores(scores.copy())
        for offset in (0, 8, 16)
    ]
    for row, listed in enumerate(whole):
        paged = np.concatenate([page[row][0] for page in pages])
        assert paged.tolist() == listed[0].tolist()
    # from the lists ranked ahead (30 deep), a page is the same slice
    ahead = TopLists(*(np.ascontiguousarray(a) for a in _ahead(scores, 30)))
    for offset, page in zip((0, 8, 16), pages, strict=True):
        ranking = pipeline.ranking(8, rules._replace(offset=offset))
        sliced = ranking.from_lists(ahead, np.arange(3, dtype=np.int64))
        short = np.array(sliced.short, dtype=np.int64)
        live = ranking.from_scores(ahead.pin(scores[short].copy(), short)) if short.size else []
        assert _cols(sliced.filled(live)) == _cols(page)


def _ahead(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    ranked = TopN(k).rank(scores.copy())
    cols = np.stack([c for c, _ in ranked]).astype(np.int32)
    vals = np.stack([v for _, v in ranked])
    return cols, vals
