"""Fit the two towers with PyTorch: the one module that imports torch.

Each epoch draws the training positives in a seeded order and, per batch, scores every user of
the batch against every job of the batch (a sampled softmax whose negatives are the other
examples' jobs), each logit less the log of its job's share of the positives (the log Q
correction: popular jobs are negatives more often than they deserve). Impression-only pairs are
positives weighted by nothing but their place in the history (``impressions: positive``), or
each example also gets one of its user's impression-only jobs as a hard negative
(``negative``). A user's pooled history leaves out the example's own job, so a user with one
job learns to be placed from their profile alone, what a new user has.

After each epoch the validation hold-out (a seeded share of the pairs of users with 3 or more)
is scored (recall of the held-out jobs in the top 20); training stops after ``patience``
epochs without a better one and keeps the best. A checkpoint (weights, optimiser, epoch, best
so far) is written after each epoch; a run with the same data, settings and seed starts from
it. Every random draw is seeded per epoch, so a resumed run ends where an uninterrupted one
does.
"""

from __future__ import annotations

import copy
import io
import logging
import pickle
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from recommender.errors import EngineUnavailableError
from recommender.models.base import Device, FitContext, Progress, take_rows
from recommender.models.neural.checkpoints import Checkpoints, fingerprint
from recommender.models.neural.inputs import (
    TowerInputs,
    history_weights,
    tower_inputs,
    user_tower,
    validation_split,
    words_to_codes,
)
from recommender.models.neural.params import NeuralParams

if TYPE_CHECKING:
    from recommender.data.catalogue import Catalogue

log = logging.getLogger(__name__)
TOP = 20
"""The validation cut-off: recall of the held-out jobs in each user's top 20."""


class Towers(nn.Module):
    """The two towers over fixed inputs (content, employers, profiles) held as buffers."""

    def __init__(self, inputs: TowerInputs, params: NeuralParams) -> None:
        super().__init__()
        d, hidden = params.dimensions, params.hidden
        n_items, m = inputs.content.shape
        self.item_id = nn.Embedding(n_items, d)
        self.history_id = nn.Embedding(n_items, d)
        self.employer = nn.Embedding(inputs.n_employers + 1, d)
        self.job_layer = nn.Sequential(nn.Linear(d + m, hidden), nn.ReLU(), nn.Linear(hidden, d))
        self.history_text = nn.Linear(max(m, 1), d, bias=False)
        self.profile = nn.Parameter(torch.zeros(inputs.profile_words.shape[0], d))
        self.user_layer = nn.Sequential(nn.Linear(2 * d, hidden), nn.ReLU(), nn.Linear(hidden, d))
        for table in (self.item_id, self.history_id, self.employer):
            nn.init.normal_(table.weight, std=0.05)
        nn.init.normal_(self.profile, std=0.05)
        self.content: Tensor
        self.employers: Tensor
        self.warm: Tensor
        # inputs, not learned: kept out of checkpoints
        self.register_buffer("content", torch.from_numpy(inputs.content), persistent=False)
        self.register_buffer("employers", torch.from_numpy(inputs.employers), persistent=False)
        warm = torch.from_numpy(inputs.warm.astype(np.float32))
        self.register_buffer("warm", warm, persistent=False)

    def jobs(self, cols: Tensor, keep_id: Tensor | None = None) -> Tensor:
        """The job tower for the columns ``cols``; ``keep_id`` (0 or 1 each) hides ids."""
        joined = torch.cat([self.employer(self.employers[cols]), self.content[cols]], dim=1)
        ids = self.item_id(cols) * self.warm[cols, None]
        if keep_id is not None:
            ids = ids * keep_id[:, None]
        out: Tensor = self.job_layer(joined) + ids
        return out

    def history_table(self) -> Tensor:
        """Each job as a history element: its id (warm jobs) and its text, projected."""
        table = self.history_id.weight * self.warm[:, None]
        if self.content.shape[1]:
            table = table + self.history_text(self.content)
        return table

    def users(self, pooled: Tensor, profiles: Tensor) -> Tensor:
        """The user tower: pooled history and profile through one layer, with a skip."""
        out: Tensor = pooled + self.user_layer(torch.cat([pooled, profiles], dim=1))
        return out


