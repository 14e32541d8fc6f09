"""``CacheClient``: one entry point that routes calls to backends by namespace."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from caching.contract import Cache
from caching.expiry import Time
from caching.key_rules import Key

__all__ = ["CacheClient"]


class CacheClient:
    """Routes each contract call to the backend of its namespace.

    Lets a service partition its cache -- e.g. a ``MemoryCache`` for
    per-process data and memcached for shared data -- while its code calls one
    object. Each call goes to ``namespaces[namespace or default_namespace]``
    with the namespace passed on.

    :param namespaces: mapping of namespace name to backend.
    :param default_namespace: the namespace of calls that name none; must be a
        key of ``namespaces``.
    :raises KeyError: ``default_namespace`` is not in ``namespaces``; also
        raised by any call naming an unknown namespace.
    """

    def __init__(self, namespaces: Mapping[str, Cache], default_namespace: str) -> None:
        if default_namespace not in namespaces:
            raise KeyError(f"default namespace {default_namespace!r} is not in namespaces")
        self.namespaces = dict(namespaces)
        self.default_namespace = default_namespace

    def _route(self, namespace: str | None) -> tuple[Cache, str]:
        name = namespace or self.default_namespace
        try:
            return self.namespaces[name], name
        except KeyError:
            raise KeyError(f"unknown cache namespace {name!r}") from None

    def set(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        cache, namespace = self._route(namespace)
        return cache.set(key, value, time, namespace)

    def add(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        cache, namespace = self._route(namespace)
        return cache.add(key, value, time, namespace)

    def replace(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        cache, namespace = self._route(namespace)
        return cache.replace(key, value, time, namespace)

    def set_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        cache, namespace = self._route(namespace)
        return cache.set_multi(mapping, time, namespace)

    def add_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        cache, namespace = self._route(namespace)
        return cache.add_multi(mapping, time, namespace)

    def replace_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        cache, namespace = self._route(namespace)
        return cache.replace_multi(mapping, time, namespace)

    def get(self, key: Key, namespace: str | None = None) -> Any:
        cache, namespace = self._route(namespace)
        return cache.get(key, namespace)

    def get_multi(self, keys: Iterable[Key], namespace: str | None = None) -> dict[Key, Any]:
        cache, namespace = self._route(namespace)
        return cache.get_multi(keys, namespace)

    def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool:
        cache, namespace = self._route(namespace)
        return cache.delete(key, seconds, namespace)

    def delete_multi(
        self, keys: Iterable[Key], seconds: int = 0, namespace: str | None = None
    ) -> bool:
        cache, namespace = self._route(namespace)
        return cache.delete_multi(keys, seconds, namespace)

    def incr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        cache, namespace = self._route(namespace)
        return cache.incr(key, delta, namespace, initial_value)

    def decr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        cache, namespace = self._route(namespace)
        return cache.decr(key, delta, namespace, initial_value)

    def ping(self) -> dict[str, float | None]:
        """Every namespace's servers: ``"namespace/server"`` -> round trip in
        seconds or ``None`` (each backend pinged once, as in :meth:`flush_all`)."""
        answers: dict[str, float | None] = {}
        pinged: dict[int, dict[str, float | None]] = {}
        for name, cache in self.namespaces.items():
            if id(cache) not in pinged:
                pinged[id(cache)] = cache.ping()
            for server, seconds in pinged[id(cache)].items():
                answers[f"{name}/{server}"] = seconds
        return answers

    def flush_all(self) -> bool:
        """Flush each distinct backend once; ``True`` when every flush succeeded."""
        distinct = {id(cache): cache for cache in self.namespaces.values()}
        results = [cache.flush_all() for cache in distinct.values()]
        return all(results)
