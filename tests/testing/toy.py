"""A toy backend, a dict and a lock, written from CONTRACT.md and the Protocol alone.

``tests/testing/test_contract_tests.py`` copies this file into a directory
outside the repository and runs :class:`caching.testing.ContractTests` on it:
:class:`ToyCache` passes the whole suite, and each subclass at the end of the
file breaks one rule and fails it. The toy uses the public rule helpers of
``caching`` (keys, expiry, store decision, counters, pickling), not ``MemoryCache``.
"""

from __future__ import annotations

import pickle
import threading
import time as _time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from caching import counters
from caching.expiry import MAX_EXPTIME, Time, expires_at
from caching.key_rules import Key, canonical_key, check_mapping, key_bytes, reject_single_key
from caching.store_rules import ADD, REPLACE, SET, Decision, store_decision
from caching.values import pickled

#: memcached's default item size (``-I 1m``) and what it counts besides the
#: key and the value: item header, CAS, the key's NUL and the value's CRLF.
ITEM_SIZE = 1024 * 1024
ITEM_OVERHEAD = 59

#: An item: the value pickled (every read unpickles a fresh copy, as from a
#: server) and the whole second it is gone at, ``0`` for never.
Item = tuple[bytes, int]


def _nbytes(data: str | bytes) -> int:
    """The length of ``data`` in bytes, a str as UTF-8."""
    return len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)