def _sparse(matrix: sp.csr_matrix, device: torch.device) -> Tensor:
    coo = matrix.tocoo()
    indices = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
    values = torch.from_numpy(coo.data.astype(np.float32))
    tensor = torch.sparse_coo_tensor(
        indices, values, coo.shape, device=device, check_invariants=False
    )
    return tensor.coalesce()


def _device(device: Device) -> torch.device:
    if device == "cuda" and not torch.cuda.is_available():
        raise EngineUnavailableError(
            "RECOMMENDER_DEVICE is cuda but PyTorch sees no CUDA device (or this torch is a "
            "CPU build); train on cpu"
        )
    return torch.device(device)


class _Examples:
    """The training positives (user row, job column, raw pooling weight) and, for hard
    negatives, each user's impression-only jobs."""

    def __init__(
        self,
        matrix: sp.csr_matrix,
        redirected: sp.csr_matrix | None,
        params: NeuralParams,
    ) -> None:
        raw = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
        raw.data = np.log1p(np.maximum(raw.data, 0.0)).astype(np.float32)
        self.raw = raw
        self.totals = np.asarray(raw.sum(axis=1, dtype=np.float64)).ravel().astype(np.float32)
        coo = raw.tocoo()
        positive = np.ones(coo.nnz, dtype=bool)
        self.shown: sp.csr_matrix | None = None
        if params.impressions == "negative" and redirected is not None:
            hit = sp.csr_matrix(redirected, dtype=np.float32)
            hc = hit.tocoo()
            hit_keys = np.sort(hc.row.astype(np.int64) * matrix.shape[1] + hc.col)
            keys = coo.row.astype(np.int64) * matrix.shape[1] + coo.col
            positive = np.isin(keys, hit_keys)
            shown = ~positive
            self.shown = sp.csr_matrix(
                (np.ones(int(shown.sum()), np.float32), (coo.row[shown], coo.col[shown])),
                shape=matrix.shape,
            )
        self.rows = coo.row[positive].astype(np.int64)
        self.cols = coo.col[positive].astype(np.int64)
        self.weights = coo.data[positive].astype(np.float32)
        counts = np.bincount(self.cols, minlength=matrix.shape[1]).astype(np.float64)
        share = counts / max(1.0, counts.sum())
        self.log_q = np.log(np.maximum(share, 1e-12)).astype(np.float32)

    def hard_negatives(self, rows: NDArray[np.int64], rng: np.random.Generator) -> NDArray[Any]:
        """One impression-only job of each user (-1 for a user with none)."""
        out = np.full(rows.shape[0], -1, dtype=np.int64)
        if self.shown is None:
            return out
        starts = self.shown.indptr[rows]
        counts = self.shown.indptr[rows + 1] - starts
        has = counts > 0
        picks = starts[has] + (rng.random(int(has.sum())) * counts[has]).astype(np.int64)
        out[has] = self.shown.indices[picks]
        return out


def fit_towers(
    matrix: sp.csr_matrix,
    *,
    context: FitContext | None,
    catalogue: Catalogue | None,
    params: NeuralParams,
    seed: int,
    device: Device,
    progress: Progress | None,
) -> dict[str, NDArray[Any]]:
    """Train the towers on ``matrix`` (users × jobs confidences); the arrays the model keeps."""
    where = _device(device)
    threads = torch.get_num_threads()
    if params.threads:
        torch.set_num_threads(params.threads)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        return _fit(
            matrix,
            context=context,
            catalogue=catalogue,
            params=params,
            seed=seed,
            where=where,
            progress=progress,
        )
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.set_num_threads(threads)


