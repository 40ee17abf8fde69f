from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from recommender.bundle.files import load_bundle, write_bundle
from recommender.bundle.trained import TrainedModel
from recommender.data.catalogue import NEVER, NO_EMPLOYER, Catalogue
from recommender.ranking.rules import JobMeta, Rules
from recommender.ranking.topn import TopLists
from recommender.recommender import Recommendation, Recommender
from tests.conftest import PAST, block_jobs

# tests.conftest.block_jobs: 1000 expired (user 100's best job otherwise), employers
# acme = 1000-1003, bolt = 1004, core = 1005-1008, 1009 unknown. User 100 redirected to 1001-1004.
EMPLOYER = {**dict.fromkeys(range(1000, 1004), "acme"), 1004: "bolt"}
EMPLOYER |= dict.fromkeys(range(1005, 1009), "core")
BEFORE_EXPIRY = Rules(now=int(PAST.timestamp() * 1e6) - 1)


def _paths(trained: TrainedModel) -> dict[str, Recommender]:
    return {
        "precomputed": Recommender(trained),
        "live": Recommender(replace(trained, user_top=None, similar_top=None)),
    }


def _outputs(rec: Recommender, n: int, rules: Rules | None) -> dict[str, Recommendation]:
    many = rec.recommend_many([100, 999], n, rules=rules)
    return {
        "single": rec.recommend(100, n, rules=rules),
        "multiple": many[0],
        "multiple-popular": many[1],
        "popular": rec.recommend(999, n, rules=rules),
        "similar": rec.similar_jobs(1002, n, rules),
    }


def _ids(rec: Recommendation) -> list[int]:
    return [int(j) for j in rec.job_ids.tolist()]


@pytest.mark.parametrize("path", ["precomputed", "live"])
def test_expired_jobs_never_appear_on_any_endpoint(rules_trained: TrainedModel, path: str) -> None:
    rec = _paths(rules_trained)[path]
    for n in (1, 3, 10):
        for name, out in _outputs(rec, n, None).items():
            assert 1000 not in _ids(out), (name, n)
    # backfilled: 10 jobs minus 1000 expired minus 4 redirected; 9 others for a job; 9 popular
    assert len(rec.recommend(100, 10).job_ids) == 5
    assert len(rec.similar_jobs(1002, 10).job_ids) == 8
    assert len(rec.popular(10).job_ids) == 9
    assert len(rec.recommend(100, 3).job_ids) == 3


def test_expiry_is_judged_at_request_time(rules_trained: TrainedModel) -> None:
    rec = Recommender(rules_trained)
    assert _ids(rec.recommend(100, 1, rules=BEFORE_EXPIRY)) == [1000]
    assert _ids(rec.recommend(100, 1)) != [1000]


@pytest.mark.parametrize("path", ["precomputed", "live"])
def test_excluded_jobs_never_appear_and_lists_are_backfilled(
    rules_trained: TrainedModel, path: str
) -> None:
    rec = _paths(rules_trained)[path]
    unfiltered = _outputs(rec, 3, None)
    excluded = [*_ids(unfiltered["single"])[:2], *_ids(unfiltered["similar"])[:2], 42]
    rules = Rules.at_now(excluded)
    for name, out in _outputs(rec, 3, rules).items():
        assert not set(_ids(out)) & set(excluded), name
        assert len(out.job_ids) == 3, name
        assert np.all(np.diff(out.scores) <= 0), name


@pytest.mark.parametrize("path", ["precomputed", "live"])
@pytest.mark.parametrize("cap", [1, 2])
def test_max_per_employer_holds(rules_trained: TrainedModel, path: str, cap: int) -> None:
    rec = _paths(rules_trained)[path]
    rules = Rules.at_now(max_per_employer=cap)
    for name, out in _outputs(rec, 10, rules).items():
        names = [EMPLOYER[j] for j in _ids(out) if j in EMPLOYER]
        assert max(names.count(e) for e in set(names)) <= cap, name


def test_cap_backfills_and_returns_fewer_only_when_too_few_are_eligible(
    rules_trained: TrainedModel,
) -> None:
    rec = Recommender(rules_trained)
    capped = Rules.at_now(max_per_employer=1)
    # eligible for job 1002: one acme (1001 or 1003), bolt 1004, one core, and 1009
    assert len(rec.similar_jobs(1002, 10, capped).job_ids) == 4
    assert len(rec.similar_jobs(1002, 4, capped).job_ids) == 4
    assert len(rec.popular(10, capped).job_ids) == 4
    assert len(rec.popular(2, capped).job_ids) == 2


def test_a_short_precomputed_slice_is_backfilled_like_live_ranking(
    rules_trained: TrainedModel,
) -> None:
    top = rules_trained.user_top
    assert top is not None
    short = Recommender(
        replace(rules_trained, user_top=TopLists(top.cols[:, :3], top.scores[:, :3]))
    )
    live = Recommender(replace(rules_trained, user_top=None))
    rules = Rules.at_now(_ids(live.recommend(100, 2)))  # 5 eligible minus 2
    got = short.recommend(100, 3, rules=rules)
    assert len(got.job_ids) == 3
    assert _ids(got) == _ids(live.recommend(100, 3, rules=rules))


def test_job_meta_codes_employers_and_never_expires_absent_jobs() -> None:
    meta = JobMeta(*Catalogue(block_jobs()).job_rules(np.arange(1000, 1010, dtype=np.int64)))
    assert meta.expires_at[0] == int(PAST.timestamp() * 1_000_000)
    assert meta.expires_at[2:].tolist() == [NEVER] * 8
    assert meta.employer.tolist() == [0, 0, 0, 0, 1, 2, 2, 2, 2, NO_EMPLOYER]
    unlisted = JobMeta(*Catalogue().job_rules(np.arange(3, dtype=np.int64)))
    assert (unlisted.expires_at == NEVER).all()
    assert (unlisted.employer == NO_EMPLOYER).all()


def test_bundle_round_trip_keeps_the_job_rules_data(
    tmp_path: Path, rules_trained: TrainedModel
) -> None:
    write_bundle(rules_trained, tmp_path)
    loaded = load_bundle(tmp_path)
    assert loaded.job_meta is not None and rules_trained.job_meta is not None
    np.testing.assert_array_equal(loaded.job_meta.expires_at, rules_trained.job_meta.expires_at)
    np.testing.assert_array_equal(loaded.job_meta.employer, rules_trained.job_meta.employer)
    assert 1000 not in _ids(Recommender(loaded).recommend(100, 10))


def test_a_bundle_without_job_rules_data_loads_and_nothing_expires(
    tmp_path: Path, rules_trained: TrainedModel
) -> None:
    write_bundle(replace(rules_trained, job_meta=None), tmp_path)
    assert not any(p.name.startswith("jobs.") for p in next(tmp_path.glob("2*")).iterdir())
    loaded = load_bundle(tmp_path)
    assert loaded.job_meta is None
    rec = Recommender(loaded)
    assert _ids(rec.recommend(100, 1)) == [1000]
    assert len(rec.popular(10, Rules.at_now(max_per_employer=1)).job_ids) == 10
