"""A dogpile.cache backend over any ``caching`` backend or URL.

Registered under dogpile.cache's entry point as ``caching``::

    from dogpile.cache import make_region

    region = make_region().configure(
        "caching",
        expiration_time=300,
        arguments={"url": "memcached://10.0.0.1:11211?client=pymemcache"},
    )

A codebase that speaks dogpile.cache's API gets this project's backends
under it: their failure handling (a down server answers as a miss and is
logged once per period, never raises), key rules, serializers and signing
(``?serializer=...&secret_env=...`` in the URL), and a dogpile lock that
works across processes (``get_mutex``, over :class:`~caching.patterns.onepass.OnePass`).

Needs the ``dogpile`` extra (``pip install 'caching-toolkit[dogpile]'``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from dogpile.cache.api import (
    NO_VALUE,
    BackendArguments,
    BackendSetType,
    CacheBackend,
    CacheMutex,
    CacheReturnType,
    KeyType,
)

from caching.contract import Cache
from caching.encoding import base64_encode, hash_encode, string_encode
from caching.expiry import lifetime
from caching.patterns.onepass import POLL_INTERVAL, OnePass, pass_key
from caching.url import from_url

__all__ = ["KEY_ENCODERS", "CachingBackend", "CachingMutex"]

#: The names ``arguments["key_encode"]`` takes (or pass a callable).
KEY_ENCODERS: dict[str, Callable[[Any], Any] | None] = {
    "string": string_encode,
    "base64": base64_encode,
    "sha1": hash_encode(hashlib.sha1),
    "none": None,
}

#: Seconds a dogpile lock lives when its holder dies (``lock_timeout``).
DEFAULT_LOCK_TIMEOUT = 30


class CachingMutex(CacheMutex):
    """dogpile's lock for one key, across every process that shares the
    backend: a :class:`~caching.patterns.onepass.OnePass` (memcached's
    atomic ``add`` of a lock item, deleted on release, expiring after
    ``time`` seconds if its holder dies).

    :param cache: the backend.
    :param key: the lock item's key.
    :param time: seconds the lock item lives.
    :param namespace: passed to every cache call.
    """

    def __init__(self, cache: Cache, key: str, time: int, namespace: str | None) -> None:
        self.cache = cache
        self.key = key
        self.time = time
        self.namespace = namespace
        self._held: OnePass | None = None

    def acquire(self, wait: bool = True) -> bool:
        """Take the lock.

        :param wait: block until it is free (waiting on its holder in this
            process, polling every 5 ms otherwise) rather than answer at once.
        :returns: whether this caller may go on as the holder. While the
            backend fails (a memcached adapter reports a server failure in
            its ``add`` or ``get``: ``failed_calls()``), a waiting caller goes
            on without a lock, as with no cache at all: its value cannot be
            stored anyway, and waiting would block it for good. Without
            ``wait``, ``False``.
        """
        failed_calls: Callable[[], int] | None = getattr(self.cache, "failed_calls", None)
        while True:
            before = failed_calls() if failed_calls is not None else 0
            attempt = OnePass(self.cache, self.key, self.time, self.namespace)
            attempt.__enter__()
            if attempt.acquired:
                self._held = attempt
                return True
            if not wait:
                return False
            if self.cache.get(self.key, self.namespace) is None:
                # Released just now (try again), or the backend failed.
                if failed_calls is not None and failed_calls() > before:
                    return True
                time.sleep(POLL_INTERVAL)
                continue
            attempt.wait()

    def release(self) -> None:
        """Release the lock this caller holds (nothing if it holds none)."""
        held, self._held = self._held, None
        if held is not None:
            held.__exit__(None, None, None)

    def locked(self) -> bool:
        """Whether anybody, in any process, holds the lock now."""
        return self.cache.get(self.key, self.namespace) is not None


class CachingBackend(CacheBackend):
    """dogpile.cache's ``CacheBackend`` over a ``caching`` backend.

    ``arguments`` (from dogpile's ``configure(..., arguments={...})``):

    - ``url`` (``str``): the backend, built by :func:`caching.from_url`; or
      ``backend``: a backend object (``MemoryCache``, an adapter, a
      ``CacheClient``...). One of them is required.
    - ``namespace`` (``str``, optional): passed to every call (a
      ``CacheClient`` routes by it).
    - ``memcached_expire_time`` (``int`` seconds, default 0: no expiry): how
      long items live on the backend. dogpile's own ``expiration_time`` is
      kept inside each value; set this longer, so that an expired value can
      still be served while it is recreated.
    - ``distributed_lock`` (``bool``, default ``True``): dogpile's lock
      across processes (:class:`CachingMutex`); ``False`` leaves dogpile its
      in-process lock.
    - ``lock_timeout`` (``int`` seconds, default 30): how long a dead
      holder's lock blocks the others.
    - ``key_encode``: how the keys the backend receives (dogpile's
      ``"module:fn|arg1 arg2"``, after the region's own ``key_mangler`` if
      it has one; they can hold spaces or pass 250 bytes) become valid keys:
      ``"string"`` (default: :func:`caching.encoding.string_encode`,
      readable, spaces escaped, long keys hashed), ``"base64"``, ``"sha1"``,
      ``"none"`` (keys as given: an invalid one raises
      :class:`caching.errors.InvalidKeyError`), or a callable. Applied to
      every key, lock keys too.

    Values are dogpile's ``CachedValue`` tuples, stored as the backend stores
    objects (the memcached adapters pickle them: use ``secret=`` against
    foreign writers). A down server answers as a miss, as everywhere here.

    :raises ValueError: no ``url``/``backend``, or an unknown ``key_encode``.
    """

    def __init__(self, arguments: BackendArguments) -> None:
        backend = arguments.get("backend")
        url = arguments.get("url")
        if backend is None and url is None:
            raise ValueError("the 'caching' dogpile backend needs arguments 'url' or 'backend'")
        self.cache: Cache = backend if backend is not None else from_url(str(url))
        self.namespace: str | None = arguments.get("namespace")
        self.time = lifetime(arguments.get("memcached_expire_time", 0))
        self.distributed_lock = bool(arguments.get("distributed_lock", True))
        self.lock_timeout = int(arguments.get("lock_timeout", DEFAULT_LOCK_TIMEOUT))
        self._encode = _key_encoder(arguments.get("key_encode", "string"))

    def has_lock_timeout(self) -> bool:
        return self.distributed_lock

    def get_mutex(self, key: KeyType) -> CacheMutex | None:
        if not self.distributed_lock:
            return None
        lock_key = pass_key("dogpile_lock:", self._key(key))
        return CachingMutex(self.cache, lock_key, self.lock_timeout, self.namespace)

    def _key(self, key: Any) -> Any:
        return key if self._encode is None else self._encode(key)

    def get(self, key: KeyType) -> CacheReturnType:
        value = self.cache.get(self._key(key), self.namespace)
        return NO_VALUE if value is None else value

    def get_multi(self, keys: Iterable[KeyType]) -> Sequence[CacheReturnType]:
        stored = [self._key(key) for key in keys]
        found = self.cache.get_multi(stored, self.namespace) if stored else {}
        return [found.get(key, NO_VALUE) for key in stored]

    def set(self, key: KeyType, value: BackendSetType) -> None:
        self.cache.set(self._key(key), value, self.time, self.namespace)

    def set_multi(self, mapping: Mapping[KeyType, BackendSetType]) -> None:
        if mapping:
            stored = {self._key(key): value for key, value in mapping.items()}
            self.cache.set_multi(stored, self.time, self.namespace)

    def delete(self, key: KeyType) -> None:
        self.cache.delete(self._key(key), 0, self.namespace)

    def delete_multi(self, keys: Iterable[KeyType]) -> None:
        stored = [self._key(key) for key in keys]
        if stored:
            self.cache.delete_multi(stored, 0, self.namespace)


def _key_encoder(choice: Any) -> Callable[[Any], Any] | None:
    if callable(choice):
        return choice  # type: ignore[no-any-return]
    if choice not in KEY_ENCODERS:
        known = ", ".join(repr(name) for name in KEY_ENCODERS)
        raise ValueError(f"unknown key_encode {choice!r} (known: {known}, or a callable)")
    return KEY_ENCODERS[choice]
