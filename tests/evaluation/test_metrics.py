"""Ranking metrics: hand-computed cases, a brute-force reference, and agreement with implicit."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.evaluation.metrics import (
    ACCURACY,
    accuracy_at_k,
    beyond_accuracy_at_k,
    popularity_percentiles,
    rank_metrics,
)

INF = math.inf
D2, D3, D4 = 1.0, 1 / math.log2(3), 1 / math.log2(4)  # NDCG discounts of slots 1, 2, 3


def _csr(
    rows: Sequence[Sequence[int]], n_items: int, weights: Sequence[Sequence[float]] = ()
) -> sp.csr_matrix:
    """A users × items matrix with the given stored columns per row (weights default to 1)."""
    data = [w for row in weights for w in row] if weights else [1.0] * sum(map(len, rows))
    r = [i for i, row in enumerate(rows) for _ in row]
    c = [j for row in rows for j in row]
    return sp.csr_matrix(
        (np.asarray(data, np.float32), (r, c)), shape=(len(rows), n_items), dtype=np.float32
    )


def _scores_of(
    scores: Sequence[Sequence[float]],
) -> Callable[[NDArray[np.int64]], NDArray[np.float32]]:
    matrix = np.asarray(scores, dtype=np.float32)
    return lambda positions: matrix[positions]  # fancy indexing: a fresh array each call


# --- accuracy_at_k -----------------------------------------------------------------------------

ACCURACY_CASES = [
    # hits in slots 1, 2 of 3; |rel| = 2. P = 2/3, R = 2/2, AP = (1/2)(1/1 + 2/2) = 1,
    # NDCG = (1 + 1/log2 3) / (1 + 1/log2 3) = 1.
    pytest.param(
        [[0, 1, 2]],
        [[0, 1]],
        3,
        {"precision": 2 / 3, "recall": 1, "map": 1, "ndcg": 1, "hit_rate": 1},
        id="perfect",
    ),
    pytest.param(
        [[3, 4, 5]],
        [[0, 1]],
        3,
        {"precision": 0, "recall": 0, "map": 0, "ndcg": 0, "hit_rate": 0},
        id="nothing-relevant-recommended",
    ),
    # One item then padding; |rel| = 2. P = 1/3 (padding counts in k), R = 1/2,
    # AP = (1/min(3, 2)) · 1/1 = 1/2, NDCG = 1 / (1 + 1/log2 3).
    pytest.param(
        [[2, -1, -1]],
        [[2, 5]],
        3,
        {"precision": 1 / 3, "recall": 1 / 2, "map": 1 / 2, "ndcg": D2 / (D2 + D3), "hit_rate": 1},
        id="padding",
    ),
    # User 0 has nothing relevant and is skipped; user 1: hit in slot 2, |rel| = 1.
    # P = 1/3, R = 1, AP = (1/1) · 1/2, NDCG = (1/log2 3) / 1.
    pytest.param(
        [[0, 1, 2], [0, 1, 2]],
        [[], [1]],
        3,
        {"precision": 1 / 3, "recall": 1, "map": 1 / 2, "ndcg": D3, "hit_rate": 1},
        id="empty-relevant-row-skipped",
    ),
    # User 0: hit in slot 1, |rel| = 1: P 1/3, R 1, AP 1, NDCG 1.
    # User 1: hit in slot 3, |rel| = 2: P 1/3, R 1/2, AP = (1/2)(1/3) = 1/6,
    #         NDCG = (1/log2 4) / (1 + 1/log2 3). Means over the two users.
    pytest.param(
        [[0, 1, 2], [3, 4, 5]],
        [[0], [5, 0]],
        3,
        {
            "precision": 1 / 3,
            "recall": (1 + 1 / 2) / 2,
            "map": (1 + 1 / 6) / 2,
            "ndcg": (1 + D4 / (D2 + D3)) / 2,
            "hit_rate": 1,
        },
        id="two-users-averaged",
    ),
    # Relevant items on the list of another user do not count. User 0: no hit, user 1: slot 1.
    pytest.param(
        [[1, 2], [0, 3]],
        [[0], [0]],
        2,
        {
            "precision": (0 + 1 / 2) / 2,
            "recall": 1 / 2,
            "map": 1 / 2,
            "ndcg": 1 / 2,
            "hit_rate": 1 / 2,
        },
        id="hits-are-per-user",
    ),
]


@pytest.mark.parametrize(("recommended", "relevant", "k", "expected"), ACCURACY_CASES)
def test_accuracy_hand_computed(
    recommended: list[list[int]], relevant: list[list[int]], k: int, expected: dict[str, float]
) -> None:
    got = accuracy_at_k(np.array(recommended, dtype=np.int64), _csr(relevant, 6), [k])
    assert list(got) == [k]
    assert list(got[k]) == list(ACCURACY)
    assert got[k] == pytest.approx(expected, abs=1e-12)


def test_accuracy_several_k_at_once() -> None:
    # List [4, 0, 1], relevant {0, 1, 2}: hits in slots 2 and 3.
    # k=1: nothing. k=2: P 1/2, R 1/3, AP = (1/min(2, 3)) · 1/2 = 1/4, NDCG = D3 / (D2 + D3).
    # k=3: P 2/3, R 2/3, AP = (1/3)(1/2 + 2/3) = 7/18, NDCG = (D3 + D4) / (D2 + D3 + D4).
    got = accuracy_at_k(np.array([[4, 0, 1]]), _csr([[0, 1, 2]], 5), [1, 2, 3])
    assert got[1] == pytest.approx(dict.fromkeys(ACCURACY, 0.0))
    assert got[2] == pytest.approx(
        {"precision": 1 / 2, "recall": 1 / 3, "map": 1 / 4, "ndcg": D3 / (D2 + D3), "hit_rate": 1}
    )
    assert got[3] == pytest.approx(
        {
            "precision": 2 / 3,
            "recall": 2 / 3,
            "map": 7 / 18,
            "ndcg": (D3 + D4) / (D2 + D3 + D4),
            "hit_rate": 1,
        }
    )


def test_accuracy_with_no_relevant_items_at_all_is_nan() -> None:
    got = accuracy_at_k(np.array([[0, 1]]), _csr([[]], 3), [2])
    assert all(math.isnan(v) for v in got[2].values())


@pytest.mark.parametrize(
    ("recommended", "ks", "error"),
    [
        pytest.param([[0, 1]], [3], ValueError, id="k-above-width"),
        pytest.param([[0, 1]], [0], ValueError, id="k-zero"),
        pytest.param([[0, 0]], [1], ValueError, id="duplicate-item"),
        pytest.param([[0, 9]], [1], ValueError, id="item-out-of-range"),
        pytest.param([[0, -2]], [1], ValueError, id="bad-padding"),
        pytest.param([[0.0, 1.0]], [1], TypeError, id="float-columns"),
        pytest.param([[0], [1]], [1], ValueError, id="more-rows-than-relevant"),
    ],
)
def test_accuracy_rejects_bad_input(
    recommended: list[list[float]], ks: list[int], error: type
) -> None:
    with pytest.raises(error):
        accuracy_at_k(np.array(recommended), _csr([[0]], 3), ks)


# --- beyond_accuracy_at_k ----------------------------------------------------------------------


def test_popularity_percentiles_average_ties() -> None:
    # Popularity [10, 0, 5, 5, 3]: ascending ranks 5, 1, 3.5, 3.5, 2 → (r - 1) / 4.
    pct = popularity_percentiles(np.array([10, 0, 5, 5, 3]), 5)
    np.testing.assert_allclose(pct, [1.0, 0.0, 0.625, 0.625, 0.25])
    np.testing.assert_allclose(popularity_percentiles(np.ones(4), 4), [0.5] * 4)
    np.testing.assert_allclose(popularity_percentiles(np.array([7.0]), 1), [0.5])


def test_beyond_accuracy_hand_computed() -> None:
    # Percentiles as above: item 0 → 1, 1 → 0, 2 → 0.625, 4 → 0.25.
    # k=1: items {0, 0}: coverage 1/5, bias (1 + 1)/2.
    # k=2: items 0, 2, 0, 1: coverage 3/5, bias (1 + .625 + 1 + 0)/4.
    # k=3: padding skipped, + item 4: coverage 4/5, bias (1 + .625 + 1 + 0 + .25)/5.
    popularity = np.array([10, 0, 5, 5, 3], dtype=np.float32)
    got = beyond_accuracy_at_k(np.array([[0, 2, -1], [0, 1, 4]]), [1, 2, 3], 5, popularity)
    assert got == {
        1: pytest.approx({"coverage": 0.2, "popularity_bias": 1.0}),
        2: pytest.approx({"coverage": 0.6, "popularity_bias": 2.625 / 4}),
        3: pytest.approx({"coverage": 0.8, "popularity_bias": 2.875 / 5}),
    }


def test_beyond_accuracy_of_only_padding() -> None:
    got = beyond_accuracy_at_k(np.full((2, 2), -1), [2], 3, np.arange(3.0))
    assert got[2]["coverage"] == 0.0
    assert math.isnan(got[2]["popularity_bias"])


# --- rank_metrics: hand-computed ---------------------------------------------------------------

RANK_CASES = [
    # Item 0 first of 5: position 0 → 0/4. Beats all 4 non-relevant items.
    pytest.param([[5, 4, 3, 2, 1]], [[0]], None, None, {"mpr": 0.0, "auc": 1.0}, id="perfect"),
    # Item 4 last of 5: 4/4; beats none.
    pytest.param([[5, 4, 3, 2, 1]], [[4]], None, None, {"mpr": 1.0, "auc": 0.0}, id="worst"),
    # Weights 3 and 1 on items at positions 1 and 3 of 5: MPR = (3·1/4 + 1·3/4) / 4 = 0.375.
    # AUC: item 1 beats 2 of the 3 non-relevant items, item 3 beats 1 → 3/6.
    pytest.param(
        [[4, 3, 2, 1, 0]], [[1, 3]], [[3.0, 1.0]], None, {"mpr": 0.375, "auc": 0.5}, id="weighted"
    ),
    # Item 0 ties with items 1, 2 at positions 0..2: average position 1 → 1/3.
    # AUC: ties with 1 and 2 (1/2 each), beats 3 → (1/2 + 1/2 + 1)/3.
    pytest.param([[1, 1, 1, 0]], [[0]], None, None, {"mpr": 1 / 3, "auc": 2 / 3}, id="ties"),
    # Relevant items tied with each other and with everything: both at average position 1.5 of
    # 0..3 → 1.5/3 = 1/2; AUC (1/2 per pair).
    pytest.param([[2, 2, 2, 2]], [[0, 3]], None, None, {"mpr": 0.5, "auc": 0.5}, id="all-tied"),
    # -0.0 and +0.0 are equal: item 0 ties with item 1 at positions 1..2 → 1.5/2; AUC: tie with 1
    # (1/2), loses to 2 → 1/4.
    pytest.param(
        [[-0.0, 0.0, 1.0]], [[0]], None, None, {"mpr": 0.75, "auc": 0.25}, id="signed-zeros"
    ),
    # Without exclusion item 2 sits at position 2 of 0..4 → 1/2, AUC 2/4. Excluding item 0 leaves
    # 4 eligible items: position 1 of 0..3 → 1/3; beats 3 and 4, loses to 1 → 2/3.
    pytest.param([[9, 4, 3, 2, 1]], [[2]], None, None, {"mpr": 0.5, "auc": 0.5}, id="no-exclusion"),
    pytest.param(
        [[9, 4, 3, 2, 1]], [[2]], None, [[0]], {"mpr": 1 / 3, "auc": 2 / 3}, id="exclusion"
    ),
    # A -inf score is excluded just the same.
    pytest.param(
        [[-INF, 4, 3, 2, 1]],
        [[2]],
        None,
        None,
        {"mpr": 1 / 3, "auc": 2 / 3},
        id="minus-inf-excluded",
    ),
    # Relevant item 0 is excluded: it is not ranked and leaves the relevant set.
    pytest.param(
        [[9, 4, 3, 2, 1]],
        [[0, 2]],
        None,
        [[0]],
        {"mpr": 1 / 3, "auc": 2 / 3},
        id="relevant-excluded",
    ),
    # Exclusions below the relevant item change nothing but the count: item 1 at position 0 of the
    # eligible {1, 2} → 0; AUC 1.
    pytest.param(
        [[0, 5, 4, 3]], [[1]], None, [[0, 3]], {"mpr": 0.0, "auc": 1.0}, id="exclusion-below"
    ),
    # One eligible item: percentile 0.5 by convention; no non-relevant item → AUC nan.
    pytest.param(
        [[-INF, 3, 1]], [[1]], None, [[2]], {"mpr": 0.5, "auc": math.nan}, id="single-eligible"
    ),
    # User 0 has nothing relevant (skipped). User 1: item 4 first → 0, AUC 1. User 2: all items
    # relevant and tied: each at average position 2 of 0..4 → 1/2; no negatives, so no AUC.
    # MPR = (0 + 5 · 1/2) / 6; AUC = mean over user 1 only = 1.
    pytest.param(
        [[1, 2, 3, 4, 5], [0, 1, 2, 3, 4], [1, 1, 1, 1, 1]],
        [[], [4], [0, 1, 2, 3, 4]],
        None,
        None,
        {"mpr": 2.5 / 6, "auc": 1.0},
        id="empty-rows-skipped-auc-needs-negatives",
    ),
]


@pytest.mark.parametrize(("scores", "relevant", "weights", "exclude", "expected"), RANK_CASES)
def test_rank_metrics_hand_computed(
    scores: list[list[float]],
    relevant: list[list[int]],
    weights: list[list[float]] | None,
    exclude: list[list[int]] | None,
    expected: dict[str, float],
) -> None:
    n_items = len(scores[0])
    excl = None if exclude is None else _csr(exclude, n_items)
    got = rank_metrics(_scores_of(scores), _csr(relevant, n_items, weights or ()), excl)
    assert got == pytest.approx(expected, abs=1e-12, nan_ok=True)


def test_rank_metrics_scores_only_users_with_relevant_items() -> None:
    calls: list[list[int]] = []
    matrix = np.arange(20, dtype=np.float32).reshape(4, 5)

    def scores_of(positions: NDArray[np.int64]) -> NDArray[np.float32]:
        calls.append(positions.tolist())
        return matrix[positions]

    rank_metrics(scores_of, _csr([[], [1], [], [0, 2]], 5), batch_rows=1)
    assert calls == [[1], [3]]


@pytest.mark.parametrize(
    ("scores", "weights", "error"),
    [
        pytest.param(np.array([[np.nan, 1.0]], np.float32), [[1.0]], ValueError, id="nan-score"),
        pytest.param(np.array([[0, 1]], np.int64), [[1.0]], TypeError, id="integer-scores"),
        pytest.param(
            np.array([[0.0, 1.0, 2.0]], np.float32), [[1.0]], ValueError, id="wrong-width"
        ),
        pytest.param(
            np.array([[0.0, 1.0]], np.float32), [[-1.0]], ValueError, id="negative-weight"
        ),
    ],
)
def test_rank_metrics_rejects_bad_input(
    scores: NDArray[np.floating], weights: list[list[float]], error: type
) -> None:
    with pytest.raises(error):
        rank_metrics(lambda positions: scores[positions], _csr([[1]], 2, weights))


# --- rank_metrics: brute-force reference and random scores -------------------------------------


def _reference_rank_metrics(
    scores: NDArray[np.float32], relevant: sp.csr_matrix, exclude: sp.csr_matrix
) -> dict[str, float]:
    """The definitions, one user and one pair at a time."""
    weighted = total = auc_sum = 0.0
    auc_users = 0
    excluded = exclude.toarray() != 0
    for u in range(scores.shape[0]):
        eligible = ~excluded[u] & (scores[u] > -np.inf)
        items = set(relevant.indices[relevant.indptr[u] : relevant.indptr[u + 1]].tolist())
        weights = dict(
            zip(
                relevant.indices[relevant.indptr[u] : relevant.indptr[u + 1]].tolist(),
                relevant.data[relevant.indptr[u] : relevant.indptr[u + 1]].tolist(),
                strict=True,
            )
        )
        positives = [i for i in np.flatnonzero(eligible).tolist() if i in items]
        negatives = [j for j in np.flatnonzero(eligible).tolist() if j not in items]
        n = int(eligible.sum())
        for i in positives:
            higher = sum(scores[u, j] > scores[u, i] for j in np.flatnonzero(eligible))
            tied = sum(scores[u, j] == scores[u, i] for j in np.flatnonzero(eligible))
            position = higher + (tied - 1) / 2
            weighted += weights[i] * (position / (n - 1) if n > 1 else 0.5)
            total += weights[i]
        if positives and negatives:
            wins = sum(
                1.0 if scores[u, i] > scores[u, j] else 0.5 if scores[u, i] == scores[u, j] else 0.0
                for i in positives
                for j in negatives
            )
            auc_sum += wins / (len(positives) * len(negatives))
            auc_users += 1
    return {"mpr": weighted / total, "auc": auc_sum / auc_users}


def test_rank_metrics_match_the_definitions_on_ties_exclusions_and_batches() -> None:
    rng = np.random.default_rng(7)
    n_users, n_items = 30, 25
    scores = rng.integers(-3, 4, size=(n_users, n_items)).astype(np.float32)  # many ties
    scores[rng.random(scores.shape) < 0.1] = -np.inf
    relevant = sp.random(
        n_users, n_items, density=0.2, format="csr", random_state=1, dtype=np.float32
    )
    exclude = sp.random(
        n_users, n_items, density=0.2, format="csr", random_state=2, dtype=np.float32
    )
    expected = _reference_rank_metrics(scores, relevant, exclude)
    for batch_rows in (1, 7, 1024):
        got = rank_metrics(_scores_of(scores.tolist()), relevant, exclude, batch_rows=batch_rows)
        assert got == pytest.approx(expected, abs=1e-12)
    as_float64 = scores.astype(np.float64)
    float64_scores = lambda positions: as_float64[positions]  # noqa: E731
    got = rank_metrics(float64_scores, relevant, exclude)  # type: ignore[arg-type]
    assert got == pytest.approx(expected, abs=1e-12)


def test_random_scores_give_about_one_half() -> None:
    rng = np.random.default_rng(0)
    n_users, n_items, per_user = 2000, 500, 10
    cols = np.argsort(rng.random((n_users, n_items)), axis=1)[:, :per_user]
    relevant = sp.csr_matrix(
        (np.ones(cols.size, np.float32), (np.repeat(np.arange(n_users), per_user), cols.ravel())),
        shape=(n_users, n_items),
    )
    scores = rng.standard_normal((n_users, n_items)).astype(np.float32)
    got = rank_metrics(lambda positions: scores[positions], relevant, batch_rows=256)
    # Each rank_ui is about uniform on [0, 1] (sd 0.29): over 20,000 pairs the sd of MPR is 0.002.
    assert got == pytest.approx({"mpr": 0.5, "auc": 0.5}, abs=0.01)


# --- agreement with implicit -------------------------------------------------------------------


def _split(
    rng: np.random.Generator, n_users: int, n_items: int, n_train: int, n_test: int
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Each user: n_train training items and n_test other test items, drawn at random."""
    chosen = np.argsort(rng.random((n_users, n_items)), axis=1)[:, : n_train + n_test]
    train = _csr(chosen[:, :n_train].tolist(), n_items)
    test = _csr(chosen[:, n_train:].tolist(), n_items)
    return train, test


