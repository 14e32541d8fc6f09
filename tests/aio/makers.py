"""What the AsyncCached tests share: the backends a test runs on (the
in-process one and a real memcached) and a loop to run its body in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from caching.aio import AsyncMemoryCache
from tests import servers
from tests.aio.backends import emcache_at

#: The backends of ``make``: AsyncMemoryCache and memcached over emcache.
PARAMS = ["memory", "emcache"]


def async_cache_maker(request: pytest.FixtureRequest) -> Callable[[], Any]:
    """The body of a ``make`` fixture (``pytest.fixture(params=PARAMS)``):
    a function building a new async backend of ``request.param``."""
    if request.param == "memory":
        return AsyncMemoryCache
    server: servers.Server = request.getfixturevalue("memcached_server")
    return lambda: emcache_at([server.address])


def run(cache: Any, body: Callable[[Any], Any]) -> Any:
    """``asyncio.run(body(cache))``, closing ``cache`` after."""

    async def main() -> Any:
        try:
            return await body(cache)
        finally:
            close = getattr(cache, "close", None)
            if close is not None:
                await close()

    return asyncio.run(main())
