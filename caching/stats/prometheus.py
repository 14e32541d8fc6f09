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
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from caching.adapters.base import require
from caching.stats.proxy import StatsCache

__all__ = ["METRICS", "StatsCollector", "register"]

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
