"""``AsyncMemoryCache`` and ``AsyncNullCache``: the in-process backends as
coroutines.

Each wraps the sync backend of its name and calls it inline: ``MemoryCache``
and ``NullCache`` never block (no I/O, locks held for a few dict operations),
so a coroutine that calls them straight away is cheaper than any thread hop
and answers exactly as they do -- the logic is theirs, not a copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from caching.contract import Cache
from caching.expiry import Time
from caching.key_rules import Key
from caching.memory import DEFAULT_MAX_ITEM_SIZE, MemoryCache
from caching.null import NullCache

__all__ = ["AsyncMemoryCache", "AsyncNullCache", "InLoop"]


class InLoop:
    """Any sync backend that never blocks, as an
    :class:`~caching.aio.contract.AsyncCache`: each coroutine calls the sync
    method of its name inline and returns its answer.

    Only for backends whose calls never wait on I/O (a memcached adapter
    would stall the event loop; use :class:`caching.aio.AsyncMemcachedClient`).

    :param cache: the sync backend (:attr:`sync`).
    """

    __slots__ = ("sync",)

    def __init__(self, cache: Cache) -> None:
        #: The sync backend that does the work (the same items, shared with
        #: any sync code that holds it).
        self.sync = cache

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__name__} over {self.sync!r}>"

    async def set(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return self.sync.set(key, value, time, namespace)

    async def add(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return self.sync.add(key, value, time, namespace)

    async def replace(
        self, key: Key, value: Any, time: Time = 0, namespace: str | None = None
    ) -> bool:
        return self.sync.replace(key, value, time, namespace)

    async def set_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self.sync.set_multi(mapping, time, namespace)

    async def add_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self.sync.add_multi(mapping, time, namespace)

    async def replace_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self.sync.replace_multi(mapping, time, namespace)

    async def get(self, key: Key, namespace: str | None = None) -> Any:
        return self.sync.get(key, namespace)

    async def get_multi(self, keys: Iterable[Key], namespace: str | None = None) -> dict[Key, Any]:
        return self.sync.get_multi(keys, namespace)

    async def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool:
        return self.sync.delete(key, seconds, namespace)

    async def delete_multi(
        self, keys: Iterable[Key], seconds: int = 0, namespace: str | None = None
    ) -> bool:
        return self.sync.delete_multi(keys, seconds, namespace)

    async def incr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return self.sync.incr(key, delta, namespace, initial_value)

    async def decr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return self.sync.decr(key, delta, namespace, initial_value)

    async def ping(self) -> dict[str, float | None]:
        return self.sync.ping()

    async def flush_all(self) -> bool:
        return self.sync.flush_all()


class AsyncMemoryCache(InLoop):
    """:class:`~caching.memory.MemoryCache` as coroutines; the arguments are
    MemoryCache's (item counts, ``max_item_size`` in bytes, ``clock`` in
    seconds).

    :param cache: an existing MemoryCache to share with sync code instead of
        a new one (the other arguments must then be left out).
    :raises ValueError: as MemoryCache's constructor, or ``cache`` given with
        other arguments.
    """

    __slots__ = ()

    sync: MemoryCache

    def __init__(
        self,
        max_items: int | None = None,
        max_item_size: int | None = DEFAULT_MAX_ITEM_SIZE,
        copy_values: bool = False,
        key_encode: Callable[[Key], Key] | None = None,
        clock: Callable[[], float] | None = None,
        *,
        cache: MemoryCache | None = None,
    ) -> None:
        if cache is None:
            cache = MemoryCache(max_items, max_item_size, copy_values, key_encode, clock)
        elif (max_items, max_item_size, copy_values, key_encode, clock) != (
            None,
            DEFAULT_MAX_ITEM_SIZE,
            False,
            None,
            None,
        ):
            raise ValueError("give either cache= or MemoryCache's arguments, not both")
        super().__init__(cache)


class AsyncNullCache(InLoop):
    """:class:`~caching.null.NullCache` as coroutines: stores report success,
    reads miss, and every argument is checked as everywhere."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(NullCache())