def _fit(
    matrix: sp.csr_matrix,
    *,
    context: FitContext | None,
    catalogue: Catalogue | None,
    params: NeuralParams,
    seed: int,
    where: torch.device,
    progress: Progress | None,
) -> dict[str, NDArray[Any]]:
    train, held = validation_split(matrix, params.validation_share, seed)
    # only jobs with training pairs learn an id (a job seen in held-out pairs alone has none)
    inputs = tower_inputs(train, context, catalogue, params.min_profile_users)
    redirected = None if context is None else context.redirected
    examples = _Examples(train, redirected, params)
    if examples.rows.shape[0] == 0:
        raise ValueError("the neural model has no positive pair to learn from")
    towers, optimiser = _fresh(inputs, params, seed, where)
    checkpoints = Checkpoints(
        params.checkpoint_dir,
        fingerprint(
            matrix,
            [
                inputs.content,
                inputs.employers,
                inputs.profiles.indptr,
                inputs.profiles.indices,
                words_to_codes(inputs.profile_words),
                examples.rows,
                examples.cols,
            ],
            {"params": params.model_dump(exclude={"checkpoint_dir", "threads"}), "seed": seed},
        ),
    )
    state = _State(towers)
    saved = checkpoints.read()
    if saved is not None:
        try:
            state.load(saved, optimiser, where)
            log.info("neural: resumed from the checkpoint after epoch %s", state.epoch)
        except (RuntimeError, KeyError, ValueError, EOFError, pickle.UnpicklingError) as exc:
            log.warning("neural: the checkpoint cannot be read (%s); training from the start", exc)
            towers, optimiser = _fresh(inputs, params, seed, where)  # as if none were kept
            state = _State(towers)
    if redirected is not None:  # what evaluation counts: redirects, not impressions alone
        held = held.multiply(sp.csr_matrix(redirected) > 0).tocsr()
        held.eliminate_zeros()
    validation = _Validation(
        train, held, profiles=inputs.profiles, params=params, seed=seed, where=where
    )
    while state.epoch < params.epochs and state.waiting < params.patience:
        epoch = state.epoch + 1
        loss = _epoch(
            towers,
            optimiser=optimiser,
            examples=examples,
            profiles=inputs.profiles,
            params=params,
            seed=seed,
            epoch=epoch,
            where=where,
        )
        score = validation.score(towers)
        state.record(epoch, score, towers)
        log.info("neural: epoch %s loss %.4f validation recall@%s %s", epoch, loss, TOP, score)
        checkpoints.write(state.dump(optimiser))
        if progress is not None:
            progress(epoch, loss)
    towers.load_state_dict(state.best)
    arrays = _export(towers, matrix, inputs)
    checkpoints.remove()
    return arrays


def _fresh(
    inputs: TowerInputs, params: NeuralParams, seed: int, where: torch.device
) -> tuple[Towers, torch.optim.Optimizer]:
    """Towers with their seeded initial weights, and their optimiser."""
    torch.manual_seed(seed)
    towers = Towers(inputs, params).to(where)
    optimiser = torch.optim.Adam(
        towers.parameters(), lr=params.learning_rate, weight_decay=params.weight_decay
    )
    return towers, optimiser


class _State:
    """The training run's progress: the epoch done, the best validation so far and its weights."""

    def __init__(self, towers: Towers) -> None:
        self.towers = towers
        self.epoch = 0
        self.best_score = -1.0
        self.waiting = 0
        self.best: dict[str, Tensor] = copy.deepcopy(towers.state_dict())

    def record(self, epoch: int, score: float | None, towers: Towers) -> None:
        """The epoch done and its validation score; None (nothing held out): the latest is
        the best."""
        self.epoch = epoch
        if score is None or score > self.best_score:
            self.best_score, self.waiting = (self.best_score if score is None else score), 0
            self.best = copy.deepcopy(towers.state_dict())
        else:
            self.waiting += 1

    def dump(self, optimiser: torch.optim.Optimizer) -> bytes:
        buffer = io.BytesIO()
        torch.save(
            {
                "epoch": self.epoch,
                "best_score": self.best_score,
                "waiting": self.waiting,
                "best": self.best,
                "towers": self.towers.state_dict(),
                "optimiser": optimiser.state_dict(),
            },
            buffer,
        )
        return buffer.getvalue()

    def load(self, data: bytes, optimiser: torch.optim.Optimizer, where: torch.device) -> None:
        saved: dict[str, Any] = torch.load(io.BytesIO(data), map_location=where, weights_only=True)
        self.towers.load_state_dict(saved["towers"])
        optimiser.load_state_dict(saved["optimiser"])
        self.epoch = int(saved["epoch"])
        self.best_score = float(saved["best_score"])
        self.waiting = int(saved["waiting"])
        self.best = saved["best"]


