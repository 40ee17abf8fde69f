"""The catalogue: every listed job and user profile, whether or not it has activity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recommender.data.catalogue import NEVER, NO_EMPLOYER, Catalogue
from recommender.data.readers import copy_jobs, read_jobs
from recommender.errors import InvalidDataError
from tests.conftest import PAST, WriteJsonl, block_jobs


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


JOBS = [
    {
        "job_id": 3,
        "description": "c",
        "employer": "x",
        "expires_at": "2030-01-01T00:00:00Z",
        "salary": 1,
    },
    {"job_id": 1, "description": "a", "title": "first", "posted_at": 1700000000},
    {"job_id": 2, "description": "b"},
]


def test_a_listing_copied_to_parquet_reads_as_the_strict_reader_reads_it(
    tmp_path: Path, jsonl: WriteJsonl
) -> None:
    jsonl(tmp_path / "jobs.jsonl", JOBS)
    report = copy_jobs(tmp_path / "jobs.jsonl", tmp_path / "jobs.parquet")
    assert (report.records, report.lines) == (3, 3)
    copied = pl.read_parquet(tmp_path / "jobs.parquet")
    assert copied.drop("attributes").equals(read_jobs(tmp_path / "jobs.jsonl")[0].sort("job_id"))


def test_a_jobs_other_fields_are_kept_as_attributes(tmp_path: Path, jsonl: WriteJsonl) -> None:
    jobs = [
        {"job_id": 2, "description": "b", "salary": 30000, "remote": True, "tags": ["a", "b"]},
        {"job_id": 1, "description": "a", "title": "only known fields"},
    ]
    jsonl(tmp_path / "jobs.jsonl", jobs)
    copy_jobs(tmp_path / "jobs.jsonl", tmp_path / "jobs.parquet")
    catalogue = Catalogue(tmp_path / "jobs.parquet")
    attributes = catalogue.jobs["attributes"].to_list()
    assert attributes[0] is None
    assert json.loads(attributes[1]) == {"salary": 30000, "remote": True, "tags": ["a", "b"]}


def test_a_bad_line_or_a_repeated_id_is_named_as_the_strict_reader_names_it(
    tmp_path: Path, jsonl: WriteJsonl
) -> None:
    jsonl(tmp_path / "bad.jsonl", [*JOBS, {"job_id": "x", "description": "d"}])
    with pytest.raises(InvalidDataError, match=r"bad.jsonl:4: field 'job_id'"):
        copy_jobs(tmp_path / "bad.jsonl", tmp_path / "bad.parquet")
    assert not (tmp_path / "bad.parquet").exists()
    skipped = copy_jobs(tmp_path / "bad.jsonl", tmp_path / "bad.parquet", skip_invalid=True)
    assert (skipped.records, skipped.skipped) == (3, 1)
    assert pl.read_parquet(tmp_path / "bad.parquet")["job_id"].to_list() == [1, 2, 3]
    jsonl(tmp_path / "twice.jsonl", [*JOBS, {"job_id": 1, "description": "again"}])
    with pytest.raises(InvalidDataError, match=r"twice.jsonl:4: field 'job_id'.*line 2"):
        copy_jobs(tmp_path / "twice.jsonl", tmp_path / "twice.parquet")


def test_string_fields_are_columns_and_attribute_keys(tmp_path: Path, jsonl: WriteJsonl) -> None:
    jobs = [
        {"job_id": 3, "description": "c", "employer": "x", "city": "Leeds", "salary": 30000},
        {"job_id": 1, "description": "a", "title": "t", "city": "York", "grade": 7},
        {"job_id": 2, "description": "b", "sector": "law", "grade": "senior", "tags": ["a"]},
    ]
    jsonl(tmp_path / "jobs.jsonl", jobs)
    copy_jobs(tmp_path / "jobs.jsonl", tmp_path / "jobs.parquet")
    catalogue = Catalogue(tmp_path / "jobs.parquet")
    # not the key, the description or the JSON text; not salary (numbers) or tags (a list);
    # grade holds a string in one job, so it is a string field (7 reads as "7")
    assert catalogue.job_fields == ("city", "employer", "grade", "sector", "title")
    ids = np.array([1, 2, 3, 4], dtype=np.int64)  # 4 is not listed
    codes, values = catalogue.job_values("city", ids)
    assert values == ["Leeds", "York"]
    assert codes.tolist() == [1, -1, 0, -1]
    codes, values = catalogue.job_values("employer", ids)
    assert (codes.tolist(), values) == ([-1, -1, 0, -1], ["x"])
    codes, values = catalogue.job_values("grade", ids)
    assert (codes.tolist(), values) == ([0, 1, -1, -1], ["7", "senior"])
    with pytest.raises(KeyError):
        catalogue.job_values("salary", ids)


def test_without_jobs_no_field_is_known() -> None:
    assert Catalogue().job_fields == ()
    frame = pl.DataFrame({"job_id": [1], "description": ["a"]})
    assert Catalogue(frame).job_fields == ()
