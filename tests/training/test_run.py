"""``train_directory``: the dataset files plus the event store, an optional window, CURRENT."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from recommender.bundle.directory import current_version, list_bundles
from recommender.bundle.files import load_bundle
from recommender.data.catalogue import Catalogue
from recommender.errors import BundleNotFoundError, InvalidDataError
from recommender.events import Event, SQLiteEventStore
from recommender.models.als import ALSModel
from recommender.training.run import train_directory
from tests.conftest import WriteJsonl, block_activities, tiny_settings

NOW = datetime.now(UTC)


def _dated(records: list[dict[str, Any]], when: datetime) -> list[dict[str, Any]]:
    return [{**r, "timestamp": when.isoformat()} for r in records]


def test_events_in_the_store_are_trained_on_and_recorded(tmp_path: Path, jsonl: WriteJsonl) -> None:
    settings = tiny_settings(tmp_path)
    jsonl(settings.data_dir / "activities.jsonl", block_activities())
    store = SQLiteEventStore(settings.events_file)
    store.append([Event(999, 1000, "redirect"), Event(999, 1001, "impression")])
    store.close()

    result = train_directory(settings)

    assert 999 in result.trained.users  # a user known only from the event store
    data = result.trained.manifest.data_dict()
    assert data["event_lines"] == 2
    assert data["events_through"] == 2
    assert current_version(settings.model_dir) == result.bundle_dir.name


def test_no_event_store_file_means_no_events(tmp_path: Path, jsonl: WriteJsonl) -> None:
    settings = tiny_settings(tmp_path)
    jsonl(settings.data_dir / "activities.jsonl", block_activities())
    result = train_directory(settings)
    assert result.trained.manifest.data_dict()["event_lines"] == 0
    assert not settings.events_file.exists()


def test_window_drops_old_activity_and_keeps_undated(tmp_path: Path, jsonl: WriteJsonl) -> None:
    settings = tiny_settings(tmp_path)
    old = _dated(block_activities(1), NOW - timedelta(days=400))
    recent = _dated([{"user_id": 7, "job_id": 1000, "type": "redirect"}], NOW - timedelta(days=3))
    undated = [{"user_id": 8, "job_id": 1001, "type": "redirect"}]
    jsonl(settings.data_dir / "activities.jsonl", [*old, *recent, *undated])

    result = train_directory(settings, window=timedelta(days=30))

    trained = result.trained
    assert sorted(trained.users.ids.tolist()) == [7, 8]
    assert trained.manifest.data_dict()["window_days"] == 30
    assert trained.manifest.data_dict()["window_dropped_lines"] == len(old)


def test_window_from_settings(tmp_path: Path, jsonl: WriteJsonl) -> None:
    settings = tiny_settings(tmp_path).model_copy(update={"window_days": 10})
    jsonl(
        settings.data_dir / "activities.jsonl",
        [
            *_dated(block_activities(1), NOW - timedelta(days=20)),
            *_dated([{"user_id": 5, "job_id": 1, "type": "redirect"}], NOW),
        ],
    )
    assert train_directory(settings).trained.users.ids.tolist() == [5]


def test_a_window_with_nothing_in_it_is_a_clear_error(tmp_path: Path, jsonl: WriteJsonl) -> None:
    settings = tiny_settings(tmp_path)
    jsonl(
        settings.data_dir / "activities.jsonl",
        _dated(block_activities(1), NOW - timedelta(days=100)),
    )
    with pytest.raises(InvalidDataError, match="no activity in the last 7 days"):
        train_directory(settings, window=timedelta(days=7))
    assert list_bundles(settings.model_dir) == []


def test_make_current_false_leaves_the_pointer(tmp_path: Path, jsonl: WriteJsonl) -> None:
    settings = tiny_settings(tmp_path)
    jsonl(settings.data_dir / "activities.jsonl", block_activities())
    first = train_directory(settings)
    second = train_directory(settings, make_current=False)
    assert current_version(settings.model_dir) == first.bundle_dir.name
    assert list_bundles(settings.model_dir) == sorted(
        [first.bundle_dir.name, second.bundle_dir.name]
    )
    with pytest.raises(BundleNotFoundError):
        current_version(tmp_path / "nowhere")


def test_a_restarted_service_recalculates_users_with_events_after_the_model(
    tmp_path: Path, jsonl: WriteJsonl
) -> None:
    from recommender.lifecycle.startup import load_or_train

    settings = tiny_settings(tmp_path)
    jsonl(settings.data_dir / "activities.jsonl", block_activities())
    store = SQLiteEventStore(settings.events_file)
    store.append([Event(8888, 1000, "redirect")])  # trained on: 8888 is a known user
    train_directory(settings, events=store)
    store.append([Event(9999, 1005, "redirect")])  # after the model

    served = load_or_train(settings, store)

    assert served.fresh.through == 2 and len(served.fresh) == 1
    assert served.recommend(9999, 3).source == "recalculated"
    assert served.recommend(8888, 3).source == "als"
    store.close()


def test_workers_starting_together_train_one_bundle(tmp_path: Path, jsonl: WriteJsonl) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from recommender.lifecycle.startup import load_or_train

    settings = tiny_settings(tmp_path)
    jsonl(settings.data_dir / "activities.jsonl", block_activities())
    with ThreadPoolExecutor(3) as pool:
        served = list(pool.map(lambda _: load_or_train(settings), range(3)))
    assert len(list_bundles(settings.model_dir)) == 1
    assert len({r.version for r in served}) == 1


def test_lists_are_ranked_ahead_only_within_the_budget(tmp_path: Path, jsonl: WriteJsonl) -> None:
    jsonl(tmp_path / "data" / "activities.jsonl", block_activities())
    small = tiny_settings(tmp_path)  # 12 users × 10 jobs = 120, 10 × 10 = 100 scores
    assert train_directory(small).trained.user_top is not None
    between = small.model_copy(update={"precompute_max_cells": 110})
    trained = train_directory(between).trained
    assert trained.user_top is None and trained.similar_top is not None
    none = small.model_copy(update={"precompute_max_cells": 50})
    trained = train_directory(none).trained
    assert trained.user_top is None and trained.similar_top is None


@pytest.mark.parametrize("content", [True, False], ids=["content", "no-content"])
def test_listed_jobs_and_profiles_without_activity_reach_the_model_and_the_bundle(
    tmp_path: Path, jsonl: WriteJsonl, monkeypatch: pytest.MonkeyPatch, content: bool
) -> None:
    settings = tiny_settings(tmp_path)
    settings = settings.model_copy(
        update={"content": settings.content.model_copy(update={"enabled": content})}
    )
    jsonl(settings.data_dir / "activities.jsonl", block_activities())
    jobs = [
        {"job_id": 1000, "title": "Analyst", "description": "numbers", "employer": "acme"},
        {"job_id": 5555, "title": "Brand new", "description": "no one has seen it yet"},
    ]
    jsonl(settings.data_dir / "jobs.jsonl", jobs)
    jsonl(settings.data_dir / "users.jsonl", [{"user_id": 7777, "university": "Leeds"}])
    seen: list[tuple[bool, bool]] = []
    fit = ALSModel.fit

    def spy(self: ALSModel, *args: Any, catalogue: Catalogue | None = None, **kw: Any) -> None:
        assert catalogue is not None
        seen.append((5555 in catalogue.job_index, 7777 in catalogue.user_index))
        fit(self, *args, catalogue=catalogue, **kw)

    monkeypatch.setattr(ALSModel, "fit", spy)
    result = train_directory(settings)

    assert seen == [(True, True)]  # the model's fit saw the job and the profile
    if content:  # a cold job: a column of zeros, placed by its text
        assert 5555 in result.trained.jobs
        assert result.trained.popularity[result.trained.jobs.row(5555)] == 0
        assert result.trained.content is not None
    else:  # no activity: no factors to score it with
        assert 5555 not in result.trained.jobs
        assert result.trained.content is None
    assert result.trained.catalogue is not None  # now read from the bundle, not the run's files
    assert 5555 in result.trained.catalogue.job_index
    loaded = load_bundle(settings.model_dir)
    assert loaded.catalogue is not None
    new_job = loaded.catalogue.jobs.filter(pl.col("job_id") == 5555)
    assert new_job["description"].to_list() == ["no one has seen it yet"]
    profile = loaded.catalogue.users.filter(pl.col("user_id") == 7777)
    assert profile["university"].to_list() == ["Leeds"]
    assert loaded.manifest.data.catalogue_jobs == 2
    assert loaded.manifest.data.profile_users == 1
    assert loaded.manifest.data.unlisted_jobs == 9  # the other block jobs are not listed


def test_data_dir_given_reads_the_event_store_beside_it(tmp_path: Path, jsonl: WriteJsonl) -> None:
    settings = tiny_settings(tmp_path)  # its data_dir has no store
    other = tmp_path / "elsewhere"
    jsonl(other / "activities.jsonl", block_activities())
    store = SQLiteEventStore(other / "events.sqlite3")
    store.append([Event(999, 1000, "redirect"), Event(999, 1001, "impression")])
    store.close()

    result = train_directory(settings, data_dir=other)

    data = result.trained.manifest.data_dict()
    assert data["event_lines"] == 2 and 999 in result.trained.users
    assert data["events_file"] == str(other / "events.sqlite3")
    assert not settings.events_file.exists()


def test_events_path_set_wins_over_the_store_beside_data(tmp_path: Path, jsonl: WriteJsonl) -> None:
    other = tmp_path / "elsewhere"
    jsonl(other / "activities.jsonl", block_activities())
    SQLiteEventStore(other / "events.sqlite3").close()
    chosen = tmp_path / "chosen.sqlite3"
    settings = tiny_settings(tmp_path).model_copy(update={"events_path": chosen})
    store = SQLiteEventStore(chosen)
    store.append([Event(999, 1000, "redirect")])
    store.close()

    data = train_directory(settings, data_dir=other).trained.manifest.data_dict()

    assert data["event_lines"] == 1 and data["events_file"] == str(chosen)


def test_jobs_posted_through_the_api_are_laid_over_jobs_jsonl(
    tmp_path: Path, jsonl: WriteJsonl
) -> None:
    settings = tiny_settings(tmp_path)
    jsonl(settings.data_dir / "activities.jsonl", block_activities())
    jsonl(
        settings.data_dir / "jobs.jsonl",
        [{"job_id": 1000, "description": "old text", "employer": "Acme"}],
    )
    store = SQLiteEventStore(settings.events_file)
    store.put_listings(
        [
            {"job_id": 1000, "description": "new text", "employer": "Acme", "city": "Leeds"},
            {"job_id": 5555, "description": "posted", "expires_at": "2031-01-01T00:00:00+00:00"},
        ]
    )
    store.close()

    trained = train_directory(settings).trained

    assert trained.catalogue is not None
    jobs = trained.catalogue.jobs.sort("job_id")
    assert jobs["job_id"].to_list() == [1000, 5555]
    assert jobs["description"].to_list() == ["new text", "posted"]
    assert jobs["attributes"].to_list()[0] == '{"city": "Leeds"}'
    assert trained.manifest.data_dict()["job_postings"] == 2