def _pooled(
    towers: Towers,
    examples: _Examples,
    picked: NDArray[np.int64],
    where: torch.device,
) -> Tensor:
    """The examples' users' weighted mean history vectors, each leaving out its own job (a
    user with that job only pools nothing)."""
    rows, cols = examples.rows[picked], examples.cols[picked]
    table = towers.history_table()
    summed = torch.sparse.mm(_sparse(take_rows(examples.raw, rows), where), table)
    own = torch.from_numpy(examples.weights[picked]).to(where)
    summed = summed - own[:, None] * table[torch.from_numpy(cols).to(where)]
    total = torch.from_numpy(examples.totals[rows]).to(where) - own
    scale = torch.where(total > 1e-6, 1.0 / total.clamp(min=1e-6), torch.zeros_like(total))
    pooled: Tensor = summed * scale[:, None]
    return pooled


def _profiles(
    towers: Towers, profiles: sp.csr_matrix, rows: NDArray[np.int64], where: torch.device
) -> Tensor:
    """The users' mean profile-value vectors (zeros without a profile vocabulary)."""
    if profiles.shape[1] == 0:
        return torch.zeros(rows.shape[0], towers.profile.shape[1], device=where)
    pooled: Tensor = torch.sparse.mm(_sparse(take_rows(profiles, rows), where), towers.profile)
    return pooled


def _epoch(
    towers: Towers,
    *,
    optimiser: torch.optim.Optimizer,
    examples: _Examples,
    profiles: sp.csr_matrix,
    params: NeuralParams,
    seed: int,
    epoch: int,
    where: torch.device,
) -> float:
    """One pass over the positives in a seeded order; the mean loss."""
    towers.train()
    rng = np.random.default_rng([seed, 2, epoch])
    generator = torch.Generator().manual_seed(int(rng.integers(1 << 62)))
    order = rng.permutation(examples.rows.shape[0])
    log_q = torch.from_numpy(examples.log_q).to(where)
    total, batches = 0.0, 0
    for start in range(0, order.shape[0], params.batch_size):
        picked = order[start : start + params.batch_size]
        if picked.shape[0] < 2:
            continue
        rows, cols = examples.rows[picked], examples.cols[picked]
        pooled = _pooled(towers, examples, picked, where)
        if params.history_dropout > 0:
            kept = torch.rand(rows.shape[0], generator=generator) >= params.history_dropout
            pooled = pooled * kept.float().to(where)[:, None]
        users = towers.users(pooled, _profiles(towers, profiles, rows, where))
        col_t = torch.from_numpy(cols).to(where)
        keep = (torch.rand(cols.shape[0], generator=generator) >= params.id_dropout).float()
        jobs = towers.jobs(col_t, keep.to(where))
        logits = users @ jobs.T / params.temperature - log_q[col_t][None, :]
        same = col_t[:, None] == col_t[None, :]
        same.fill_diagonal_(False)
        logits = logits.masked_fill(same, float("-inf"))
        hard = examples.hard_negatives(rows, rng)
        if (hard >= 0).any():
            hard_t = torch.from_numpy(np.maximum(hard, 0)).to(where)
            extra = (users * towers.jobs(hard_t)).sum(dim=1) / params.temperature
            extra = extra.masked_fill(torch.from_numpy(hard < 0).to(where), float("-inf"))
            logits = torch.cat([logits, extra[:, None]], dim=1)
        target = torch.arange(cols.shape[0], device=where)
        loss = nn.functional.cross_entropy(logits, target)
        optimiser.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimiser.step()
        total += float(loss.item())
        batches += 1
    return total / max(1, batches)


