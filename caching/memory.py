"""``MemoryCache``: the embedded, in-process backend.

It answers every call of the contract as a memcached 1.6 server would -- the
same key rules, expiry to the second, ``add`` over an expired item, unsigned
64-bit counters, the item size limit -- so code tested against it behaves the
same against memcached in production.
"""

from __future__ import annotations

import contextlib
import heapq
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from time import time as _wall_time
from typing import Any

from caching import counters
from caching.expiry import MAX_RELATIVE, Time, expires_at, to_exptime
from caching.keys import MAX_KEY_LENGTH, Key, canonical_key, check_keys

__all__ = ["DEFAULT_MAX_ITEM_SIZE", "MemoryCache"]

#: memcached's default item size limit (``-I 1m``), in bytes.
DEFAULT_MAX_ITEM_SIZE = 1024 * 1024

# memcached 1.6 counts its item header (48 bytes), the CAS field (8), the key's
# terminating NUL and the value's CRLF against the item size limit (measured:
# with a 1-byte key, a 1048516-byte value is the largest stored under -I 1m).
_ITEM_OVERHEAD = 59

_MAX_OVERHEAD = _ITEM_OVERHEAD + MAX_KEY_LENGTH

_MAX_COUNTER = counters.MAX_COUNTER

_SET, _ADD, _REPLACE = 0, 1, 2

_SCALARS = frozenset({int, float, bool, type(None), complex})


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


def _storer(mode: int) -> Callable[..., bool]:
    """Build ``set``, ``add`` or ``replace``: one body, no extra call per use.

    Decides as memcached does. The key may be unchecked at first: a key found
    in the store is valid, any other is checked (and put in its canonical
    form) before anything changes.
    """

    def store(
        self: MemoryCache, key: Key, value: Any, time: Time = 0, namespace: str | None = None
    ) -> bool:
        if not self._plain:
            key = self._key(key)
        now = int(_wall_time() if self._clock is None else self._clock())
        if type(time) is int and 0 <= time <= MAX_RELATIVE:
            expiry = now + time if time else 0
        else:
            expiry = expires_at(time, now)
        if self.copy_values:
            value = _pickle(value)
        limit = self.max_item_size
        kind = type(value)
        fits = (
            limit is None
            or kind in _SCALARS
            or ((kind is str or kind is bytes) and 4 * len(value) + _MAX_OVERHEAD <= limit)
            or _fits(canonical_key(key), value, limit)
        )
        items = self._items
        # acquire/release rather than ``with``: half the cost on this hot path
        self._lock.acquire()
        try:
            current = items.get(key)
            if current is None:
                key = canonical_key(key)
                current = items.get(key)
            if not fits:
                self._refuse(key, mode)
                return False
            if self._seconds and self._seconds[0] <= now:
                self._reclaim(now)
                current = items.get(key)
            if current is not None and current[1] and current[1] <= now:
                current = None  # expired: behaves exactly like a missing item
            if mode != _SET and (mode == _ADD) == (current is not None):
                return False
            if expiry and expiry <= now:
                items.pop(key, None)  # stored already expired: never readable
                return True
            if current is None:
                self._make_room(now)
            items[key] = [value, expiry]
            if self._lru:
                self._touch(key)
            if expiry and (current is None or current[1] != expiry):
                self._index(key, expiry)
        finally:
            self._lock.release()
        return True

    store.__name__ = store.__qualname__ = ("set", "add", "replace")[mode]
    return store