@pytest.fixture(scope="module")
def implicit_setup() -> tuple[object, sp.csr_matrix, sp.csr_matrix]:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    train, test = _split(np.random.default_rng(5), 60, 40, 8, 6)
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=4, iterations=5, random_state=0)
        model.fit(train, show_progress=False)
    return model, train, test


def _implicit_metrics(
    model: object, train: sp.csr_matrix, test: sp.csr_matrix, k: int
) -> dict[str, float]:
    from implicit.evaluation import ranking_metrics_at_k

    metrics: dict[str, float] = ranking_metrics_at_k(
        model, train, test, K=k, show_progress=False, num_threads=1
    )
    return metrics


def _recommended(
    model: object, train: sp.csr_matrix, test: sp.csr_matrix, k: int
) -> NDArray[np.int64]:
    """Every user's top k from implicit, as the service ranks: seen items out, -1 for fillers."""
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    ids, _ = model.recommend(users, train[users], N=k, filter_already_liked_items=True)  # type: ignore[attr-defined]
    ids = np.asarray(ids, dtype=np.int64)
    # implicit fills a short list with filtered (already seen) items scored -FLT_MAX.
    ids[np.asarray(train[users[:, None], ids].todense()) != 0] = -1
    recommended = np.full((test.shape[0], k), -1, dtype=np.int64)
    recommended[users] = ids
    return recommended