class ToyCache:
    """The cache contract over a dict; one lock makes every call atomic."""

    def __init__(self) -> None:
        self._items: dict[Key, Item] = {}  # by canonical key: a str and its UTF-8 bytes agree
        self._lock = threading.Lock()

    def _key(self, key: Key) -> Key:
        """The key's canonical form; raises ``InvalidKeyError`` or ``TypeError``."""
        return canonical_key(key)

    def _now(self) -> int:
        return int(_time.time())

    def _live(self, key: Key, now: int) -> Item | None:
        """The live item of canonical ``key``, dropping an expired one (call under the lock)."""
        item = self._items.get(key)
        if item is not None and item[1] and item[1] <= now:
            del self._items[key]
            return None
        return item

    def _store(self, mode: str, pairs: list[tuple[Key, Any]], time: Time) -> list[Key]:
        """Run memcached's ``mode`` command on each pair; return the keys (as
        given) not stored. Keys, time and values are all checked first."""
        checked = [(key, self._key(key), value) for key, value in pairs]
        now = self._now()
        expiry = expires_at(time, now)  # TypeError for a bad time
        expired = expiry != 0 and expiry <= now  # a negative or past time
        blobs = [pickled(value) for _, _, value in checked]  # TypeError for an unpicklable one
        not_stored: list[Key] = []
        with self._lock:
            for (key, canonical, value), blob in zip(checked, blobs, strict=True):
                # the value as a memcached client sends it: str and bytes as they are
                size = _nbytes(value) if isinstance(value, str | bytes) else len(blob)
                fits = _nbytes(canonical) + size + ITEM_OVERHEAD <= ITEM_SIZE
                live = self._live(canonical, now) is not None
                decision = store_decision(mode, live, fits, expired)
                if decision.drops_old:
                    self._items.pop(canonical, None)
                if decision is Decision.STORE:
                    self._items[canonical] = (blob, expiry)
                if not decision.stored:
                    not_stored.append(key)
        return not_stored

    def set(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return not self._store(SET, [(key, value)], time)

    def add(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return not self._store(ADD, [(key, value)], time)

    def replace(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return not self._store(REPLACE, [(key, value)], time)

    def set_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        check_mapping(mapping)
        return self._store(SET, list(mapping.items()), time)

    def add_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        check_mapping(mapping)
        return self._store(ADD, list(mapping.items()), time)

    def replace_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        check_mapping(mapping)
        return self._store(REPLACE, list(mapping.items()), time)

    def get(self, key: Key, namespace: str | None = None) -> Any:
        canonical = self._key(key)
        with self._lock:
            item = self._live(canonical, self._now())
        return None if item is None else pickle.loads(item[0])  # a stored None reads as a miss

    def get_multi(self, keys: Iterable[Key], namespace: str | None = None) -> dict[Key, Any]:
        reject_single_key(keys)
        pairs = [(key, self._key(key)) for key in keys]
        now = self._now()
        blobs: list[tuple[Key, bytes]] = []
        with self._lock:
            for key, canonical in pairs:
                item = self._live(canonical, now)
                if item is not None:
                    blobs.append((key, item[0]))
        found = {key: pickle.loads(blob) for key, blob in blobs}  # keyed as the caller gave them
        return {key: value for key, value in found.items() if value is not None}

    def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool:
        canonical = self._key(key)
        with self._lock:
            live = self._live(canonical, self._now()) is not None
            self._items.pop(canonical, None)
        return live

    def delete_multi(
        self, keys: Iterable[Key], seconds: int = 0, namespace: str | None = None
    ) -> bool:
        reject_single_key(keys)
        canonicals = [self._key(key) for key in keys]
        with self._lock:
            for canonical in canonicals:
                self._items.pop(canonical, None)
        return True

    def _count(
        self, key: Key, delta: int, initial_value: int | None, step: Callable[[int, int], int]
    ) -> int | None:
        """``incr``/``decr``: ``step`` the counter; create it from ``initial_value``
        (with no expiry) when missing; the item keeps its expiry."""
        delta = counters.check_delta(delta)
        initial = counters.check_initial(initial_value)
        canonical = self._key(key)
        with self._lock:
            item = self._live(canonical, self._now())
            if item is not None:
                value, expiry = counters.counter_value(pickle.loads(item[0])), item[1]
            elif initial is None:
                return None
            else:
                value, expiry = initial, 0
            value = step(value, delta)
            self._items[canonical] = (pickled(value), expiry)
        return value

    def incr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return self._count(key, delta, initial_value, counters.incr)  # wraps at 2**64

    def decr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return self._count(key, delta, initial_value, counters.decr)  # stops at 0

    def flush_all(self) -> bool:
        with self._lock:
            self._items.clear()
        return True

    def ping(self) -> dict[str, float | None]:
        return {"toy": 0.0}


# Broken toys: each overrides one method of ToyCache and breaks one rule.


class AddOverwrites(ToyCache):
    """``add`` stores over a live item."""

    def add(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return self.set(key, value, time, namespace)


class DeleteAlwaysTrue(ToyCache):
    """``delete`` answers ``True`` for a missing key too."""

    def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool:
        super().delete(key, seconds, namespace)
        return True


class IncrNoWrap(ToyCache):
    """``incr`` adds without wrapping at ``2**64``."""

    def incr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return self._count(key, delta, initial_value, lambda value, delta: value + delta)


class GetMultiByBytes(ToyCache):
    """``get_multi`` keys its result by the encoded keys, not the caller's."""

    def get_multi(self, keys: Iterable[Key], namespace: str | None = None) -> dict[Key, Any]:
        found = super().get_multi(keys, namespace)
        return {key_bytes(key): value for key, value in found.items()}


class NoKeyCheck(ToyCache):
    """Any str or bytes is a key: spaces, control characters, any length."""

    def _key(self, key: Key) -> Key:
        if isinstance(key, bytes):
            try:
                return key.decode("utf-8")
            except UnicodeDecodeError:
                return key
        if isinstance(key, str):
            return key
        raise TypeError(f"cache key must be str or bytes, not {type(key).__name__}")


class KeepsAnyTime(ToyCache):
    """A time memcached cannot keep (past January 2038) is kept for ever
    instead of refused."""

    def _store(self, mode: str, pairs: list[tuple[Key, Any]], time: Time) -> list[Key]:
        if type(time) is int and time > MAX_EXPTIME:
            time = 0
        return super()._store(mode, pairs, time)
