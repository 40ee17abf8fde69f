"""Serving over uvicorn so that stalled clients cannot starve the others.

uvicorn (h11 or httptools) never times out a request head that arrives slowly or not at all:
``--timeout-keep-alive`` runs only between requests, and ``--limit-concurrency`` counts requests
whose head has arrived. A client opening connections and sending half a head holds one file
descriptor each; at the open-file limit ``accept`` fails and every client waits (300 such
connections under ``ulimit -n 256`` made ``/health`` time out). :class:`GuardedHttpToolsProtocol`
adds, per connection:

* a **head timeout** (``RECOMMENDER_HEADER_TIMEOUT_SECONDS``): a connection that has not sent a
  whole request head that long after it opened (or after the first byte of a later request on a
  kept-alive connection) is closed;
* a **connection cap** (``RECOMMENDER_MAX_CONNECTIONS``; by default the open-file limit less
  :data:`FD_RESERVE`, kept for the event store, bundle files and logs): a new connection past it
  closes the connection that has waited longest for its head, so a stalled one makes room and
  ``accept`` never runs out of descriptors.

:func:`serve` runs uvicorn with it; ``python main.py`` (``make run``, the Docker image) calls it.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from recommender.settings import get_settings

log = logging.getLogger(__name__)

FD_RESERVE = 64
"""Descriptors the cap leaves to everything but connections."""


def connection_cap(max_connections: int = 0) -> int:
    """``max_connections``, or when 0 the soft open-file limit less :data:`FD_RESERVE`."""
    if max_connections:
        return max_connections
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 65_536
    return max(16, soft - FD_RESERVE)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a request-head timeout and a connection cap."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.header_timeout = settings.header_timeout_seconds
        self.cap = connection_cap(settings.max_connections)
        self.waiting_since: float | None = None
        self.head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()
        if len(self.connections) > self.cap:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_done()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.waiting_since is None:  # the next request of a kept-alive connection
            self._await_head()

    def on_headers_complete(self) -> None:
        self._head_done()
        super().on_headers_complete()

    def _await_head(self) -> None:
        self.waiting_since = self.loop.time()
        self.head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _head_done(self) -> None:
        self.waiting_since = None
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        log.debug("closing %s: no request head in %.0f s", self.client, self.header_timeout)
        self.transport.close()

    def _make_room(self) -> None:
        """Close the connection waiting longest for its request head (this one if none is)."""
        waiting = [
            c
            for c in self.connections
            if isinstance(c, GuardedHttpToolsProtocol) and c.waiting_since is not None
        ]
        oldest = min(waiting, key=lambda c: c.waiting_since or 0.0, default=self)
        log.warning(
            "%d connections open (the cap is %d): closing %s, waiting for a request head",
            len(self.connections),
            self.cap,
            oldest.client,
        )
        oldest.transport.close()


def serve(host: str, port: int, workers: int = 1, **options: Any) -> None:
    """Serve ``main:app`` with uvicorn and :class:`GuardedHttpToolsProtocol`."""
    uvicorn.run(
        "main:app",
        host=host,
        port=port,
        workers=workers,
        http=GuardedHttpToolsProtocol,
        access_log=False,
        **options,
    )
