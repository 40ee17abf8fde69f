"""The neural model passes the model contract; it is deterministic, resumes from its
checkpoint where it stopped, learns nothing of the test period, and serves without torch."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pytest

from recommender.bundle.files import write_bundle
from recommender.bundle.trained import TrainedModel
from recommender.data.activities import ActivityLines
from recommender.data.catalogue import Catalogue
from recommender.data.dataset import Dataset
from recommender.data.pair_counts import score_activities
from recommender.errors import EngineUnavailableError
from recommender.evaluation.runner import fit_split
from recommender.evaluation.selection import select_model
from recommender.evaluation.splits import time_split
from recommender.models.neural.params import NeuralParams
from recommender.settings import Settings
from recommender.training.fit import fit_pairs, train
from tests.bundle.conftest import bucket, s3_endpoint  # noqa: F401 - fixtures used here
from tests.conftest import activities_frame
from tests.content.conftest import (
    PROFILE_ONLY,
    cold_jobs,
    content_settings,
    sector_catalogue,
    sector_dataset,
    sector_of_job,
    sector_records,
)
from tests.models.conftest import SEED, model_settings
from tests.models.contract import ModelContract

torch = pytest.importorskip("torch", reason="the neural model trains with the optional PyTorch")
ROOT = Path(__file__).resolve().parents[2]
NO_TORCH = """
import importlib.abc, importlib.machinery, sys

class _NoTorch(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] == "torch":
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec):  # importing it fails, as where it is not installed
        raise ModuleNotFoundError(f"No module named {spec.name!r}", name=spec.name)

    def exec_module(self, module):
        raise AssertionError("never reached")

sys.meta_path.insert(0, _NoTorch())
"""
"""Run first in a subprocess: importing torch fails there, as where it is not installed."""


def _has_cuda() -> bool:
    return bool(torch.cuda.is_available())


TEST_PARAMS = NeuralParams(
    dimensions=8,
    hidden=16,
    epochs=40,
    patience=40,
    batch_size=16,
    learning_rate=0.1,
    temperature=0.2,
    id_dropout=0.0,
    history_dropout=0.0,
    validation_share=0.0,
    threads=1,
)
"""Small towers that learn the block dataset's known answers in a second."""


class TestNeuralContract(ModelContract):
    name: ClassVar[str] = "neural"
    kind: ClassVar[str] = "neural"
    randomised: ClassVar[bool] = True
    reports_loss: ClassVar[bool] = True

    @classmethod
    def settings(cls, seed: int = SEED) -> Settings:
        return model_settings(cls.name, seed, neural=TEST_PARAMS)

    @classmethod
    def randomised_array(cls, key: str) -> bool:
        # the block dataset lists no profiles: their vocabulary and vectors are empty, whatever
        # the seed
        return key not in {"profile_words", "profile_vectors", "user_profiles"}

    @classmethod
    def progress_reports(cls, settings: Settings) -> list[int]:
        return list(range(1, settings.neural.epochs + 1))


def _sector_settings(**updates: Any) -> Settings:
    """The neural model on the sector world (content on), with small towers."""
    neural = TEST_PARAMS.model_copy(update={"epochs": 30, "patience": 30, **updates})
    return content_settings().model_copy(update={"model": "neural", "neural": neural})


@pytest.fixture(scope="module")
def sector_trained() -> TrainedModel:
    settings = _sector_settings(
        epochs=60,
        patience=60,
        learning_rate=0.03,
        temperature=0.5,
        id_dropout=0.5,
        history_dropout=0.5,
    )
    return train(sector_dataset(), settings)


def test_a_new_job_ranks_among_its_sectors_by_its_text(sector_trained: TrainedModel) -> None:
    """Cold jobs have no id to learn: the job tower places them from their text, so each
    user's best cold job is one of their own sector's."""
    trained = sector_trained
    sectors = sector_of_job()
    cold = trained.jobs.rows(np.asarray(cold_jobs(), dtype=np.int64), missing="error")
    scores = trained.model.user_scores(np.arange(len(trained.users)), trained.interactions)
    history = trained.interactions
    for user_row, row in enumerate(scores):
        own = sectors[int(trained.jobs.ids[history[user_row].indices[0]])]
        best = int(trained.jobs.ids[cold[np.argmax(row[cold])]])
        assert sectors[best] == own, f"user row {user_row}"


def test_a_profile_only_user_is_placed_by_the_user_tower(sector_trained: TrainedModel) -> None:
    """A user with a profile and no history: the user tower places them from their profile
    values (learned from users whose history was dropped), toward their sector's jobs."""
    model = sector_trained.model
    assert model.embeds_profiles
    catalogue = sector_trained.catalogue
    assert catalogue is not None
    sectors = sector_of_job()
    for user, sector in PROFILE_ONLY.items():
        profile = catalogue.profile(user)
        assert profile is not None
        (scores,) = model.profile_scores([profile])
        assert scores is not None
        top = np.argsort(-scores[0])[:3]
        assert [sectors[int(j)] for j in sector_trained.jobs.ids[top]] == [sector] * 3
    assert model.profile_scores([{"degree_subject": "Astrophysics"}]) == [None]


