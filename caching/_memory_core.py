"""The body of :class:`caching.memory.MemoryCache`, compiled with mypyc.

``MemoryCache`` (``caching/memory.py``) is this module's :class:`MemoryCore`
with its constructor, its options and the calls that are not on a hot path.
Every call that services make per request -- ``get``, ``get_multi``, the
stores, the counters, ``delete`` -- lives here, in one native class, so that
where ``setup.py`` compiled the module each of them runs as C with the
cache's state in C fields (docs/PERFORMANCE.md, "A compiled MemoryCache").
Where it is not compiled (no C compiler, ``CACHING_PURE_PYTHON=1``) the same
source runs as plain Python, with the same answers.

Values arrive untyped (``Any``): the key rules, the time rules and the value
rules raise their own errors (``InvalidKeyError``, ``TypeError`` naming the
type), as on every backend, rather than a compiled signature's. The precise
signatures are :class:`caching.memory.MemoryCache`'s.

The rules themselves have one home each -- keys in :mod:`caching.key_rules`,
times in :mod:`caching.expiry`, storage decisions in
:mod:`caching.store_rules`, counters in :mod:`caching.counters` -- and are
only called from here.
"""

from __future__ import annotations

import contextlib
import heapq
import importlib.machinery
import pickle
from collections.abc import Iterable, Mapping
from time import time as _wall_time
from time import time_ns as _wall_time_ns
from typing import Any, Final, cast

from mypy_extensions import mypyc_attr

from caching import _item_size, _reads, counters
from caching.adapters.serializer import dumps
from caching.counters import MAX_COUNTER
from caching.expiry import MAX_RELATIVE, expires_at
from caching.key_rules import (
    MAX_KEY_LENGTH,
    canonical_key,
    check_keys,
    check_mapping,
    is_plain_key,
    key_bytes,
    plain_keys,
    reject_single_key,
)
from caching.store_rules import ADD, ANSWERS, DROPS_OLD, REPLACE, SET, store_decision
from caching.values import Pickled, pickled

__all__ = ["MemoryCore"]

# memcached 1.6 counts its item header (48 bytes), the CAS field (8), the key's
# terminating NUL and the value's CRLF against the item size limit (measured:
# with a 1-byte key, a 1048516-byte value is the largest stored under -I 1m).
ITEM_OVERHEAD: Final = 59

MAX_OVERHEAD: Final = ITEM_OVERHEAD + MAX_KEY_LENGTH

# memcached keeps an item's flags in 4 more bytes when they are not 0, and
# the adapters' serializer (caching.adapters.serializer) sends every value
# but plain bytes with flags (measured on memcached 1.6 -I 1m through each
# adapter, 1-byte key: 1048516 bytes with flags 0, 1048512 with flags).
_FLAGS: Final = 4

# What the serializer may add to a str or bytes of n characters beyond 4n
# bytes: a leading "_" and the flags, or a pickle's opcodes, length, memo
# and frame (at most 22 bytes) and the flags.
TEXT_SLACK: Final = 32

# A float, bool, None, complex or an int within +-2**64 takes at most this
# much, pickled or as decimal text, with its flags.
SCALAR_BOUND: Final = 64

_SCALARS: Final = frozenset({float, bool, type(None), complex})

# A value of a batch takes at most this much more, alone and as the adapters
# send it, than the pickle of a list of the batch's values: a pickle's header,
# frame and stop, or a str's quote, and the flags.
_BATCH_SLACK: Final = 48

# Immutable values need no copy: copy_values stores them as they are.
_IMMUTABLE: Final = frozenset({float, bool, type(None), complex, int, str, bytes})

# get_multi reads a batch of at most this many keys item by item, with no
# fixed cost of its path for large batches (docs/PERFORMANCE.md).
_FEW: Final = 16

# Counters stay within compact ints in practice: the full range (to 2**64-1)
# takes the complete check (docs/PERFORMANCE.md, "Small counters").
_SMALL: Final = 2**30 - 1

