"""``CacheDependency``: wire cache items to a master key, invalidate them at once.

The master key is a counter of the dependent keys issued so far; dependent
key ``i`` (``master_key + str(i)``) holds the key of one wired item. Round
trips, each one contract call:

- ``next_key`` / ``next_keys``: 1 (``incr``);
- ``add`` / ``add_multi``: 2 (``incr``, ``add``/``add_multi``);
- ``get_keys`` / ``get_multi_keys``: 2 (``get_multi`` of the counters,
  ``get_multi`` of the dependent keys), 1 when nothing is wired;
- ``delete`` / ``delete_multi``: 3, whatever the number of wired items (the
  two reads above and one ``delete_multi``), 1 when nothing is wired. The
  contract has no call that reads and deletes, so 3 is the least.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from caching.contract import Cache
from caching.expiry import Time, lifetime
from caching.key_rules import Key

__all__ = ["CacheDependency"]


class CacheDependency:
    """Wires cache items to a master key so one call invalidates them all.

    :param cache: any backend of the contract.
    :param time: how long dependent keys live, ``int`` seconds or
        ``timedelta`` (``0``: no expiry). Should be at least the lifetime of
        the items they wire.
    :param namespace: passed to every cache call.
    """

    def __init__(self, cache: Cache, time: Time = 0, namespace: str | None = None) -> None:
        self.cache = cache
        self.time = lifetime(time)
        self.namespace = namespace

    def next_key(self, master_key: str) -> str:
        """Issue the next dependent key of ``master_key`` (one ``incr``).

        :returns: ``master_key + str(n)``; ``n`` counts from 1.
        """
        return self.next_keys(master_key, 1)[0]

    def next_keys(self, master_key: str, n: int) -> list[str]:
        """Issue ``n`` dependent keys of ``master_key`` with one ``incr``.

        :returns: the ``n`` new keys; ``[]`` when the cache failed.
        """
        last = self.cache.incr(master_key, n, self.namespace, 0)
        if last is None:
            return []
        return [master_key + str(i) for i in range(last - n + 1, last + 1)]

    def add(self, master_key: str, key: str) -> bool:
        """Wire ``key`` to ``master_key``.

        :returns: ``True`` when the wire was stored.
        """
        keys = self.next_keys(master_key, 1)
        return bool(keys) and self.cache.add(keys[0], key, self.time, self.namespace)

    def add_multi(self, master_key: str, keys: Sequence[str]) -> list[Key]:
        """Wire every key of ``keys`` to ``master_key`` (two round trips).

        :returns: the dependent keys that were not stored (``[]`` when all
            were); ``[master_key]`` when the counter could not be incremented.
        """
        if not keys:
            return []
        issued = self.next_keys(master_key, len(keys))
        if not issued:
            return [master_key]
        mapping: dict[Key, str] = dict(zip(issued, keys, strict=True))
        return self.cache.add_multi(mapping, self.time, self.namespace)

    def get_keys(self, master_key: str) -> list[Any]:
        """All keys wired to ``master_key``, the dependent keys and the master key.

        :returns: the keys to delete to invalidate the group; ``[]`` when
            nothing is wired.
        """
        return self.get_multi_keys([master_key])

    def get_multi_keys(self, master_keys: Iterable[str]) -> list[Any]:
        """As :meth:`get_keys` for several master keys, in two round trips."""
        master_keys = list(master_keys)
        counts = self.cache.get_multi(master_keys, self.namespace)
        if not counts:
            return []
        keys: list[Any] = [
            master_key + str(i)
            for master_key in master_keys
            for i in range(1, counts.get(master_key, 0) + 1)
        ]
        keys.extend(self.cache.get_multi(keys, self.namespace).values())
        keys.extend(master_keys)
        return keys

    def delete(self, master_key: str) -> bool:
        """Delete every item wired to ``master_key`` (three round trips).

        :returns: ``True`` when nothing is left, ``False`` on a cache failure.
        """
        return self.delete_multi([master_key])

    def delete_multi(self, master_keys: Iterable[str]) -> bool:
        """Delete every item wired to any of ``master_keys`` (three round trips)."""
        keys = self.get_multi_keys(master_keys)
        if not keys:
            return True
        return self.cache.delete_multi(keys, 0, self.namespace)