def _timed(records: list[dict[str, Any]], at: datetime) -> pl.DataFrame:
    frame = activities_frame(records)
    return frame.with_columns(
        pl.lit(at).cast(pl.Datetime("us", "UTC")).alias("timestamp"), pl.lit(1.0).alias("weight")
    )


PLANTED = "zyxplanted"
TRAINING, TESTING = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)


def _world(planted: bool) -> tuple[pl.DataFrame, Catalogue]:
    """The sector world's activity in the training period, and a job posted in the test
    period: with ``planted``, its text has a word no other job has and a user is redirected
    to it in the test period."""
    catalogue = sector_catalogue()
    posted = [TRAINING] * catalogue.jobs.height + [TESTING]
    text = "nursing ward patients care " + (f"{PLANTED} " * 20 if planted else "")
    jobs = pl.concat(
        [
            catalogue.jobs,
            pl.DataFrame({"job_id": [2999], "title": ["Nurse"], "description": [text]}),
        ]
    ).with_columns(pl.Series("posted_at", posted, dtype=pl.Datetime("us", "UTC")))
    events = _timed(sector_records(), TRAINING)
    if planted:
        late = [{"user_id": 100, "job_id": 2999, "type": t} for t in ("impression", "redirect")]
        events = pl.concat([events, _timed(late * 50, TESTING)])
    return events, Catalogue(jobs, catalogue.users)


def test_nothing_of_the_test_period_reaches_the_model() -> None:
    """A word and an interaction that exist only in the test period: the split keeps the
    interaction out, and the text of a job posted then teaches the content nothing, so the
    model trained with them planted is exactly the one trained without them."""
    settings = _sector_settings(epochs=3, patience=3)
    fitted = {}
    for planted in (True, False):
        events, catalogue = _world(planted)
        split = time_split(events, at=TESTING)
        assert split.test.height == (100 if planted else 0)
        fitted[planted] = fit_split(split.train, settings, "neural", catalogue)
    leaky, clean = fitted[True], fitted[False]
    assert leaky.content is not None and PLANTED not in leaky.content.words.tolist()
    for name, array in clean.model.arrays().items():
        np.testing.assert_array_equal(leaky.model.arrays()[name], array, err_msg=name)
    # the control: had the job's text been known in training, the models would differ
    events, catalogue = _world(True)
    split = time_split(events, at=TESTING)
    pairs = score_activities(split.train, settings.scoring)
    told = fit_pairs(pairs, settings.model_copy(update={"precompute_top": 0}), catalogue=catalogue)
    assert told.content is not None and PLANTED in told.content.words.tolist()
    assert not np.array_equal(
        told.model.arrays()["item_factors"], clean.model.arrays()["item_factors"]
    )


class _StopError(Exception):
    """Stands for the process being killed after an epoch."""


def _fit_with(settings: Settings, stop_after: int | None = None) -> tuple[TrainedModel, list[int]]:
    epochs: list[int] = []

    def progress(done: int, _loss: float | None) -> None:
        epochs.append(done)
        if done == stop_after:
            raise _StopError

    return train(sector_dataset(), settings, progress=progress), epochs


def _resumes(location: str) -> None:
    settings = _sector_settings(
        epochs=6,
        patience=6,
        id_dropout=0.3,
        history_dropout=0.2,
        validation_share=0.2,
        checkpoint_dir=location,
    )
    whole, _ = _fit_with(
        _sector_settings(
            epochs=6, patience=6, id_dropout=0.3, history_dropout=0.2, validation_share=0.2
        )
    )
    with pytest.raises(_StopError):
        _fit_with(settings, stop_after=3)
    resumed, epochs = _fit_with(settings)
    assert epochs == [4, 5, 6]  # it went on from the checkpoint, not from the start
    for name, array in whole.model.arrays().items():
        np.testing.assert_array_equal(resumed.model.arrays()[name], array, err_msg=name)


def test_an_interrupted_training_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    _resumes(str(tmp_path / "checkpoints"))
    assert list((tmp_path / "checkpoints").iterdir()) == []  # removed once training finished


def test_checkpoints_live_in_object_storage_too(bucket: str) -> None:  # noqa: F811
    import fsspec

    _resumes(f"{bucket}/checkpoints")
    assert fsspec.filesystem("s3").find(bucket.removeprefix("s3://")) == []


def test_a_checkpoint_of_other_data_or_settings_is_not_resumed(tmp_path: Path) -> None:
    settings = _sector_settings(epochs=4, patience=4, checkpoint_dir=str(tmp_path))
    with pytest.raises(_StopError):
        _fit_with(settings, stop_after=2)
    _, epochs = _fit_with(settings.model_copy(update={"seed": settings.seed + 1}))
    assert epochs == [1, 2, 3, 4]
    assert len(list(tmp_path.iterdir())) == 1  # the first run's checkpoint, after epoch 2
    fewer = Dataset(
        ActivityLines.unweighted(activities_frame(sector_records()[:-2])), sector_catalogue(), ()
    )
    resumed: list[int] = []
    train(fewer, settings, progress=lambda done, _loss: resumed.append(done))
    assert resumed == [1, 2, 3, 4]