# The three storage commands, as ints for the hot path, and their names for
# caching.store_rules.
_SET: Final = 0
_ADD: Final = 1
_REPLACE: Final = 2
_MODES: Final = (SET, ADD, REPLACE)

# The walk of _item_size saves a pickle only when compiled (mypyc): run by
# the interpreter it costs more than the pickle (docs/PERFORMANCE.md, "Item
# size"). Tests switch it off to check the pickle's bound alone.
walk = isinstance(_item_size.__loader__, importlib.machinery.ExtensionFileLoader)

# get_multi reads through _reads' loop where it is compiled ("Compiled reads").
compiled_reads = isinstance(_reads.__loader__, importlib.machinery.ExtensionFileLoader)


def copy(value: Any) -> Any:
    """What ``copy_values`` stores for ``value``: the value itself when it is
    immutable, else its pickle (:class:`caching.values.Pickled`).

    :raises TypeError: ``value`` cannot be pickled.
    """
    return value if type(value) in _IMMUTABLE else Pickled(pickled(value))


def charge(value: Any) -> int:
    """The bytes ``value`` takes of memcached's item size as the adapters
    send it (:func:`caching.adapters.serializer.dumps`): its data, and 4 for
    its flags when they are not 0.

    :raises TypeError: ``value`` cannot be pickled.
    """
    kind = type(value)
    if kind is Pickled:  # what the adapters pickle too (flags 1)
        return len(value) + _FLAGS
    if kind is str or kind is bytes or kind is int or kind is bool:
        data, flags = dumps(value)
        return len(data) + _FLAGS if flags else len(data)
    return len(pickled(value)) + _FLAGS  # dumps pickles any other value


def pickle_fits(values: list[Any], budget: int) -> bool:
    """Whether each of ``values`` surely takes at most ``budget`` bytes of
    the item size as the adapters send it (:func:`charge`), measured by one
    pickle of those that are not short str/bytes or scalars: it holds each of
    them whole, within :data:`_BATCH_SLACK`. ``False`` also when one cannot
    be pickled: each is measured then, and that one raises ``TypeError``
    naming its type."""
    if budget < SCALAR_BOUND:
        return False
    short = (budget - TEXT_SLACK) // 4  # as MemoryCache._short_value
    others = [
        value
        for value in values
        if not (
            ((type(value) is str or type(value) is bytes) and len(value) <= short)
            or type(value) in _SCALARS
            or (type(value) is int and -MAX_COUNTER < value < MAX_COUNTER)
        )
    ]
    if not others:
        return True
    try:
        return len(pickle.dumps(others, pickle.HIGHEST_PROTOCOL)) + _BATCH_SLACK <= budget
    except Exception:  # PicklingError, TypeError, AttributeError...
        return False


def surely_fit(values: list[Any], budget: int) -> bool:
    """Whether each of ``values`` surely takes at most ``budget`` bytes of
    the item size as the adapters send it; ``False`` when one may not (then
    each is measured exactly by :func:`fits`). The compiled walk of plain
    containers settles records without building anything; other values, and
    every value where it is not compiled, are bounded by one pickle
    (docs/PERFORMANCE.md, "Item size")."""
    return (walk and _item_size.fits(values, budget)) or pickle_fits(values, budget)


def fits(key: Any, value: Any, limit: int) -> bool:
    """Whether ``key`` (in its canonical form) and ``value`` fit memcached's
    item size ``limit``, in bytes, as an adapter would send them.

    :raises TypeError: ``value`` cannot be pickled.
    """
    key_size = len(key) if type(key) is str and key.isascii() else len(key_bytes(key))
    return ITEM_OVERHEAD + key_size + charge(value) <= limit


def _expiry(time: Any, now: int) -> int:
    """The expiry second of an item stored at second ``now`` for ``time``
    (:func:`caching.expiry.expires_at`, whose rules and errors apply)."""
    if type(time) is int:
        seconds: int = time
        if 0 <= seconds <= MAX_RELATIVE:
            return now + seconds if seconds else 0
    return expires_at(time, now)


