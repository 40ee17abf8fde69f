from __future__ import annotations

import numpy as np
import pytest

from recommender.matrix import IdIndex
from recommender.ranking.rules import NEVER, NO_EMPLOYER, Rules
from recommender.ranking.stages import (
    Backfill,
    EmployerCap,
    Exclusions,
    Filters,
    Ranked,
    TopN,
    within_cap,
)

# six jobs, ids 10-15 at columns 0-5; job 11 expires at 5 µs, the others never
JOBS = IdIndex(np.arange(10, 16))
EXPIRES = np.array([NEVER, 5, NEVER, NEVER, NEVER, NEVER], dtype=np.int64)


def _ranked(cols: list[int], vals: list[float] | None = None) -> Ranked:
    scores = vals if vals is not None else [1.0 - 0.1 * k for k in range(len(cols))]
    return np.array(cols, dtype=np.int64), np.array(scores, dtype=np.float32)


def test_exclusions_block_expired_and_excluded_jobs_and_ignore_unknown_ids() -> None:
    assert Exclusions.of(Rules(now=4), JOBS, EXPIRES).blocked().tolist() == [False] * 6
    stage = Exclusions.of(Rules(now=5, exclude_job_ids=(13, 99)), JOBS, EXPIRES)
    assert stage.blocked().tolist() == [False, True, False, True, False, False]


def test_exclusions_mask_scores_and_keep_the_order_of_a_ranked_list() -> None:
    stage = Exclusions.of(Rules(now=5, exclude_job_ids=(13,)), JOBS, EXPIRES)
    scores = np.ones((2, 6), dtype=np.float32)
    stage.mask(scores)
    assert np.isneginf(scores[:, [1, 3]]).all() and np.isfinite(scores[:, [0, 2, 4, 5]]).all()
    cols, vals = stage.keep(_ranked([3, 5, 1, 0]))
    assert cols.tolist() == [5, 0]
    assert vals.tolist() == np.float32([0.9, 0.7]).tolist()


def test_top_n_ranks_best_first_ties_to_the_lower_column_without_masked_jobs() -> None:
    scores = np.array([[0.5, -np.inf, 0.9, 0.5, 0.1, 0.0]], dtype=np.float32)
    ((cols, vals),) = TopN(3).rank(scores)
    assert cols.tolist() == [2, 0, 3]
    assert vals.tolist() == np.float32([0.9, 0.5, 0.5]).tolist()
    assert TopN(10).rank(scores)[0][0].tolist() == [2, 0, 3, 4, 5]


def test_employer_cap_keeps_each_employers_first_jobs_and_never_caps_unknown_ones() -> None:
    employer = np.array([0, 0, 0, 1, NO_EMPLOYER, NO_EMPLOYER], dtype=np.int32)
    assert EmployerCap(employer, 1).keep(_ranked([1, 0, 4, 3, 2, 5]))[0].tolist() == [1, 4, 3, 5]
    assert EmployerCap(employer, 2).keep(_ranked([2, 1, 0, 3]))[0].tolist() == [2, 1, 3]
    uncapped = _ranked([2, 1, 0])
    assert EmployerCap(employer, None).keep(uncapped) is uncapped


@pytest.mark.parametrize(
    ("kept", "ranked", "depth", "expected"),
    [
        ([3, 1, 4], 5, 5, [3, 1]),  # long enough: cut to n
        ([3], 5, 5, None),  # short, and deeper in the ranking may be more: rank again
        ([3], 4, 5, [3]),  # the ranking ran out of finite scores before its depth
        ([3], 6, 6, [3]),  # the ranking held every job
    ],
    ids=["cut", "short", "ran-out", "every-job"],
)
def test_backfill_cuts_to_n_and_reports_a_list_a_deeper_ranking_may_fill(
    kept: list[int], ranked: int, depth: int, expected: list[int] | None
) -> None:
    got = Backfill(n=2, n_jobs=6).cut(_ranked(kept), ranked, depth)
    assert (None if got is None else got[0].tolist()) == expected


def test_within_cap_counts_occurrences_in_list_order() -> None:
    employer = np.array([2, 1, 2, 2, NO_EMPLOYER, 1, NO_EMPLOYER], dtype=np.int32)
    assert within_cap(employer, 2).tolist() == [True, True, True, False, True, True, True]


def test_filters_and_across_fields_or_within_one_and_drop_jobs_without_the_field() -> None:
    # columns 0-5: city codes (0: none) and sector codes
    city = np.array([1, 2, 1, 0, 2, 1], dtype=np.int32)
    sector = np.array([1, 1, 2, 1, 1, 1], dtype=np.int32)
    leeds_or_york = np.array([False, True, True])
    finance = np.array([False, True, False])
    stage = Filters(((city, leeds_or_york), (sector, finance)))
    assert stage.allowed().tolist() == [True, True, False, False, True, True]
    scores = np.ones((2, 6), dtype=np.float32)
    stage.mask(scores)
    assert np.isneginf(scores[:, [2, 3]]).all() and np.isfinite(scores[:, [0, 1, 4, 5]]).all()
    cols, vals = stage.keep(_ranked([3, 5, 2, 0]))
    assert cols.tolist() == [5, 0]
    assert vals.tolist() == np.float32([0.9, 0.7]).tolist()
    only_york = Filters(((city, np.array([False, False, True])),))
    assert only_york.keep(_ranked([0, 1, 4, 3]))[0].tolist() == [1, 4]
