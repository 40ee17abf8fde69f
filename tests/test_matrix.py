from __future__ import annotations

import numpy as np
import pytest

from recommender.matrix import MISSING, IdIndex, build_matrix


def test_id_index_maps_both_ways_and_marks_unknown_ids() -> None:
    index = IdIndex([30, 10, 20, 10, 30])
    assert len(index) == 3
    assert index.ids.tolist() == [10, 20, 30]
    assert index.rows([20, 99, 10, -5], missing="negative").tolist() == [1, MISSING, 0, MISSING]
    assert index.ids_of([2, 0]).tolist() == [30, 10]
    assert index.row(30) == 2
    assert index.row(31) is None
    assert 20 in index
    assert 21 not in index
    assert "20" not in index


def test_id_index_handles_int64_extremes_and_empty() -> None:
    big = np.iinfo(np.int64)
    index = IdIndex([big.max, big.min, 0])
    assert index.rows([big.max, big.min], missing="error").tolist() == [2, 0]
    empty = IdIndex(np.empty(0, dtype=np.int64))
    assert empty.rows([1, 2], missing="negative").tolist() == [MISSING, MISSING]
    assert empty.row(1) is None


def test_id_index_refuses_non_integers() -> None:
    with pytest.raises(TypeError, match="integers"):
        IdIndex(np.array([1.5, 2.0]))


def test_from_sorted_unique_round_trips() -> None:
    index = IdIndex([5, 3, 9])
    assert IdIndex.from_sorted_unique(index.ids) == index


def test_build_matrix_sums_repeats_and_is_float32_csr() -> None:
    m = build_matrix(np.array([0, 0, 2, 0]), np.array([1, 1, 0, 3]), np.array([1, 2, 5, 4]), (3, 4))
    assert m.format == "csr"
    assert m.dtype == np.float32
    assert m.shape == (3, 4)
    assert m.toarray().tolist() == [[0, 3, 0, 4], [0, 0, 0, 0], [5, 0, 0, 0]]


def test_build_matrix_refuses_out_of_range_coordinates() -> None:
    with pytest.raises(ValueError, match="out of range"):
        build_matrix(np.array([3]), np.array([0]), np.array([1.0]), (3, 4))


def test_lookup_gives_rows_and_which_ids_were_found_in_one_search() -> None:
    index = IdIndex([30, 10, 20])
    rows, found = index.lookup([20, 99, 10])
    assert rows.tolist() == [1, MISSING, 0]
    assert found.tolist() == [True, False, True]
    assert index.contains([99, 30]).tolist() == [False, True]
    empty_rows, empty_found = IdIndex([]).lookup([5])
    assert (empty_rows.tolist(), empty_found.tolist()) == ([MISSING], [False])
