"""Builders of the three memcached adapters, for the adapter-specific tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from caching.adapters import ADAPTERS, CONSISTENT_HASHING, adapter_class
from caching.adapters.base import MemcachedAdapter

#: the adapters' names, as ``memcached://...?client=NAME`` gives them
NAMES = list(ADAPTERS)

#: adapters that spread keys by consistent hashing
CONSISTENT = list(CONSISTENT_HASHING)

Build = Callable[..., MemcachedAdapter]


def builder(name: str) -> Build:
    """``build(servers, **options)`` for adapter ``name``, with the options
    every adapter names alike (:meth:`MemcachedAdapter.build`)."""
    cls = adapter_class(name)

    def build(servers: str | list[str], **options: Any) -> MemcachedAdapter:
        return cls.build(servers, **options)

    return build


@pytest.fixture(params=NAMES)
def build(request: pytest.FixtureRequest) -> Build:
    """Each adapter in turn."""
    return builder(request.param)
