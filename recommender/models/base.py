"""The one small interface every model sits behind.

A model learns from a users × jobs CSR matrix of confidences and then scores, for given user rows,
every job column (and, for a job's audience, every user row for given job columns); and, for a
job column, every other job by similarity. It knows rows and columns
only: ids, filtering and fallbacks belong to :class:`recommender.recommender.Recommender`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from pydantic import BaseModel

from recommender.errors import ExplainUnsupportedError

if TYPE_CHECKING:
    from recommender.content.vectors import ContentVectors
    from recommender.data.catalogue import Catalogue

FloatArray = NDArray[np.float32]
ParamsT = TypeVar("ParamsT", bound=BaseModel)
Progress = Callable[[int, float | None], None]
"""Called after each training iteration with (iterations done, training loss or None)."""
Device = Literal["cpu", "cuda"]
"""Where training runs (``RECOMMENDER_DEVICE``): the CPU always works; ``cuda`` needs a GPU and
the engine's CUDA build (PyTorch's for the neural model, implicit's with ``rmm`` for ALS).
Serving is on the CPU, from numpy arrays, whatever trained the model."""
SCORE_BUDGET = 1 << 23
"""Scores (float32) a batch of users × jobs may hold when every user is scored: 32 MiB."""


@dataclass(frozen=True)
class FitContext:
    """What a fit may know beyond the matrix and the catalogue, all of the training period:
    the ids of the matrix's rows and columns (to line them up with the catalogue), the content
    vectors of the columns (trained before the model, on the jobs listed by then), and which
    pairs were redirected to (the rest were only shown)."""

    user_ids: NDArray[np.int64]
    job_ids: NDArray[np.int64]
    content: ContentVectors | None = None
    redirected: sp.csr_matrix | None = None


class Model(ABC):
    """A recommendation model over contiguous user rows and job columns.

    Subclasses set :attr:`kind` (the name recorded in a bundle) and implement the methods below.
    Defining a class with a :attr:`kind` records it, so that :func:`model_class` finds it.
    """

    kind: ClassVar[str]
    scores_histories: bool = False
    """Whether :meth:`user_scores` scores the rows of ``user_items`` it is given (neighbourhood
    and popularity models) rather than what was learned per user row (factor models). A class
    attribute for most models; a blend's depends on its components, so it is an instance's."""
    embeds_profiles: bool = False
    """Whether :meth:`profile_scores` places users from their profiles alone."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")  # intermediate classes (FactorModel, ...) have none
        if kind is None:
            return
        known = _MODEL_CLASSES.get(kind)
        if known is not None and known.__qualname__ != cls.__qualname__:  # not a module reload
            raise TypeError(f"model kind {kind!r} is taken by {known.__qualname__}")
        _MODEL_CLASSES[kind] = cls

    @abstractmethod
    def fit(
        self,
        user_items: sp.csr_matrix,
        *,
        catalogue: Catalogue | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Learn from a users × jobs float32 CSR matrix of non-negative confidences.

        Parameters
        ----------
        user_items:
            One row per user, one column per job; a stored entry is an observed interaction.
        catalogue:
            Every listed job and user profile with their attributes (text, employer, times),
            jobs without activity too; models may ignore it. Its rows line up with the matrix's
            through the ids (``IdIndex.rows`` with an explicit ``missing=`` mode).
        progress:
            Optional callback after each iteration.
        """

    def profile_scores(self, profiles: Sequence[Mapping[str, Any]]) -> list[FloatArray | None]:
        """Each profile's score of every job (a row), for a user with no history; None for a
        profile the model cannot place. The default places none: such users get the content's
        profile list, else the popular one. A model whose user tower reads profiles overrides
        it (and sets :attr:`embeds_profiles`)."""
        return [None] * len(profiles)

    def use_context(self, context: FitContext) -> None:
        """Take what the next :meth:`fit` may know beyond its matrix (called just before it by
        training). Models that learn from the matrix alone ignore it (the default)."""
        del context

    @property
    @abstractmethod
    def n_users(self) -> int:
        """Number of user rows the model was fitted on."""

    @property
    @abstractmethod
    def n_items(self) -> int:
        """Number of job columns the model was fitted on."""

    @abstractmethod
    def user_scores(self, user_rows: NDArray[np.int64], user_items: sp.csr_matrix) -> FloatArray:
        """Each user row's score of every job: ``(len(user_rows), n_items)``; higher is better.

        Parameters
        ----------
        user_rows:
            Rows of the users to score.
        user_items:
            The users × jobs matrix of the user rows' histories (the training matrix, or one with
            new events). Factor models ignore it; neighbourhood models score from its given rows.
        """

    def history_scores(
        self, history: sp.csr_matrix, own_rows: NDArray[np.int64]
    ) -> FloatArray | None:
        """Each history's score of every job, for users the model must see afresh.

        Parameters
        ----------
        history:
            One row per user, over the model's job columns, in the same units as the
            ``user_items`` of :meth:`user_scores` (implicit scores): a known user's full history
            with their newer events, or a new user's few events.
        own_rows:
            Each user's row in the model, or -1 for a user it was not fitted on.

        A model whose :meth:`user_scores` reads the users' histories (:attr:`scores_histories`)
        scores them the same way; others return None (they cannot fold a new history in) unless
        they override this, and callers then keep what the model learned.
        """
        del own_rows
        if not self.scores_histories:
            return None
        return self.user_scores(np.arange(history.shape[0], dtype=np.int64), history)

    def column_scores(self, cols: NDArray[np.int64], user_items: sp.csr_matrix) -> FloatArray:
        """Every user row's score of each given job column: ``(n_users, len(cols))``, column
        ``i`` being column ``cols[i]`` of :meth:`user_scores` over all rows (a job's audience).

        The default scores users in batches of about :data:`SCORE_BUDGET` floats and keeps the
        asked columns; models that can score a few columns directly override it.
        """
        out = np.empty((self.n_users, cols.shape[0]), dtype=np.float32)
        for rows in self._row_batches():
            out[rows] = self.user_scores(rows, user_items)[:, cols]
        return out

    def mixed_scores(
        self, cols: NDArray[np.int64], mix: sp.csr_matrix, user_items: sp.csr_matrix
    ) -> FloatArray:
        """Every user row's scores of the job columns ``cols`` mixed by ``mix`` (``len(cols)``
        × m): ``column_scores(cols) @ mix``, what a posted job's place in every list is made of.
        Factor models mix the columns' factors first, and score each user once per mix."""
        mixed: FloatArray = np.asarray(self.column_scores(cols, user_items) @ mix, np.float32)
        return mixed

    def score_moments(
        self, cols: NDArray[np.int64], user_items: sp.csr_matrix
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Each user row's mean and (population) standard deviation of its :meth:`user_scores`
        over the job columns ``cols``, in float64: what a row's z-scores over those jobs use.

        The default scores users in batches of about :data:`SCORE_BUDGET` floats; factor
        models override it in closed form.
        """
        return self._moments_of(lambda rows: self.user_scores(rows, user_items), cols)

    def comparable_moments(
        self, cols: NDArray[np.int64], user_items: sp.csr_matrix
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        """As :meth:`score_moments`, of scores comparable across users (for ranking the users
        of a job: an audience), or None when the model's own scores are (the default: a factor,
        neighbourhood or popularity model scores every user on one scale). A model whose
        scores are standardised per user (a blend) gives those of another score."""
        del cols, user_items
        return None

    def _moments_of(
        self, scores_of: Callable[[NDArray[np.int64]], FloatArray], cols: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Each user row's mean and deviation over ``cols`` of ``scores_of(rows)``, scored in
        batches of about :data:`SCORE_BUDGET` floats."""
        mean = np.empty(self.n_users, dtype=np.float64)
        std = np.empty(self.n_users, dtype=np.float64)
        for rows in self._row_batches():
            part = scores_of(rows)[:, cols].astype(np.float64)
            mean[rows] = part.mean(axis=1)
            std[rows] = part.std(axis=1)
        return mean, std

    def _row_batches(self) -> list[NDArray[np.int64]]:
        step = max(1, SCORE_BUDGET // max(1, self.n_items))
        return [
            np.arange(start, min(start + step, self.n_users), dtype=np.int64)
            for start in range(0, self.n_users, step)
        ]

    def explain(
        self, history: sp.csr_matrix, item_rows: NDArray[np.int64], top: int
    ) -> list[list[tuple[int, float]]]:
        """For each job, the ``top`` jobs of a one-row ``history`` that contributed most to its
        score, as (job column, share of the score), largest first.

        Raises
        ------
        ExplainUnsupportedError
            The model has no such explanation (the default).
        """
        del history, item_rows, top
        raise ExplainUnsupportedError(
            f"the model in use ({self.kind}) cannot explain its recommendations; only als can"
        )

    @abstractmethod
    def similar_scores(self, item_rows: NDArray[np.int64]) -> FloatArray:
        """Similarity of every job to each given job: ``(len(item_rows), n_items)``, in [-1, 1].

        The query job itself may score high (a self-similarity); callers mask it.
        """

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The hyper-parameters, JSON-serialisable, as recorded in a bundle."""

    @abstractmethod
    def arrays(self) -> dict[str, NDArray[Any]]:
        """The learned state as named arrays, for a bundle to write."""

    @classmethod
    @abstractmethod
    def from_arrays(cls, params: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]) -> Model:
        """Rebuild a fitted model from :meth:`params` and :meth:`arrays`."""


_MODEL_CLASSES: dict[str, type[Model]] = {}


def model_class(kind: str) -> type[Model]:
    """The model class of ``kind`` (the name a bundle records), among the classes defined so far.

    A model that holds other models (a blend) rebuilds them through this, without importing the
    registry that imports it.

    Raises
    ------
    ValueError
        If no class defined so far has that kind.
    """
    found = _MODEL_CLASSES.get(kind)
    if found is None:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(sorted(_MODEL_CLASSES))}")
    return found


def normalize_rows(matrix: FloatArray) -> FloatArray:
    """Rows scaled to unit length; all-zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normed: FloatArray = (matrix / norms).astype(np.float32, copy=False)
    return normed


def params_of(params_class: type[ParamsT], params: Mapping[str, Any]) -> ParamsT:
    """``params_class`` from the entries of ``params`` it knows (a bundle's also holds the seed)."""
    known = params_class.model_fields
    return params_class(**{k: v for k, v in params.items() if k in known})


def take_rows(matrix: sp.csr_matrix, rows: NDArray[np.int64]) -> sp.csr_matrix:
    """``matrix[rows]`` built from the index arrays directly (scipy's row indexing is slower)."""
    indptr = matrix.indptr
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    new_indptr = np.zeros(rows.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_indptr[1:])
    positions = np.arange(new_indptr[-1]) + np.repeat(starts - new_indptr[:-1], lengths)
    return sp.csr_matrix(
        (matrix.data[positions], matrix.indices[positions], new_indptr),
        shape=(rows.shape[0], matrix.shape[1]),
    )


def normalize_sparse_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """A float32 CSR copy of ``matrix`` with rows scaled to unit length; empty rows stay empty."""
    normed = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    squares = normed.multiply(normed).sum(axis=1, dtype=np.float64)
    norms = np.sqrt(np.asarray(squares).ravel())
    norms[norms == 0] = 1.0
    normed.data /= np.repeat(norms, np.diff(normed.indptr)).astype(np.float32)
    return normed


def sparse_arrays(name: str, matrix: sp.csr_matrix) -> dict[str, NDArray[Any]]:
    """A CSR matrix as plain arrays ``<name>.data``, ``.indices``, ``.indptr`` and ``.shape``."""
    return {
        f"{name}.data": matrix.data,
        f"{name}.indices": matrix.indices,
        f"{name}.indptr": matrix.indptr,
        f"{name}.shape": np.asarray(matrix.shape, dtype=np.int64),
    }


def sparse_from_arrays(name: str, arrays: Mapping[str, NDArray[Any]]) -> sp.csr_matrix:
    """The CSR matrix :func:`sparse_arrays` stored under ``name``, sharing its arrays."""
    n_rows, n_cols = (int(n) for n in arrays[f"{name}.shape"])
    return sp.csr_matrix(
        (arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"]),
        shape=(n_rows, n_cols),
    )
