"""``MemoryCache``: the embedded, in-process backend.

It answers every call of the contract as a memcached 1.6 server would -- the
same key rules, expiry to the second, ``add`` over an expired item, unsigned
64-bit counters, the item size limit -- so code tested against it behaves the
same against memcached in production.
"""

from __future__ import annotations

import contextlib
import heapq
import importlib.machinery
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from time import perf_counter
from time import time as _wall_time
from time import time_ns as _wall_time_ns
from typing import TYPE_CHECKING, Any

from caching import _item_size, _reads, counters
from caching.adapters.serializer import dumps
from caching.counters import MAX_COUNTER
from caching.expiry import MAX_RELATIVE, Time, expires_at
from caching.key_rules import (
    MAX_KEY_LENGTH,
    Key,
    canonical_key,
    check_keys,
    check_mapping,
    is_plain_key,
    key_bytes,
    plain_keys,
    reject_single_key,
)
from caching.store_rules import ADD, ANSWERS, DROPS_OLD, REPLACE, SET, store_decision
from caching.values import pickled

__all__ = ["DEFAULT_MAX_ITEM_SIZE", "MemoryCache"]

#: memcached's default item size limit (``-I 1m``), in bytes.
DEFAULT_MAX_ITEM_SIZE = 1024 * 1024

# memcached 1.6 counts its item header (48 bytes), the CAS field (8), the key's
# terminating NUL and the value's CRLF against the item size limit (measured:
# with a 1-byte key, a 1048516-byte value is the largest stored under -I 1m).
_ITEM_OVERHEAD = 59

_MAX_OVERHEAD = _ITEM_OVERHEAD + MAX_KEY_LENGTH

# memcached keeps an item's flags in 4 more bytes when they are not 0, and
# the adapters' serializer (caching.adapters.serializer) sends every value
# but plain bytes with flags (measured on memcached 1.6 -I 1m through each
# adapter, 1-byte key: 1048516 bytes with flags 0, 1048512 with flags).
_FLAGS = 4

# What the serializer may add to a str or bytes of n characters beyond 4n
# bytes: a leading "_" and the flags, or a pickle's opcodes, length, memo
# and frame (at most 22 bytes) and the flags.
_TEXT_SLACK = 32

# A float, bool, None, complex or an int within +-2**64 takes at most this
# much, pickled or as decimal text, with its flags.
_SCALAR_BOUND = 64

_SCALARS = frozenset({float, bool, type(None), complex})

# A value of a batch takes at most this much more, alone and as the adapters
# send it, than the pickle of a list of the batch's values: a pickle's header,
# frame and stop, or a str's quote, and the flags.
_BATCH_SLACK = 48

# Immutable values need no copy: copy_values stores them as they are.
_IMMUTABLE = _SCALARS | {int, str, bytes}

# get_multi reads a batch of at most this many keys item by item, with no
# fixed cost of its path for large batches (docs/PERFORMANCE.md).
_FEW = 16


# The walk of _item_size saves a pickle only when compiled (mypyc): run by
# the interpreter it costs more than the pickle (docs/PERFORMANCE.md, "Item size").
def _unsure(values: list[Any], budget: int) -> bool:
    """What stands for the walk where it is not compiled: it settles nothing."""
    return False


_walk_fits = (
    _item_size.fits
    if isinstance(_item_size.__loader__, importlib.machinery.ExtensionFileLoader)
    else _unsure
)

# get_multi reads through _reads' loop where it is compiled ("Compiled reads").
_COMPILED_READS = isinstance(_reads.__loader__, importlib.machinery.ExtensionFileLoader)

# Counters stay within compact ints in practice: the full range (to 2**64-1)
# takes the complete check (docs/PERFORMANCE.md, "Small counters").
_SMALL = 2**30 - 1


class _Pickled(bytes):
    """A value stored by ``copy_values``: unpickled afresh on every read."""