def _counted(value: Any) -> int:
    """A stored value that is not a small int, as memcached's incr/decr read
    what an adapter sent for it: an ``int`` or ``bool`` in ``0 .. 2**64-1``
    counts; anything else, an ``int`` subclass too (the adapters pickle it),
    is not numeric.

    :raises ValueError: not a counter (the message names the value's type).
    """
    if type(value) is Pickled:
        value = pickle.loads(value)
    kind = type(value)
    if (kind is int or kind is bool) and 0 <= value < MAX_COUNTER:
        return int(value)
    raise counters.non_numeric(kind)


@mypyc_attr(allow_interpreted_subclasses=True)
class MemoryCore:
    """The state and hot calls of :class:`caching.memory.MemoryCache`, which
    documents them and sets every field in its constructor."""

    # key -> [value, expiry second or 0 for never]: a store publishes a new
    # pair in one step, so a lock-free reader sees a whole item or none (two
    # dicts could not be updated together: a reader could pair a new value
    # with an old expiry); incr changes only the value, in place. An item
    # stored already expired is not stored at all. The LRU order, with
    # max_items, is the order of _items (an OrderedDict then).
    _items: dict[Any, list[Any]]
    # expiry second -> keys stored with it; a heap of those seconds. Every
    # item with an expiry has its second in the heap, so when the heap's
    # smallest second is in the future, no item has expired.
    _buckets: dict[int, list[Any]]
    _seconds: list[int]
    _indexed: int
    # bumped before anything leaves the heap: see get_multi
    _epoch: int
    _lock: Any  # a threading.Lock (tests count its uses)
    _clock: Any  # Callable[[], float] | None
    _encode: Any  # Callable[[Key], Key] | None
    _max_items: int | None
    _max_item_size: int | None
    # a str or bytes of at most this length fits whatever its key (a str
    # encodes to at most 4 bytes a character), and so does a scalar when
    # _scalars_fit (docs/PERFORMANCE.md, "Item size")
    _short_value: int
    _budget: int  # bytes a value may take, whatever its key
    _scalars_fit: bool
    _copy_values: bool
    _lru: bool
    # reads take the short path unless an option needs the general one
    _plain: bool
    # incr/decr of a live small counter take their short path
    _fast: bool

    # -- reads ------------------------------------------------------------

    def get(self, key: Any, namespace: Any = None) -> Any:
        if not self._plain:
            return _lookup(self, key, None)
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
        expiry: int = item[1]
        # a float comparison: an int's with a float is a generic one
        # (docs/PERFORMANCE.md, "The clock")
        if expiry and float(expiry) <= _now(self):
            return None
        return item[0]

    def get_multi(self, keys: Any, namespace: Any = None) -> dict[Any, Any]:
        if type(keys) is not list and type(keys) is not tuple:
            reject_single_key(keys)
            keys = list(keys)
        if not self._plain:
            return _read_each(self, keys, _now(self))
        if compiled_reads:  # one C loop (docs/PERFORMANCE.md, "Compiled reads")
            second = _second(self)
            found, missing, expired = _reads.live_values(self._items, keys, second)
            if missing and not plain_keys(missing):  # a plain key is its canonical form
                expired = _read_canonical(self, missing, second, found) or expired
            if expired:
                _try_reclaim(self, second)  # all that expired go
            return found
        if len(keys) <= _FEW:  # item by item (docs/PERFORMANCE.md, "Small batches")
            return _read_few(self, keys)
        return _read_many(self, keys)

    # -- stores -----------------------------------------------------------

    def set(self, key: Any, value: Any, time: Any = 0, namespace: Any = None) -> bool:
        return _store(self, key, value, time, _SET)

    def add(self, key: Any, value: Any, time: Any = 0, namespace: Any = None) -> bool:
        return _store(self, key, value, time, _ADD)

    def replace(self, key: Any, value: Any, time: Any = 0, namespace: Any = None) -> bool:
        return _store(self, key, value, time, _REPLACE)

    def set_multi(self, mapping: Any, time: Any = 0, namespace: Any = None) -> list[Any]:
        return _store_multi(self, mapping, time, _SET)

    def add_multi(self, mapping: Any, time: Any = 0, namespace: Any = None) -> list[Any]:
        return _store_multi(self, mapping, time, _ADD)

    def replace_multi(self, mapping: Any, time: Any = 0, namespace: Any = None) -> list[Any]:
        return _store_multi(self, mapping, time, _REPLACE)

    # -- deletes ----------------------------------------------------------

    def delete(self, key: Any, seconds: Any = 0, namespace: Any = None) -> bool:
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
            return not expiry or expiry > _now(self)
        key = _key(self, key)
        with self._lock:
            expiry = _drop(self, key)
        return expiry is not None and (not expiry or expiry > _now(self))

    def delete_multi(self, keys: Any, seconds: Any = 0, namespace: Any = None) -> bool:
        stored_keys = [_key(self, key) for key in check_keys(keys)]
        with self._lock:
            for key in stored_keys:
                _drop(self, key)
        return True

    def flush_all(self) -> bool:
        with self._lock:
            self._epoch += 1
            self._items.clear()
            self._buckets.clear()
            self._seconds.clear()
            self._indexed = 0
        return True

    # -- counters ---------------------------------------------------------

    def incr(
        self, key: Any, delta: Any = 1, namespace: Any = None, initial_value: Any = None
    ) -> int | None:
        return _count(self, key, delta, initial_value, True)

    def decr(
        self, key: Any, delta: Any = 1, namespace: Any = None, initial_value: Any = None
    ) -> int | None:
        return _count(self, key, delta, initial_value, False)