def _keep_first(test: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """Each row's first n stored items."""
    return _csr([row.indices[:n].tolist() for row in test], test.shape[1])


@pytest.mark.parametrize(
    ("test_items", "implicit_precision_is"),
    [
        pytest.param(6, "precision", id="rel-at-least-k:precision"),
        pytest.param(2, "recall", id="same-rel-at-most-k:recall"),
    ],
)
def test_map_ndcg_and_precision_agree_with_implicit(
    implicit_setup: tuple[object, sp.csr_matrix, sp.csr_matrix],
    test_items: int,
    implicit_precision_is: str,
) -> None:
    model, train, full_test = implicit_setup
    test = _keep_first(full_test, test_items)
    k = 5
    ours = accuracy_at_k(_recommended(model, train, test, k), test, [k])[k]
    theirs = _implicit_metrics(model, train, test, k)
    assert ours["map"] == pytest.approx(theirs["map"], rel=1e-9)
    assert ours["ndcg"] == pytest.approx(theirs["ndcg"], rel=1e-9)
    # implicit's precision is Σ hits / Σ min(K, |rel|): precision@K when every |rel| >= K, recall@K
    # when every |rel| is the same and <= K.
    assert ours[implicit_precision_is] == pytest.approx(theirs["precision"], rel=1e-9)
    assert 0 < ours["map"] < 1  # not a degenerate instance


def test_implicit_precision_is_pooled_hits_over_capped_relevant_counts(
    implicit_setup: tuple[object, sp.csr_matrix, sp.csr_matrix],
) -> None:
    model, train, full_test = implicit_setup
    sizes = np.random.default_rng(3).integers(0, 7, size=full_test.shape[0])  # 0 .. 6 per user
    sizes[:3] = [1, 2, 3]
    test = _csr([row.indices[:n].tolist() for row, n in zip(full_test, sizes, strict=True)], 40)
    # Users 0..2 have seen every item but their test items: fewer than k are left, so their lists
    # end in padding (implicit's filtered fillers).
    unseen = [set(test[user].indices.tolist()) for user in range(3)]
    everything_else = [[j for j in range(40) if j not in items] for items in unseen]
    seen = sp.vstack([_csr(everything_else, 40), train[3:]], format="csr")
    k = 4
    recommended = _recommended(model, seen, test, k)
    assert (recommended[:3] == -1).sum() == 3 + 2 + 1
    hits = capped = 0.0
    for u in np.flatnonzero(sizes > 0):  # per user, from our own precision: hits = P@k · k
        hits += accuracy_at_k(recommended[u : u + 1], test[u], [k])[k]["precision"] * k
        capped += min(k, int(sizes[u]))
    theirs = _implicit_metrics(model, seen, test, k)
    assert hits / capped == pytest.approx(theirs["precision"], rel=1e-9)
    ours = accuracy_at_k(recommended, test, [k])[k]
    assert ours["map"] == pytest.approx(theirs["map"], rel=1e-9)
    assert ours["ndcg"] == pytest.approx(theirs["ndcg"], rel=1e-9)


def test_auc_agrees_with_implicit_when_its_list_is_the_whole_catalogue(
    implicit_setup: tuple[object, sp.csr_matrix, sp.csr_matrix],
) -> None:
    """implicit's AUC sees only the top K and counts filtered items as ranked last; with K = n_items
    and nothing filtered (an empty history matrix), it is the full-catalogue AUC."""
    model, _train, test = implicit_setup
    n_users, n_items = test.shape
    nothing_seen = sp.csr_matrix((n_users, n_items), dtype=np.float32)
    theirs = _implicit_metrics(model, nothing_seen, test, n_items)
    factors_u = np.asarray(model.user_factors)  # type: ignore[attr-defined]
    factors_i = np.asarray(model.item_factors)  # type: ignore[attr-defined]
    ours = rank_metrics(lambda positions: factors_u[positions] @ factors_i.T, test)
    assert ours["auc"] == pytest.approx(theirs["auc"], abs=1e-6)
    assert 0 < ours["auc"] < 1  # not a degenerate instance
