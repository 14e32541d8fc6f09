"""The counts of :class:`~caching.stats.StatsCache` as Prometheus metrics,
over ``prometheus-client`` (extra ``prometheus``:
``pip install 'caching-toolkit[prometheus]'``).

::

    from prometheus_client import REGISTRY
    from caching.stats.prometheus import register

    stats = StatsCache(from_url("memcached://10.0.0.1:11211"))
    register(stats, REGISTRY, backend="sessions")

Metrics (read from :meth:`StatsCache.snapshot` at each scrape; labels
``backend``, ``namespace`` and ``operation``):

=========================================  =========  ==========================
``caching_calls_total``                    counter    calls
``caching_hits_total``                     counter    reads that found an item
``caching_misses_total``                   counter    reads that found none
``caching_failures_total``                 counter    calls that met a server failure
``caching_call_seconds_total``             counter    time the calls took
``caching_call_max_seconds``               gauge      the slowest call since the reset
=========================================  =========  ==========================

and, with :func:`register_events`, the patterns' events (:mod:`caching.events`;
labels ``event`` and ``namespace``):

=========================================  =========  ==========================
``caching_events_total``                   counter    hit, miss, stale_served...
``caching_creator_seconds``                histogram  creators' runs (created, create_failed)
``caching_wait_seconds``                   histogram  waits for another's creator
=========================================  =========  ==========================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from caching.adapters.base import require
from caching.events import Event, subscribe
from caching.stats.proxy import StatsCache

__all__ = ["EVENT_METRICS", "METRICS", "StatsCollector", "register", "register_events"]

#: ``(metric name, kind, StatsCache field, help)`` of each metric.
METRICS = (
    ("caching_calls", "counter", "calls", "Cache calls."),
    ("caching_hits", "counter", "hits", "Cache reads that found an item."),
    ("caching_misses", "counter", "misses", "Cache reads that found none."),
    ("caching_failures", "counter", "failures", "Cache calls that met a server failure."),
    ("caching_call_seconds", "counter", "seconds", "Seconds the cache calls took."),
    ("caching_call_max_seconds", "gauge", "max_seconds", "Seconds of the slowest call."),
)

_LABELS = ["backend", "namespace", "operation"]


class StatsCollector:
    """A ``prometheus_client`` collector of one :class:`StatsCache`.

    :param stats: the counts to export.
    :param backend: the ``backend`` label's value (several caches can be
        registered under different names).
    :raises MissingExtraError: ``prometheus-client`` is not installed.
    """

    def __init__(self, stats: StatsCache, backend: str = "default") -> None:
        self._metrics = require("prometheus_client.core", "prometheus")
        self.stats = stats
        self.backend = backend

    def collect(self) -> Iterator[Any]:
        """The metrics, from one snapshot of the counts."""
        snapshot = self.stats.snapshot()
        for name, kind, field, documentation in METRICS:
            family_class = (
                self._metrics.CounterMetricFamily
                if kind == "counter"
                else self._metrics.GaugeMetricFamily
            )
            family = family_class(name, documentation, labels=_LABELS)
            for namespace, operations in snapshot.items():
                for operation, counts in operations.items():
                    family.add_metric([self.backend, namespace, operation], counts[field])
            yield family


def register(stats: StatsCache, registry: Any, backend: str = "default") -> StatsCollector:
    """Register a :class:`StatsCollector` of ``stats`` in ``registry``
    (e.g. ``prometheus_client.REGISTRY``) and return it.

    :raises MissingExtraError: ``prometheus-client`` is not installed.
    """
    collector = StatsCollector(stats, backend)
    registry.register(collector)
    return collector


#: ``(metric name, kind, help)`` of the event metrics.
EVENT_METRICS = (
    ("caching_events", "counter", "Events of the caching patterns."),
    ("caching_creator_seconds", "histogram", "Seconds the creators ran."),
    ("caching_wait_seconds", "histogram", "Seconds callers waited for another's creator."),
)


def register_events(registry: Any) -> Callable[[], None]:
    """Count every event of every ``Cached`` (:func:`caching.events.subscribe`)
    as the metrics of :data:`EVENT_METRICS`, in ``registry``.

    :returns: a function that unsubscribes (the metrics stay registered).
    :raises MissingExtraError: ``prometheus-client`` is not installed.
    """
    client = require("prometheus_client", "prometheus")
    (events_name, _, events_help), (creator_name, _, creator_help), (wait_name, _, wait_help) = (
        EVENT_METRICS
    )
    counted = client.Counter(events_name, events_help, ["event", "namespace"], registry=registry)
    creators = client.Histogram(creator_name, creator_help, ["namespace"], registry=registry)
    waits = client.Histogram(wait_name, wait_help, ["namespace"], registry=registry)

    def listen(event: Event) -> None:
        namespace = event.namespace or ""
        counted.labels(event.name, namespace).inc()
        if event.seconds is None:
            return
        if event.name in ("created", "create_failed"):
            creators.labels(namespace).observe(event.seconds)
        elif event.name in ("waited", "wait_timeout"):
            waits.labels(namespace).observe(event.seconds)

    return subscribe(listen)