def _copy(value: Any) -> Any:
    """What ``copy_values`` stores for ``value``."""
    return value if value.__class__ in _IMMUTABLE else _Pickled(pickled(value))


def _charge(value: Any) -> int:
    """The bytes ``value`` takes of memcached's item size as the adapters
    send it (:func:`caching.adapters.serializer.dumps`): its data, and 4 for
    its flags when they are not 0.

    :raises TypeError: ``value`` cannot be pickled.
    """
    kind = value.__class__
    if kind is _Pickled:  # what the adapters pickle too (flags 1)
        return len(value) + _FLAGS
    if kind is str or kind is bytes or kind is int or kind is bool:
        data, flags = dumps(value)
        return len(data) + _FLAGS if flags else len(data)
    return len(pickled(value)) + _FLAGS  # dumps pickles any other value


def _pickle_fits(values: list[Any], budget: int) -> bool:
    """Whether each of ``values`` surely takes at most ``budget`` bytes of
    the item size as the adapters send it (:func:`_charge`), measured by one
    pickle of those that are not short str/bytes or scalars: it holds each of
    them whole, within :data:`_BATCH_SLACK`. ``False`` also when one cannot
    be pickled: each is measured then, and that one raises ``TypeError``
    naming its type."""
    if budget < _SCALAR_BOUND:
        return False
    short = (budget - _TEXT_SLACK) // 4  # as MemoryCache._short_value
    others = [
        value
        for value in values
        if not (
            ((value.__class__ is str or value.__class__ is bytes) and len(value) <= short)
            or value.__class__ in _SCALARS
            or (value.__class__ is int and -MAX_COUNTER < value < MAX_COUNTER)
        )
    ]
    if not others:
        return True
    try:
        return len(pickle.dumps(others, pickle.HIGHEST_PROTOCOL)) + _BATCH_SLACK <= budget
    except Exception:  # PicklingError, TypeError, AttributeError...
        return False


def _surely_fit(values: list[Any], budget: int) -> bool:
    """Whether each of ``values`` surely takes at most ``budget`` bytes of
    the item size as the adapters send it; ``False`` when one may not (then
    each is measured exactly by :func:`_fits`). The compiled walk of plain
    containers settles records without building anything; other values, and
    every value where it is not compiled, are bounded by one pickle
    (docs/PERFORMANCE.md, "Item size")."""
    return _walk_fits(values, budget) or _pickle_fits(values, budget)


def _fits(key: Key, value: Any, limit: int) -> bool:
    """Whether ``key`` (in its canonical form) and ``value`` fit memcached's
    item size ``limit``, in bytes, as an adapter would send them.

    :raises TypeError: ``value`` cannot be pickled.
    """
    key_size = len(key) if key.__class__ is str and key.isascii() else len(key_bytes(key))
    return _ITEM_OVERHEAD + key_size + _charge(value) <= limit


