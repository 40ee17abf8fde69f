"""External ids ↔ contiguous rows (:class:`IdIndex`), and the users × jobs CSR matrix.

:class:`IdIndex` is the only place that translates ids; everything below it works on row numbers.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

MISSING = -1
"""The row :meth:`IdIndex.rows` gives an id not in the index (with ``missing="negative"``)."""

Missing = Literal["negative", "error"]
"""What :meth:`IdIndex.rows` does with an id not in the index: give :data:`MISSING`, or raise."""


class IdIndex:
    """A vocabulary of int64 ids; row ``k`` holds the ``k``-th smallest id.

    Parameters
    ----------
    ids:
        The ids, in any order, with or without repeats.
    """

    __slots__ = ("_ids",)

    def __init__(self, ids: ArrayLike) -> None:
        arr = np.asarray(ids)
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"ids must be integers, got dtype {arr.dtype}")
        self._ids: NDArray[np.int64] = np.unique(arr.astype(np.int64, copy=False).ravel())

    @classmethod
    def from_sorted_unique(cls, ids: NDArray[np.int64]) -> IdIndex:
        """Wrap ids already sorted and unique (as saved in a bundle) without re-sorting them."""
        index = cls.__new__(cls)
        index._ids = np.asarray(ids, dtype=np.int64)
        return index

    def __len__(self) -> int:
        return int(self._ids.shape[0])

    def __contains__(self, external_id: object) -> bool:
        return isinstance(external_id, int | np.integer) and self.row(int(external_id)) is not None

    @property
    def ids(self) -> NDArray[np.int64]:
        """The ids in row order (sorted ascending); do not modify."""
        return self._ids

    def lookup(self, ids: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Rows of ``ids`` (:data:`MISSING` where an id is not in the index) and which were found,
        in one vectorised search: for callers that handle both kinds."""
        query = np.asarray(ids, dtype=np.int64)
        if self._ids.shape[0] == 0:
            return np.full(query.shape, MISSING, dtype=np.int64), np.zeros(query.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(self._ids, query), self._ids.shape[0] - 1)
        found: NDArray[np.bool_] = self._ids[pos] == query
        return np.where(found, pos, MISSING).astype(np.int64), found

    def rows(self, ids: ArrayLike, *, missing: Missing) -> NDArray[np.int64]:
        """Rows of ``ids``. Vectorised.

        Parameters
        ----------
        missing:
            What an id not in the index gives, said at every call: ``"negative"``, the row
            :data:`MISSING` (-1), for callers that mask such ids; ``"error"``, a
            :class:`KeyError` naming the first one, where every id must be known.
        """
        rows, found = self.lookup(ids)
        if missing == "error" and not found.all():
            query = np.asarray(ids, dtype=np.int64)
            raise KeyError(f"id {int(query[~found].flat[0])} is not in the index")
        return rows

    def contains(self, ids: ArrayLike) -> NDArray[np.bool_]:
        """One flag per id: whether it is in the index."""
        return self.lookup(ids)[1]

    def row(self, external_id: int) -> int | None:
        """The row of one id, or None when it is not in the index, for the single-request path.

        A binary search of the ids themselves (about a microsecond): no per-process dictionary,
        so processes serving a memory-mapped bundle share the ids instead of each building one.
        """
        ids = self._ids
        pos = int(ids.searchsorted(external_id))
        if pos < ids.shape[0] and int(ids[pos]) == external_id:
            return pos
        return None

    def ids_of(self, rows: ArrayLike) -> NDArray[np.int64]:
        """The ids at ``rows`` (which must be valid rows)."""
        return self._ids[np.asarray(rows, dtype=np.int64)]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdIndex) and np.array_equal(self._ids, other._ids)

    def __hash__(self) -> int:
        return hash(self._ids.tobytes())

    def __repr__(self) -> str:
        return f"IdIndex({len(self)} ids)"


def build_matrix(
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    values: NDArray[np.number],
    shape: tuple[int, int],
) -> sp.csr_matrix:
    """A float32 CSR matrix straight from coordinate arrays; repeated (row, col) pairs are summed.

    Never goes through a dense array, so memory is proportional to the number of pairs.
    """
    n_rows, n_cols = shape
    if rows.shape != cols.shape or rows.shape != values.shape:
        raise ValueError("rows, cols and values must be aligned")
    if rows.size and (
        rows.min() < 0 or rows.max() >= n_rows or cols.min() < 0 or cols.max() >= n_cols
    ):
        raise ValueError(f"coordinates out of range for shape {shape}")
    matrix = sp.csr_matrix(
        (values.astype(np.float32, copy=False), (rows, cols)), shape=shape, dtype=np.float32
    )
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


class AppendedIndex(IdIndex):
    """An :class:`IdIndex` with more ids appended after its rows: row ``len(base) + k`` holds
    ``extra[k]``, whatever its order among the base ids (a model's columns plus the jobs posted
    after it was trained, which must not move the columns the model knows).

    ``ids`` is in row order, so it is not sorted; lookups go through a sorted copy.
    """

    __slots__ = ("_order", "_sorted")

    def __init__(self, base: IdIndex, extra: NDArray[np.int64]) -> None:
        extra = np.asarray(extra, dtype=np.int64)
        if np.unique(extra).shape[0] != extra.shape[0] or base.contains(extra).any():
            raise ValueError("appended ids must be new and unique")
        self._ids = np.concatenate([base.ids, extra])
        self._order = np.argsort(self._ids, kind="stable").astype(np.int64)
        self._sorted = self._ids[self._order]

    def lookup(self, ids: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Rows of ``ids`` (:data:`MISSING` where absent) and which were found."""
        query = np.asarray(ids, dtype=np.int64)
        if self._ids.shape[0] == 0:
            return np.full(query.shape, MISSING, dtype=np.int64), np.zeros(query.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(self._sorted, query), self._sorted.shape[0] - 1)
        found: NDArray[np.bool_] = self._sorted[pos] == query
        return np.where(found, self._order[pos], MISSING).astype(np.int64), found

    def row(self, external_id: int) -> int | None:
        """The row of one id, or None."""
        pos = int(self._sorted.searchsorted(external_id))
        if pos < self._sorted.shape[0] and int(self._sorted[pos]) == external_id:
            return int(self._order[pos])
        return None
