"""Fixtures of the pattern and guard tests: every backend, and a shared memcached.

Test modules import what they use: ``from tests.shared import backend, cache, clock``.
"""

from __future__ import annotations

import importlib.util

import pytest

from tests.contract.conftest import Clock, backend, cache, clock

__all__ = ["Clock", "backend", "cache", "clock", "memcached_url"]

#: The adapter the cross-process tests share a memcached through.
SHARED_ADAPTER = "caching.pymemcache"


@pytest.fixture
def memcached_url(request: pytest.FixtureRequest) -> str:
    """URL of the session's real memcached, through the pymemcache adapter."""
    if importlib.util.find_spec(SHARED_ADAPTER) is None:
        pytest.skip(
            f"needs the pymemcache adapter ({SHARED_ADAPTER}, branch 'adapters'), "
            "not merged into main yet"
        )
    server = request.getfixturevalue("memcached_server")
    return f"memcached://{server.address}?client=pymemcache"
