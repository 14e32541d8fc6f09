"""The async backends the contract suite runs against, through the facade
(:class:`tests.aio.runner.Blocking`); no backend gets an override."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from caching.aio import AsyncCacheClient, AsyncMemoryCache
from caching.contract import Cache
from tests import servers
from tests.aio.runner import Blocking, LoopThread
from tests.contract.backends import TIMEOUTS, Backend


def _facade(backend: Any, request: pytest.FixtureRequest) -> Cache:
    runner: LoopThread = request.getfixturevalue("aio_loop")
    close = getattr(backend, "close", None)
    if close is not None:  # the adapter's connections and emcache's tasks
        request.addfinalizer(lambda: runner.run(close()))
    return Blocking(backend, runner)  # type: ignore[return-value]


def _memory(request: pytest.FixtureRequest) -> Cache:
    return _facade(AsyncMemoryCache(), request)


def _client(request: pytest.FixtureRequest) -> Cache:
    client = AsyncCacheClient({"local": AsyncMemoryCache(), "shared": AsyncMemoryCache()}, "shared")
    return _facade(client, request)


def emcache_at(addresses: list[str], **options: Any) -> Any:
    from caching.aio.memcached import AsyncMemcachedClient

    return AsyncMemcachedClient(addresses, **{**TIMEOUTS, **options})


def _emcache(**options: Any) -> Callable[[pytest.FixtureRequest], Cache]:
    def build(request: pytest.FixtureRequest) -> Cache:
        server: servers.Server = request.getfixturevalue("memcached_server")
        return _facade(emcache_at([server.address], **options), request)

    return build


def _emcache_pair(request: pytest.FixtureRequest) -> Cache:
    pair: list[servers.Server] = request.getfixturevalue("memcached_pair")
    return _facade(emcache_at([server.address for server in pair]), request)


ASYNC_BACKENDS: list[Backend] = [
    Backend("aio-memory", _memory, fake_clock=True),
    Backend("aio-client", _client, fake_clock=True),
    Backend("aio-emcache", _emcache()),
    Backend("aio-emcache-json-signed", _emcache(serializer="json", secret="s3cret")),
    Backend("aio-emcache-two-servers", _emcache_pair),
]
