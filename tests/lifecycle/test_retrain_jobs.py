from __future__ import annotations

from pathlib import Path

import pytest

from recommender.errors import RetrainNotFoundError
from recommender.lifecycle.retrain_jobs import JobBook


def test_a_new_job_is_queued_with_a_hex_id() -> None:
    job = JobBook().create(window_days=30)
    assert (job.status, job.phase, job.progress, job.window_days) == ("queued", "queued", 0.0, 30)
    assert len(job.id) == 32
    int(job.id, 16)


def test_unknown_ids_are_not_found() -> None:
    with pytest.raises(RetrainNotFoundError, match="no retraining job 'nope'"):
        JobBook().get("nope")


def test_progress_never_goes_back_nor_beyond_one() -> None:
    book = JobBook()
    job = book.create(None)
    assert book.update(job.id, progress=0.5).progress == 0.5
    assert book.update(job.id, progress=0.2).progress == 0.5
    assert book.update(job.id, progress=7).progress == 1.0


def test_only_the_last_finished_jobs_are_remembered() -> None:
    book = JobBook(history=2)
    waiting = book.create(None)
    finished = [book.create(None) for _ in range(3)]
    for job in finished:
        book.update(job.id, status="succeeded")
    book.create(None)
    remembered = {job.id for job in book.jobs()}
    assert waiting.id in remembered  # a queued job is never forgotten
    assert finished[0].id not in remembered
    assert {finished[1].id, finished[2].id} <= remembered


def test_records_in_a_directory_are_seen_by_every_process(tmp_path: Path) -> None:
    mine = JobBook(directory=tmp_path / "jobs")
    theirs = JobBook(directory=tmp_path / "jobs")  # another worker on the same model directory
    job = mine.create(window_days=7)
    mine.update(job.id, status="running", progress=0.5, started_at=job.created_at)
    seen = theirs.get(job.id)
    assert (seen.status, seen.progress, seen.window_days) == ("running", 0.5, 7)
    assert seen.started_at == job.created_at
    with pytest.raises(RetrainNotFoundError):
        theirs.get("../../etc/passwd")


def test_forgotten_records_leave_the_directory(tmp_path: Path) -> None:
    book = JobBook(history=1, directory=tmp_path)
    first = book.create(None)
    book.update(first.id, status="succeeded")
    second = book.create(None)
    book.update(second.id, status="succeeded")
    book.create(None)
    assert not (tmp_path / f"{first.id}.json").exists()
    assert (tmp_path / f"{second.id}.json").exists()
