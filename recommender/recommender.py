"""The :class:`Recommender`: id maps + model + exclusions + fallbacks; what the API and CLI call."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from anyio import to_thread
from numpy.typing import NDArray

from recommender.bundle.audience import AudienceScorer, Scale
from recommender.bundle.listed import ListedJobs
from recommender.bundle.trained import TrainedModel
from recommender.content.params import ContentParams
from recommender.content.scorer import ContentScorer, Profile, standardize_rows
from recommender.errors import ModelChangedError, UnknownJobError
from recommender.events.fresh import DEFAULT_MAX_BYTES, FreshEvents
from recommender.events.history import History, full_history, trained_history
from recommender.events.store import EventStore, Listing
from recommender.matrix import MISSING
from recommender.models.base import FloatArray
from recommender.ranking.pipeline import Ranking, RankingPipeline
from recommender.ranking.rules import Rules
from recommender.ranking.stages import Ranked
from recommender.ranking.topn import TopLists
from recommender.settings import ExcludeSeen

_ONE_ROW = np.zeros(1, dtype=np.int64)
_ONE_ROW.setflags(write=False)

RECALCULATED = "recalculated"
"""The ``source`` of a list scored from a user's history with their events newer than the model."""
PROFILE = "profile"
"""The ``source`` of a list scored from a user's profile alone (content vectors)."""
CONTENT = "content"
"""The ``source`` of a cold job's similar jobs, ranked by their text."""


@dataclass(frozen=True)
class Recommendation:
    """Ranked job ids with their scores, best first, and which path produced them."""

    job_ids: NDArray[np.int64]
    scores: NDArray[np.float32]
    source: str

    def as_pairs(self) -> list[dict[str, Any]]:
        """``[{"job_id": ..., "score": ...}, ...]``, the API's shape; scores to 6 decimals."""
        return _pairs("job_id", self.job_ids, self.scores)


@dataclass(frozen=True)
class Audience:
    """A job's ranked user ids with their scores, best first, and which path scored them."""

    user_ids: NDArray[np.int64]
    scores: NDArray[np.float32]
    source: str

    def as_pairs(self) -> list[dict[str, Any]]:
        """``[{"user_id": ..., "score": ...}, ...]``, the API's shape; scores to 6 decimals."""
        return _pairs("user_id", self.user_ids, self.scores)


def _pairs(key: str, ids: NDArray[np.int64], scores: NDArray[np.float32]) -> list[dict[str, Any]]:
    rounded = (np.rint(scores.astype(np.float64) * 1e6) / 1e6).tolist()
    return [{key: i, "score": s} for i, s in zip(ids.tolist(), rounded, strict=True)]