def _storer(mode: str) -> Callable[..., bool]:
    """Build ``set``, ``add`` or ``replace``: one body, no extra call per use
    (see docs/PERFORMANCE.md, "Methods built once").

    Decides by :func:`caching.store_rules.store_decision`. The key may be
    unchecked at first: a key found in the store is valid, any other is
    checked (and put in its canonical form) before anything changes. An
    ``add`` over a live item and a ``replace`` without one answer ``False``
    before the value is measured or copied.
    """

    def store(
        self: MemoryCache, key: Key, value: Any, time: Time = 0, namespace: str | None = None
    ) -> bool:
        if not self._plain:
            key = self._key(key)
        clock = self._clock
        items = self._items
        if mode is not SET:  # decided before measuring (a lock-free read)
            item = items.get(key)
            if item is None:
                key = canonical_key(key)
                item = items.get(key)
            # an expiry second E has passed when E <= the time now (a float)
            if (
                item is not None
                and (not item[1] or item[1] > (_wall_time() if clock is None else clock()))
            ) is (mode is ADD):
                if not (time.__class__ is int and 0 <= time <= MAX_RELATIVE):
                    expires_at(time, int(self._now()))  # a bad time raises here too
                return False  # KEEP: add over a live item, replace without one
        # whole seconds (docs/PERFORMANCE.md, "The clock")
        now = _wall_time_ns() // 1_000_000_000 if clock is None else int(clock())
        if time.__class__ is int and 0 <= time <= MAX_RELATIVE:
            expiry = now + time if time else 0
        else:
            expiry = expires_at(time, now)
        if self._copy_values:
            value = _copy(value)
        kind = value.__class__
        fits = (
            ((kind is str or kind is bytes) and len(value) <= self._short_value)
            or (kind in _SCALARS and self._scalars_fit)
            or (kind is int and self._scalars_fit and -MAX_COUNTER < value < MAX_COUNTER)
            or self._max_item_size is None
            or _walk_fits([value], self._budget)  # one call: _surely_fit inlined
            or _pickle_fits([value], self._budget)
            or _fits(canonical_key(key), value, self._max_item_size)
        )
        self._lock.acquire()  # not ``with`` (docs/PERFORMANCE.md, "Locks")
        try:
            item = items.get(key)
            if item is None:
                key = canonical_key(key)
                item = items.get(key)
            expired = expiry <= now and expiry != 0
            if mode is not SET or expired or not fits:  # else STORE (PERFORMANCE.md, "Stores")
                live = item is not None and (not item[1] or item[1] > now)
                decision = store_decision(mode, live, fits, expired)
                if decision:  # all but STORE (0)
                    if DROPS_OLD[decision]:
                        self._drop(key)
                    return ANSWERS[decision]
            if item is None or item[1] != expiry:  # else a rewrite: the index has the key
                self._index(key, expiry, now)
            items[key] = [value, expiry]  # one store: readers see both or neither
            if self._lru:
                self._used(key, now)
        finally:
            self._lock.release()
        return True

    store.__name__ = store.__qualname__ = mode
    return store


def _counted(value: Any) -> int:
    """A stored value that is not a small int, as memcached's incr/decr read
    what an adapter sent for it: an ``int`` or ``bool`` in ``0 .. 2**64-1``
    counts; anything else, an ``int`` subclass too (the adapters pickle it),
    is not numeric.

    :raises ValueError: not a counter (the message names the value's type).
    """
    if value.__class__ is _Pickled:
        value = pickle.loads(value)
    kind = value.__class__
    if (kind is int or kind is bool) and 0 <= value < MAX_COUNTER:
        return int(value)
    raise counters.non_numeric(kind)


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
        if self._fast and delta.__class__ is int and initial_value is None:
            # a live small counter (docs/PERFORMANCE.md, "Small counters"): no
            # key check (a stored key is valid), no wrap or floor to apply
            lock = self._lock
            lock.acquire()
            try:
                held = self._items[key]
                value, expiry = held
                if value.__class__ is int and (not expiry or expiry > _wall_time()):
                    if up:
                        new = value + delta
                        if value >= 0 and new >= value and new <= _SMALL:
                            held[0] = new
                            return new
                    else:
                        new = value - delta
                        if new >= 0 and new <= value and value <= _SMALL:
                            held[0] = new
                            return new
            except KeyError:  # missing: the general path decides
                pass
            finally:
                lock.release()
        if delta.__class__ is not int or not 0 <= delta <= _SMALL:
            delta = counters.check_delta(delta)
        if initial_value is not None and (
            initial_value.__class__ is not int or not 0 <= initial_value <= _SMALL
        ):
            initial_value = counters.check_initial(initial_value)
        if not self._plain:
            key = self._key(key)
        items = self._items
        self._lock.acquire()  # not ``with`` (docs/PERFORMANCE.md, "Locks")
        try:
            item = items.get(key)
            if item is None:
                key = canonical_key(key)  # a stored key is valid: only check the others
                item = items.get(key)
            if item is not None:
                value, expiry = item
                if expiry and expiry <= (_wall_time() if self._clock is None else self._clock()):
                    item = None  # expired
                elif value.__class__ is not int or not 0 <= value <= _SMALL:
                    value = _counted(value)
            if item is None:  # missing or expired
                if initial_value is None:
                    return None
                value = initial_value  # created, with no expiry
            if up:  # both below 2**64: one wrap at most
                value += delta
                if value > _SMALL and value >= MAX_COUNTER:
                    value -= MAX_COUNTER
            else:
                value = value - delta if value > delta else 0
            if item is None:
                items[key] = [value, 0]
            else:
                item[0] = value  # in place: the expiry stays, so a reader sees a whole item
            if self._lru:
                self._used(key, int(self._now()))
        finally:
            self._lock.release()
        return value  # type: ignore[no-any-return]  # an int: checked above

    count.__name__ = count.__qualname__ = "incr" if up else "decr"
    return count


