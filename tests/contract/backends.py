"""The backends the contract suite runs against.

Each entry builds a fresh backend for one test. Adapters over a real server
add themselves here; the tests never special-case a backend: when one
disagrees with the contract, the backend is fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from caching import CacheClient, MemoryCache
from caching.contract import Cache
from tests import servers
from tests.interpreted import interpreted_memory_cache


@dataclass(frozen=True)
class Backend:
    """How to build one backend for a test.

    ``fake_clock``: time is advanced with freezegun instead of sleeping (only
    for in-process backends: a server keeps its own clock).
    """

    name: str
    build: Callable[[pytest.FixtureRequest], Cache]
    fake_clock: bool = False


def _memory(request: pytest.FixtureRequest) -> Cache:
    return MemoryCache()


def _memory_interpreted(request: pytest.FixtureRequest) -> Cache:
    cache: Cache = interpreted_memory_cache()()
    return cache


def _client(request: pytest.FixtureRequest) -> Cache:
    return CacheClient({"local": MemoryCache(), "shared": MemoryCache()}, "shared")


# Generous timeouts: the contract suite checks answers, not speed, and a
# loaded CI machine can stall a loopback answer for a second.
TIMEOUTS = {"connect_timeout": 5.0, "timeout": 5.0}


def _server(request: pytest.FixtureRequest) -> str:
    server: servers.Server = request.getfixturevalue("memcached_server")
    return server.address


def _pymemcache(request: pytest.FixtureRequest) -> Cache:
    from caching.pymemcache import MemcachedClient

    return MemcachedClient(_server(request), **TIMEOUTS)


def _pylibmc(request: pytest.FixtureRequest) -> Cache:
    from caching.pylibmc import MemcachedClient

    return MemcachedClient(_server(request), **TIMEOUTS)


def _memcache(request: pytest.FixtureRequest) -> Cache:
    from caching.memcache import MemcachedClient

    return MemcachedClient(_server(request), socket_timeout=5.0)


class Proxied:
    """An adapter talking through twemproxy, for the contract suite.

    twemproxy refuses ``flush_all`` (it closes the connection; the adapter
    answers ``False``, see tests/adapters/test_twemproxy.py), so this test
    wrapper's ``flush_all`` flushes the proxy's memcached servers directly;
    every other call goes through the proxy.
    """

    def __init__(self, adapter: Cache, backends: list[servers.Server]) -> None:
        self.adapter = adapter
        self.backends = backends

    def __getattr__(self, name: str) -> Any:
        return getattr(self.adapter, name)

    def flush_all(self) -> bool:
        for backend in self.backends:
            servers.flush(backend)
        return True


def _through_twemproxy(build: Callable[[str], Cache]) -> Callable[[pytest.FixtureRequest], Cache]:
    def proxied(request: pytest.FixtureRequest) -> Cache:
        proxy, backends = request.getfixturevalue("twemproxy")
        return Proxied(build(proxy.address), backends)  # type: ignore[return-value]

    return proxied


def _pymemcache_at(address: str) -> Cache:
    from caching.pymemcache import MemcachedClient

    return MemcachedClient(address, **TIMEOUTS)


def _memcache_at(address: str) -> Cache:
    from caching.memcache import MemcachedClient

    return MemcachedClient(address, socket_timeout=5.0)


BACKENDS: list[Backend] = [
    Backend("memory", _memory, fake_clock=True),
    Backend("memory-interpreted", _memory_interpreted, fake_clock=True),
    Backend("client", _client, fake_clock=True),
    Backend("pymemcache", _pymemcache),
    Backend("pylibmc", _pylibmc),
    Backend("python-memcached", _memcache),
    Backend("twemproxy-pymemcache", _through_twemproxy(_pymemcache_at)),
    Backend("twemproxy-python-memcached", _through_twemproxy(_memcache_at)),
]
