"""Splits never leak a test event into training, and are reproducible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from recommender.errors import InvalidDataError
from recommender.evaluation.splits import leave_last_k, make_split, random_split, time_split

START = datetime(2026, 1, 1, tzinfo=UTC)


def _events(n: int = 2000, seed: int = 0, with_time: bool = True) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    times = [START + timedelta(minutes=int(m)) for m in np.sort(rng.integers(0, 60 * 24 * 60, n))]
    return pl.DataFrame(
        {
            "user_id": rng.integers(0, 60, n),
            "job_id": rng.integers(0, 80, n),
            "is_redirect": rng.random(n) < 0.4,
            "weight": np.ones(n),
            "timestamp": times if with_time else [None] * n,
        },
        schema_overrides={"timestamp": pl.Datetime("us", "UTC")},
    ).with_row_index("event")


def _ids(frame: pl.DataFrame | None) -> set[int]:
    return set() if frame is None else set(frame["event"].to_list())


def _pairs(frame: pl.DataFrame | None) -> set[tuple[int, int]]:
    return set() if frame is None else set(frame.select("user_id", "job_id").iter_rows())


def _assert_partition(events: pl.DataFrame, *parts: pl.DataFrame | None) -> None:
    seen: set[int] = set()
    for part in parts:
        ids = _ids(part)
        assert not ids & seen, "an event is on two sides"
        seen |= ids
    assert seen == set(events["event"].to_list()), "an event went missing"


def test_time_split_cuts_at_one_time_with_validation_before_test() -> None:
    events = _events()
    split = time_split(events, test_fraction=0.2, validation_fraction=0.1)
    _assert_partition(events, split.train, split.validation, split.test)
    assert split.validation is not None
    assert split.train["timestamp"].max() < split.validation["timestamp"].min()
    assert split.validation["timestamp"].max() < split.test["timestamp"].min()
    assert split.test.height == pytest.approx(0.2 * events.height, rel=0.05)


def test_time_window_keeps_only_recent_training_history() -> None:
    events = _events()
    split = time_split(events, window=timedelta(days=7))
    cut = split.test["timestamp"].min()
    assert split.train["timestamp"].min() >= cut - timedelta(days=7)
    assert split.train["timestamp"].max() < cut


def test_time_split_needs_timestamps() -> None:
    with pytest.raises(InvalidDataError, match="needs a timestamp"):
        time_split(_events(with_time=False))


def test_leave_last_k_holds_out_each_users_latest_relevant_pairs() -> None:
    events = _events()
    split = leave_last_k(events, k=2, validation=1)
    _assert_partition(events, split.train, split.validation, split.test)
    assert not _pairs(split.train) & _pairs(split.test)
    assert not _pairs(split.validation) & _pairs(split.test)
    assert split.test.group_by("user_id").agg(pl.col("job_id").n_unique())["job_id"].max() == 2

    # each user's held-out pairs are more recent than the relevant pairs it trains on
    def last_times(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.group_by("user_id", "job_id").agg(pl.col("timestamp").max().alias("t"))

    oldest_test = last_times(split.test).group_by("user_id").agg(pl.col("t").min().alias("test"))
    relevant_train = last_times(split.train.filter(pl.col("is_redirect")))
    newest_train = relevant_train.group_by("user_id").agg(pl.col("t").max().alias("train"))
    both = oldest_test.join(newest_train, on="user_id")
    assert both.height > 0
    assert (both["train"] <= both["test"]).all()


def test_random_split_is_seeded_and_pair_disjoint() -> None:
    events = _events()
    a = random_split(events, test_fraction=0.25, validation_fraction=0.1, seed=3)
    b = random_split(events, test_fraction=0.25, validation_fraction=0.1, seed=3)
    c = random_split(events, test_fraction=0.25, validation_fraction=0.1, seed=4)
    _assert_partition(events, a.train, a.validation, a.test)
    assert _ids(a.test) == _ids(b.test)
    assert _ids(a.test) != _ids(c.test)
    assert not _pairs(a.train) & _pairs(a.test)
    assert a.test["is_redirect"].any()


@pytest.mark.parametrize("kind", ["time", "last", "random"])
def test_for_tuning_selects_on_validation_and_reports_on_test(kind: str) -> None:
    events = _events()
    split = make_split(events, kind, validation_fraction=0.1)  # type: ignore[arg-type]
    select, report = split.for_tuning()
    assert _ids(select.test) == _ids(split.validation)
    assert _ids(report.train) == _ids(split.train) | _ids(split.validation)
    assert _ids(report.test) == _ids(split.test)


def test_split_without_validation_refuses_tuning() -> None:
    with pytest.raises(ValueError, match="no validation part"):
        random_split(_events()).for_tuning()
