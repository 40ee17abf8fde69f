"""Job fields as codes per column: built once per field, named in the error when unknown."""

from __future__ import annotations

import threading

import numpy as np
import polars as pl
import pytest

from recommender.data.catalogue import Catalogue
from recommender.errors import UnknownFieldError
from recommender.ranking.fields import JobFields

# the model's columns hold jobs 10-13; 13 is not listed, 12 has no city
IDS = np.arange(10, 14, dtype=np.int64)


class CountingCatalogue(Catalogue):
    """Counts the reads of a field's values."""

    def __init__(self) -> None:
        frame = pl.DataFrame(
            {"job_id": [12, 11, 10], "city": [None, "York", "Leeds"], "title": ["c", "b", "a"]}
        )
        super().__init__(frame)
        self.reads: list[str] = []

    def job_values(self, field: str, job_ids: np.ndarray) -> tuple[np.ndarray, list[str]]:
        self.reads.append(field)
        return super().job_values(field, job_ids)


def test_codes_count_from_one_and_zero_is_no_value() -> None:
    city = JobFields(CountingCatalogue(), IDS).codes("city")
    assert city.codes.tolist() == [1, 2, 0, 0]
    assert city.index == {"Leeds": 1, "York": 2}
    assert city.allowed(["York", "Paris"]).tolist() == [False, False, True]
    assert city.allowed([]).tolist() == [False] * 3


def test_a_field_is_read_once_however_many_threads_ask() -> None:
    catalogue = CountingCatalogue()
    fields = JobFields(catalogue, IDS)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(fields.codes("city"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fields.codes("title")
    fields.codes("city")
    assert catalogue.reads == ["city", "title"]
    assert all(codes is got[0] for codes in got)


def test_an_unknown_field_names_itself_and_the_known_ones() -> None:
    with pytest.raises(
        UnknownFieldError, match=r"'country': the jobs' string fields are city, title"
    ):
        JobFields(CountingCatalogue(), IDS).codes("country")


def test_without_a_catalogue_no_field_is_known() -> None:
    with pytest.raises(UnknownFieldError, match="'city': this model has no job metadata"):
        JobFields(None, IDS).codes("city")