# -- the calls' steps: functions, not methods, so that compiled each is one
# C call (a method of a class that the interpreted MemoryCache subclasses is
# looked up by name at each call)


def _now(cache: MemoryCore) -> float:
    """The time now, in seconds (a float): the clock's, else the system's."""
    return _wall_time() if cache._clock is None else float(cache._clock())


def _second(cache: MemoryCore) -> int:
    """The whole second now (docs/PERFORMANCE.md, "The clock")."""
    clock = cache._clock
    return _wall_time_ns() // 1_000_000_000 if clock is None else int(clock())


def _key(cache: MemoryCore, key: Any) -> Any:
    """``key`` as stored: through ``key_encode``, checked, canonical."""
    return canonical_key(key if cache._encode is None else cache._encode(key))


def _read_few(cache: MemoryCore, keys: list[Any] | tuple[Any, ...]) -> dict[Any, Any]:
    """The interpreted get_multi of a small batch: item by item."""
    # An expiry second has passed when it is <= the whole second now.
    second = _second(cache)
    found = {}
    items = cache._items
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
            _try_reclaim(cache, second)  # it and all that expired before it go
        elif value is not None:
            found[key] = value
    return found


def _read_many(cache: MemoryCore, keys: list[Any] | tuple[Any, ...]) -> dict[Any, Any]:
    """The interpreted get_multi of a large batch: at C speed while no
    item has expired."""
    now = _now(cache)
    # When no item has expired (the heap's smallest second is in the
    # future), the values are read without their expiries, at C speed.
    # The epoch, bumped before any second leaves the heap, tells whether
    # that stayed true while they were read.
    head = cache._seconds[:1]  # one read: the heap may empty meanwhile
    if head and head[0] <= now and not _try_reclaim(cache, now):
        return _read_each(cache, keys, now)
    epoch = cache._epoch
    found = {}
    items = cache._items
    for key, item in zip(keys, map(items.get, keys)):  # noqa: B905  # same length; strict= parses a keyword (docs/PERFORMANCE.md)
        if item is None:  # a miss: check the key
            canonical = canonical_key(key)
            if canonical is key:
                continue
            item = items.get(canonical)  # bytes given for a str key
            if item is None or (item[1] and item[1] <= now):
                continue
        value = item[0]
        if value is not None:
            found[key] = value
    head = cache._seconds[:1]
    if (head and head[0] <= now) or cache._epoch != epoch:
        return _read_each(cache, keys, now)
    return found


