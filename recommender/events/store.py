"""The event-store interface: append events, count them, read them back for training."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from recommender.data.activity import ACTIVITY_TYPES

if TYPE_CHECKING:  # polars only where events are read back for training
    import polars as pl

EventType = Literal["impression", "redirect"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def activity_schema() -> dict[str, pl.DataType]:
    """The columns :func:`recommender.data.readers.read_activities` returns; ``read`` matches."""
    import polars as pl

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
class AppendResult:
    """What one ``append`` did: events stored, and events skipped as already-seen ``event_id``."""

    accepted: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class EventStats:
    """Counts by type (every type present, zero when none), their total, and the newest time."""

    by_type: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIVITY_TYPES, 0))
    newest: datetime | None = None

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
    """The UTC time ``micros`` microseconds after the Unix epoch."""
    return EPOCH + timedelta(microseconds=micros)


class EventStore(ABC):
    """Where feedback events are kept.

    Implementations are safe to call from several threads at once. Every method raises
    :class:`recommender.errors.EventStoreError` when the storage fails.
    """

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
    def read(self) -> pl.DataFrame:
        """Every stored event in arrival order, as ``user_id``, ``job_id`` (Int64),
        ``is_redirect`` (Boolean) and ``timestamp`` (``Datetime(us, UTC)``): the activities
        schema, so retraining can concatenate it with ``activities.jsonl``."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for stores without resources
        """Release the store's resources; it is not used afterwards."""
