"""The event-store interface: append events, count them, read them back for training."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from recommender.data.schema import ACTIVITY_TYPES
from recommender.errors import EventStoreError

if TYPE_CHECKING:  # polars only where events are read back for training
    import polars as pl

EventType = Literal["impression", "redirect"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def activity_schema() -> dict[str, pl.DataType]:
    """The columns :func:`recommender.data.readers.read_activities` returns; ``read`` matches."""
    import polars as pl  # noqa: PLC0415 - the service never reads events back as a frame

    return {
        "user_id": pl.Int64(),
        "job_id": pl.Int64(),
        "is_redirect": pl.Boolean(),
        "timestamp": pl.Datetime("us", "UTC"),
    }


@dataclass(frozen=True, slots=True)
class Event:
    """One activity as a client reported it.

    Parameters
    ----------
    user_id, job_id:
        Who saw or clicked which job.
    type:
        ``"impression"`` or ``"redirect"``.
    timestamp:
        When it happened (timezone-aware); None means "when the store received it".
    event_id:
        A client id that makes a retry idempotent: an id already stored is not stored again.
    """

    user_id: int
    job_id: int
    type: EventType
    timestamp: datetime | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    """One version of a job posting as the API took it (``POST``/``PATCH``/``DELETE /jobs``).

    Attributes
    ----------
    seq:
        The store's number of this version: it grows with each version stored, so the newest
        version of a job is the one with the highest ``seq``, and ``seq`` is where the next
        :meth:`EventStore.listings_since` picks up.
    record:
        The job as a ``jobs.jsonl`` line holds it (``job_id``, ``description``, ``title``,
        ``employer``, ``posted_at``/``expires_at`` as ISO 8601 text, and any other fields).
    """

    seq: int
    record: Mapping[str, Any]

    @property
    def job_id(self) -> int:
        """The job's id."""
        return int(self.record["job_id"])


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one ``append`` did: events stored, and events skipped as already-seen ``event_id``."""

    accepted: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class EventStats:
    """Counts by type (every type present, zero when none), their total, and the newest time."""

    by_type: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIVITY_TYPES, 0))
    newest: datetime | None = None
    malformed: int = 0
    """Stored rows that reads have left out as malformed so far (a text ``user_id``, say)."""

    @property
    def total(self) -> int:
        """Events stored, of every type."""
        return sum(self.by_type.values())


def to_micros(moment: datetime) -> int:
    """``moment`` as integer microseconds since the Unix epoch (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    """The UTC time ``micros`` microseconds after the Unix epoch (clamped to what ``datetime``
    holds, so a stored value out of range cannot break a read)."""
    try:
        return EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC) if micros > 0 else datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class EventRows:
    """Stored events as columns, in arrival order, with the store's id of each.

    ``ids`` increase with arrival, so ``through`` (the last id, or the ``after`` asked for when
    there are none) is where the next :meth:`EventStore.since` call picks up: nothing is read
    twice or skipped.
    """

    after: int
    ids: NDArray[np.int64]
    user_ids: NDArray[np.int64]
    job_ids: NDArray[np.int64]
    is_redirect: NDArray[np.bool_]
    timestamps: NDArray[np.int64]
    """Epoch microseconds, UTC."""

    @property
    def through(self) -> int:
        """The id of the last event here (``after`` when there is none)."""
        return int(self.ids[-1]) if self.ids.shape[0] else self.after

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def frame(self) -> pl.DataFrame:
        """The events in the activities schema (see :func:`activity_schema`)."""
        import polars as pl  # noqa: PLC0415 - training reads events back as a frame, not serving

        return (
            pl.DataFrame(
                {
                    "user_id": self.user_ids,
                    "job_id": self.job_ids,
                    "is_redirect": self.is_redirect,
                    "timestamp": self.timestamps,
                }
            )
            .with_columns(pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
            .cast(activity_schema())  # type: ignore[arg-type]
        )


class EventStore(ABC):
    """Where feedback events are kept.

    Implementations are safe to call from several threads at once. Every method raises
    :class:`recommender.errors.EventStoreError` when the storage fails.

    A store's events are named by its :attr:`identity` plus an event id that grows with arrival:
    together they are the watermark a bundle records (``events_store``, ``events_through``). Ids
    alone are not enough: a store replaced or reset starts again at id 1.
    """

    @property
    @abstractmethod
    def identity(self) -> str:
        """This store's own id, fixed when the store was created (a UUID): a store replaced,
        reset or recreated at the same place has another."""

    @property
    def where(self) -> str:
        """Where the store lives, for messages (its file, its database)."""
        return type(self).__name__

    @abstractmethod
    def last_id(self) -> int:
        """The id of the newest stored event (0: none)."""

    @abstractmethod
    def append(self, events: Sequence[Event]) -> AppendResult:
        """Store ``events`` in one transaction: when this returns, they are durable.

        An event whose ``event_id`` is already stored (or repeated within ``events``) is skipped
        and counted in ``duplicates``.
        """

    @abstractmethod
    def stats(self) -> EventStats:
        """Counts by type and the newest event time."""

    @abstractmethod
    def since(self, after: int = 0) -> EventRows:
        """Every event stored after the one with id ``after``, in arrival order."""

    @abstractmethod
    def user_since(self, user_id: int, after: int, through: int) -> EventRows:
        """The user's events with ids in ``(after, through]``, in arrival order (what
        :class:`recommender.events.fresh.FreshEvents` reloads for a user it evicted)."""

    def put_listings(self, records: Sequence[Mapping[str, Any]]) -> int:
        """Store new versions of job postings (checked ``jobs.jsonl`` records) in one
        transaction: when this returns they are durable. The ``seq`` of the last one.

        Raises
        ------
        EventStoreError
            The store keeps no job postings (this default), or storing failed.
        """
        del records
        raise EventStoreError(f"{self.where} keeps no job postings")

    def listings_since(self, after: int = 0) -> list[Listing]:
        """Every job-posting version stored after ``seq`` ``after``, oldest first (none by
        default: a store that keeps no postings)."""
        del after
        return []

    def check_writable(self) -> None:  # noqa: B027 - a store without a cheap probe says nothing
        """Raise :class:`~recommender.errors.EventStoreError`, naming the reason, when appends
        are failing now (what ``GET /ready`` asks)."""

    def read(self) -> pl.DataFrame:
        """Every stored event in arrival order, as ``user_id``, ``job_id`` (Int64),
        ``is_redirect`` (Boolean) and ``timestamp`` (``Datetime(us, UTC)``): the activities
        schema, so retraining can concatenate it with ``activities.jsonl``."""
        return self.since(0).frame()

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for stores without resources
        """Release the store's resources; it is not used afterwards."""