def _read_canonical(
    cache: MemoryCore, missing: list[Any], second: int, found: dict[Any, Any]
) -> bool:
    """Add to ``found`` the live items of the keys of ``missing`` (not in
    the items as given) under their canonical form: bytes given for a
    str key. Checks each key.

    :returns: whether an expired item was met (the caller reclaims).
    :raises InvalidKeyError: a key breaks the key rules.
    """
    items, expired = cache._items, False
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


def _try_reclaim(cache: MemoryCore, now: float) -> bool:
    """Reclaim the items expired by ``now`` unless a writer holds the
    lock (a reader never waits); whether it did."""
    if not cache._lock.acquire(blocking=False):
        return False
    try:
        _reclaim(cache, int(now))
    finally:
        cache._lock.release()
    return True


def _read_each(cache: MemoryCore, keys: Iterable[Any], now: float) -> dict[Any, Any]:
    """The general get_multi: each key through :meth:`_lookup`."""
    found = {}
    for key in keys:
        value = _lookup(cache, key, now)
        if value is not None:
            found[key] = value
    return found


def _lookup(cache: MemoryCore, key: Any, now: float | None) -> Any:
    """The general read: key_encode, canonical form, LRU and copies."""
    key = _key(cache, key)
    item = cache._items.get(key)
    if item is None:
        return None
    value, expiry = item
    if expiry and expiry <= (_now(cache) if now is None else now):
        return None
    if value is None:
        return None
    if cache._lru:
        with cache._lock:  # the LRU order changes only under the lock
            _touch(cache, key)
    return pickle.loads(value) if type(value) is Pickled else value


def _touch(cache: MemoryCore, key: Any) -> None:
    with contextlib.suppress(KeyError):  # deleted by another thread meanwhile
        cast(Any, cache._items).move_to_end(key)  # an OrderedDict with max_items


def _store(cache: MemoryCore, key: Any, value: Any, time: Any, mode: int) -> bool:
    """``set``, ``add`` or ``replace`` (``mode``), decided by
    :func:`caching.store_rules.store_decision`.

    The key may be unchecked at first: a key found in the store is
    valid, any other is checked (and put in its canonical form) before
    anything changes. An ``add`` over a live item and a ``replace``
    without one answer ``False`` before the value is measured or copied.
    """
    if not cache._plain:
        key = _key(cache, key)
    items = cache._items
    if mode != _SET:  # decided before measuring (a lock-free read)
        item = items.get(key)
        if item is None:
            key = canonical_key(key)
            item = items.get(key)
        # an expiry second E has passed when E <= the time now (a float)
        live = item is not None and (not item[1] or item[1] > _now(cache))
        if live == (mode == _ADD):
            if type(time) is not int or not 0 <= time <= MAX_RELATIVE:
                _expiry(time, _second(cache))  # a bad time raises here too
            return False  # KEEP: add over a live item, replace without one
    now = _second(cache)
    expiry = _expiry(time, now)
    if cache._copy_values:
        value = copy(value)
    kind = type(value)
    fit = (
        ((kind is str or kind is bytes) and len(value) <= cache._short_value)
        or (kind in _SCALARS and cache._scalars_fit)
        or (kind is int and cache._scalars_fit and -MAX_COUNTER < value < MAX_COUNTER)
        or cache._max_item_size is None
        or surely_fit([value], cache._budget)
        or fits(canonical_key(key), value, cache._max_item_size)
    )
    lock = cache._lock
    lock.acquire()  # not ``with`` (docs/PERFORMANCE.md, "Locks")
    try:
        item = items.get(key)
        if item is None:
            key = canonical_key(key)
            item = items.get(key)
        expired = expiry <= now and expiry != 0
        if mode != _SET or expired or not fit:  # else STORE (PERFORMANCE.md, "Stores")
            live = item is not None and (not item[1] or item[1] > now)
            decision = store_decision(_MODES[mode], live, fit, expired)
            if decision:  # all but STORE (0)
                if DROPS_OLD[decision]:
                    _drop(cache, key)
                return ANSWERS[decision]
        if item is None or item[1] != expiry:  # else a rewrite: the index has the key
            _index(cache, key, expiry, now)
        items[key] = [value, expiry]  # one store: readers see both or neither
        if cache._lru:
            _used(cache, key, now)
    finally:
        lock.release()
    return True


