"""``MemoryCache``: the embedded, in-process backend.

It answers every call of the contract as a memcached 1.6 server would -- the
same key rules, expiry to the second, ``add`` over an expired item, unsigned
64-bit counters, the item size limit -- so code tested against it behaves the
same against memcached in production.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from time import time
from typing import Any

from caching import counters
from caching.expiry import Time, expires_at
from caching.keys import Key, canonical_key, check_keys

__all__ = ["DEFAULT_MAX_ITEM_SIZE", "MemoryCache"]

#: memcached's default item size limit (``-I 1m``), in bytes.
DEFAULT_MAX_ITEM_SIZE = 1024 * 1024

# memcached 1.6 counts its item header (48 bytes), the CAS field (8), the key's
# terminating NUL and the value's CRLF against the item size limit (measured:
# with a 1-byte key, a 1048516-byte value is the largest stored under -I 1m).
_ITEM_OVERHEAD = 59

_SET, _ADD, _REPLACE = 0, 1, 2

_SCALARS = frozenset({int, float, bool, type(None), complex})


def _wall_clock() -> float:
    # Looked up at call time, so that freezegun's patched ``time`` applies.
    return time()


def _pickle(value: Any) -> bytes:
    try:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # PicklingError, TypeError, AttributeError...
        raise TypeError(f"cannot cache a {type(value).__name__}: {exc}") from exc


def _payload_size(value: Any) -> int:
    """The size of ``value`` once serialised as a memcached client would, in bytes."""
    kind = type(value)
    if kind is bytes:
        return len(value)
    if kind is str:
        return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))
    if kind in _SCALARS:
        return 0
    return len(_pickle(value))


class MemoryCache:
    """An in-process cache that answers as a memcached server does.

    Safe to share between threads: reads take no lock; writes and counters are
    serialised by one lock, so ``incr`` is atomic and ``add`` decides once.

    Expired items are reclaimed without being read: each write first drops
    the items whose expiry has passed (a heap ordered by expiry), so memory
    does not grow with dead items.

    :param max_items: bound on the number of items held; ``None`` (default)
        for no bound. When a new key would pass it, expired items are dropped
        first, then the least recently used item (read or written) is evicted,
        as memcached evicts from the tail of its LRU.
    :param max_item_size: largest item, in bytes (key + value as a memcached
        client serialises it + 59 bytes of header), like memcached's ``-I``;
        larger values are not stored: the call returns ``False`` and, as on
        memcached, a refused ``set`` also drops the key's old item. Default
        1 MiB, memcached's default. ``None`` turns the check off, which saves
        pickling container values only to measure them.
    :param copy_values: store a pickled copy and hand back a fresh copy on
        every read, as memcached does, so mutating a returned object never
        changes what another reader gets. Off by default: reads then return
        the stored object itself, which is faster.
    :param key_encode: callable applied to every key before the key rules are
        checked, e.g. :func:`caching.encoding.hash_encode` for arbitrary keys.
    :param clock: returns the current Unix time in seconds (``float``);
        defaults to :func:`time.time`. Inject one to control expiry in tests.
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
        self.max_items = max_items
        self.max_item_size = max_item_size
        self.copy_values = copy_values
        self._encode = key_encode
        self._now: Callable[[], float] = clock if clock is not None else _wall_clock
        # key -> (stored value, expiry second or 0 for never)
        self._items: dict[Key, tuple[Any, int]] = OrderedDict() if max_items else {}
        self._lru = max_items is not None
        # (expiry second, sequence, key) for every item stored with an expiry
        self._expiries: list[tuple[int, int, Key]] = []
        self._sequence = itertools.count()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Number of items held, counting expired ones not reclaimed yet."""
        return len(self._items)

    # -- reads ------------------------------------------------------------

    def get(self, key: Key, namespace: str | None = None) -> Any:
        if self._encode is not None:
            key = self._encode(key)
        item = self._items.get(key)
        if item is None:
            # Only valid keys are ever stored, so a hit needs no key check.
            canonical = canonical_key(key)
            if canonical is key:
                return None
            item = self._items.get(canonical)
            if item is None:
                return None
            key = canonical
        expiry = item[1]
        if expiry and expiry <= self._now():
            return None
        if self._lru:
            self._touch(key)
        return pickle.loads(item[0]) if self.copy_values else item[0]

    def get_multi(self, keys: Iterable[Key], namespace: str | None = None) -> dict[Key, Any]:
        if isinstance(keys, (str, bytes)):
            raise TypeError("get_multi() takes an iterable of keys, not a single key")
        items = self._items
        encode = self._encode
        found: dict[Key, Any] = {}
        now = None
        for key in keys:
            stored_key = key if encode is None else encode(key)
            item = items.get(stored_key)
            if item is None:
                canonical = canonical_key(stored_key)
                if canonical is stored_key:
                    continue
                item = items.get(canonical)
                if item is None:
                    continue
                stored_key = canonical
            expiry = item[1]
            if expiry:
                if now is None:
                    now = self._now()
                if expiry <= now:
                    continue
            if item[0] is None:
                continue
            if self._lru:
                self._touch(stored_key)
            found[key] = pickle.loads(item[0]) if self.copy_values else item[0]
        return found

    def _touch(self, key: Key) -> None:
        with contextlib.suppress(KeyError):  # deleted by another thread meanwhile
            self._items.move_to_end(key)  # type: ignore[attr-defined]

    # -- stores -----------------------------------------------------------

    def set(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return self._store(self._key(key), value, time, _SET)

    def add(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return self._store(self._key(key), value, time, _ADD)

    def replace(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return self._store(self._key(key), value, time, _REPLACE)

    def set_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._store_multi(mapping, time, _SET)

    def add_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._store_multi(mapping, time, _ADD)

    def replace_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._store_multi(mapping, time, _REPLACE)

    def _key(self, key: Key) -> Key:
        return canonical_key(key if self._encode is None else self._encode(key))

    def _prepare(self, key: Key, value: Any) -> tuple[bool, Any]:
        """(fits, stored form) of ``value``: a pickled copy with ``copy_values``."""
        if self.copy_values:
            value = _pickle(value)
        limit = self.max_item_size
        if limit is None:
            return True, value
        size = _payload_size(value)
        if size + _ITEM_OVERHEAD + len(key) * 4 > limit:
            # Only measure the key's UTF-8 bytes when the bound is close.
            size += _ITEM_OVERHEAD + len(key.encode() if isinstance(key, str) else key)
            return size <= limit, value
        return True, value

    def _store(self, key: Key, value: Any, time: Time, mode: int) -> bool:
        now = int(self._now())
        expiry = 0 if type(time) is int and time == 0 else expires_at(time, now)
        fits, stored = self._prepare(key, value)
        with self._lock:
            if fits:
                return self._put(key, stored, expiry, mode, now)
            self._refuse(key, mode)
            return False

    def _store_multi(self, mapping: Mapping[Key, Any], time: Time, mode: int) -> list[Key]:
        if not isinstance(mapping, Mapping):
            raise TypeError(f"expected a mapping of keys to values, not {type(mapping).__name__}")
        now = int(self._now())
        expiry = 0 if type(time) is int and time == 0 else expires_at(time, now)
        prepared = [(key, self._key(key)) for key in mapping]  # check every key first
        entries = [(given, key, *self._prepare(key, mapping[given])) for given, key in prepared]
        not_stored: list[Key] = []
        with self._lock:
            for given, key, fits, stored in entries:
                if not fits:
                    self._refuse(key, mode)
                    not_stored.append(given)
                elif not self._put(key, stored, expiry, mode, now):
                    not_stored.append(given)
        return not_stored

    def _refuse(self, key: Key, mode: int) -> None:
        """A value too large: memcached answers SERVER_ERROR and, for ``set``
        only, unlinks the old item so that no stale value persists."""
        if mode == _SET:
            self._items.pop(key, None)

    def _put(self, key: Key, stored: Any, expiry: int, mode: int, now: int) -> bool:
        """Store under the lock, as memcached's set/add/replace decide."""
        items = self._items
        if self._expiries and self._expiries[0][0] <= now:
            self._reclaim(now)
        current = items.get(key)
        if current is not None and current[1] and current[1] <= now:
            current = None  # expired: behaves exactly like a missing item
        if (mode == _ADD and current is not None) or (mode == _REPLACE and current is None):
            return False
        if expiry < 0 or (expiry and expiry <= now):
            items.pop(key, None)  # stored already expired: never readable
            return True
        if current is None and self.max_items is not None and len(items) >= self.max_items:
            self._evict(now)
        items[key] = (stored, expiry)
        if self._lru:
            self._touch(key)
        if expiry:
            heapq.heappush(self._expiries, (expiry, next(self._sequence), key))
        return True

    def _reclaim(self, now: int) -> None:
        """Drop every item whose expiry has passed (under the lock)."""
        items = self._items
        expiries = self._expiries
        while expiries and expiries[0][0] <= now:
            expiry, _, key = heapq.heappop(expiries)
            item = items.get(key)
            if item is not None and item[1] == expiry:
                del items[key]
        # Overwritten items leave stale heap entries; rebuild when they dominate.
        if len(expiries) > 2 * len(items) + 1024:
            self._expiries = [
                (item[1], next(self._sequence), key) for key, item in list(items.items()) if item[1]
            ]
            heapq.heapify(self._expiries)

    def _evict(self, now: int) -> None:
        """Make room for one item: expired items first, then the LRU tail."""
        self._reclaim(now)
        items = self._items
        while len(items) >= self.max_items:  # type: ignore[operator]
            items.popitem(last=False)  # type: ignore[call-arg]

    # -- deletes ----------------------------------------------------------

    def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool:
        key = self._key(key)
        with self._lock:
            item = self._items.pop(key, None)
        return item is not None and (not item[1] or item[1] > self._now())

    def delete_multi(
        self, keys: Iterable[Key], seconds: int = 0, namespace: str | None = None
    ) -> bool:
        stored_keys = [self._key(key) for key in check_keys(keys)]
        with self._lock:
            for key in stored_keys:
                self._items.pop(key, None)
        return True

    def flush_all(self) -> bool:
        with self._lock:
            self._items.clear()
            self._expiries.clear()
        return True

    # -- counters ---------------------------------------------------------

    def incr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return self._count(key, delta, initial_value, counters.incr)

    def decr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return self._count(key, delta, initial_value, counters.decr)

    def _count(
        self,
        key: Key,
        delta: int,
        initial_value: int | None,
        apply: Callable[[int, int], int],
    ) -> int | None:
        key = self._key(key)
        delta = counters.check_delta(delta)
        initial_value = counters.check_initial(initial_value)
        now = int(self._now())
        with self._lock:
            item = self._items.get(key)
            if item is None or (item[1] and item[1] <= now):
                if initial_value is None:
                    return None
                value, expiry = initial_value, 0
            else:
                stored, expiry = item
                value = counters.counter_value(pickle.loads(stored) if self.copy_values else stored)
            value = apply(value, delta)
            stored = pickle.dumps(value) if self.copy_values else value
            self._put(key, stored, expiry, _SET, now)
        return value
