"""``AsyncCacheDependency``: :class:`caching.patterns.dependency.CacheDependency`
for asyncio.

The same groups, in the same round trips: the master key counts the
dependent keys issued (one ``incr``), dependent key ``i`` is
:func:`~caching.patterns.dependency.dependent_key` ``(master_key, i)`` and
holds the key of one wired item; groups written in wheezy's format are read
while ``wheezy_keys`` is on. The key format, the counting rules and the
reading of old groups are the sync class's steps
(:class:`caching.patterns.dependency._DependencyBase`, run here by awaiting
each call), so a group wired by sync code is invalidated by async code and
the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from caching.aio.contract import AsyncCache
from caching.key_rules import Key
from caching.patterns.dependency import _DependencyBase
from caching.steps import run_async

__all__ = ["AsyncCacheDependency"]


class AsyncCacheDependency(_DependencyBase[AsyncCache]):
    """Wires cache items to a master key so one call invalidates them all;
    each method answers as the sync method of its name, whose steps it runs.

    :param cache: any :class:`~caching.aio.contract.AsyncCache`.
    :param time: how long dependent keys live (``int`` seconds or
        ``timedelta``; ``0``: no expiry).
    :param namespace: passed to every cache call.
    :param wheezy_keys: also read (and invalidate) groups in wheezy's format.
    :param marks: before deleting, give the master keys and then every key of
        the group an invalidation mark, as the sync ``marks`` does
        (``AsyncCached.dependency`` has it on).
    """

    async def next_key(self, master_key: str) -> str:
        """The next dependent key of ``master_key`` (one ``incr``); ``""``
        when the cache failed."""
        keys = await self.next_keys(master_key, 1)
        return keys[0] if keys else ""

    async def next_keys(self, master_key: str, n: int) -> list[str]:
        """``n`` dependent keys with one ``incr``; ``[]`` when the cache failed.

        :raises InvalidKeyError: ``master_key`` is not a valid key.
        """
        return await run_async(self._next_keys_steps(master_key, n), self.cache)

    async def add(self, master_key: str, key: str) -> bool:
        """Wire ``key`` to ``master_key``; ``True`` when the wire was stored."""
        return await run_async(self._add_steps(master_key, key), self.cache)

    async def add_multi(self, master_key: str, keys: Sequence[str]) -> list[Key]:
        """Wire every key of ``keys`` (two round trips); the dependent keys
        not stored, or ``[master_key]`` when the counter failed."""
        return await run_async(self._add_multi_steps(master_key, keys), self.cache)

    async def get_keys(self, master_key: str) -> list[Any]:
        """The keys to delete to invalidate ``master_key``'s group."""
        return await self.get_multi_keys([master_key])

    async def get_multi_keys(self, master_keys: Iterable[str]) -> list[Any]:
        """As the sync ``get_multi_keys``, in two round trips: the dependent
        keys issued, the wheezy-format ones that hold a key, the keys they
        hold, and the master keys; ``[]`` when no master key holds a counter."""
        return await run_async(self._multi_keys_steps(list(master_keys)), self.cache)

    async def delete(self, master_key: str) -> bool:
        """Delete every item wired to ``master_key`` (three round trips);
        ``True`` when nothing is left, ``False`` on a cache failure."""
        return await self.delete_multi([master_key])

    async def delete_multi(self, master_keys: Iterable[str]) -> bool:
        """Delete every item wired to any of ``master_keys``; a wire holding
        a key the cache refuses is left out rather than raising.

        :raises InvalidKeyError: a master key is not a valid key.
        """
        return await run_async(self._delete_multi_steps(list(master_keys)), self.cache)
