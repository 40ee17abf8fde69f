"""The contract every registered model passes: shapes, known answers, determinism, arrays, bundles.

Each model's test module subclasses :class:`ModelContract` once per registered name (for example
``class TestALSContract(ModelContract)`` with ``name = "als"``) and sets what differs; the
registry test (tests/models/test_registry.py) fails if a name in ``MODEL_NAMES`` has none. The
class itself is not collected (no ``Test`` prefix). A subclass fits once, on the block dataset of
:func:`tests.conftest.block_activities`, in the class-scoped :meth:`ModelContract.fitted`; a model
that needs a session (spark-als) overrides that fixture to ask for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from recommender.bundle.files import load_bundle, write_bundle
from recommender.bundle.trained import TrainedModel
from recommender.content.params import ContentParams
from recommender.errors import ExplainUnsupportedError
from recommender.models.base import Model
from recommender.models.registry import MODEL_KINDS, REGISTRY
from recommender.settings import Settings
from tests.conftest import block_activities
from tests.models.conftest import COLD_JOBS, SEED, block_catalogue, model_settings, train_on

JOBS_PER_BLOCK = 5
USERS_PER_BLOCK = 6
N_USERS, N_ITEMS = 2 * USERS_PER_BLOCK, 2 * JOBS_PER_BLOCK
ROW_SETS = ([0, 3, 7], [5], list(range(N_USERS)))
ITEM_SETS = ([0, 6], [9], list(range(N_ITEMS)))


@dataclass(frozen=True)
class Fitted:
    """A model trained on the block dataset, and what its fit reported as progress."""

    trained: TrainedModel
    progress: list[tuple[int, float | None]] = field(default_factory=list)


def rows(values: list[int] | int) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Row indices: the given ones, or ``0 .. values - 1``."""
    if isinstance(values, int):
        return np.arange(values, dtype=np.int64)
    return np.array(values, dtype=np.int64)


def held_out_job(user_row: int) -> int:
    """The job of its own block that user ``user_row`` never saw (see ``block_activities``)."""
    block = user_row // USERS_PER_BLOCK
    return block * JOBS_PER_BLOCK + (user_row % USERS_PER_BLOCK) % JOBS_PER_BLOCK


def assert_same_model(model: Model, rebuilt: Model, trained: TrainedModel) -> None:
    """``rebuilt`` is ``model`` again: class, params, arrays (and dtypes) and every score."""
    assert type(rebuilt) is type(model)
    assert rebuilt.params() == model.params()
    assert (rebuilt.n_users, rebuilt.n_items) == (model.n_users, model.n_items)
    assert set(rebuilt.arrays()) == set(model.arrays())
    for key, array in model.arrays().items():
        assert rebuilt.arrays()[key].dtype == array.dtype, key
        np.testing.assert_array_equal(rebuilt.arrays()[key], array)
    users, items = rows(model.n_users), rows(model.n_items)
    np.testing.assert_array_equal(
        rebuilt.user_scores(users, trained.interactions),
        model.user_scores(users, trained.interactions),
    )
    np.testing.assert_array_equal(rebuilt.similar_scores(items), model.similar_scores(items))