def test_a_corrupt_checkpoint_is_set_aside(tmp_path: Path) -> None:
    settings = _sector_settings(epochs=3, patience=3, checkpoint_dir=str(tmp_path))
    with pytest.raises(_StopError):
        _fit_with(settings, stop_after=1)
    (written,) = tmp_path.iterdir()
    written.write_bytes(b"not a checkpoint")
    _, epochs = _fit_with(settings)
    assert epochs == [1, 2, 3]


def test_with_nothing_held_out_the_last_epoch_is_kept() -> None:
    one, _ = _fit_with(_sector_settings(epochs=1, patience=1))
    three, _ = _fit_with(_sector_settings(epochs=3, patience=1))
    assert not np.array_equal(
        one.model.arrays()["item_factors"], three.model.arrays()["item_factors"]
    )


def test_a_history_seen_afresh_scores_as_training_placed_it(sector_trained: TrainedModel) -> None:
    """The service passes a history in implicit scores; the model scales it as training did,
    so a known user's own history, seen afresh, gives the scores they were trained with."""
    model, rows = sector_trained.model, np.arange(len(sector_trained.users), dtype=np.int64)
    np.testing.assert_allclose(
        model.history_scores(sector_trained.interactions, rows),
        model.user_scores(rows, sector_trained.interactions),
        rtol=1e-4,
        atol=1e-5,
    )


def test_the_service_serves_the_model_without_torch(
    tmp_path: Path, sector_trained: TrainedModel
) -> None:
    """A bundle of the neural model loads and answers (scores, a history seen afresh, a
    profile) in a process where importing torch fails."""
    write_bundle(sector_trained, tmp_path)
    expected = sector_trained.model.user_scores(np.arange(3), sector_trained.interactions)
    np.save(tmp_path / "expected.npy", expected)
    script = (
        NO_TORCH
        + f"""
import numpy as np, scipy.sparse as sp
from recommender.bundle.files import load_bundle
trained = load_bundle({str(tmp_path)!r})
model = trained.model
got = model.user_scores(np.arange(3), trained.interactions)
np.testing.assert_allclose(got, np.load({str(tmp_path / "expected.npy")!r}), rtol=1e-5, atol=1e-6)
history = sp.csr_matrix(np.eye(1, model.n_items, 2, dtype=np.float32))
assert model.history_scores(history, np.array([-1])).shape == (1, model.n_items)
assert model.profile_scores([{{"degree_subject": "Nursing"}}])[0] is not None
assert "torch" not in sys.modules
print("served")
"""
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "served"


def test_training_without_torch_says_what_to_install() -> None:
    script = (
        NO_TORCH
        + """
from recommender.errors import EngineUnavailableError
from recommender.training.fit import train
from tests.content.conftest import content_settings, sector_dataset
try:
    train(sector_dataset(), content_settings().model_copy(update={"model": "neural"}))
except EngineUnavailableError as exc:
    print(exc)
"""
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert "the neural model needs PyTorch: pip install -r requirements-neural.txt" in (
        done.stdout
    ), done.stderr


@pytest.mark.skipif(_has_cuda(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_clear_error() -> None:
    with pytest.raises(EngineUnavailableError, match="no CUDA device"):
        train(sector_dataset(), _sector_settings().model_copy(update={"device": "cuda"}))


@pytest.mark.skipif(not _has_cuda(), reason="needs a CUDA GPU")
def test_cuda_training_serves_like_cpu_training() -> None:
    """On a GPU: the same model (up to float rounding order), served from numpy."""
    settings = _sector_settings(epochs=3, patience=3)
    cpu = train(sector_dataset(), settings)
    gpu = train(sector_dataset(), settings.model_copy(update={"device": "cuda"}))
    assert gpu.model.arrays().keys() == cpu.model.arrays().keys()
    rows = np.arange(len(cpu.users), dtype=np.int64)
    tops = [
        np.argsort(-t.model.user_scores(rows, t.interactions), axis=1)[:, :5] for t in (cpu, gpu)
    ]  # summation order differs on a GPU: compare what is recommended, not the floats
    overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(*tops, strict=True)])
    assert overlap >= 0.8


def test_the_neural_model_competes_in_selection() -> None:
    """Listed among the candidates, it is tuned on validation and ranked with the others."""
    events, _ = _world(False)
    split = time_split(pl.concat([events, _timed(sector_records(seed=1), TESTING)]), at=TESTING)
    settings = _sector_settings(epochs=3, patience=3)
    selection = select_model(
        split, settings, ["neural", "popular"], budget=2, seed=0, progress=None
    )
    tried = {c.model: c for c in selection.candidates}
    assert set(tried) == {"neural", "popular"}
    assert len(tried["neural"].trials) == 2
    assert all(t.params.keys() <= set(NeuralParams.model_fields) for t in tried["neural"].trials)
    scores = {name: c.best.score("ndcg", 10) for name, c in tried.items()}
    assert selection.served.model in {max(scores, key=lambda n: scores[n]), "blend"}
