"""Feedback events: what the service is told users were shown and clicked, stored durably.

The API appends events through :class:`EventStore` (and the job postings it takes,
:class:`Listing`); retraining reads them back in the activities schema.
:class:`SQLiteEventStore` is the default store; a server database can be added later behind the
same interface.
"""

from __future__ import annotations

from recommender.events.sqlite import SQLiteEventStore
from recommender.events.store import (
    AppendResult,
    Event,
    EventRows,
    EventStats,
    EventStore,
    EventType,
    Listing,
)

__all__ = [
    "AppendResult",
    "Event",
    "EventRows",
    "EventStats",
    "EventStore",
    "EventType",
    "Listing",
    "SQLiteEventStore",
]
