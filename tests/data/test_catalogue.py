"""The catalogue: every listed job and user profile, whether or not it has activity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recommender.data.catalogue import NEVER, NO_EMPLOYER, Catalogue
from tests.conftest import PAST, block_jobs


def test_rows_are_sorted_by_id_and_keyed_through_an_id_index() -> None:
    jobs = pl.DataFrame({"job_id": [7, 3, 5], "title": ["seven", "three", "five"]})
    catalogue = Catalogue(jobs)
    assert catalogue.jobs["title"].to_list() == ["three", "five", "seven"]
    assert catalogue.job_index.rows([5, 7, 3], missing="error").tolist() == [1, 2, 0]
    assert catalogue.job_index.contains([5, 6]).tolist() == [True, False]
    with pytest.raises(KeyError, match="id 6 is not in the index"):
        catalogue.job_index.rows([5, 6], missing="error")


def test_without_files_it_lists_nothing() -> None:
    catalogue = Catalogue()
    assert not catalogue.has_jobs()
    assert not catalogue.has_users()
    assert catalogue.jobs.height == 0
    assert len(catalogue.user_index) == 0
    assert catalogue.unlisted(np.array([1, 2], dtype=np.int64)) is None


def test_job_rules_come_from_the_listed_jobs() -> None:
    catalogue = Catalogue(block_jobs())
    expires, employer = catalogue.job_rules(np.array([1000, 1002, 1009], dtype=np.int64))
    assert expires.tolist() == [int(PAST.timestamp() * 1_000_000), NEVER, NEVER]
    assert employer.tolist() == [0, 0, NO_EMPLOYER]  # 1009 is not listed
    assert catalogue.unlisted(np.array([1000, 1009, 1010], dtype=np.int64)) == 2


def test_written_files_read_back_the_same_frames(tmp_path: Path) -> None:
    jobs = pl.DataFrame({"job_id": [2, 1], "description": ["b", "a"]})
    users = pl.DataFrame({"user_id": [9], "languages": [["en", "fr"]]})
    written = Catalogue(jobs, users).write(tmp_path)
    assert sorted(p.name for p in written.values()) == [
        "catalogue.jobs.parquet",
        "catalogue.users.parquet",
    ]
    read = Catalogue(written["jobs"], written["users"])
    assert read.jobs.equals(jobs.sort("job_id"))
    assert read.users.equals(users)
