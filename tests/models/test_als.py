"""ALS passes the model contract, keeps its bundle arrays, and fits without BLAS warnings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from recommender.bundle.trained import TrainedModel
from recommender.errors import EngineUnavailableError
from recommender.models.als import ALSModel, ALSParams
from recommender.settings import Settings
from tests.models.conftest import SEED, random_matrix
from tests.models.contract import ModelContract

ROOT = Path(__file__).resolve().parents[2]


class TestALSContract(ModelContract):
    name: ClassVar[str] = "als"
    kind: ClassVar[str] = "als"
    randomised: ClassVar[bool] = True
    explains: ClassVar[bool] = True
    reports_loss: ClassVar[bool] = True

    @classmethod
    def progress_reports(cls, settings: Settings) -> list[int]:
        return list(range(1, settings.als.iterations + 1))


class TestScaledALSContract(TestALSContract):
    """ALS with frequency-scaled regularisation: fitted, folded in and explained by our solver."""

    @classmethod
    def settings(cls, seed: int = SEED) -> Settings:
        settings = super().settings(seed)
        als = settings.als.model_copy(update={"regularization_exponent": 0.5})
        return settings.model_copy(update={"als": als})

    def test_the_fitted_model_scales_its_ridge(self, trained: TrainedModel) -> None:
        assert trained.model.params()["regularization_exponent"] == 0.5


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


def test_fitting_in_a_fresh_interpreter_raises_no_blas_warning() -> None:
    """implicit must be imported before BLAS is limited, or the limit misses its OpenBLAS (for
    every model fitted by implicit: ALS, BPR and item kNN)."""
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


def _implicit_has_cuda() -> bool:
    import implicit.gpu

    return bool(implicit.gpu.HAS_CUDA)


@pytest.mark.skipif(_implicit_has_cuda(), reason="implicit's CUDA kernels load here")
def test_als_on_cuda_without_a_gpu_is_a_clear_error() -> None:
    with pytest.raises(EngineUnavailableError, match="RECOMMENDER_DEVICE is cuda"):
        ALSModel(ALSParams(factors=3, iterations=2), device="cuda").fit(random_matrix())


def test_als_with_a_scaled_ridge_on_cuda_is_refused() -> None:
    params = ALSParams(factors=3, iterations=2, regularization_exponent=0.5)
    with pytest.raises(EngineUnavailableError, match="CPU solver only"):
        ALSModel(params, device="cuda").fit(random_matrix())


@pytest.mark.skipif(not _implicit_has_cuda(), reason="needs a GPU and implicit's CUDA kernels")
def test_als_fitted_on_cuda_serves_from_numpy() -> None:
    model = ALSModel(ALSParams(factors=8, iterations=5), device="cuda")
    model.fit(random_matrix())
    cpu = ALSModel(ALSParams(factors=8, iterations=5))
    cpu.fit(random_matrix())
    assert isinstance(model.user_factors, np.ndarray)
    assert model.user_factors.shape == cpu.user_factors.shape
    assert model.item_factors.dtype == np.float32
