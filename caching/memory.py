"""``MemoryCache``: the embedded, in-process backend.

It answers every call of the contract as a memcached 1.6 server would -- the
same key rules, expiry to the second, ``add`` over an expired item, unsigned
64-bit counters, the item size limit -- so code tested against it behaves the
same against memcached in production.

Its calls live in :mod:`caching._memory_core`, compiled with mypyc where a C
compiler is present (docs/PERFORMANCE.md, "A compiled MemoryCache"); this
module gives them their options, their documentation and their signatures.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from time import perf_counter
from typing import TYPE_CHECKING, Any

from caching._memory_core import MAX_OVERHEAD, SCALAR_BOUND, TEXT_SLACK, MemoryCore
from caching.expiry import Time
from caching.key_rules import Key

__all__ = ["DEFAULT_MAX_ITEM_SIZE", "MemoryCache"]

#: memcached's default item size limit (``-I 1m``), in bytes.
DEFAULT_MAX_ITEM_SIZE = 1024 * 1024


class MemoryCache(MemoryCore):
    """An in-process cache that answers as a memcached server does.

    Safe to share between threads: reads take no lock; writes and counters are
    serialised by one lock, so ``incr`` is atomic and ``add`` decides once. A
    ``_multi`` store checks the whole batch (time, keys, values) before it
    stores anything, then stores it under one acquisition of the lock.

    Expired items are reclaimed without being read: items are indexed by
    their expiry second, and each write of a new item, or of a new expiry,
    first drops the items of the seconds that have passed, so memory does not
    grow with dead items. ``get_multi`` reads at C speed while no item has
    expired.

    :param max_items: bound on the number of items held; ``None`` (default)
        for no bound. When a new key would pass it, expired items are dropped
        first, then the least recently used item (read or written) is evicted,
        as memcached evicts from the tail of its LRU.
    :param max_item_size: largest item, in bytes, like memcached's ``-I``,
        counted as memcached counts what the adapters send: the key, the
        value as :func:`caching.adapters.serializer.dumps` serialises it (a
        str quoted with a leading ``"_"``, bytes that start like a number
        pickled, ints in ``0 .. 2**64-1`` as decimal text, anything else
        pickled), 59 bytes of header, and 4 for the flags when they are not
        0. Larger values are not stored: the call returns ``False`` and, as
        on memcached, a refused ``set`` also drops the key's old item.
        Default 1 MiB, memcached's default. ``None`` turns the check off,
        which saves pickling container values only to measure them.
    :param copy_values: store a pickled copy and hand back a fresh copy on
        every read, as memcached does, so mutating a returned object never
        changes what another reader gets (immutable values -- ``str``,
        ``bytes``, numbers, ``None`` -- are kept as they are: nothing can
        change them). Off by default: reads then return the stored object
        itself, which is faster.
    :param key_encode: callable applied to every key before the key rules are
        checked, e.g. :func:`caching.encoding.hash_encode` for arbitrary keys.
    :param clock: returns the current Unix time in seconds (``float``);
        defaults to the system clock (:func:`time.time`, and
        :func:`time.time_ns` for the whole second of a write; both are
        looked up at each call, so freezegun applies; compiled, the calls add
        no Python frame, so freezegun's rule of the real time for callers
        near a ``threading`` frame reaches the caller's frames). Inject one
        to control expiry in tests.
    """

    def __init__(
        self,
        max_items: int | None = None,
        max_item_size: int | None = DEFAULT_MAX_ITEM_SIZE,
        copy_values: bool = False,
        key_encode: Callable[[Key], Key] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if max_items is not None and (not isinstance(max_items, int) or max_items < 1):
            raise ValueError(f"max_items must be a positive int or None, got {max_items!r}")
        if max_item_size is not None and (not isinstance(max_item_size, int) or max_item_size < 1):
            raise ValueError(f"max_item_size must be a positive int or None, got {max_item_size!r}")
        self._max_items = max_items
        self._max_item_size = max_item_size
        limit = -1 if max_item_size is None else max_item_size - MAX_OVERHEAD
        self._short_value = (limit - TEXT_SLACK) // 4
        self._budget = limit  # bytes a value may take, whatever its key
        self._scalars_fit = limit >= SCALAR_BOUND
        self._copy_values = copy_values
        self._encode = key_encode
        self._clock = clock
        self._lru = max_items is not None
        self._plain = not (self._lru or copy_values or key_encode)
        self._fast = self._plain and clock is None
        self._items = OrderedDict() if self._lru else {}
        self._buckets = {}
        self._seconds = []
        self._indexed = 0
        self._epoch = 0
        self._lock = threading.Lock()

    @property
    def max_items(self) -> int | None:
        """The bound on the number of items (fixed at construction)."""
        return self._max_items

    @property
    def max_item_size(self) -> int | None:
        """The largest item, in bytes (fixed at construction)."""
        return self._max_item_size

    @property
    def copy_values(self) -> bool:
        """Whether values are stored as pickled copies (fixed at construction)."""
        return self._copy_values

    def __len__(self) -> int:
        """Number of items held, counting expired ones not reclaimed yet."""
        return len(self._items)

    def ping(self) -> dict[str, float | None]:
        """``{"memory": seconds}``: the time of one read, in process."""
        started = perf_counter()
        self.get("caching-ping")
        return {"memory": perf_counter() - started}

    if TYPE_CHECKING:  # the signatures of the calls MemoryCore implements

        def get(self, key: Key, namespace: str | None = None) -> Any:
            """As :meth:`caching.contract.Cache.get`."""

        def get_multi(self, keys: Iterable[Key], namespace: str | None = None) -> dict[Key, Any]:
            """As :meth:`caching.contract.Cache.get_multi`."""

        def set(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
            """As :meth:`caching.contract.Cache.set`."""

        def add(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
            """As :meth:`caching.contract.Cache.add`."""

        def replace(
            self, key: Key, value: Any, time: Time = 0, namespace: str | None = None
        ) -> bool:
            """As :meth:`caching.contract.Cache.replace`."""

        def set_multi(
            self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
        ) -> list[Key]:
            """As :meth:`caching.contract.Cache.set_multi`."""

        def add_multi(
            self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
        ) -> list[Key]:
            """As :meth:`caching.contract.Cache.add_multi`."""

        def replace_multi(
            self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
        ) -> list[Key]:
            """As :meth:`caching.contract.Cache.replace_multi`."""

        def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool:
            """As :meth:`caching.contract.Cache.delete`."""

        def delete_multi(
            self, keys: Iterable[Key], seconds: int = 0, namespace: str | None = None
        ) -> bool:
            """As :meth:`caching.contract.Cache.delete_multi`."""

        def incr(
            self,
            key: Key,
            delta: int = 1,
            namespace: str | None = None,
            initial_value: int | None = None,
        ) -> int | None:
            """As :meth:`caching.contract.Cache.incr`."""

        def decr(
            self,
            key: Key,
            delta: int = 1,
            namespace: str | None = None,
            initial_value: int | None = None,
        ) -> int | None:
            """As :meth:`caching.contract.Cache.decr`."""

        def flush_all(self) -> bool:
            """As :meth:`caching.contract.Cache.flush_all`."""