def _store_multi(cache: MemoryCore, mapping: Any, time: Any, mode: int) -> list[Any]:
    """``set_multi``, ``add_multi`` or ``replace_multi``: the batch is
    checked whole -- the time once, then every key and value (copied,
    measured) -- and stored under one acquisition of the lock, each item
    decided as :meth:`set` decides it. Returns the keys given that were
    not stored, in the mapping's order."""
    if type(mapping) is not dict:  # a dict is a mapping: no ABC check
        check_mapping(mapping)
    now = _second(cache)
    expiry = _expiry(time, now)
    given = list(mapping)
    values = list(cast(Mapping[Any, Any], mapping).values())
    plain = cache._plain and _plain_batch(cache._items, given)
    keys = given if plain else [_key(cache, key) for key in given]
    if cache._copy_values:
        values = [copy(value) for value in values]
    limit = cache._max_item_size
    refused: set[int] = set()
    # one check of the batch; only one near the limit is measured value
    # by value (docs/PERFORMANCE.md, "Batches as batches")
    if limit is not None and not surely_fit(values, cache._budget):
        refused = {
            index for index, value in enumerate(values) if not fits(keys[index], value, limit)
        }
    expired = expiry <= now and expiry != 0
    items = cache._items
    failed: list[Any] = []
    lock = cache._lock
    lock.acquire()  # not ``with`` (docs/PERFORMANCE.md, "Locks")
    try:
        if mode == _SET and not expired and not refused:  # all stored ("Stores")
            boxed: object = expiry  # one int object for the batch ("Batches as batches")
            for key, value in zip(keys, values):  # noqa: B905  # same length, as above
                item = items.get(key)
                if item is None or item[1] != boxed:
                    _index(cache, key, expiry, now)
                items[key] = [value, boxed]
                if cache._lru:
                    _used(cache, key, now)
            return failed
        for index, key in enumerate(keys):
            item = items.get(key)
            live = item is not None and (not item[1] or item[1] > now)
            decision = store_decision(_MODES[mode], live, index not in refused, expired)
            if decision:  # all but STORE (0)
                if DROPS_OLD[decision]:
                    _drop(cache, key)
                if not ANSWERS[decision]:
                    failed.append(given[index])
                continue
            if item is None or item[1] != expiry:
                _index(cache, key, expiry, now)
            items[key] = [values[index], expiry]
            if cache._lru:
                _used(cache, key, now)
    finally:
        lock.release()
    return failed


def _plain_batch(items: dict[Any, list[Any]], keys: list[Any]) -> bool:
    """Whether every key of a batch names its item as given: a ``str`` key
    found in ``items`` (a stored key is valid and canonical, as for
    :meth:`set`), the others checked at once by ``plain_keys``, in C
    (docs/PERFORMANCE.md, "Batches as batches")."""
    unknown = [key for key in keys if type(key) is not str or key not in items]
    return not unknown or plain_keys(unknown)


def _index(cache: MemoryCore, key: Any, expiry: int, now: int) -> None:
    """Before a new item or a new expiry of ``key`` is stored (under the
    lock): drop what has expired, and file ``key`` under its expiry
    second, so that it is indexed before it can be read."""
    seconds = cache._seconds
    if seconds and seconds[0] <= now:
        _reclaim(cache, now)
    if expiry:
        bucket = cache._buckets.get(expiry)
        if bucket is None:
            bucket = _bucket(cache, expiry)
        bucket.append(key)
        cache._indexed += 1


