"""Settings per model that make the known answers of the block dataset hold, and a trainer."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from recommender.bundle.trained import TrainedModel
from recommender.data.activities import ActivityLines
from recommender.data.catalogue import Catalogue
from recommender.data.dataset import Dataset
from recommender.models.base import Progress
from recommender.models.bpr import BPRParams
from recommender.models.itemknn import ItemKNNParams
from recommender.models.userknn import UserKNNParams
from recommender.settings import Settings
from recommender.training.fit import train
from tests.conftest import activities_frame, tiny_settings

SEED = 7

# Checked over 200 seeds (BPR) and every model name: each gives the block dataset's known answer.
_TEST_PARAMS: dict[str, Any] = {
    "bpr": BPRParams(factors=4, learning_rate=0.05, iterations=200),
    # Self + the 4 other jobs of a block: every in-block similarity is kept.
    "itemknn": ItemKNNParams(neighbours=5),
    # Fewer than the 5 other users of a block, so that the top-k selection matters.
    "userknn": UserKNNParams(neighbours=3),
}


def model_settings(name: str, seed: int = SEED, **updates: Any) -> Settings:
    """:func:`tests.conftest.tiny_settings` training ``name`` with the test hyper-parameters."""
    return tiny_settings().model_copy(
        update={"model": name, "seed": seed, **_TEST_PARAMS, **updates}
    )


def train_on(
    records: list[dict[str, Any]],
    settings: Settings,
    *,
    progress: Progress | None = None,
    catalogue: Catalogue | None = None,
) -> TrainedModel:
    """Train on activity records (``block_activities``-style dicts), with no listed jobs or
    profiles unless ``catalogue`` lists some."""
    return train(
        Dataset(ActivityLines.unweighted(activities_frame(records)), catalogue or Catalogue(), ()),
        settings,
        progress=progress,
    )


BLOCK_TEXT = (
    (
        "Audit Accountant",
        "<p>Finance team: audit, accounts, tax and budgets.</p>",
    ),
    ("Ward Nurse", "<p>Care for patients on the ward with the clinical team.</p>"),
)
COLD_JOBS = 2
"""Jobs :func:`block_catalogue` lists past the block dataset's, with text and no activity."""


def block_catalogue(n_blocks: int = 2, jobs_per_block: int = 5) -> Catalogue:
    """The block dataset's jobs (ids 1000 + column) listed with their block's text, and one
    more job per block (:data:`COLD_JOBS` in all, after the others) that nobody engaged with."""
    ids, titles, descriptions = [], [], []
    for b in range(n_blocks):
        title, description = BLOCK_TEXT[b % len(BLOCK_TEXT)]
        for j in range(jobs_per_block):
            ids.append(1000 + b * jobs_per_block + j)
            titles.append(title)
            descriptions.append(description)
    for b in range(COLD_JOBS):
        ids.append(1000 + n_blocks * jobs_per_block + b)
        titles.append(BLOCK_TEXT[b % len(BLOCK_TEXT)][0])
        descriptions.append(BLOCK_TEXT[b % len(BLOCK_TEXT)][1])
    return Catalogue(pl.DataFrame({"job_id": ids, "title": titles, "description": descriptions}))


def random_matrix(n_users: int = 30, n_items: int = 20, seed: int = 0) -> sp.csr_matrix:
    """A float32 CSR of positive confidences, about a third of it stored."""
    rng = np.random.default_rng(seed)
    dense = rng.uniform(1.0, 5.0, size=(n_users, n_items)) * (rng.random((n_users, n_items)) < 0.35)
    return sp.csr_matrix(dense.astype(np.float32))