class _Validation:
    """Recall@20 of the held-out jobs of a seeded sample of users, their training jobs
    excluded."""

    def __init__(
        self,
        train: sp.csr_matrix,
        held: sp.csr_matrix,
        *,
        profiles: sp.csr_matrix,
        params: NeuralParams,
        seed: int,
        where: torch.device,
    ) -> None:
        users = np.flatnonzero(np.diff(held.indptr) > 0)
        if users.shape[0] > params.validation_users:
            rng = np.random.default_rng([seed, 3])
            users = np.sort(rng.choice(users, params.validation_users, replace=False))
        self.users = users.astype(np.int64)
        self.train = train
        self.raw = history_weights(train)
        self.held = take_rows(held, self.users)
        self.seen = take_rows(train, self.users)
        self.profiles = take_rows(profiles, self.users)
        self.where = where

    def score(self, towers: Towers) -> float | None:
        """Recall@20 of the held-out redirects; None when nothing is held out."""
        if self.users.shape[0] == 0:
            return None
        towers.eval()
        with torch.no_grad():
            table = towers.history_table()
            pooled = torch.sparse.mm(_sparse(take_rows(self.raw, self.users), self.where), table)
            all_rows = np.arange(self.profiles.shape[0], dtype=np.int64)
            users = towers.users(pooled, _profiles(towers, self.profiles, all_rows, self.where))
            n_items = towers.content.shape[0]
            jobs = towers.jobs(torch.arange(n_items, device=self.where))
            scores = (users @ jobs.T).cpu().numpy()
        seen = self.seen.tocoo()
        scores[seen.row, seen.col] = -np.inf
        top = np.argpartition(-scores, min(TOP, scores.shape[1] - 1), axis=1)[:, :TOP]
        hits = np.zeros(self.users.shape[0])
        for i in range(self.users.shape[0]):
            start, end = self.held.indptr[i], self.held.indptr[i + 1]
            relevant = self.held.indices[start:end]
            hits[i] = np.isin(relevant, top[i]).sum() / min(TOP, relevant.shape[0])
        return float(hits.mean())


def _export(towers: Towers, matrix: sp.csr_matrix, inputs: TowerInputs) -> dict[str, NDArray[Any]]:
    """The arrays serving needs, the training users embedded by the numpy user tower (the full
    matrix, hold-out included, as their histories)."""
    towers.eval()
    with torch.no_grad():
        n_items = towers.content.shape[0]
        where = towers.content.device
        items = towers.jobs(torch.arange(n_items, device=where)).cpu().numpy()
        history = towers.history_table().cpu().numpy()
        profile_vectors = towers.profile.detach().cpu().numpy()
        first, second = towers.user_layer[0], towers.user_layer[2]
        assert isinstance(first, nn.Linear) and isinstance(second, nn.Linear)
        weights = {
            "user_w1": first.weight.detach().cpu().numpy().T,
            "user_b1": first.bias.detach().cpu().numpy(),
            "user_w2": second.weight.detach().cpu().numpy().T,
            "user_b2": second.bias.detach().cpu().numpy(),
        }
    weights = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}
    user_profiles = np.asarray(inputs.profiles @ profile_vectors, dtype=np.float32)
    pooled = np.asarray(history_weights(matrix) @ history, dtype=np.float32)
    users = user_tower(pooled, user_profiles, weights)
    return {
        "user_factors": users,
        "item_factors": np.ascontiguousarray(items, dtype=np.float32),
        "history_vectors": np.ascontiguousarray(history, dtype=np.float32),
        "profile_words": inputs.profile_words,
        "profile_vectors": np.ascontiguousarray(profile_vectors, dtype=np.float32),
        "user_profiles": user_profiles,
        **weights,
    }
