"""Fixtures of the pattern and guard tests: every backend, and a shared memcached.

Test modules import what they use: ``from tests.shared import backend, cache, clock``.
"""

from __future__ import annotations

import importlib.util

import pytest

from caching import from_url
from tests.contract.backends import BACKENDS
from tests.contract.conftest import Clock, backend, cache, clock

__all__ = ["Clock", "backend", "cache", "clock", "memcached_url", "timed_backends"]

#: For tests that wait for items to expire: the in-process backends (frozen
#: time) and one memcached adapter, where the wait is a real sleep of seconds.
#: The expiry rules themselves are checked on every backend by the contract
#: suite; running these sleeps on all five server backends would cost the CI
#: budget a minute for no new coverage of the patterns.
TIMED_BACKENDS = [b for b in BACKENDS if b.fake_clock] + [
    next(b for b in BACKENDS if not b.fake_clock)
]
timed_backends = pytest.mark.parametrize(
    "backend", TIMED_BACKENDS, indirect=True, ids=lambda b: b.name
)

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
    # Generous timeouts: a loaded CI machine can stall a loopback answer, and a
    # timed-out call counts as a server failure (the patterns then fall back).
    url = f"memcached://{server.address}?client=pymemcache&timeout=5&connect_timeout=5"
    assert from_url(url).flush_all() is True
    return url
