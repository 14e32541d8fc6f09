"""``CacheClient``: one entry point that routes calls to backends by namespace."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from caching.contract import Cache
from caching.expiry import Time
from caching.key_rules import Key

__all__ = ["CacheClient", "Router"]


C = TypeVar("C")


class Router(Generic[C]):
    """What :class:`CacheClient` and :class:`caching.aio.AsyncCacheClient`
    share: the namespace table, the routing of a call and the merging of
    the backends' answers to ``ping``.

    :param namespaces: mapping of namespace name to backend.
    :param default_namespace: the namespace of calls that name none; must be a
        key of ``namespaces``.
    :raises KeyError: ``default_namespace`` is not in ``namespaces``.
    """

    def __init__(self, namespaces: Mapping[str, C], default_namespace: str) -> None:
        if default_namespace not in namespaces:
            raise KeyError(f"default namespace {default_namespace!r} is not in namespaces")
        self.namespaces = dict(namespaces)
        self.default_namespace = default_namespace

    def _route(self, namespace: str | None) -> tuple[C, str]:
        """The backend of ``namespace`` (or of the default) and its name.

        :raises KeyError: an unknown namespace (before any I/O).
        """
        name = namespace or self.default_namespace
        try:
            return self.namespaces[name], name
        except KeyError:
            raise KeyError(f"unknown cache namespace {name!r}") from None

    def _distinct(self) -> list[C]:
        """Each backend once, in the order of its first namespace."""
        return list({id(cache): cache for cache in self.namespaces.values()}.values())

    def _pings(self, answers: Sequence[dict[str, float | None]]) -> dict[str, float | None]:
        """``"namespace/server"`` -> round trip, from the answer of each
        backend of :meth:`_distinct` (in its order)."""
        by_backend = {
            id(cache): answer for cache, answer in zip(self._distinct(), answers, strict=True)
        }
        return {
            f"{name}/{server}": seconds
            for name, cache in self.namespaces.items()
            for server, seconds in by_backend[id(cache)].items()
        }


class CacheClient(Router[Cache]):
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
        return self._pings([cache.ping() for cache in self._distinct()])

    def flush_all(self) -> bool:
        """Flush each distinct backend once; ``True`` when every flush succeeded."""
        results = [cache.flush_all() for cache in self._distinct()]
        return all(results)
