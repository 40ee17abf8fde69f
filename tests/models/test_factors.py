"""ALS and BPR share FactorModel: ALS keeps its bundle arrays; BPR fits deterministically."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from recommender.models.als import ALSModel, ALSParams
from recommender.models.bpr import BPRModel, BPRParams
from recommender.models.registry import create_model
from tests.models.conftest import model_settings, random_matrix

ROOT = Path(__file__).resolve().parents[2]


def test_als_arrays_and_params_are_unchanged() -> None:
    model = ALSModel(ALSParams(factors=3, iterations=2), seed=1)
    model.fit(random_matrix())
    arrays = model.arrays()
    assert set(arrays) == {"user_factors", "item_factors"}
    assert arrays["user_factors"].shape == (30, 3)
    assert arrays["item_factors"].shape == (20, 3)
    assert model.params() == {**ALSParams(factors=3, iterations=2).model_dump(), "seed": 1}
    rebuilt = ALSModel.from_arrays({**model.params(), "unknown": 1}, arrays)
    assert rebuilt.params() == model.params()


def test_bpr_keeps_implicits_bias_column() -> None:
    model = BPRModel(BPRParams(factors=3, iterations=5), seed=1)
    model.fit(random_matrix())
    assert model.user_factors.shape == (30, 4)
    assert model.item_factors.shape == (20, 4)
    np.testing.assert_array_equal(model.user_factors[:, -1], 1.0)
    rows = np.array([2, 5], dtype=np.int64)
    np.testing.assert_allclose(
        model.user_scores(rows, random_matrix()),
        model.user_factors[rows] @ model.item_factors.T,
        rtol=1e-6,
    )


def test_bpr_fits_on_one_thread_whatever_train_threads_says() -> None:
    """implicit's BPR is Hogwild SGD: on several threads two fits would differ."""
    settings = model_settings("bpr", train_threads=2, bpr=BPRParams(factors=8, iterations=20))
    matrix = random_matrix(n_users=1000, n_items=100)  # big enough for threads to race
    fits = []
    for _ in range(2):
        model = create_model("bpr", settings)
        model.fit(matrix)
        fits.append(model.arrays())
    for key, array in fits[0].items():
        np.testing.assert_array_equal(fits[1][key], array)


def test_fitting_in_a_fresh_interpreter_raises_no_blas_warning() -> None:
    """implicit must be imported before BLAS is limited, or the limit misses its OpenBLAS."""
    code = (
        "import numpy as np, scipy.sparse as sp\n"
        "from recommender.models.registry import ALSModel, BPRModel, ItemKNNModel\n"
        "matrix = sp.csr_matrix(np.eye(4, dtype=np.float32))\n"
        "for model in (ALSModel(), BPRModel(), ItemKNNModel()):\n"
        "    model.fit(matrix)\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
