"""``AsyncCacheClient``: routes each call to the async backend of its namespace."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from caching.aio.contract import AsyncCache
from caching.expiry import Time
from caching.key_rules import Key

__all__ = ["AsyncCacheClient"]


class AsyncCacheClient:
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

    def __init__(self, namespaces: Mapping[str, AsyncCache], default_namespace: str) -> None:
        if default_namespace not in namespaces:
            raise KeyError(f"default namespace {default_namespace!r} is not in namespaces")
        self.namespaces = dict(namespaces)
        self.default_namespace = default_namespace

    def _route(self, namespace: str | None) -> tuple[AsyncCache, str]:
        name = namespace or self.default_namespace
        try:
            return self.namespaces[name], name
        except KeyError:
            raise KeyError(f"unknown cache namespace {name!r}") from None

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
        seconds or ``None`` (each distinct backend pinged once)."""
        answers: dict[str, float | None] = {}
        pinged: dict[int, dict[str, float | None]] = {}
        for name, cache in self.namespaces.items():
            if id(cache) not in pinged:
                pinged[id(cache)] = await cache.ping()
            for server, seconds in pinged[id(cache)].items():
                answers[f"{name}/{server}"] = seconds
        return answers

    async def flush_all(self) -> bool:
        """Flush each distinct backend once; ``True`` when every flush succeeded."""
        distinct = {id(cache): cache for cache in self.namespaces.values()}
        results = [await cache.flush_all() for cache in distinct.values()]
        return all(results)