class Recommender:
    """Answers the three questions of the service from one :class:`TrainedModel`.

    * known user: the model's scores minus excluded jobs (by default those redirected to);
    * a user, known or not, with events newer than the model (:attr:`fresh`): scores from their
      history with those events, recalculated at request time, ``source="recalculated"``
      (models that cannot fold a history in, BPR, keep the paths above and below);
    * unknown user with a profile (in ``users.jsonl``, or given with the request) and a bundle
      with content vectors: the jobs whose text is nearest the profile, ``source="profile"``;
    * unknown user otherwise: the most popular jobs, ``source="popular"``;
    * a job: the most similar other jobs by the model's item similarity; a job with no activity
      (cold: listed, never engaged with) by its text, ``source="content"``;
    * a job's audience: the users whose own lists score it highest
      (:mod:`recommender.bundle.audience`), those redirected to it left out; a cold job's
      scores come from its warm neighbours by text, ``source="content"``.

    Each request goes one way down: history -> model scores (or the lists ranked after
    training) -> :attr:`pipeline` (:mod:`recommender.ranking.pipeline`): expired, excluded and
    filtered-out jobs are dropped, employers capped, the list backfilled, and the page of ``n``
    jobs from ``rules.offset`` returned. ``rules=None`` means expiry only, now, the first page.
    The ``*_async`` methods are for the event loop: they answer a slice of the lists ranked after
    training inline and run anything scored live in a worker thread.

    ``fresh_bytes`` bounds the memory the users' newer events take (:class:`FreshEvents`).

    Jobs posted since training (``POST /jobs``, kept in the event store) are laid over the model
    by :meth:`with_listings`, which returns another recommender for the same model: see
    :mod:`recommender.bundle.listed`.
    """

    def __init__(
        self,
        trained: TrainedModel,
        fresh_bytes: int = DEFAULT_MAX_BYTES,
        *,
        listed: ListedJobs | None = None,
        fresh: FreshEvents | None = None,
        listings_through: int = 0,
        audiences: AudienceScorer | None = None,
    ) -> None:
        self.trained = trained
        self._listed = listed
        self.listings_through = listings_through
        """The ``seq`` of the last job posting laid over the model (0: none)."""
        order = np.lexsort((np.arange(len(trained.jobs)), -trained.popularity))
        self._popular = TopLists(
            order[None, :].astype(np.int32), trained.popularity[order][None, :]
        )
        self._seen = trained.interactions
        self.pipeline = RankingPipeline(trained.jobs, trained.job_meta, trained.catalogue)
        self._rule = trained.manifest.scoring
        data = trained.manifest.data
        self.fresh = (
            fresh
            if fresh is not None
            else FreshEvents(data.events_through, data.events_store, fresh_bytes)
        )
        self.audiences = audiences if audiences is not None else AudienceScorer(trained)
        self.content: ContentScorer | None = None
        if trained.content is not None:
            info = trained.manifest.content
            self.content = ContentScorer(
                trained.content,
                np.bincount(trained.interactions.indices, minlength=len(trained.jobs)),
                trained.popularity,
                info.params if info is not None else ContentParams(),
                trained.catalogue,
            )

    @property
    def listed(self) -> ListedJobs:
        """The job postings laid over the model (built on first use)."""
        if self._listed is None:
            self._listed = ListedJobs(self.trained)
        return self._listed

    def with_listings(self, listings: Sequence[Listing]) -> Recommender:
        """A recommender for the same model with these job postings laid over it, sharing this
        one's newer events (this one is left as it is: requests on it finish on it). Not
        thread-safe: one caller at a time (the model switch's lock)."""
        if not listings:
            return self
        trained = self.listed.apply([listing.record for listing in listings])
        audiences = self.audiences.extended(trained)
        self.listed.rank_ahead(audiences.list_scores)
        return Recommender(
            trained,
            listed=self.listed,
            fresh=self.fresh,
            listings_through=max(self.listings_through, *(x.seq for x in listings)),
            audiences=audiences,
        )

    def catch_up_listings(self, events: EventStore) -> Recommender:
        """:meth:`with_listings` with the postings stored since the last one laid over."""
        return self.with_listings(events.listings_since(self.listings_through))

    def catch_up(self, events: EventStore) -> int:
        """Take in the events stored since the model's training (or the last call)."""
        return self.fresh.catch_up(events)

    def history(self, user_id: int) -> History | None:
        """The user's history as the service knows it now: trained on plus newer events.

        None for a user with neither (or whose newer events are all about unknown jobs).
        """
        row = self.trained.users.row(user_id)
        events = self.fresh.get(user_id)
        if events is not None:
            got = full_history(self.trained, row, events, self._rule)
            if got is not None:
                return got
        return None if row is None else trained_history(self.trained, row)

    @property
    def version(self) -> str:
        """The bundle version, or ``"unsaved"`` for a model not written to disk."""
        return self.trained.manifest.version

    def check_version(self, asked: str | None) -> None:
        """Refuse a request that names the model version of its earlier pages when this is
        another model (None: the request names none).

        Raises
        ------
        ModelChangedError
            ``asked`` is not :attr:`version`.
        """
        if asked is not None and asked != self.version:
            raise ModelChangedError(asked, self.version)

    def ranked_ahead(
        self,
        n: int,
        exclude_seen: ExcludeSeen | None = None,
        user_id: int | None = None,
        rules: Rules | None = None,
    ) -> bool:
        """Whether such a request may be a slice of the lists ranked after training
        (microseconds): the ``*_async`` methods answer those inline and score the others in a
        worker thread.

        Without ``exclude_seen`` the question is about similar jobs; otherwise about users' lists
        (and, given ``user_id``, not if that user has events newer than the model: those are
        recalculated). The page must lie within the lists; a filter may still leave them short.
        """
        # exclusions and caps drop few of a precomputed slice: filtering it takes microseconds
        top = self.trained.similar_top if exclude_seen is None else self.trained.user_top
        offset = rules.offset if rules is not None else 0
        if top is None or offset + n > top.k:
            return False
        if user_id is not None and self.fresh.may_have(user_id):
            return False
        return exclude_seen in (None, "redirected")

    def popular(self, n: int, rules: Rules | None = None) -> Recommendation:
        """The ``n`` most popular eligible jobs (sum of implicit scores), ties by lower job id
        (the page at ``rules.offset`` of that list)."""
        ranking = self.pipeline.ranking(n, rules or Rules.at_now())
        cols, vals = self._ranked(ranking, _ONE_ROW, self._popular, self._popularity)[0]
        return Recommendation(self.trained.jobs.ids_of(cols), vals, "popular")

    def _popularity(self, rows: NDArray[np.int64]) -> FloatArray:
        return np.repeat(self.trained.popularity[None, :], rows.shape[0], axis=0)

    def _ranked(
        self,
        ranking: Ranking,
        rows: NDArray[np.int64],
        ahead: TopLists | None,
        score: Callable[[NDArray[np.int64]], FloatArray],
    ) -> list[Ranked]:
        """Each row's page down the pipeline: from the lists ranked ahead when they hold it,
        else from ``score(rows)``, every job scored here (pinned to the lists ranked ahead, so
        that it continues them), for the rows they cannot fill."""
        if ahead is None:
            return ranking.from_scores(score(rows))
        if ranking.end > ahead.k:
            return ranking.from_scores(ahead.pin(score(rows), rows))
        sliced = ranking.from_lists(ahead, rows)
        if not sliced.short:
            return sliced.filled([])
        short = rows[sliced.short]
        return sliced.filled(ranking.from_scores(ahead.pin(score(short), short)))

    def recommend(
        self,
        user_id: int,
        n: int,
        exclude_seen: ExcludeSeen = "redirected",
        rules: Rules | None = None,
        profile: Profile | None = None,
    ) -> Recommendation:
        """Top-``n`` jobs for one user (the page at ``rules.offset`` of their list); see the
        class docstring for the rules. ``profile`` is used for a user with no history only, in
        place of their ``users.jsonl`` profile."""
        row = self.trained.users.row(user_id)
        rules = rules or Rules.at_now()
        if len(self.fresh):
            fresh = self._recommend_fresh(user_id, row, n, exclude_seen, rules)
            if fresh is not None:
                return fresh
        if row is None:
            return self._recommend_strangers([user_id], n, rules, {user_id: profile})[0]
        top = self.trained.user_top
        if (
            top is not None
            and exclude_seen == "redirected"
            and rules.offset + n <= top.k
            and self.pipeline.passthrough(rules)
        ):
            cols, vals = top.row(row, rules.offset + n)
            cols, vals = cols[rules.offset :], vals[rules.offset :]
            return Recommendation(self.trained.jobs.ids_of(cols), vals, self.trained.model.kind)
        return self._recommend_rows(np.array([row], dtype=np.int64), n, exclude_seen, rules)[0]

    def recommend_many(
        self,
        user_ids: Sequence[int],
        n: int,
        exclude_seen: ExcludeSeen = "redirected",
        rules: Rules | None = None,
        profiles: Mapping[int, Profile] | None = None,
    ) -> list[Recommendation]:
        """Top-``n`` jobs for each user, in the given order, scored in one matrix product;
        ``profiles`` as ``profile`` in :meth:`recommend`, by user id."""
        ids = np.asarray(user_ids, dtype=np.int64)
        rows, known = self.trained.users.lookup(ids)
        rules = rules or Rules.at_now()
        fresh: dict[int, Recommendation] = {}
        if len(self.fresh):
            for i, (user, row, is_known) in enumerate(
                zip(user_ids, rows.tolist(), known.tolist(), strict=True)
            ):
                got = self._recommend_fresh(user, row if is_known else None, n, exclude_seen, rules)
                if got is not None:
                    fresh[i] = got
        if fresh:
            known[list(fresh)] = False
        ranked = iter(
            self._recommend_rows(rows[known], n, exclude_seen, rules) if known.any() else []
        )
        strangers = [
            i for i, is_known in enumerate(known.tolist()) if not is_known and i not in fresh
        ]
        stranger_ids = [int(user_ids[i]) for i in strangers]
        others = dict(
            zip(
                strangers,
                self._recommend_strangers(stranger_ids, n, rules, profiles or {})
                if strangers
                else [],
                strict=True,
            )
        )
        return [
            fresh[i] if i in fresh else next(ranked) if is_known else others[i]
            for i, is_known in enumerate(known.tolist())
        ]

    def _recommend_strangers(
        self,
        user_ids: Sequence[int],
        n: int,
        rules: Rules,
        profiles: Mapping[int, Profile | None],
    ) -> list[Recommendation]:
        """Lists for users with no history: from their profiles where content can embed them
        (given, else from ``users.jsonl``), else the popular list."""
        out: list[Recommendation | None] = [None] * len(user_ids)
        model, content = self.trained.model, self.content
        if content is not None or model.embeds_profiles:
            catalogue = self.trained.catalogue
            found = [
                profiles.get(u) or (None if catalogue is None else catalogue.profile(u))
                for u in user_ids
            ]
            ranking = self.pipeline.ranking(n, rules)
            listed = [i for i, p in enumerate(found) if p is not None]
            given = [p for p in found if p is not None]
            none: list[NDArray[np.float32] | None] = [None] * len(given)
            by_models = model.profile_scores(given) if model.embeds_profiles else none
            by_contents = none if content is None else content.profile_scores(given)
            for i, by_model, by_content in zip(listed, by_models, by_contents, strict=True):
                scores = _profile_blend(by_model, by_content)
                if scores is not None:
                    cols, vals = ranking.from_scores(scores)[0]
                    out[i] = Recommendation(self.trained.jobs.ids_of(cols), vals, PROFILE)
        if any(got is None for got in out):
            fallback = self.popular(n, rules)
            out = [fallback if got is None else got for got in out]
        return out  # type: ignore[return-value]

    def _recommend_fresh(
        self, user_id: int, row: int | None, n: int, exclude_seen: ExcludeSeen, rules: Rules
    ) -> Recommendation | None:
        """A list from the user's full history with their newer events, or None when the user
        has no such events or the model cannot fold a history in."""
        events = self.fresh.get(user_id)
        if events is None:
            return None
        history = full_history(self.trained, row, events, self._rule)
        if history is None:
            return None
        own = np.array([MISSING if row is None else row], dtype=np.int64)
        scores = self.trained.model.history_scores(history.matrix, own)
        if scores is None:
            return None
        if self.trained.hybrid is not None:  # as every other list of the model is scored
            scores = self.trained.hybrid.blend(scores, history.matrix)
        if exclude_seen == "redirected":
            scores[0, history.redirected] = -np.inf
        elif exclude_seen == "all":
            scores[0, history.seen] = -np.inf
        cols, vals = self.pipeline.ranking(n, rules).from_scores(scores)[0]
        return Recommendation(self.trained.jobs.ids_of(cols), vals, RECALCULATED)

    def explain(
        self, user_id: int, recommendation: Recommendation, top: int
    ) -> list[list[tuple[int, float]]]:
        """For each recommended job, the user's past jobs that contributed most, with shares.

        A user with no history (the popular list) gets an empty explanation for every job.

        Raises
        ------
        ExplainUnsupportedError
            The model in use cannot explain (only ALS can).
        """
        history = self.history(user_id)
        if history is None or recommendation.source == "popular":
            return [[] for _ in recommendation.job_ids.tolist()]
        cols = self.trained.jobs.rows(recommendation.job_ids, missing="error")
        explained = self.trained.model.explain(history.matrix, cols, top)
        ids = self.trained.jobs
        return [[(int(ids.ids_of([col])[0]), share) for col, share in parts] for parts in explained]

    def _recommend_rows(
        self, rows: NDArray[np.int64], n: int, exclude_seen: ExcludeSeen, rules: Rules
    ) -> list[Recommendation]:
        ahead = self.trained.user_top if exclude_seen == "redirected" else None
        score = partial(self.trained.user_scores, exclude_seen=exclude_seen)
        ranked = self._ranked(self.pipeline.ranking(n, rules), rows, ahead, score)
        ids = self.trained.jobs
        kind = self.trained.model.kind
        return [
            Recommendation(job_ids=ids.ids_of(cols), scores=vals, source=kind)
            for cols, vals in ranked
        ]

    def similar_jobs(self, job_id: int, n: int, rules: Rules | None = None) -> Recommendation:
        """The ``n`` eligible jobs most similar to ``job_id``, never the job itself.

        Raises
        ------
        UnknownJobError
            If the job is no column of the model: no activity, and not listed in a bundle with
            content.
        """
        col = self.trained.jobs.row(job_id)
        if col is None:
            raise self._unknown_job(job_id)
        ranking = self.pipeline.ranking(n, rules or Rules.at_now())
        if self.content is not None and self.content.is_cold(col):
            scores = self.content.similar_scores(col)
            if scores is not None:
                cols, vals = ranking.from_scores(scores)[0]
                return Recommendation(self.trained.jobs.ids_of(cols), vals, CONTENT)
        cols, vals = self._ranked(
            ranking,
            np.array([col], dtype=np.int64),
            self.trained.similar_top,
            self.trained.similar_scores,
        )[0]
        return Recommendation(
            job_ids=self.trained.jobs.ids_of(cols), scores=vals, source=self.trained.model.kind
        )

    def users_for_jobs(
        self, job_ids: Sequence[int], n: int, scale: Scale = "model"
    ) -> list[Audience]:
        """Each job's ``n`` users most likely to want it, in the given order: by their own
        list's score of it on the model's scale (:mod:`recommender.bundle.audience`; ``scale``
        ``"list"`` ranks the lists' scores as they are), leaving out users redirected to it (in
        training or since). Only users the model has a row for are ranked.

        Raises
        ------
        UnknownJobError
            For the first job that is no column of the model, as :meth:`similar_jobs`.
        """
        cols, known = self.trained.jobs.lookup(np.asarray(job_ids, dtype=np.int64))
        if not known.all():
            raise self._unknown_job(int(np.asarray(job_ids)[~known][0]))
        users = self.trained.users
        excluded = []
        for user_ids in self.fresh.redirected_to(job_ids):
            rows, found = users.lookup(user_ids)
            excluded.append(rows[found])
        kind = self.trained.model.kind
        return [
            Audience(users.ids_of(got.rows), got.scores, CONTENT if got.inherited else kind)
            for got in self.audiences.top(cols, n, excluded, scale)
        ]

    def _unknown_job(self, job_id: int) -> UnknownJobError:
        if self.content is not None:
            return UnknownJobError(job_id, "no activity in the model and not in jobs.jsonl")
        return UnknownJobError(job_id)

    async def users_for_jobs_async(self, job_ids: Sequence[int], n: int) -> list[Audience]:
        """:meth:`users_for_jobs` from the event loop, in a worker thread (it scores every user)."""
        return await to_thread.run_sync(partial(self.users_for_jobs, job_ids, n))

    async def recommend_async(
        self,
        user_id: int,
        n: int,
        exclude_seen: ExcludeSeen = "redirected",
        rules: Rules | None = None,
        profile: Profile | None = None,
    ) -> Recommendation:
        """:meth:`recommend` from the event loop: inline when the answer is a slice of the lists
        ranked after training (or the popular list), else in a worker thread (scoring every job
        live takes milliseconds, and must not block the loop; so does embedding a profile)."""
        if self.ranked_ahead(n, exclude_seen, user_id, rules) and not self._may_embed(user_id):
            rules = rules or Rules.at_now()
            row = self.trained.users.row(user_id)
            if row is None or self.pipeline.passthrough(rules):
                return self.recommend(user_id, n, exclude_seen, rules, profile)
            assert self.trained.user_top is not None  # ranked_ahead
            got = self._sliced(self.trained.user_top, row, n, rules)
            if got is not None:
                return got
        return await to_thread.run_sync(
            partial(self.recommend, user_id, n, exclude_seen, rules, profile)
        )

    def _sliced(self, ahead: TopLists, row: int, n: int, rules: Rules) -> Recommendation | None:
        """A row's page from the lists ranked ahead alone, as :meth:`_ranked` gives it when they
        hold it; None when the rules leave them short (a filter often does, so does a page near
        their end once jobs expire): that row is then scored in a worker thread."""
        ranking = self.pipeline.ranking(n, rules)
        sliced = ranking.from_lists(ahead, np.array([row], dtype=np.int64))
        if sliced.short:
            return None
        cols, vals = sliced.filled([])[0]
        return Recommendation(self.trained.jobs.ids_of(cols), vals, self.trained.model.kind)

    def _may_embed(self, user_id: int) -> bool:
        """Whether the user's list may come from their profile (content or a model that
        places profiles, and no history)."""
        may = self.content is not None or self.trained.model.embeds_profiles
        return may and self.trained.users.row(user_id) is None

    async def recommend_many_async(
        self,
        user_ids: Sequence[int],
        n: int,
        exclude_seen: ExcludeSeen = "redirected",
        rules: Rules | None = None,
        profiles: Mapping[int, Profile] | None = None,
    ) -> list[Recommendation]:
        """:meth:`recommend_many` from the event loop, in a worker thread."""
        return await to_thread.run_sync(
            partial(self.recommend_many, user_ids, n, exclude_seen, rules, profiles)
        )

    async def similar_jobs_async(
        self, job_id: int, n: int, rules: Rules | None = None
    ) -> Recommendation:
        """:meth:`similar_jobs` from the event loop: inline when the answer is a slice of the
        lists ranked after training, else in a worker thread."""
        if self.ranked_ahead(n, rules=rules) and not self._cold(job_id):
            rules = rules or Rules.at_now()
            col = self.trained.jobs.row(job_id)
            if col is None or self.pipeline.passthrough(rules):  # an unknown job: 404 at once
                return self.similar_jobs(job_id, n, rules)
            assert self.trained.similar_top is not None  # ranked_ahead
            got = self._sliced(self.trained.similar_top, col, n, rules)
            if got is not None:
                return got
        return await to_thread.run_sync(partial(self.similar_jobs, job_id, n, rules))

    def _cold(self, job_id: int) -> bool:
        if self.content is None:
            return False
        col = self.trained.jobs.row(job_id)
        return col is not None and self.content.is_cold(col)

    async def explain_async(
        self, user_id: int, recommendation: Recommendation, top: int
    ) -> list[list[tuple[int, float]]]:
        """:meth:`explain` from the event loop, in a worker thread."""
        return await to_thread.run_sync(partial(self.explain, user_id, recommendation, top))


def _profile_blend(
    by_model: NDArray[np.float32] | None, by_content: NDArray[np.float32] | None
) -> NDArray[np.float32] | None:
    """A profile's scores: the model's user tower's and the content's, each standardised and
    summed where both place the profile; either alone where only one does."""
    if by_model is None or by_content is None:
        return by_content if by_model is None else by_model
    return standardize_rows(by_model) + standardize_rows(by_content)
