"""``AsyncCacheDependency``: :class:`caching.patterns.dependency.CacheDependency`
for asyncio.

The same groups, in the same round trips: the master key counts the
dependent keys issued (one ``incr``), dependent key ``i`` is
:func:`~caching.patterns.dependency.dependent_key` ``(master_key, i)`` and
holds the key of one wired item; groups written in wheezy's format are read
while ``wheezy_keys`` is on. The key format, the counting rules and the
reading of old groups are the sync module's helpers, so a group wired by
sync code is invalidated by async code and the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from caching.aio.contract import AsyncCache
from caching.errors import InvalidKeyError
from caching.expiry import Time, lifetime
from caching.key_rules import Key, is_valid_key
from caching.patterns.dependency import (
    DEPENDENT_PREFIX,
    MAX_DEPENDENTS,
    _count,
    _digest,
    _is_key,
    _wheezy_keys,
)

__all__ = ["AsyncCacheDependency"]


class AsyncCacheDependency:
    """Wires cache items to a master key so one call invalidates them all;
    each method answers as the sync method of its name.

    :param cache: any :class:`~caching.aio.contract.AsyncCache`.
    :param time: how long dependent keys live (``int`` seconds or
        ``timedelta``; ``0``: no expiry).
    :param namespace: passed to every cache call.
    :param wheezy_keys: also read (and invalidate) groups in wheezy's format.
    """

    def __init__(
        self,
        cache: AsyncCache,
        time: Time = 0,
        namespace: str | None = None,
        *,
        wheezy_keys: bool = True,
    ) -> None:
        self.cache = cache
        self.time = lifetime(time)
        self.namespace = namespace
        self.wheezy_keys = wheezy_keys

    async def next_key(self, master_key: str) -> str:
        """The next dependent key of ``master_key`` (one ``incr``); ``""``
        when the cache failed."""
        keys = await self.next_keys(master_key, 1)
        return keys[0] if keys else ""

    async def next_keys(self, master_key: str, n: int) -> list[str]:
        """``n`` dependent keys with one ``incr``; ``[]`` when the cache failed.

        :raises InvalidKeyError: ``master_key`` is not a valid key.
        """
        last = await self.cache.incr(master_key, n, self.namespace, 0)
        if last is None:
            return []
        digest = _digest(master_key)
        return [f"{DEPENDENT_PREFIX}{digest}:{i}" for i in range(last - n + 1, last + 1)]

    async def add(self, master_key: str, key: str) -> bool:
        """Wire ``key`` to ``master_key``; ``True`` when the wire was stored."""
        keys = await self.next_keys(master_key, 1)
        return bool(keys) and await self.cache.add(keys[0], key, self.time, self.namespace)

    async def add_multi(self, master_key: str, keys: Sequence[str]) -> list[Key]:
        """Wire every key of ``keys`` (two round trips); the dependent keys
        not stored, or ``[master_key]`` when the counter failed."""
        if not keys:
            return []
        issued = await self.next_keys(master_key, len(keys))
        if not issued:
            return [master_key]
        mapping: dict[Key, str] = dict(zip(issued, keys, strict=True))
        return await self.cache.add_multi(mapping, self.time, self.namespace)

    async def get_keys(self, master_key: str) -> list[Any]:
        """The keys to delete to invalidate ``master_key``'s group."""
        return await self.get_multi_keys([master_key])

    async def get_multi_keys(self, master_keys: Iterable[str]) -> list[Any]:
        """As the sync ``get_multi_keys``, in two round trips: the dependent
        keys issued, the wheezy-format ones that hold a key, the keys they
        hold, and the master keys; ``[]`` when no master key holds a counter."""
        master_keys = list(master_keys)
        counts = await self.cache.get_multi(master_keys, self.namespace)
        if not counts:
            return []
        dependents: list[Key] = []
        wheezy: list[Key] = []
        for master_key in master_keys:
            last = _count(counts.get(master_key))
            if not last:
                continue
            first = max(1, last - MAX_DEPENDENTS + 1)
            digest = _digest(master_key)
            dependents += [f"{DEPENDENT_PREFIX}{digest}:{i}" for i in range(first, last + 1)]
            if self.wheezy_keys:
                wheezy += _wheezy_keys(master_key, first, last)
        keys: list[Any] = list(dependents)
        if dependents:
            found = await self.cache.get_multi(dependents + wheezy, self.namespace)
            wires = [found[key] for key in dependents if _is_key(found.get(key))]
            for key in wheezy:
                if _is_key(found.get(key)):
                    keys.append(key)
                    wires.append(found[key])
            keys += wires
        keys += master_keys
        return keys

    async def delete(self, master_key: str) -> bool:
        """Delete every item wired to ``master_key`` (three round trips);
        ``True`` when nothing is left, ``False`` on a cache failure."""
        return await self.delete_multi([master_key])

    async def delete_multi(self, master_keys: Iterable[str]) -> bool:
        """Delete every item wired to any of ``master_keys``; a wire holding
        a key the cache refuses is left out rather than raising.

        :raises InvalidKeyError: a master key is not a valid key.
        """
        keys = await self.get_multi_keys(master_keys)
        if not keys:
            return True
        try:
            return await self.cache.delete_multi(keys, 0, self.namespace)
        except InvalidKeyError:
            valid = [key for key in keys if is_valid_key(key)]
            return await self.cache.delete_multi(valid, 0, self.namespace)
