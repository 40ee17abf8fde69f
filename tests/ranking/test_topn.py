from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.ranking.topn import TopLists, mask_rows, top_n


def test_top_n_orders_best_first_breaks_ties_by_column_and_drops_masked() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.9], [-np.inf, 0.2, -np.inf, -np.inf]], dtype=np.float32)
    (c0, v0), (c1, v1) = top_n(scores, 3)
    assert c0.tolist() == [1, 3, 2]
    assert v0.tolist() == np.float32([0.9, 0.9, 0.5]).tolist()
    assert c1.tolist() == [1]
    assert v1.tolist() == np.float32([0.2]).tolist()


def test_top_n_with_n_at_least_the_width() -> None:
    scores = np.array([[3.0, 1.0, 2.0]], dtype=np.float32)
    assert top_n(scores, 10)[0][0].tolist() == [0, 2, 1]
    assert top_n(scores, 0)[0][0].tolist() == []


def test_mask_rows_matches_dense_masking_for_one_and_many_rows() -> None:
    exclude = sp.random(6, 8, density=0.3, format="csr", random_state=1, dtype=np.float32)
    rng = np.random.default_rng(0)
    for rows in (np.array([4]), np.array([5, 0, 2, 2]), np.array([3, 1])):
        scores = rng.random((rows.shape[0], 8)).astype(np.float32)
        expected = scores.copy()
        expected[exclude[rows].toarray() != 0] = -np.inf
        mask_rows(scores, exclude, rows)
        np.testing.assert_array_equal(scores, expected)


def _reference_top_n(scores: np.ndarray, n: int) -> list[list[int]]:
    out = []
    for row in scores:
        order = np.lexsort((np.arange(row.shape[0]), -row))
        out.append(order[np.isfinite(row[order])][:n].tolist())
    return out


def test_top_n_agrees_with_a_full_sort_on_ties_masks_and_widths() -> None:
    rng = np.random.default_rng(3)
    wide = rng.standard_normal((40, 1000)).astype(np.float32)
    wide[rng.random(wide.shape) < 0.05] = -np.inf
    ties = np.round(rng.standard_normal((30, 300)), 1).astype(np.float32)
    mostly_masked = np.full((5, 500), -np.inf, dtype=np.float32)
    mostly_masked[:, ::97] = 1.0
    for scores in (wide, ties, mostly_masked, wide[:1], ties[:1, :10]):
        for n in (1, 7, 64, 100, 1000):
            got = [cols.tolist() for cols, _ in top_n(scores, n)]
            assert got == _reference_top_n(scores, n)


def test_top_n_with_mostly_tied_scores_keeps_the_lowest_columns() -> None:
    rng = np.random.default_rng(5)
    scores = np.zeros((20, 3000), dtype=np.float32)
    scores[:, rng.integers(0, 3000, 40)] = rng.random(40).astype(np.float32)
    scores[3, :] = 0.0  # a row of nothing but ties
    scores[4, ::2] = -np.inf
    for n in (1, 10, 100):
        got = [cols.tolist() for cols, _ in top_n(scores, n)]
        assert got == _reference_top_n(scores, n)


def test_pinned_live_scores_continue_the_lists_ranked_ahead() -> None:
    # ranked ahead, 3 deep: columns 2, 0, 1 (0 and 1 tied); row 1 held a single eligible job
    ahead = TopLists(
        cols=np.array([[2, 0, 1], [4, -1, -1]], dtype=np.int32),
        scores=np.array([[0.9, 0.5, 0.5], [0.3, -np.inf, -np.inf]], dtype=np.float32),
    )
    # scored live, the near-ties come out the other way round, and column 3 edges above the
    # list's last job (the last bits of a row scored alone)
    live = np.array(
        [[0.5, 0.50000006, 0.9, 0.50000012, 0.1], [-np.inf, -np.inf, -np.inf, -np.inf, 0.3]],
        dtype=np.float32,
    )
    assert top_n(live.copy(), 4)[0][0].tolist() == [2, 3, 1, 0]
    pinned = ahead.pin(live, np.array([0, 1], dtype=np.int64))
    ((cols, vals), (other, _)) = top_n(pinned, 5)
    assert cols.tolist() == [2, 0, 1, 3, 4]  # the list, then the rest in their live order
    assert vals[:3].tolist() == np.float32([0.9, 0.5, 0.5]).tolist()
    assert other.tolist() == [4]  # a short list is complete: nothing else was eligible
