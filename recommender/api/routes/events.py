"""``/events``: record impressions and redirects, and what the store holds."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import Response

from recommender.api.deps import events_of, settings_of, slot_of
from recommender.api.errors import INVALID_BODY, responses
from recommender.api.routes.base import RouteTable, json_response
from recommender.api.schemas import EventsRequest, EventsResponse, EventStatsResponse
from recommender.api.security import EVENTS_KEY_HEADER, EVENTS_KEY_SCHEME, check_events_key
from recommender.errors import AuthenticationError, EventStoreError
from recommender.events import Event

log = logging.getLogger(__name__)

routes = RouteTable(tags=["events"])

_STORE_ERROR = (EventStoreError, "The event store failed; nothing was committed.")


@routes.route(
    "/events/",
    "POST",
    twin=True,
    response_model=EventsResponse,
    responses=responses(
        INVALID_BODY,
        _STORE_ERROR,
        (AuthenticationError, f"An events key is set; {EVENTS_KEY_HEADER} is missing or wrong."),
    ),
    openapi_extra={"security": [{EVENTS_KEY_SCHEME: []}, {}]},
)
def post_events(body: EventsRequest, request: Request) -> Response:
    """Record 1 to 10,000 impressions and redirects; a 200 means they are committed."""
    # a plain def: the append blocks on fsync, so FastAPI runs it in the threadpool
    check_events_key(settings_of(request), request.headers.get(EVENTS_KEY_HEADER))
    store = events_of(request)
    result = store.append(
        [Event(e.user_id, e.job_id, e.type, e.timestamp, e.event_id) for e in body.events]
    )
    slot = slot_of(request)
    if slot.ready:  # the users' next lists are recalculated with these events
        try:
            slot.get().catch_up(store)
        except EventStoreError as exc:  # committed all the same: the watcher catches up later
            log.warning("events committed, but reading them back failed: %s", exc)
    return json_response({"accepted": result.accepted, "duplicates": result.duplicates})


@routes.route(
    "/events/stats",
    "GET",
    response_model=EventStatsResponse,
    responses=responses(INVALID_BODY, _STORE_ERROR),
)
def event_stats(request: Request) -> Response:
    """Events stored, by type, the time of the newest, and malformed rows left out of reads."""
    stats = events_of(request).stats()
    newest = None if stats.newest is None else stats.newest.isoformat().replace("+00:00", "Z")
    return json_response(
        {
            "total": stats.total,
            "by_type": stats.by_type,
            "newest": newest,
            "malformed_rows": stats.malformed,
        }
    )
