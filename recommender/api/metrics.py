"""Prometheus metrics: requests by route and status, and what the service holds at scrape time.

Each application has its own :class:`~prometheus_client.CollectorRegistry` (several apps in one
process, as in the tests, do not share counters). With several worker processes,
``PROMETHEUS_MULTIPROC_DIR`` makes every scrape add up the request metrics of all of them.
Request counts and latencies are recorded by :class:`recommender.api.middleware.RequestMiddleware`;
the model in use and the event-store counts are read when ``GET /metrics`` is scraped, by
:class:`ServiceCollector`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, InfoMetricFamily, Metric

from recommender.errors import RecommenderError
from recommender.events import EventStore
from recommender.recommender import Recommender

log = logging.getLogger(__name__)

UNMATCHED = "unmatched"
"""The route label of a request no route matched (so that raw paths never become labels)."""

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds; a default request takes a few milliseconds, a batch of 1,000 users tens."""

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's multiprocess directory: set (to an empty directory) when several workers
serve, so that request counts add up across them (``make run WORKERS=N`` sets it)."""


class RequestMetrics:
    """Request counters and latency histograms of one application, in its own registry.

    Parameters
    ----------
    model:
        Returns the recommender in use; it raises :class:`~recommender.errors.ModelNotReadyError`
        before one is loaded.
    events:
        Returns the event store, or None while it is not open.
    """

    def __init__(
        self,
        model: Callable[[], Recommender],
        events: Callable[[], EventStore | None],
    ) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "recommender_http_requests",
            "HTTP requests answered, by route template and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "recommender_http_request_duration_seconds",
            "Time from the request's arrival to the end of its answer, by route and status.",
            ["route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # labels() costs a lock and a tuple of strings: keep the children of each pair seen
        self._children: dict[tuple[str, int], tuple[Counter, Histogram]] = {}
        self.scraped = self.registry
        shared = os.environ.get(MULTIPROCESS_ENV)
        if shared:
            # several workers (make run WORKERS=N): each writes its counters to files in that
            # directory and a scrape of any worker adds up every worker's
            from prometheus_client.multiprocess import MultiProcessCollector  # noqa: PLC0415

            self.scraped = CollectorRegistry()
            MultiProcessCollector(self.scraped, path=shared)  # type: ignore[no-untyped-call]
        else:
            ProcessCollector(registry=self.registry)
        self.scraped.register(ServiceCollector(model, events))

    def observe(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        children = self._children.get((route, status))
        if children is None:
            label = str(status)
            children = (self._requests.labels(route, label), self._latency.labels(route, label))
            self._children[(route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        """Every metric of the registry in the Prometheus text format (version 0.0.4)."""
        return generate_latest(self.scraped)


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


class ServiceCollector:
    """The model being served and the event store's counts, computed when scraped.

    A scrape before the model is loaded, or while the event store is closed or failing, leaves
    the missing metrics out rather than failing the scrape.
    """

    def __init__(
        self, model: Callable[[], Recommender], events: Callable[[], EventStore | None]
    ) -> None:
        self._model = model
        self._events = events

    def describe(self) -> list[Metric]:
        """Nothing up front: the registry then never calls :meth:`collect` at registration."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The metrics, read now."""
        yield from self._model_metrics()
        yield from self._event_metrics()

    def _model_metrics(self) -> Iterator[Metric]:
        try:
            recommender = self._model()
        except RecommenderError:
            return
        manifest = recommender.trained.manifest
        yield InfoMetricFamily(
            "recommender_model",
            "The model bundle being served.",
            value={"version": recommender.version, "model": manifest.model.kind},
        )
        seconds = manifest.train_seconds
        if seconds is None:
            seconds = manifest.timings.get("total_seconds")
        if isinstance(seconds, int | float):
            yield GaugeMetricFamily(
                "recommender_model_train_seconds",
                "How long training the model being served took (read, fit and rank).",
                value=float(seconds),
            )
        trained_at = _timestamp(manifest.trained_at)
        if trained_at is not None:
            yield GaugeMetricFamily(
                "recommender_model_trained_timestamp_seconds",
                "When the model being served was trained (Unix time).",
                value=trained_at,
            )
        counts = GaugeMetricFamily(
            "recommender_model_entities",
            "Users, jobs and pairs the model being served was trained on.",
            labels=["kind"],
        )
        for name, count in sorted(manifest.counts.model_dump().items()):
            if isinstance(count, int | float):
                counts.add_metric([str(name)], float(count))
        yield counts

    def _event_metrics(self) -> Iterator[Metric]:
        store = self._events()
        if store is None:
            return
        try:
            stats = store.stats()
        except RecommenderError as exc:
            log.warning("metrics: cannot read the event store: %s", exc)
            return
        stored = GaugeMetricFamily(
            "recommender_events_stored", "Events in the event store, by type.", labels=["type"]
        )
        for kind, count in sorted(stats.by_type.items()):
            stored.add_metric([kind], float(count))
        yield stored
        yield GaugeMetricFamily(
            "recommender_events_malformed_rows",
            "Stored rows found malformed and left out of reads (the log names each).",
            value=float(stats.malformed),
        )
        if stats.newest is not None:
            yield GaugeMetricFamily(
                "recommender_events_newest_timestamp_seconds",
                "The time of the newest stored event (Unix time).",
                value=stats.newest.timestamp(),
            )


def metrics_endpoint(request: Request) -> Response:
    """Prometheus metrics (text format): requests, latency, the model served, events stored."""
    metrics: RequestMetrics = request.app.state.metrics
    return Response(metrics.render(), media_type=CONTENT_TYPE)


def add_metrics(app: FastAPI) -> RequestMetrics:
    """Give ``app`` its own :class:`RequestMetrics` (``app.state.metrics``) and ``GET /metrics``.

    The collector reads the model slot and ``app.state.events`` when scraped, so a model swapped
    in or a store opened at start-up is what the next scrape reports. Call it after
    ``app.state.slot`` is set.
    """
    metrics = RequestMetrics(app.state.slot.get, lambda: app.state.events)
    app.state.metrics = metrics
    app.add_api_route(
        "/metrics",
        metrics_endpoint,
        methods=["GET"],
        response_class=PlainTextResponse,
        responses={200: {"description": "The Prometheus text format, version 0.0.4."}},
        tags=["ops"],
    )
    return metrics