def _counter(up: bool) -> Callable[..., int | None]:
    """Build ``incr`` (``up``) or ``decr``: one body, no extra call per use.

    As memcached: unsigned 64-bit, ``incr`` wraps at ``2**64``, ``decr``
    stops at 0, the item keeps its expiry, a counter created from
    ``initial_value`` has none.
    """

    def count(
        self: MemoryCache,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        if type(delta) is not int or not 0 <= delta < _MAX_COUNTER:
            delta = counters.check_delta(delta)
        if initial_value is not None and (
            type(initial_value) is not int or not 0 <= initial_value < _MAX_COUNTER
        ):
            initial_value = counters.check_initial(initial_value)
        if not self._plain:
            key = self._key(key)
        items = self._items
        self._lock.acquire()  # not ``with``: see _store
        try:
            item = items.get(key)
            if item is None:
                key = canonical_key(key)  # a stored key is valid: only check the others
                item = items.get(key)
            if item is not None and item[1] and item[1] <= self._now():
                item = None  # expired: a miss
            if item is None:
                if initial_value is None:
                    return None
                value = initial_value  # created with no expiry
            else:
                value = item[0]
                if self.copy_values:
                    value = pickle.loads(value)
                if type(value) is not int or not 0 <= value < _MAX_COUNTER:
                    value = counters.counter_value(value)
            if up:
                value += delta
                if value >= _MAX_COUNTER:
                    value -= _MAX_COUNTER
            else:
                value = value - delta if value > delta else 0
            stored = _pickle(value) if self.copy_values else value
            if item is None:
                self._make_room(int(self._now()))
                items[key] = [stored, 0]
            else:
                item[0] = stored  # in place: keeps the item's expiry
                if self._lru:
                    self._touch(key)
        finally:
            self._lock.release()
        return value

    count.__name__ = count.__qualname__ = "incr" if up else "decr"
    return count


class MemoryCache:
    """An in-process cache that answers as a memcached server does.

    Safe to share between threads: reads take no lock; writes and counters are
    serialised by one lock, so ``incr`` is atomic and ``add`` decides once.

    Expired items are reclaimed without being read: items are indexed by
    their expiry second, and each write first drops the items of the seconds
    that have passed, so memory does not grow with dead items.

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
        defaults to :func:`time.time` (looked up at each call, so freezegun
        applies). Inject one to control expiry in tests.
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
        self._clock = clock
        self._lru = max_items is not None
        # Reads take the short path unless an option needs the general one.
        self._plain = not (self._lru or copy_values or key_encode)
        # key -> [stored value, expiry second or 0 for never]; incr updates the
        # value in place, every other write stores a new list.
        self._items: dict[Key, list[Any]] = OrderedDict() if self._lru else {}
        # expiry second -> keys stored with it; a heap of those seconds
        self._buckets: dict[int, list[Key]] = {}
        self._seconds: list[int] = []
        self._indexed = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Number of items held, counting expired ones not reclaimed yet."""
        return len(self._items)

    def _now(self) -> float:
        return _wall_time() if self._clock is None else self._clock()

    def _key(self, key: Key) -> Key:
        return canonical_key(key if self._encode is None else self._encode(key))

    def _load(self, stored: Any) -> Any:
        return pickle.loads(stored) if self.copy_values else stored

    # -- reads ------------------------------------------------------------

    def get(self, key: Key, namespace: str | None = None) -> Any:
        if not self._plain:
            return self._lookup(key, None)
        # Only valid keys are ever stored, so a hit needs no key check.
        item = self._items.get(key)
        if item is None:
            canonical = canonical_key(key)  # a miss: check the key
            if canonical is key:
                return None
            item = self._items.get(canonical)  # bytes given for a str key
            if item is None:
                return None
        expiry = item[1]
        if not expiry:
            return item[0]
        clock = self._clock
        return item[0] if expiry > (_wall_time() if clock is None else clock()) else None

    def get_multi(self, keys: Iterable[Key], namespace: str | None = None) -> dict[Key, Any]:
        if isinstance(keys, (str, bytes)):
            raise TypeError("get_multi() takes an iterable of keys, not a single key")
        found: dict[Key, Any] = {}
        now = self._now()
        if not self._plain:
            for key in keys:
                value = self._lookup(key, now)
                if value is not None:
                    found[key] = value
            return found
        get = self._items.get
        now = int(now)
        for key in keys:
            item = get(key)
            if item is None:
                canonical = canonical_key(key)  # a miss: check the key
                if canonical is key:
                    continue
                item = get(canonical)  # bytes given for a str key
                if item is None:
                    continue
            value, expiry = item
            if (expiry > now or not expiry) and value is not None:
                found[key] = value
        return found

    def _lookup(self, key: Key, now: float | None) -> Any:
        """The general read: key_encode, canonical form, LRU and copies."""
        key = self._key(key)
        item = self._items.get(key)
        if item is None:
            return None
        expiry = item[1]
        if expiry and expiry <= (self._now() if now is None else now):
            return None
        if self._lru:
            self._touch(key)
        return self._load(item[0])

    def _touch(self, key: Key) -> None:
        with contextlib.suppress(KeyError):  # deleted by another thread meanwhile
            self._items.move_to_end(key)  # type: ignore[attr-defined]

    # -- stores -----------------------------------------------------------

    set = _storer(_SET)
    add = _storer(_ADD)
    replace = _storer(_REPLACE)

    def set_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._store_multi(mapping, time, self.set)

    def add_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._store_multi(mapping, time, self.add)

    def replace_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._store_multi(mapping, time, self.replace)

    def _store_multi(
        self, mapping: Mapping[Key, Any], time: Time, store: Callable[[Key, Any, Time], bool]
    ) -> list[Key]:
        if not isinstance(mapping, Mapping):
            raise TypeError(f"expected a mapping of keys to values, not {type(mapping).__name__}")
        to_exptime(time)  # a bad time raises before anything is stored
        for given in mapping:
            self._key(given)  # so does a bad key
        return [given for given in mapping if not store(given, mapping[given], time)]

    def _refuse(self, key: Key, mode: int) -> None:
        """A value too large: memcached answers SERVER_ERROR and, for ``set``
        only, unlinks the old item so that no stale value persists."""
        if mode == _SET:
            self._items.pop(key, None)

    # -- reclaiming expired items (under the lock) ------------------------

    def _index(self, key: Key, expiry: int) -> None:
        bucket = self._buckets.get(expiry)
        if bucket is None:
            bucket = self._buckets[expiry] = []
            heapq.heappush(self._seconds, expiry)
        bucket.append(key)
        self._indexed += 1
        # Overwritten items leave stale entries; rebuild when they dominate.
        if self._indexed > 2 * len(self._items) + 1024:
            self._reindex()

    def _reindex(self) -> None:
        self._buckets = {}
        for key, (_, expiry) in list(self._items.items()):
            if expiry:
                self._buckets.setdefault(expiry, []).append(key)
        self._seconds = list(self._buckets)
        heapq.heapify(self._seconds)
        self._indexed = len(self._items)

    def _reclaim(self, now: int) -> None:
        """Drop every item whose expiry second has passed."""
        items, buckets, seconds = self._items, self._buckets, self._seconds
        while seconds and seconds[0] <= now:
            second = heapq.heappop(seconds)
            keys = buckets.pop(second)
            self._indexed -= len(keys)
            for key in keys:
                item = items.get(key)
                if item is not None and item[1] == second:
                    del items[key]

    def _make_room(self, now: int) -> None:
        """Before a new key: with ``max_items`` reached, drop expired items,
        then evict from the LRU tail."""
        items = self._items
        if self.max_items is None or len(items) < self.max_items:
            return
        self._reclaim(now)
        while len(items) >= self.max_items:
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
            self._buckets.clear()
            self._seconds.clear()
            self._indexed = 0
        return True

    # -- counters ---------------------------------------------------------

    incr = _counter(up=True)
    decr = _counter(up=False)


def _fits(key: Key, value: Any, limit: int) -> bool:
    """Whether ``key`` and ``value`` fit memcached's item size ``limit``."""
    key_size = len(key.encode() if isinstance(key, str) else key)
    return _payload_size(value) + _ITEM_OVERHEAD + key_size <= limit
