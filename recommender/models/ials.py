"""Implicit ALS with a ridge of its own per row: frequency-scaled regularisation, in numpy.

The loss is Hu, Koren & Volinsky's (2008), weighted as implicit weighs it: a stored entry ``v`` of
user u and job i is a preference 1 with confidence ``c = alpha · v``, every other pair a
preference 0 with weight 1. Only the ridge differs from implicit's plain ``λ · I``: as in Rendle et
al. (2021), "Revisiting the Performance of iALS on Item Recommendation Benchmarks", each user's
and each job's is scaled by how much it was observed,

    λ_r = λ · (n_r + 1)^ν,

where ``n_r`` is the number of stored entries of row r (a user's jobs, a job's users) in the
matrix being solved. The ``+ 1`` keeps an empty row's ridge at λ, and ``ν = 0`` gives λ for
every row, implicit's loss. So each user's factors solve

    (YᵀY + λ_u I + Σ_i (c_ui − 1) y_i y_iᵀ) x_u = Σ_i c_ui y_i

over the user's stored jobs i, and each job's the same with the roles swapped.

:func:`fit` alternates sweeps over users and jobs; each sweep takes a few conjugate-gradient
steps on every row's equations, warm-started from the row's previous factors (as implicit's
``least_squares_cg`` does), for all rows at once with sparse matrix products: no loop over rows.
:func:`solve_rows` solves given histories exactly (a fold-in), and :func:`explain_row` splits a
folded-in user's score into their past jobs' parts (:func:`shares` ranks them).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]
Float64Array = NDArray[np.float64]

CG_STEPS = 3
"""Conjugate-gradient steps per row per sweep (implicit's ``cg_steps``)."""
CHUNK_ENTRIES = 1 << 19
"""Stored entries per block of rows in a sweep: a block gathers ``entries × factors`` floats
twice (128 MiB each at 64 factors)."""
SOLVE_ENTRIES = 1 << 16
"""Padded entries per block of an exact solve (``rows × longest row × factors`` doubles)."""
_TINY = 1e-20  # a residual this small (squared norm) is converged, as in implicit


def row_ridge(matrix: sp.csr_matrix, regularization: float, exponent: float) -> Float64Array:
    """Each row's ridge ``λ · (n + 1)^ν``, n the row's stored entries."""
    counts = np.diff(matrix.indptr).astype(np.float64)
    ridge: Float64Array = regularization * (counts + 1.0) ** exponent
    return ridge


@dataclass(frozen=True)
class _Rows:
    """One side of the problem: its confidences ``c`` (CSR, one row per factor row) and ridges."""

    confidence: sp.csr_matrix
    ridge: Float64Array

    def blocks(self) -> list[tuple[int, int]]:
        """Row ranges of about :data:`CHUNK_ENTRIES` stored entries each (at least one row)."""
        indptr = self.confidence.indptr
        n_rows = self.confidence.shape[0]
        bounds = [0]
        while bounds[-1] < n_rows:
            start = bounds[-1]
            end = int(np.searchsorted(indptr, indptr[start] + CHUNK_ENTRIES, side="right")) - 1
            bounds.append(min(n_rows, max(end, start + 1)))
        return list(itertools.pairwise(bounds))


def _block(rows: _Rows, start: int, end: int) -> tuple[sp.csr_matrix, FloatArray]:
    """Rows ``start:end`` of the confidences (sharing their arrays), and their ridges."""
    conf = rows.confidence
    lo, hi = conf.indptr[start], conf.indptr[end]
    indptr = conf.indptr[start : end + 1] - lo
    block = sp.csr_matrix(
        (conf.data[lo:hi], conf.indices[lo:hi], indptr), shape=(end - start, conf.shape[1])
    )
    return block, rows.ridge[start:end].astype(np.float32)


def cg_sweep(rows: _Rows, x: FloatArray, y: FloatArray, steps: int = CG_STEPS) -> None:
    """``steps`` conjugate-gradient steps on every row's equations, updating ``x`` in place.

    ``y`` holds the other side's factors (fixed during the sweep). The matrix-vector product of
    all rows' systems is ``P YᵀY + λ ⊙ P + W Y``, where W holds ``(c − 1) · (p_u · y_i)`` at the
    stored entries: a gather and two sparse products, never a row's k × k matrix.
    """
    gram = y.T @ y
    for start, end in rows.blocks():
        block, ridge = _block(rows, start, end)
        x[start:end] = _cg_block(block, ridge, x[start:end], y=y, gram=gram, steps=steps)


def _cg_block(
    block: sp.csr_matrix,
    ridge: FloatArray,
    x: FloatArray,
    *,
    y: FloatArray,
    gram: FloatArray,
    steps: int,
) -> FloatArray:
    lengths = np.diff(block.indptr)
    ys = y[block.indices]  # each stored entry's other-side factors
    weight = block.data - np.float32(1.0)

    def product(p: FloatArray) -> FloatArray:
        # rows are contiguous, so repeating each row is the gather p[entry_rows], but faster
        dots = np.einsum("ij,ij->i", np.repeat(p, lengths, axis=0), ys)
        spread = sp.csr_matrix((weight * dots, block.indices, block.indptr), shape=block.shape)
        out: FloatArray = p @ gram + ridge[:, None] * p + spread @ y
        return out

    x = x.copy()
    residual = block @ y - product(x)
    direction = residual.copy()
    squared = np.einsum("ij,ij->i", residual, residual)
    for _ in range(steps):
        active = squared >= _TINY
        if not active.any():
            break
        moved = product(direction)
        curvature = np.einsum("ij,ij->i", direction, moved)
        step = np.divide(squared, curvature, out=np.zeros_like(squared), where=active)
        x += step[:, None] * direction
        residual -= step[:, None] * moved
        new_squared = np.einsum("ij,ij->i", residual, residual)
        ratio = np.divide(new_squared, squared, out=np.zeros_like(squared), where=active)
        direction = residual + ratio[:, None] * direction
        squared = new_squared
    return x


def training_loss(rows: _Rows, x: FloatArray, y: FloatArray, item_ridge: Float64Array) -> float:
    """implicit's reported loss with these ridges: the weighted squared error over every pair plus
    ``Σ λ_u |x_u|² + Σ λ_i |y_i|²``, over the total weight (``Σ c`` + the unstored pairs)."""
    conf = rows.confidence
    entry_rows = np.repeat(np.arange(conf.shape[0]), np.diff(conf.indptr))
    dots = np.einsum("ij,ij->i", x[entry_rows], y[conf.indices]).astype(np.float64)
    c = conf.data.astype(np.float64)
    gram = (y.T @ y).astype(np.float64)
    x64 = x.astype(np.float64)
    unobserved = float(np.einsum("ij,jk,ik->", x64, gram, x64))  # every pair as if unstored
    observed = float((c * (1.0 - dots) ** 2 - dots**2).sum())  # stored pairs corrected
    ridges = float(rows.ridge @ (x64**2).sum(axis=1))
    ridges += float(item_ridge @ (y.astype(np.float64) ** 2).sum(axis=1))
    total = float(c.sum()) + conf.shape[0] * conf.shape[1] - conf.nnz
    return float((unobserved + observed + ridges) / total)


def fit(
    confidence: sp.csr_matrix,
    *,
    factors: int,
    regularization: float,
    exponent: float,
    iterations: int,
    seed: int,
    steps: int = CG_STEPS,
    callback: Callable[[int, float | None], None] | None = None,
    track_loss: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Fit (user factors, job factors) on a users × jobs CSR of confidences ``c = alpha · v``.

    Factors start at ``uniform[0, 0.01)`` from ``numpy.random.default_rng(seed)`` (users, then
    jobs), like implicit's; each of ``iterations`` sweeps solves the users, then the jobs. The same
    matrix, settings and seed give the same factors. ``callback(iteration, loss)`` is called after
    each sweep, with the loss only when ``track_loss``.
    """
    conf = sp.csr_matrix(confidence, dtype=np.float32)
    conf.sort_indices()
    transposed = conf.T.tocsr()
    users = _Rows(conf, row_ridge(conf, regularization, exponent))
    items = _Rows(transposed, row_ridge(transposed, regularization, exponent))
    rng = np.random.default_rng(seed)
    x = rng.random((conf.shape[0], factors), dtype=np.float32) * np.float32(0.01)
    y = rng.random((conf.shape[1], factors), dtype=np.float32) * np.float32(0.01)
    for iteration in range(iterations):
        cg_sweep(users, x, y, steps)
        cg_sweep(items, y, x, steps)
        if callback is not None:
            loss = training_loss(users, x, y, items.ridge) if track_loss else None
            callback(iteration, loss)
    return x, y


def normal_equations(
    confidence: sp.csr_matrix, y: FloatArray, gram: Float64Array, ridge: Float64Array
) -> tuple[Float64Array, Float64Array]:
    """Every row's system ``(A, b)``, stacked: ``(rows, k, k)`` and ``(rows, k)``, in float64.

    The rows' stored entries are padded to the longest row, so the caller keeps blocks small.
    """
    n_rows = confidence.shape[0]
    lengths = np.diff(confidence.indptr)
    longest = int(lengths.max()) if n_rows else 0
    entry_rows = np.repeat(np.arange(n_rows), lengths)
    slots = np.arange(confidence.nnz) - np.repeat(confidence.indptr[:-1], lengths)
    padded = np.zeros((n_rows, longest, y.shape[1]), dtype=np.float64)
    padded[entry_rows, slots] = y[confidence.indices]
    c = np.zeros((n_rows, longest), dtype=np.float64)
    c[entry_rows, slots] = confidence.data
    extra = np.zeros((n_rows, longest), dtype=np.float64)  # c − 1 at stored entries, 0 padded
    extra[entry_rows, slots] = confidence.data.astype(np.float64) - 1.0
    weighted = padded * extra[:, :, None]
    a = np.matmul(padded.transpose(0, 2, 1), weighted) + gram
    a[:, np.arange(gram.shape[0]), np.arange(gram.shape[0])] += ridge[:, None]
    b = np.einsum("rlk,rl->rk", padded, c)
    return a, b


def solve_rows(
    confidence: sp.csr_matrix, y: FloatArray, gram: Float64Array, ridge: Float64Array
) -> FloatArray:
    """Each row's factors solved exactly with ``y`` fixed (one ALS half-step): a fold-in.

    Rows are solved in blocks of similar length (:data:`SOLVE_ENTRIES` padded entries at most,
    one row at least), each block with one batched solve.
    """
    conf = sp.csr_matrix(confidence)
    n_rows = conf.shape[0]
    out = np.zeros((n_rows, y.shape[1]), dtype=np.float32)
    lengths = np.diff(conf.indptr)
    order = np.argsort(lengths, kind="stable")
    start = 0
    while start < n_rows:
        padded = np.arange(1, n_rows - start + 1) * np.maximum(lengths[order[start:]], 1)
        size = max(1, int(np.searchsorted(padded, SOLVE_ENTRIES, side="right")))
        picked = order[start : start + size]
        block = conf[picked]
        a, b = normal_equations(block, y, gram, ridge[picked])
        out[picked] = np.linalg.solve(a, b[:, :, None])[:, :, 0]
        start += size
    return out


def explain_row(
    confidence: sp.csr_matrix,
    y: FloatArray,
    gram: Float64Array,
    ridge: float,
    item_rows: NDArray[np.int64],
) -> tuple[NDArray[np.int32], Float64Array]:
    """A one-row history's stored job columns and, per job of ``item_rows``, each one's part of
    the folded-in score: ``yᵢᵀ A⁻¹ yⱼ cⱼ`` (Hu, Koren & Volinsky 2008, section 5); a row of parts
    sums to the job's score."""
    row = sp.csr_matrix(confidence)
    a, _ = normal_equations(row, y, gram, np.array([ridge]))
    weighted = np.linalg.solve(a[0], y[item_rows].astype(np.float64).T).T
    cols = row.indices
    parts: Float64Array = (weighted @ y[cols].astype(np.float64).T) * row.data.astype(np.float64)
    return cols, parts


def shares(cols: NDArray[np.int32], parts: Float64Array, top: int) -> list[list[tuple[int, float]]]:
    """Per explained job, its ``top`` largest parts as (past job column, part over the sum of
    the row's parts), largest first; a row that sums to 0 or less gets shares of 0."""
    explained: list[list[tuple[int, float]]] = []
    for row in parts:
        total = float(row.sum())
        share = 1.0 / total if total > 0 else 0.0
        order = np.argsort(-row, kind="stable")[:top]
        explained.append([(int(cols[j]), float(row[j]) * share) for j in order])
    return explained
