"""``AsyncCacheClient``: routes each call to the async backend of its namespace."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from caching.aio.contract import AsyncCache
from caching.client import Router
from caching.expiry import Time
from caching.key_rules import Key

__all__ = ["AsyncCacheClient"]


class AsyncCacheClient(Router[AsyncCache]):
    """:class:`caching.client.CacheClient` for async backends: each call goes
    to ``namespaces[namespace or default_namespace]`` with the namespace
    passed on, and answers as that backend does.

    :param namespaces: mapping of namespace name to
        :class:`~caching.aio.contract.AsyncCache` backend.
    :param default_namespace: the namespace of calls that name none; must be a
        key of ``namespaces``.
    :raises KeyError: ``default_namespace`` is not in ``namespaces``; also
        raised by any call naming an unknown namespace (before any I/O).
    """

    async def set(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        cache, namespace = self._route(namespace)
        return await cache.set(key, value, time, namespace)

    async def add(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        cache, namespace = self._route(namespace)
        return await cache.add(key, value, time, namespace)

    async def replace(
        self, key: Key, value: Any, time: Time = 0, namespace: str | None = None
    ) -> bool:
        cache, namespace = self._route(namespace)
        return await cache.replace(key, value, time, namespace)

    async def set_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        cache, namespace = self._route(namespace)
        return await cache.set_multi(mapping, time, namespace)

    async def add_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        cache, namespace = self._route(namespace)
        return await cache.add_multi(mapping, time, namespace)

    async def replace_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        cache, namespace = self._route(namespace)
        return await cache.replace_multi(mapping, time, namespace)

    async def get(self, key: Key, namespace: str | None = None) -> Any:
        cache, namespace = self._route(namespace)
        return await cache.get(key, namespace)

    async def get_multi(self, keys: Iterable[Key], namespace: str | None = None) -> dict[Key, Any]:
        cache, namespace = self._route(namespace)
        return await cache.get_multi(keys, namespace)

    async def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool:
        cache, namespace = self._route(namespace)
        return await cache.delete(key, seconds, namespace)

    async def delete_multi(
        self, keys: Iterable[Key], seconds: int = 0, namespace: str | None = None
    ) -> bool:
        cache, namespace = self._route(namespace)
        return await cache.delete_multi(keys, seconds, namespace)

    async def incr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        cache, namespace = self._route(namespace)
        return await cache.incr(key, delta, namespace, initial_value)

    async def decr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        cache, namespace = self._route(namespace)
        return await cache.decr(key, delta, namespace, initial_value)

    async def ping(self) -> dict[str, float | None]:
        """Every namespace's servers: ``"namespace/server"`` -> round trip in
        seconds or ``None`` (each distinct backend pinged once, all at once)."""
        return self._pings(await asyncio.gather(*(cache.ping() for cache in self._distinct())))

    async def flush_all(self) -> bool:
        """Flush each distinct backend once; ``True`` when every flush succeeded."""
        results = [await cache.flush_all() for cache in self._distinct()]
        return all(results)
