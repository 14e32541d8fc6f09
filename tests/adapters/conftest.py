"""Builders of the three memcached adapters, for the adapter-specific tests."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest

from caching.adapter import MemcachedAdapter

#: adapter name -> module holding its ``MemcachedClient``
MODULES = {
    "pylibmc": "caching.pylibmc",
    "pymemcache": "caching.pymemcache",
    "python-memcached": "caching.memcache",
}

#: adapters that spread keys by consistent hashing
CONSISTENT = ["pylibmc", "pymemcache"]

Build = Callable[..., MemcachedAdapter]


def builder(name: str) -> Build:
    """``build(servers, **options)`` for adapter ``name``; ``timeout`` and
    ``retry_timeout`` are understood by all three."""
    cls: Any = importlib.import_module(MODULES[name]).MemcachedClient

    def build(servers: str | list[str], **options: Any) -> MemcachedAdapter:
        if name == "python-memcached":
            renamed = {"timeout": "socket_timeout", "retry_timeout": "dead_retry"}
            options = {renamed.get(key, key): value for key, value in options.items()}
        adapter: MemcachedAdapter = cls(servers, **options)
        return adapter

    return build


@pytest.fixture(params=list(MODULES))
def build(request: pytest.FixtureRequest) -> Build:
    """Each adapter in turn."""
    return builder(request.param)
