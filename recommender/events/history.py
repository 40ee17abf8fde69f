"""A user's full history: what the model learned of them plus their events newer than the model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.bundle.trained import TrainedModel
from recommender.data.funnel import ScoringRule, score_counts
from recommender.events.fresh import UserEvents


@dataclass(frozen=True)
class History:
    """One user's history over the model's job columns.

    Attributes
    ----------
    matrix:
        1 × jobs CSR of implicit scores (positive ones only), the units of ``interactions``.
    seen:
        Every job column the user was shown or redirected to.
    redirected:
        The job columns the user was redirected to.
    """

    matrix: sp.csr_matrix
    seen: NDArray[np.int64]
    redirected: NDArray[np.int64]


def trained_history(trained: TrainedModel, row: int) -> History:
    """What the model was trained on for user ``row``."""
    start, end = trained.interactions.indptr[row], trained.interactions.indptr[row + 1]
    cols = trained.interactions.indices[start:end].astype(np.int64)
    r_start, r_end = trained.redirected.indptr[row], trained.redirected.indptr[row + 1]
    return History(
        matrix=trained.interactions[row],
        seen=cols,
        redirected=trained.redirected.indices[r_start:r_end].astype(np.int64),
    )


def full_history(
    trained: TrainedModel, row: int | None, events: UserEvents, rule: ScoringRule
) -> History | None:
    """The user's trained history with ``events`` added, rescored from the summed funnel counts.

    ``row`` is None for a user the model does not know. Events about jobs the model
    does not know are left out (nothing can be scored for them); None when no event is left.

    A pair the model knows is rescored from its stored counts plus the new ones, exactly as
    training would score it. Without stored counts (an older bundle), the pair keeps the larger
    of its trained score and the new events' score. A pair that scored 0 at training was not
    stored, so only its new events count.
    """
    known = trained.jobs.contains(events.job_ids)
    if not known.any():
        return None
    # job ids are sorted and unique; their columns are unique, in column order (jobs posted
    # since training are columns after the model's, whatever their ids: see AppendedIndex)
    new_cols = trained.jobs.rows(events.job_ids[known], missing="error")
    order = np.argsort(new_cols, kind="stable")
    new_cols = new_cols[order]
    new_imp, new_red = events.impressions[known][order], events.redirects[known][order]
    imp: NDArray[np.float64]
    red: NDArray[np.float64]
    floor: NDArray[np.float32] | None
    if row is None:
        all_cols, imp, red, floor = new_cols, new_imp, new_red, None
        old_redirected = np.zeros(0, dtype=np.int64)
    else:
        old = trained_history(trained, row)
        all_cols = np.union1d(old.seen, new_cols).astype(np.int64)
        at_old, at_new = np.searchsorted(all_cols, old.seen), np.searchsorted(all_cols, new_cols)
        imp = np.zeros(all_cols.shape[0], dtype=np.float64)
        red = np.zeros(all_cols.shape[0], dtype=np.float64)
        imp[at_new], red[at_new] = new_imp, new_red
        floor = None
        funnel = trained.funnel
        start, end = trained.interactions.indptr[row], trained.interactions.indptr[row + 1]
        if funnel is not None:
            imp[at_old] += funnel.impressions[start:end]
            red[at_old] += funnel.redirects[start:end]
        else:
            floor = np.zeros(all_cols.shape[0], dtype=np.float32)
            floor[at_old] = trained.interactions.data[start:end]
        old_redirected = old.redirected
    scores = score_counts(imp, red, rule)
    if floor is not None:
        scores = np.maximum(scores, floor)
    positive = scores > 0
    matrix = sp.csr_matrix(
        (
            scores[positive],
            all_cols[positive].astype(np.int32),
            np.array([0, int(positive.sum())], dtype=np.int64),
        ),
        shape=(1, len(trained.jobs)),
    )
    return History(
        matrix=matrix,
        seen=all_cols.astype(np.int64),
        redirected=np.union1d(old_redirected, all_cols[red > 0]).astype(np.int64),
    )