def _drop(cache: MemoryCore, key: Any) -> Any:
    """Remove ``key``'s item (under the lock); its expiry, or None."""
    item = cache._items.pop(key, None)
    return None if item is None else item[1]


# -- reclaiming expired items (under the lock) ------------------------


def _bucket(cache: MemoryCore, expiry: int) -> list[Any]:
    """A new bucket for ``expiry``, its second pushed on the heap."""
    # Overwritten items leave stale entries; when they dominate, rebuild
    # the index from the items stored (the one being written is not yet).
    if cache._indexed >= 4 * len(cache._items) + 1024:
        _reindex(cache)
        bucket = cache._buckets.get(expiry)
        if bucket is not None:
            return bucket
    bucket = []
    cache._buckets[expiry] = bucket
    heapq.heappush(cache._seconds, expiry)
    return bucket


def _reindex(cache: MemoryCore) -> None:
    buckets: dict[int, list[Any]] = {}
    for key, item in list(cache._items.items()):
        expiry = item[1]
        if expiry:
            buckets.setdefault(expiry, []).append(key)
    seconds = list(buckets)
    heapq.heapify(seconds)
    cache._epoch += 1
    cache._buckets, cache._seconds = buckets, seconds
    cache._indexed = len(cache._items)


def _reclaim(cache: MemoryCore, now: int) -> None:
    """Drop every item whose expiry second has passed."""
    items, buckets, seconds = cache._items, cache._buckets, cache._seconds
    cache._epoch += 1
    while seconds and seconds[0] <= now:
        second = seconds[0]  # leaves the heap after its items are gone
        keys = buckets.pop(second)
        cache._indexed -= len(keys)
        for key in keys:
            item = items.get(key)
            if item is not None and item[1] == second:
                del items[key]
        heapq.heappop(seconds)


def _used(cache: MemoryCore, key: Any, now: int) -> None:
    """With ``max_items``, after ``key`` was written: it moves to the LRU
    head; past the bound, expired items go first, then the LRU tail."""
    _touch(cache, key)
    items, limit = cache._items, cache._max_items
    if limit is None or len(items) <= limit:
        return
    _reclaim(cache, now)
    # never ``key``: it is the most recent (reads, too, touch under the lock)
    while len(items) > limit:
        cast(Any, items).popitem(last=False)


def _count(cache: MemoryCore, key: Any, delta: Any, initial_value: Any, up: bool) -> int | None:
    """``incr`` (``up``) or ``decr``. As memcached: unsigned 64-bit,
    ``incr`` wraps at ``2**64``, ``decr`` stops at 0, the item keeps its
    expiry, a counter created from ``initial_value`` has none."""
    if cache._fast and type(delta) is int and initial_value is None:
        # a live small counter (docs/PERFORMANCE.md, "Small counters"): no
        # key check (a stored key is valid), no wrap or floor to apply
        lock = cache._lock
        lock.acquire()
        try:
            held = cache._items[key]
            value = held[0]
            expiry: int = held[1]
            if type(value) is int and (not expiry or float(expiry) > _wall_time()):
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
    if type(delta) is not int or not 0 <= delta <= _SMALL:
        delta = counters.check_delta(delta)
    if initial_value is not None and (
        type(initial_value) is not int or not 0 <= initial_value <= _SMALL
    ):
        initial_value = counters.check_initial(initial_value)
    if not cache._plain:
        key = _key(cache, key)
    items = cache._items
    cache._lock.acquire()  # not ``with`` (docs/PERFORMANCE.md, "Locks")
    try:
        item = items.get(key)
        if item is None:
            key = canonical_key(key)  # a stored key is valid: only check the others
            item = items.get(key)
        if item is not None:
            value, expiry = item
            if expiry and expiry <= _now(cache):
                item = None  # expired
            elif type(value) is not int or not 0 <= value <= _SMALL:
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
        if cache._lru:
            _used(cache, key, _second(cache))
    finally:
        cache._lock.release()
    return cast(int, value)
