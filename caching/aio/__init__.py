"""``caching.aio``: the cache contract for asyncio (docs/ASYNCIO.md).

:class:`AsyncCache` is :class:`caching.contract.Cache` with every call a
coroutine. Backends: :class:`AsyncMemoryCache` and :class:`AsyncNullCache`
(the sync in-process backends, called inline), :class:`AsyncMemcachedClient`
(memcached over emcache, ``pip install 'caching-toolkit[emcache]'``, imported
on first use), and :class:`AsyncCacheClient` to route by namespace. Build one
from a URL with :func:`from_url`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from caching.aio.client import AsyncCacheClient
from caching.aio.contract import AsyncCache
from caching.aio.inprocess import AsyncMemoryCache, AsyncNullCache, InLoop
from caching.aio.url import from_url

if TYPE_CHECKING:
    from caching.aio.memcached import AsyncMemcachedClient

__all__ = [
    "AsyncCache",
    "AsyncCacheClient",
    "AsyncMemcachedClient",
    "AsyncMemoryCache",
    "AsyncNullCache",
    "InLoop",
    "from_url",
]


def __getattr__(name: str) -> Any:
    if name == "AsyncMemcachedClient":  # imports emcache on first use
        from caching.aio.memcached import AsyncMemcachedClient

        return AsyncMemcachedClient
    raise AttributeError(f"module 'caching.aio' has no attribute {name!r}")
