"""caching.stats.prometheus: StatsCache's counts as Prometheus metrics, read
through prometheus_client's own text exposition."""

from __future__ import annotations

import pytest

from caching import MemoryCache
from caching.stats import StatsCache

prometheus_client = pytest.importorskip("prometheus_client")


def test_the_counts_are_exported_with_stable_names_and_labels() -> None:
    from caching.stats.prometheus import register

    registry = prometheus_client.CollectorRegistry()
    stats = StatsCache(MemoryCache())
    register(stats, registry, backend="sessions")
    stats.set("a", 1, namespace="users")
    stats.get("a", namespace="users")
    stats.get("b", namespace="users")
    text = prometheus_client.generate_latest(registry).decode()
    labels = 'backend="sessions",namespace="users",operation="get"'
    assert f"caching_calls_total{{{labels}}} 2.0" in text
    assert f"caching_hits_total{{{labels}}} 1.0" in text
    assert f"caching_misses_total{{{labels}}} 1.0" in text
    assert f"caching_failures_total{{{labels}}} 0.0" in text
    assert "# TYPE caching_call_max_seconds gauge" in text
    assert 'caching_calls_total{backend="sessions",namespace="users",operation="set"} 1.0' in text
    stats.get("a", namespace="users")  # read at each scrape
    again = prometheus_client.generate_latest(registry).decode()
    assert f"caching_calls_total{{{labels}}} 3.0" in again


def test_the_patterns_events_are_exported() -> None:
    from caching.patterns import Cached
    from caching.stats.prometheus import register_events

    registry = prometheus_client.CollectorRegistry()
    unsubscribe = register_events(registry)
    try:
        cached = Cached(MemoryCache(), time=60, namespace="pages")
        cached.get_or_create("k", lambda: "v")
        cached.get_or_create("k", lambda: "v")
    finally:
        unsubscribe()
    text = prometheus_client.generate_latest(registry).decode()
    assert 'caching_events_total{event="miss",namespace="pages"} 1.0' in text
    assert 'caching_events_total{event="hit",namespace="pages"} 1.0' in text
    assert 'caching_events_total{event="created",namespace="pages"} 1.0' in text
    assert 'caching_creator_seconds_count{namespace="pages"} 1.0' in text