class MemoryCache:
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
        looked up at each call, so freezegun applies). Inject one to control
        expiry in tests.
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
        # a str or bytes of at most this length fits whatever its key (a str
        # encodes to at most 4 bytes a character), and so does a scalar when
        # _scalars_fit (docs/PERFORMANCE.md, "Item size")
        limit = -1 if max_item_size is None else max_item_size - _MAX_OVERHEAD
        self._short_value = (limit - _TEXT_SLACK) // 4
        self._budget = limit  # bytes a value may take, whatever its key
        self._scalars_fit = limit >= _SCALAR_BOUND
        self._copy_values = copy_values
        self._encode = key_encode
        self._clock = clock
        self._lru = max_items is not None
        # Reads take the short path unless an option needs the general one.
        self._plain = not (self._lru or copy_values or key_encode)
        # incr/decr of a live small counter take their short path
        self._fast = self._plain and clock is None
        # key -> [value, expiry second or 0 for never]: a store publishes a
        # new pair in one step, so a lock-free reader sees a whole item or
        # none (two dicts could not be updated together: a reader could pair
        # a new value with an old expiry); incr changes only the value, in
        # place. An item stored already expired is not stored at all. The LRU
        # order, with max_items, is the order of _items.
        self._items: dict[Key, list[Any]] = OrderedDict() if self._lru else {}
        # expiry second -> keys stored with it; a heap of those seconds. Every
        # item with an expiry has its second in the heap, so when the heap's
        # smallest second is in the future, no item has expired.
        self._buckets: dict[int, list[Key]] = {}
        self._seconds: list[int] = []
        self._indexed = 0
        # bumped before anything leaves the heap: see get_multi
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

    def _now(self) -> float:
        return _wall_time() if self._clock is None else self._clock()

    def _key(self, key: Key) -> Key:
        return canonical_key(key if self._encode is None else self._encode(key))

    # -- reads ------------------------------------------------------------

    def get(self, key: Key, namespace: str | None = None) -> Any:
        if not self._plain:
            return self._lookup(key, None)
        # Only valid keys are ever stored, so a hit needs no key check.
        item = self._items.get(key)
        if item is None:  # a miss: check the key
            if is_plain_key(key):  # its own canonical form
                return None
            canonical = canonical_key(key)
            if canonical is key:
                return None
            item = self._items.get(canonical)  # bytes given for a str key
            if item is None:
                return None
        value, expiry = item
        if expiry:
            clock = self._clock
            if expiry <= (_wall_time() if clock is None else clock()):
                return None
        return value

    def get_multi(self, keys: Iterable[Key], namespace: str | None = None) -> dict[Key, Any]:
        if keys.__class__ is not list and keys.__class__ is not tuple:
            reject_single_key(keys)
            keys = list(keys)
        if not self._plain:
            return self._read_each(keys, self._now())
        clock = self._clock
        if _COMPILED_READS:  # one C loop (docs/PERFORMANCE.md, "Compiled reads")
            second = _wall_time_ns() // 1_000_000_000 if clock is None else int(clock())
            found, missing, expired = _reads.live_values(self._items, keys, second)
            if missing and not plain_keys(missing):  # a plain key is its canonical form
                expired = self._read_canonical(missing, second, found) or expired
            if expired:
                self._try_reclaim(second)  # all that expired go
            return found
        if len(keys) <= _FEW:  # item by item (docs/PERFORMANCE.md, "Small batches")
            # An expiry second has passed when it is <= the whole second now.
            second = _wall_time_ns() // 1_000_000_000 if clock is None else int(clock())
            found = {}
            items = self._items
            for key in keys:
                item = items.get(key)
                if item is None:  # a miss: check the key
                    canonical = canonical_key(key)
                    if canonical is key:
                        continue
                    item = items.get(canonical)  # bytes given for a str key
                    if item is None:
                        continue
                value, expiry = item
                if expiry and expiry <= second:
                    self._try_reclaim(second)  # it and all that expired before it go
                elif value is not None:
                    found[key] = value
            return found
        now = _wall_time() if clock is None else clock()
        # When no item has expired (the heap's smallest second is in the
        # future), the values are read without their expiries, at C speed.
        # The epoch, bumped before any second leaves the heap, tells whether
        # that stayed true while they were read.
        head = self._seconds[:1]  # one read: the heap may empty meanwhile
        if head and head[0] <= now and not self._try_reclaim(now):
            return self._read_each(keys, now)
        epoch = self._epoch
        found = {}
        for key, item in zip(keys, map(self._items.get, keys)):  # noqa: B905  # same length; strict= parses a keyword (docs/PERFORMANCE.md)
            if item is None:  # a miss: check the key
                canonical = canonical_key(key)
                if canonical is key:
                    continue
                item = self._items.get(canonical)  # bytes given for a str key
                if item is None or (item[1] and item[1] <= now):
                    continue
            value = item[0]
            if value is not None:
                found[key] = value
        head = self._seconds[:1]
        if (head and head[0] <= now) or self._epoch != epoch:
            return self._read_each(keys, now)
        return found

    def _read_canonical(self, missing: list[Key], second: int, found: dict[Key, Any]) -> bool:
        """Add to ``found`` the live items of the keys of ``missing`` (not in
        the items as given) under their canonical form: bytes given for a
        str key. Checks each key.

        :returns: whether an expired item was met (the caller reclaims).
        :raises InvalidKeyError: a key breaks the key rules.
        """
        items, expired = self._items, False
        for key in missing:
            canonical = canonical_key(key)
            if canonical is key:
                continue
            item = items.get(canonical)
            if item is None:
                continue
            if item[1] and item[1] <= second:
                expired = True
            elif item[0] is not None:
                found[key] = item[0]
        return expired

    def _try_reclaim(self, now: float) -> bool:
        """Reclaim the items expired by ``now`` unless a writer holds the
        lock (a reader never waits); whether it did."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            self._reclaim(int(now))
        finally:
            self._lock.release()
        return True

    def _read_each(self, keys: Iterable[Key], now: float) -> dict[Key, Any]:
        """The general get_multi: each key through :meth:`_lookup`."""
        found = {}
        for key in keys:
            value = self._lookup(key, now)
            if value is not None:
                found[key] = value
        return found

    def _lookup(self, key: Key, now: float | None) -> Any:
        """The general read: key_encode, canonical form, LRU and copies."""
        key = self._key(key)
        item = self._items.get(key)
        if item is None:
            return None
        value, expiry = item
        if expiry and expiry <= (self._now() if now is None else now):
            return None
        if value is None:
            return None
        if self._lru:
            with self._lock:  # the LRU order changes only under the lock
                self._touch(key)
        return pickle.loads(value) if value.__class__ is _Pickled else value

    def _touch(self, key: Key) -> None:
        with contextlib.suppress(KeyError):  # deleted by another thread meanwhile
            self._items.move_to_end(key)  # type: ignore[attr-defined]

    # -- stores -----------------------------------------------------------

    if TYPE_CHECKING:  # the signatures of the methods _storer builds

        def set(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
            """As :meth:`caching.contract.Cache.set`."""

        def add(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
            """As :meth:`caching.contract.Cache.add`."""

        def replace(
            self, key: Key, value: Any, time: Time = 0, namespace: str | None = None
        ) -> bool:
            """As :meth:`caching.contract.Cache.replace`."""

    else:
        set = _storer(SET)
        add = _storer(ADD)
        replace = _storer(REPLACE)

    def set_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._store_multi(mapping, time, SET)

    def add_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._store_multi(mapping, time, ADD)

    def replace_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._store_multi(mapping, time, REPLACE)

    def _store_multi(self, mapping: Mapping[Key, Any], time: Time, mode: str) -> list[Key]:
        """``set_multi``, ``add_multi`` or ``replace_multi``: the batch is
        checked whole -- the time once, then every key and value (copied,
        measured) -- and stored under one acquisition of the lock, each item
        decided as :meth:`set` decides it. Returns the keys given that were
        not stored, in the mapping's order."""
        if mapping.__class__ is not dict:  # a dict is a mapping: no ABC check
            check_mapping(mapping)
        clock = self._clock
        now = _wall_time_ns() // 1_000_000_000 if clock is None else int(clock())
        if time.__class__ is int and 0 <= time <= MAX_RELATIVE:
            expiry = now + time if time else 0
        else:
            expiry = expires_at(time, now)
        given = list(mapping)
        values = list(mapping.values())
        plain = self._plain and plain_keys(given)  # all checked at once, in C
        keys = given if plain else [self._key(key) for key in given]
        if self._copy_values:
            values = [_copy(value) for value in values]
        limit = self._max_item_size
        refused = set()
        # one check of the batch; only one near the limit is measured value
        # by value (docs/PERFORMANCE.md, "Batches as batches")
        if limit is not None and not _surely_fit(values, self._budget):
            refused = {
                index for index, value in enumerate(values) if not _fits(keys[index], value, limit)
            }
        expired = expiry <= now and expiry != 0
        items = self._items
        failed: list[Key] = []  # not list[Key](): calling the alias costs a failed setattr
        self._lock.acquire()  # not ``with`` (docs/PERFORMANCE.md, "Locks")
        try:
            if mode is SET and not expired and not refused:  # all stored ("Stores")
                for key, value in zip(keys, values):  # noqa: B905  # same length, as above
                    item = items.get(key)
                    if item is None or item[1] != expiry:
                        self._index(key, expiry, now)
                    items[key] = [value, expiry]
                    if self._lru:
                        self._used(key, now)
                return failed
            for index, key in enumerate(keys):
                item = items.get(key)
                live = item is not None and (not item[1] or item[1] > now)
                decision = store_decision(mode, live, index not in refused, expired)
                if decision:  # all but STORE (0)
                    if DROPS_OLD[decision]:
                        self._drop(key)
                    if not ANSWERS[decision]:
                        failed.append(given[index])
                    continue
                if item is None or item[1] != expiry:
                    self._index(key, expiry, now)
                items[key] = [values[index], expiry]
                if self._lru:
                    self._used(key, now)
        finally:
            self._lock.release()
        return failed

    def _index(self, key: Key, expiry: int, now: int) -> None:
        """Before a new item or a new expiry of ``key`` is stored (under the
        lock): drop what has expired, and file ``key`` under its expiry
        second, so that it is indexed before it can be read."""
        seconds = self._seconds
        if seconds and seconds[0] <= now:
            self._reclaim(now)
        if expiry:
            bucket = self._buckets.get(expiry)
            if bucket is None:
                bucket = self._bucket(expiry)
            bucket.append(key)
            self._indexed += 1

    def _drop(self, key: Key) -> Any:
        """Remove ``key``'s item (under the lock); its expiry, or None."""
        item = self._items.pop(key, None)
        return None if item is None else item[1]

    # -- reclaiming expired items (under the lock) ------------------------

    def _bucket(self, expiry: int) -> list[Key]:
        """A new bucket for ``expiry``, its second pushed on the heap."""
        # Overwritten items leave stale entries; when they dominate, rebuild
        # the index from the items stored (the one being written is not yet).
        if self._indexed >= 4 * len(self._items) + 1024:
            self._reindex()
            bucket = self._buckets.get(expiry)
            if bucket is not None:
                return bucket
        bucket = self._buckets[expiry] = []
        heapq.heappush(self._seconds, expiry)
        return bucket

    def _reindex(self) -> None:
        buckets: dict[int, list[Key]] = {}
        for key, (_, expiry) in list(self._items.items()):
            if expiry:
                buckets.setdefault(expiry, []).append(key)
        seconds = list(buckets)
        heapq.heapify(seconds)
        self._epoch += 1
        self._buckets, self._seconds = buckets, seconds
        self._indexed = len(self._items)

    def _reclaim(self, now: int) -> None:
        """Drop every item whose expiry second has passed."""
        items, buckets, seconds = self._items, self._buckets, self._seconds
        self._epoch += 1
        while seconds and seconds[0] <= now:
            second = seconds[0]  # leaves the heap after its items are gone
            keys = buckets.pop(second)
            self._indexed -= len(keys)
            for key in keys:
                item = items.get(key)
                if item is not None and item[1] == second:
                    del items[key]
            heapq.heappop(seconds)

    def _used(self, key: Key, now: int) -> None:
        """With ``max_items``, after ``key`` was written: it moves to the LRU
        head; past the bound, expired items go first, then the LRU tail."""
        self._touch(key)
        items, limit = self._items, self._max_items
        if limit is None or len(items) <= limit:
            return
        self._reclaim(now)
        # never ``key``: it is the most recent (reads, too, touch under the lock)
        while len(items) > limit:
            items.popitem(last=False)  # type: ignore[call-arg]

    # -- deletes ----------------------------------------------------------

    def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool:
        if self._plain:  # a stored key is valid: only a miss checks the key
            lock = self._lock
            lock.acquire()  # not ``with`` (docs/PERFORMANCE.md, "Locks")
            try:
                item = self._items.pop(key, None)
                if item is None:
                    canonical = canonical_key(key)
                    if canonical is key:
                        return False
                    item = self._items.pop(canonical, None)  # bytes given for a str key
                    if item is None:
                        return False
            finally:
                lock.release()
            expiry = item[1]
            return not expiry or expiry > self._now()
        key = self._key(key)
        with self._lock:
            expiry = self._drop(key)
        return expiry is not None and (not expiry or expiry > self._now())

    def delete_multi(
        self, keys: Iterable[Key], seconds: int = 0, namespace: str | None = None
    ) -> bool:
        stored_keys = [self._key(key) for key in check_keys(keys)]
        with self._lock:
            for key in stored_keys:
                self._drop(key)
        return True

    def ping(self) -> dict[str, float | None]:
        """``{"memory": seconds}``: the time of one read, in process."""
        started = perf_counter()
        self.get("caching-ping")
        return {"memory": perf_counter() - started}

    def flush_all(self) -> bool:
        with self._lock:
            self._epoch += 1
            self._items.clear()
            self._buckets.clear()
            self._seconds.clear()
            self._indexed = 0
        return True

    # -- counters ---------------------------------------------------------

    if TYPE_CHECKING:  # the signatures of the methods _counter builds

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

    else:
        incr = _counter(up=True)
        decr = _counter(up=False)
