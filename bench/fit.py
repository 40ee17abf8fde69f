"""fit: ALS through our wrapper vs implicit's AlternatingLeastSquares called directly; and ALS
with frequency-scaled regularisation (our conjugate-gradient solver, ν = 0.5) vs implicit's fit
on one thread (both single-threaded)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from bench.common import Context, Result, Row, alternate, say
from bench.load import load_ours
from recommender.models.als import ALSModel, ALSParams

ROUNDS = 3


def fit_ours(matrix: sp.csr_matrix) -> None:
    ALSModel(ALSParams(), seed=42).fit(matrix)


def fit_scaled(matrix: sp.csr_matrix) -> None:
    ALSModel(ALSParams(regularization_exponent=0.5), seed=42).fit(matrix)


def fit_direct(matrix: sp.csr_matrix, threads: int = 0) -> None:
    from implicit.als import AlternatingLeastSquares

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=64,
            regularization=0.05,
            iterations=15,
            alpha=1.0,
            random_state=42,
            num_threads=threads,
        )
        model.fit(matrix, show_progress=False)


def run(ctx: Context) -> Result:
    scores = load_ours(ctx.activities).matrix
    # As training.fit_pairs feeds the model: confidence_scale · score, float32 CSR.
    matrix = sp.csr_matrix(scores * np.float32(ALSParams().confidence_scale), dtype=np.float32)
    say(f"fit: {matrix.shape[0]} × {matrix.shape[1]}, {matrix.nnz} pairs, {ROUNDS} rounds")
    ours_s, direct_s = alternate(lambda: fit_ours(matrix), lambda: fit_direct(matrix), ROUNDS)
    best, direct = min(ours_s), min(direct_s)
    overhead = (best / direct - 1) * 100
    scaled_s, one_s = alternate(lambda: fit_scaled(matrix), lambda: fit_direct(matrix, 1), ROUNDS)
    scaled, one = min(scaled_s), min(one_s)
    return Result(
        "fit",
        rows=[
            Row(
                f"ALS fit, 64 factors × 15 iterations (best of {ROUNDS})",
                f"`ALSModel.fit`: {best:.2f} s",
                f"implicit directly: {direct:.2f} s",
                f"{overhead:+.1f} % overhead (target ≤ 5 %)",
            ),
            Row(
                f"ALS fit, ν = 0.5, 64 factors × 15 iterations (best of {ROUNDS})",
                f"CG solver (`models/ials.py`): {scaled:.2f} s",
                f"implicit, one thread: {one:.2f} s",
                f"{scaled / one:.2f}× (target ≤ 3×)",
            ),
        ],
        raw={
            "seconds": ours_s,
            "direct_seconds": direct_s,
            "overhead_percent": overhead,
            "scaled_seconds": scaled_s,
            "one_thread_seconds": one_s,
            "shape": list(matrix.shape),
            "nnz": int(matrix.nnz),
        },
    )