class ModelContract:
    """What every model does; a subclass per registered name sets the attributes below."""

    name: ClassVar[str]
    """The registry name (``MODEL_NAMES``) the subclass trains."""
    kind: ClassVar[str]
    """The kind the model records in a bundle (``MODEL_KINDS``)."""
    randomised: ClassVar[bool] = False
    """Whether the fit depends on the seed; the others are deterministic functions of the data."""
    personalised: ClassVar[bool] = True
    """Whether users (and jobs) get scores of their own: the block dataset's known answers."""
    folds_in: ClassVar[bool] = True
    """Whether :meth:`~recommender.models.base.Model.history_scores` scores new histories."""
    explains: ClassVar[bool] = False
    """Whether :meth:`~recommender.models.base.Model.explain` explains (else it raises)."""
    reports_loss: ClassVar[bool] = False
    """Whether progress reports carry the training loss."""

    @classmethod
    def settings(cls, seed: int = SEED) -> Settings:
        """The settings that train this model with the test hyper-parameters."""
        return model_settings(cls.name, seed)

    @classmethod
    def randomised_array(cls, key: str) -> bool:
        """Whether the array ``key`` depends on the seed: :attr:`randomised` (a blend's arrays
        depend on it where their component's do)."""
        del key
        return cls.randomised

    @classmethod
    def progress_reports(cls, settings: Settings) -> list[int]:
        """The iterations done at each progress report of a fit under ``settings``."""
        del settings
        return [1]

    @classmethod
    def fit(cls, seed: int = SEED) -> Fitted:
        """Train on the block dataset with :meth:`settings`, recording progress."""
        calls: list[tuple[int, float | None]] = []
        trained = train_on(
            block_activities(),
            cls.settings(seed),
            progress=lambda done, loss: calls.append((done, loss)),
        )
        return Fitted(trained, calls)

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls) -> Fitted:
        return cls.fit()

    @pytest.fixture(scope="class")
    @classmethod
    def trained(cls, fitted: Fitted) -> TrainedModel:
        return fitted.trained

    def test_training_fits_the_configured_model(self, trained: TrainedModel) -> None:
        model = trained.model
        assert type(model) is REGISTRY[self.name].model_class
        assert model.kind == self.kind
        assert MODEL_KINDS[self.kind] is type(model)
        assert trained.manifest.model.model_dump() == {
            "kind": self.kind,
            "params": model.params(),
            "confidence_scale": 2.0,
        }
        json.dumps(model.params())  # a bundle's manifest records them

    def test_progress_is_reported_after_each_iteration(self, fitted: Fitted) -> None:
        assert [done for done, _ in fitted.progress] == self.progress_reports(self.settings())
        assert all((loss is not None) == self.reports_loss for _, loss in fitted.progress)

    def test_shapes_and_dtypes(self, trained: TrainedModel) -> None:
        model = trained.model
        assert (model.n_users, model.n_items) == (N_USERS, N_ITEMS)
        for user_rows in ROW_SETS:
            scores = model.user_scores(rows(user_rows), trained.interactions)
            assert scores.shape == (len(user_rows), N_ITEMS)
            assert scores.dtype == np.float32
            assert np.isfinite(scores).all()
        for items in ITEM_SETS:
            sims = model.similar_scores(rows(items))
            assert sims.shape == (len(items), N_ITEMS)
            assert sims.dtype == np.float32
            assert np.isfinite(sims).all()
            assert sims.min() >= -1.0 - 1e-6
            assert sims.max() <= 1.0 + 1e-6

    def test_history_scores_shapes_and_dtypes(self, trained: TrainedModel) -> None:
        """Histories scored afresh, as known users' (own rows) or new users' (-1): None only
        for a model that cannot fold a history in; one that scores histories in user_scores
        gives the same scores both ways."""
        model = trained.model
        for user_rows in ROW_SETS:
            own = rows(user_rows)
            history = trained.interactions[own]
            for own_rows in (own, np.full(own.shape[0], -1, dtype=np.int64)):
                scores = model.history_scores(history, own_rows)
                if not self.folds_in:
                    assert scores is None
                    continue
                assert scores is not None
                assert scores.shape == (len(user_rows), N_ITEMS)
                assert scores.dtype == np.float32
                assert np.isfinite(scores).all()
            if model.scores_histories:
                np.testing.assert_array_equal(
                    model.history_scores(history, own),
                    model.user_scores(own, trained.interactions),
                )

    @pytest.mark.parametrize("cols", [*ITEM_SETS, [6, 0, 6]], ids=["two", "one", "all", "repeat"])
    def test_column_scores_are_the_columns_of_every_users_scores(
        self, trained: TrainedModel, cols: list[int]
    ) -> None:
        """A job's audience scores every user for a few columns: the same scores as the
        users' own rows, in the order asked."""
        model = trained.model
        every = model.user_scores(rows(model.n_users), trained.interactions)
        got = model.column_scores(rows(cols), trained.interactions)
        assert got.shape == (N_USERS, len(cols))
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, every[:, cols], rtol=1e-5, atol=1e-6)

    def test_score_moments_are_each_users_mean_and_deviation(self, trained: TrainedModel) -> None:
        model = trained.model
        every = model.user_scores(rows(model.n_users), trained.interactions).astype(np.float64)
        for cols in ([1, 2, 3, 8], list(range(N_ITEMS))):
            mean, std = model.score_moments(rows(cols), trained.interactions)
            assert mean.shape == std.shape == (N_USERS,)
            assert mean.dtype == std.dtype == np.float64
            np.testing.assert_allclose(mean, every[:, cols].mean(axis=1), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(std, every[:, cols].std(axis=1), rtol=1e-4, atol=1e-6)

    def test_comparable_moments_are_none_or_one_per_user(self, trained: TrainedModel) -> None:
        """None: the model's own scores compare across users (every model but the blend)."""
        got = trained.model.comparable_moments(rows([0, 6, 9]), trained.interactions)
        if got is None:
            assert self.kind != "blend"
            return
        mean, std = got
        assert mean.shape == std.shape == (N_USERS,)
        assert np.isfinite(mean).all() and (std >= 0).all()

    def test_held_out_job_of_own_block_ranks_first(self, trained: TrainedModel) -> None:
        """Each user saw all but one job of their block: that job is their best unseen one.
        A model that is not personalised gives every user the same scores instead."""
        model = trained.model
        scores = model.user_scores(rows(model.n_users), trained.interactions)
        if not self.personalised:
            assert (scores == scores[0]).all()
            return
        scores[trained.interactions.toarray() > 0] = -np.inf
        for user_row, job_row in enumerate(scores.argmax(axis=1).tolist()):
            assert job_row == held_out_job(user_row), f"user row {user_row}"

    def test_held_out_job_ranks_first_for_a_history_seen_afresh(
        self, trained: TrainedModel
    ) -> None:
        """The known answer holds for the users' histories scored as new users'."""
        model = trained.model
        history = trained.interactions
        scores = model.history_scores(history, np.full(N_USERS, -1, dtype=np.int64))
        if not self.folds_in:
            assert scores is None
            return
        assert scores is not None
        if not self.personalised:
            assert (scores == scores[0]).all()
            return
        scores[history.toarray() > 0] = -np.inf
        for user_row, job_row in enumerate(scores.argmax(axis=1).tolist()):
            assert job_row == held_out_job(user_row), f"user row {user_row}"

    def test_most_similar_other_job_shares_its_block(self, trained: TrainedModel) -> None:
        """A model that is not personalised gives every job the same similar jobs instead."""
        model = trained.model
        sims = model.similar_scores(rows(model.n_items))
        if not self.personalised:
            assert (sims == sims[0]).all()
            return
        np.fill_diagonal(sims, -np.inf)
        for job_row, nearest in enumerate(sims.argmax(axis=1).tolist()):
            assert nearest // JOBS_PER_BLOCK == job_row // JOBS_PER_BLOCK, f"job row {job_row}"

    def test_listed_jobs_without_activity_are_zero_columns(self, trained: TrainedModel) -> None:
        """With content on, listed jobs nobody engaged with (cold jobs) are columns of zeros:
        the model fits and scores them finitely, and a user's own-block job still ranks first
        among their unseen jobs, cold ones included."""
        del trained  # started whatever session the model needs
        settings = self.settings().model_copy(
            update={"content": ContentParams(min_count=1, dimensions=8, user_documents=0)}
        )
        with_cold = train_on(block_activities(), settings, catalogue=block_catalogue())
        cold, seen = with_cold.model, with_cold.interactions
        n_items = N_ITEMS + COLD_JOBS
        assert (cold.n_users, cold.n_items) == (N_USERS, n_items)
        assert seen[:, N_ITEMS:].nnz == 0
        scores = cold.user_scores(rows(N_USERS), seen)
        assert scores.shape == (N_USERS, n_items)
        assert np.isfinite(scores).all()
        sims = cold.similar_scores(rows(n_items))
        assert sims.shape == (n_items, n_items)
        assert np.isfinite(sims).all()
        history = cold.history_scores(seen, np.full(N_USERS, -1, dtype=np.int64))
        assert history is None or np.isfinite(history).all()
        if self.personalised:
            scores[seen.toarray() > 0] = -np.inf
            for user_row, job_row in enumerate(scores.argmax(axis=1).tolist()):
                assert job_row == held_out_job(user_row), f"user row {user_row}"

    def test_same_seed_same_model_other_seed_other_model(self, trained: TrainedModel) -> None:
        arrays = trained.model.arrays()
        again = self.fit().trained.model.arrays()
        other = self.fit(SEED + 1).trained.model.arrays()
        assert set(again) == set(other) == set(arrays)
        for key, array in arrays.items():
            np.testing.assert_array_equal(again[key], array)
            assert np.array_equal(other[key], array) != self.randomised_array(key), key

    def test_arrays_round_trip(self, trained: TrainedModel) -> None:
        model = trained.model
        for array in model.arrays().values():
            assert array.dtype.kind in "iuf"  # plain numbers: a bundle stores them without pickle
        rebuilt = MODEL_KINDS[model.kind].from_arrays(model.params(), model.arrays())
        assert_same_model(model, rebuilt, trained)

    def test_bundle_round_trip(self, tmp_path: Path, trained: TrainedModel) -> None:
        bundle_dir = write_bundle(trained, tmp_path)
        manifest = json.loads((bundle_dir / "manifest.json").read_text())
        assert manifest["model"]["kind"] == self.kind
        for key in trained.model.arrays():
            assert (bundle_dir / f"model.{key}.npy").is_file()
        loaded = load_bundle(tmp_path)
        assert_same_model(trained.model, loaded.model, trained)
        np.testing.assert_array_equal(
            loaded.model.user_scores(rows(3), loaded.interactions),
            trained.model.user_scores(rows(3), trained.interactions),
        )

    def test_explain_shares_sum_to_one_over_the_past_jobs(self, trained: TrainedModel) -> None:
        """Or, for a model that cannot explain, ExplainUnsupportedError."""
        model = trained.model
        history = trained.interactions[0]
        items = rows([4, 0])
        if not self.explains:
            with pytest.raises(ExplainUnsupportedError, match=model.kind):
                model.explain(history, items, top=10)
            return
        past = set(history.indices.tolist())
        explained = model.explain(history, items, top=10)
        assert len(explained) == len(items)
        for parts in explained:
            assert {col for col, _ in parts} == past
            assert sum(share for _, share in parts) == pytest.approx(1.0, abs=1e-5)
            shares = [share for _, share in parts]
            assert shares == sorted(shares, reverse=True)
        assert len(model.explain(history, rows([4]), top=2)[0]) == 2
