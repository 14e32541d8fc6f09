"""Regions: named bundles of cache settings, declared at import time and
configured at start-up; a whole region invalidated across processes.

A :class:`Region` is a :class:`~caching.patterns.cached.Cached` whose backend
and settings come later (dogpile.cache's ``make_region``/``configure``,
Beaker's ``cache_regions``)::

    # app/cache.py -- imported by the modules that decorate
    from caching.regions import Region

    short_term = Region("short_term")

    # app/products.py
    @short_term.cache_on_arguments
    def product_page(product_id: int) -> str: ...

    # app/main.py -- at start-up
    caching.configure(config["app:main"], prefix="cache.")

Calling a decorated function before its region is configured raises
:class:`~caching.errors.RegionNotConfiguredError`.

Region invalidation (:meth:`Region.invalidate`): every key the region
stores is scoped by the region's name and a *generation* number kept in the
backend (``region:<name>:generation``). ``invalidate()`` increments it, so
every item stored before reads as a miss; old items are not deleted, they
expire. A process re-reads the generation at most once per
``invalidation_check`` seconds (1 s by default), on the first call after the
period: the hit path pays one ``time.monotonic()`` and one dict lookup,
plus that one extra round trip per period. What a process sees:

- the process that calls ``invalidate()``: a miss on every item of the
  region from the next call on;
- another process sharing the backend: its items from before may still be
  read for up to ``invalidation_check`` seconds after the ``incr`` (longer
  only while the server cannot be reached: a generation that cannot be read
  is kept);
- a process on another backend (its own ``MemoryCache``) is not told.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import threading
import time as _time
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, Generic, NoReturn, TypeVar, cast

from caching.client import CacheClient
from caching.contract import Cache
from caching.errors import RegionNotConfiguredError
from caching.expiry import Time, lifetime
from caching.key_rules import MAX_KEY_LENGTH, Key, is_plain_key, key_bytes
from caching.memo import Memo
from caching.patterns.cached import Cached, CachedBase, KeyBuilder, ShouldCache
from caching.patterns.dependency import CacheDependency
from caching.patterns.stale import INLINE, REFRESH_MODES
from caching.url import from_url

__all__ = [
    "DEFAULT_INVALIDATION_CHECK",
    "SETTINGS",
    "Region",
    "RegionNotConfiguredError",
    "Regions",
    "configure",
    "declared",
]

#: Seconds between two reads of a region's generation by one process.
DEFAULT_INVALIDATION_CHECK = 1.0

#: Longest wait, in seconds, before a region whose generation is still
#: unknown reads it again after a read the backend gave no answer to (server
#: down at start-up): ``min(invalidation_check, UNANSWERED_RETRY)``.
UNANSWERED_RETRY = 1.0

#: Longest wait, in seconds, of a thread for the first read of a generation
#: another thread has under way; then it reads the generation itself (never
#: the keys of no generation while a read may still answer).
FIRST_READ_WAIT = 1.0

#: Every :class:`ScopeState` of this process, reset in a child after ``fork``.
_STATES: weakref.WeakSet[ScopeState] = weakref.WeakSet()


def _reset_after_fork() -> None:
    """In a child after ``os.fork()``: the thread reading a first generation
    (if any) did not come along, so drop its ``Event`` (the child's next call
    reads the generation) and the lock it may have held."""
    for state in list(_STATES):
        state._lock = threading.Lock()
        state._first_read = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")

R = TypeVar("R", bound=dict[str, Any])


class _Unconfigured:
    """The backend of a region not configured yet: every call raises."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attribute: str) -> NoReturn:
        raise RegionNotConfiguredError(
            f"cache region {self.name!r} is not configured: call "
            f"caching.configure(config) or the region's configure(url) at start-up, "
            f"before the first call of a function it caches"
        )


class ScopeState:
    """What a region's view of its backend decides, with no I/O (the sync
    :class:`_Scoped` and the async ``caching.aio.regions`` view share it):
    the key scoping (``"<name>.<generation>:<key>"``, or
    ``"<name>.<generation>#<sha1 of the key>"`` when that is too long), when
    the generation is read again, which read wins against this process's own
    invalidations, and the keys the generation and a soft invalidation live
    under.
    """

    def __init__(self, name: str, check: float) -> None:
        self.name = name
        self.check = check
        self.backend: Any = _Unconfigured(name)
        self.generation_key = f"region:{name}:generation"
        #: Where a soft invalidation keeps its wall-clock time (read with the
        #: generation when the region has a stale period: ``soft``).
        self.stale_key = f"region:{name}:stale_before"
        self.soft = False
        #: Values made before this wall-clock time are stale.
        self.stale_before = 0.0
        self._generation = 0
        self._next_check = 0.0  # monotonic time of the next read; 0: read now
        #: Whether a read of the generation has finished (answered or not).
        self._read_once = False
        #: Set when the first read under way ends (sync threads wait on it).
        self._first_read: threading.Event | None = None
        #: Invalidations made by this process: a read of the generation that
        #: began before one is older than it, and is dropped.
        self._invalidations = 0
        self._lock = threading.Lock()
        self._memo: Memo[Key, Key] = Memo(self._scope)
        _STATES.add(self)

    @property
    def generation(self) -> int:
        """The generation this process uses now."""
        return self._generation

    def bind(self, backend: Any, check: float) -> None:
        self.backend = backend
        self.check = check
        self._next_check = 0.0
        self._read_once = False

    # -- the generation ------------------------------------------------------

    def _set_generation(self, generation: int) -> None:
        if generation != self._generation:
            self._generation = generation
            self._memo = Memo(self._scope)

    def begin_refresh(self, first_wait: float = 0.0) -> int | None:
        """A read of the generation is due: take it. Once a generation is
        known, other callers do not read it again for ``check`` seconds;
        until one is, every caller reads it, rather than use keys of no
        generation, but only until a read has finished: after a read the
        backend gave no answer to, one caller reads it again per
        ``min(check, UNANSWERED_RETRY)`` seconds.

        :param first_wait: seconds a caller waits (blocking) for the first
            read under way in another thread, instead of reading it too
            (sync threads: :data:`FIRST_READ_WAIT`); when that read is not
            over by then (a slow server), or raised, the caller reads it
            itself, so that it never uses the keys of no generation while
            a read may still answer; ``0``: read it too (the async view,
            whose calls in a loop already share one read).
        :returns: the count of this process's invalidations so far (for
            :meth:`end_refresh`), or ``None`` when this caller does not read
            it (read just now, or the first read it waited for is over).
        """
        while True:
            with self._lock:
                now = _time.monotonic()
                if now < self._next_check:
                    return None  # another thread just read it
                first = None
                if self._generation:
                    self._next_check = now + self.check
                elif self._read_once:  # no answer so far: read again later
                    self._next_check = now + min(self.check, UNANSWERED_RETRY)
                elif self._first_read is None:
                    self._first_read = threading.Event()
                elif first_wait > 0:
                    first = self._first_read
                if first is None:
                    return self._invalidations
            # The first read, under way in another thread: when it is over
            # (answered, not answered, or raised) look again; when it is
            # still under way after ``first_wait``, read it too.
            if not first.wait(first_wait):
                with self._lock:
                    return self._invalidations

    def abort_refresh(self) -> None:
        """The read :meth:`begin_refresh` gave raised (an unconfigured
        region, a cancelled task): wake the threads waiting for it."""
        with self._lock:
            first, self._first_read = self._first_read, None
        if first is not None:
            first.set()

    def read_keys(self) -> list[str]:
        """The keys one read of the generation reads (with ``soft``, the
        wall-clock time of the last soft invalidation too)."""
        return [self.generation_key, self.stale_key] if self.soft else [self.generation_key]

    def found(self, found: Mapping[Key, Any]) -> Any:
        """Take what a read of :meth:`read_keys` found; return the generation read."""
        stale_before = found.get(self.stale_key)
        if isinstance(stale_before, float):
            self.stale_before = stale_before
        return found.get(self.generation_key)

    @staticmethod
    def is_generation(value: Any) -> bool:
        """Whether ``value`` is a generation (an ``int``, not a ``bool``)."""
        return isinstance(value, int) and not isinstance(value, bool)

    @staticmethod
    def first_generation() -> int:
        """The generation stored when none is (never set, or evicted): a
        random number, so that the items of an evicted generation do not
        come back."""
        return random.randrange(1, 2**31)

    def end_refresh(self, value: Any, seen: int) -> None:
        """Use the generation ``value`` read after :meth:`begin_refresh`
        gave ``seen``, unless this process invalidated meanwhile (the read
        is older than that) or the server did not answer (keep ours)."""
        with self._lock:
            if self.is_generation(value):
                if self._invalidations == seen:  # else older than our own invalidation
                    self._set_generation(value)
                self._next_check = max(self._next_check, _time.monotonic() + self.check)
            elif not self._generation:  # no answer: read again in a while, not at every call
                retry = min(self.check, UNANSWERED_RETRY)
                self._next_check = max(self._next_check, _time.monotonic() + retry)
            self._read_once = True
            first, self._first_read = self._first_read, None
        if first is not None:
            first.set()

    def softly_invalidated(self) -> float:
        """A soft invalidation now: values made before now are stale here at
        once. :returns: the wall-clock time to store under ``stale_key``."""
        now = _time.time()
        with self._lock:
            self.stale_before = max(self.stale_before, now)
        return now

    def invalidated(self, value: int | None) -> None:
        """This process started generation ``value`` (``None``: the backend
        did not confirm it: miss locally at least, and read it again soon)."""
        with self._lock:
            self._invalidations += 1
            self._next_check = _time.monotonic() + self.check
            if value is not None:
                self._set_generation(value)
            else:
                self._set_generation(self._generation + 1)
                self._next_check = 0.0

    def due(self) -> bool:
        """Whether the generation is to be read again before a call."""
        return _time.monotonic() >= self._next_check

    # -- keys ----------------------------------------------------------------

    def _scope(self, key: Key) -> Key:
        head = f"{self.name}.{self._generation}"
        if is_plain_key(key):
            text = cast(str, key)
            scoped: Key = f"{head}:{text}"
            if len(scoped) <= MAX_KEY_LENGTH:
                return scoped
            data = text.encode()
        else:
            data = key_bytes(key)  # raises InvalidKeyError / TypeError
            scoped = head.encode() + b":" + data
            if len(scoped) <= MAX_KEY_LENGTH:
                return scoped
        return f"{head}#{hashlib.sha1(data).hexdigest()}"


class _Scoped(ScopeState):
    """The region's view of its backend (:class:`ScopeState`'s keys): a
    contract backend itself, ``Cached`` calls it as it calls any cache.
    """

    def refresh(self) -> None:
        """Read the generation (create it when missing), at most once per period."""
        seen = self.begin_refresh(FIRST_READ_WAIT)
        if seen is None:
            return
        backend = self.backend
        try:
            if self.soft:
                value = self.found(backend.get_multi(self.read_keys()))
            else:
                value = backend.get(self.generation_key)
            if not self.is_generation(value):
                start = self.first_generation()
                value = (
                    start
                    if backend.add(self.generation_key, start)
                    else backend.get(self.generation_key)
                )
        except BaseException:
            self.abort_refresh()
            raise
        self.end_refresh(value, seen)

    def invalidate_softly(self) -> bool:
        """Make every value made before now stale (one ``set``).

        :returns: whether the backend confirmed it.
        """
        return bool(self.backend.set(self.stale_key, self.softly_invalidated()))

    def invalidate(self) -> bool:
        """Start a new generation (one ``incr``; an ``add`` when missing).

        :returns: whether the backend confirmed it.
        """
        backend = self.backend
        value = backend.incr(self.generation_key, 1)
        if value is None:
            start = self.first_generation()
            value = start if backend.add(self.generation_key, start) else None
            if value is None:
                value = backend.incr(self.generation_key, 1)
        self.invalidated(value)
        return value is not None

    def key(self, key: Key) -> Key:
        """The backend's key of the region's ``key`` (reads the generation when due)."""
        if _time.monotonic() >= self._next_check:
            self.refresh()
        return self._memo[key]

    def _keys(self, keys: Iterable[Key]) -> dict[Key, Key]:
        if isinstance(keys, (str, bytes)):
            raise TypeError("keys must be an iterable of keys, not a single key")
        return {self.key(key): key for key in keys}

    # -- the contract --------------------------------------------------------

    def set(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return self.backend.set(self.key(key), value, time, namespace)  # type: ignore[no-any-return]

    def add(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return self.backend.add(self.key(key), value, time, namespace)  # type: ignore[no-any-return]

    def replace(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return self.backend.replace(self.key(key), value, time, namespace)  # type: ignore[no-any-return]

    def _store_multi(
        self, call: str, mapping: Mapping[Key, Any], time: Time, namespace: str | None
    ) -> list[Key]:
        scoped = self._keys(mapping)
        failed = getattr(self.backend, call)(
            {s: mapping[k] for s, k in scoped.items()}, time, namespace
        )
        return [scoped[key] for key in failed]

    def set_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._store_multi("set_multi", mapping, time, namespace)

    def add_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._store_multi("add_multi", mapping, time, namespace)

    def replace_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._store_multi("replace_multi", mapping, time, namespace)

    def get(self, key: Key, namespace: str | None = None) -> Any:
        # The hit path: self.key(key) written out (one call less per hit).
        if _time.monotonic() >= self._next_check:
            self.refresh()
        return self.backend.get(self._memo[key], namespace)

    def get_multi(self, keys: Iterable[Key], namespace: str | None = None) -> dict[Key, Any]:
        scoped = self._keys(keys)
        found = self.backend.get_multi(list(scoped), namespace)
        return {scoped[key]: value for key, value in found.items()}

    def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool:
        return self.backend.delete(self.key(key), seconds, namespace)  # type: ignore[no-any-return]

    def delete_multi(
        self, keys: Iterable[Key], seconds: int = 0, namespace: str | None = None
    ) -> bool:
        return self.backend.delete_multi(list(self._keys(keys)), seconds, namespace)  # type: ignore[no-any-return]

    def incr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return self.backend.incr(self.key(key), delta, namespace, initial_value)  # type: ignore[no-any-return]

    def decr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return self.backend.decr(self.key(key), delta, namespace, initial_value)  # type: ignore[no-any-return]

    def ping(self) -> dict[str, float | None]:
        return self.backend.ping()  # type: ignore[no-any-return]

    def flush_all(self) -> bool:
        """Invalidate the region (never the backend's other items)."""
        return self.invalidate()


def _seconds(text: Any) -> Time:
    if isinstance(text, (int, timedelta)) and not isinstance(text, bool):
        return lifetime(text)
    if isinstance(text, str) and text.strip().lstrip("-").isdigit():
        return lifetime(int(text))
    raise ValueError("expected whole seconds (an int) or a timedelta")


def _check_seconds(text: Any) -> float:
    if isinstance(text, timedelta):
        return text.total_seconds()
    if isinstance(text, bool):
        raise ValueError("expected seconds, got a bool")
    value = float(text)
    if not value >= 0:
        raise ValueError("must be >= 0")
    return value


def _text(text: Any) -> str:
    if not isinstance(text, str):
        raise ValueError(f"expected a str, got {type(text).__name__}")
    return text


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(text: Any) -> bool:
    if isinstance(text, bool):
        return text
    if isinstance(text, str) and text.strip().lower() in _TRUE | _FALSE:
        return text.strip().lower() in _TRUE
    raise ValueError("expected true or false")


def _refresh_mode(text: Any) -> str:
    if text not in REFRESH_MODES:
        raise ValueError(f"expected one of {', '.join(REFRESH_MODES)}")
    return str(text)


#: The settings of a region, each with the converter of its value (a
#: string from a config file is converted; a value of the right type is kept).
SETTINGS: dict[str, Callable[[Any], Any]] = {
    "url": _text,
    "time": _seconds,
    "key_prefix": _text,
    "timeout": _seconds,
    "invalidation_check": _check_seconds,
    "cache_none": _flag,
    "stale": _seconds,
    "refresh": _refresh_mode,
    "serve_stale_on_error": _flag,
}

#: The settings ``Region.configure`` takes besides the backend (not ``url``).
_REGION_SETTINGS = {name for name in SETTINGS if name != "url"}

# Every region declared in this process, by name (weakly: a region that is
# gone is not configured).
_declared: dict[str, weakref.WeakSet[Region]] = {}
_declared_lock = threading.Lock()


def declared() -> dict[str, list[Region]]:
    """The regions declared in this process and still alive, by name."""
    with _declared_lock:
        return {name: list(regions) for name, regions in _declared.items() if regions}


S = TypeVar("S", bound=ScopeState)
B = TypeVar("B")


class RegionBase(Generic[S, B]):
    """What :class:`Region` and ``caching.aio.regions.AsyncRegion`` share:
    the constructor (the name checked, the view ``S`` of the backend built,
    the ``Cached`` settings passed on, the region declared in
    :attr:`_declared`), and the reads of the view. Generic in the view
    ``S`` (a :class:`ScopeState`) and the backend ``B`` (a ``Cache`` or an
    ``AsyncCache``); put before the ``Cached`` class in the bases, whose
    constructor it calls.

    Arguments as :class:`Region`'s.
    """

    #: The class of the view (``_Scoped``, ``_AsyncScoped``).
    _scope_type: type[S]
    #: The regions of that kind declared in this process, by name, and its lock.
    _declared: dict[str, weakref.WeakSet[Any]]
    _declared_lock: threading.Lock
    stale: Time

    def __init__(
        self,
        name: str,
        *,
        key_builder: KeyBuilder | None = None,
        time: Time = 0,
        timeout: Time = 10,
        key_prefix: str = "one_pass:",
        should_cache: ShouldCache | None = None,
        cache_none: bool = False,
        invalidation_check: float = DEFAULT_INVALIDATION_CHECK,
        stale: Time = 0,
        refresh: str = INLINE,
        serve_stale_on_error: bool = False,
    ) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"bad region name {name!r}: use 1 to 64 letters, digits, '_' or '-'")
        self.name = name
        self._scoped = self._scope_type(name, _check_seconds(invalidation_check))
        cast(Any, super()).__init__(  # the Cached class's, next in the bases
            self._scoped,
            key_builder,
            time,
            None,
            timeout,
            key_prefix,
            should_cache=should_cache,
            cache_none=cache_none,
            stale=stale,
            refresh=refresh,
            serve_stale_on_error=serve_stale_on_error,
        )
        self._scoped.soft = bool(self.stale)
        #: The backend once configured (the cache shared with other regions
        #: of the same URL), else ``None``.
        self.backend: B | None = None
        #: The URL it was configured from, if any.
        self.url: str | None = None
        with self._declared_lock:
            self._declared.setdefault(name, weakref.WeakSet()).add(self)

    def _epoch(self) -> object:
        # A creator that saw the generation change stores into the new one:
        # it deletes what it stored (Cached._create).
        return self._scoped.generation

    def _stale_before(self) -> float:
        return self._scoped.stale_before

    def _event_namespace(self) -> str | None:
        return self.name

    @property
    def is_configured(self) -> bool:
        """Whether :meth:`configure` has bound a backend."""
        return self.backend is not None

    @property
    def invalidation_check(self) -> float:
        """Seconds between two reads of the generation by this process."""
        return self._scoped.check


class Region(RegionBase[_Scoped, Cache], Cached):
    """A ``Cached`` whose backend and settings come later.

    Create it at import time and decorate with it at once; configure it at
    start-up with :meth:`configure` or :func:`configure`. Until then every
    call of the region, or of a function it caches, raises
    :class:`~caching.errors.RegionNotConfiguredError` naming it.

    :param name: letters, digits, ``_`` and ``-`` (1 to 64); part of every
        key the region stores and of its namespace in :func:`configure`'s
        ``client``.
    :param key_builder: as ``Cached``'s.
    :param time: default expiry of its items, ``int`` seconds or
        ``timedelta`` (``configure`` may set it).
    :param timeout: the herd guard's (``Cached``'s ``timeout``), seconds.
    :param key_prefix: the herd guard's key prefix (``Cached``'s).
    :param should_cache: as ``Cached``'s.
    :param cache_none: as ``Cached``'s.
    :param invalidation_check: seconds between two reads of the region's
        generation by this process (see the module's notes); ``0`` reads it
        on every call.
    :param stale: stale-while-revalidate, as ``Cached``'s (then
        :meth:`invalidate` can be soft: ``hard=False``).
    :param refresh: as ``Cached``'s (``"inline"`` or ``"background"``).
    :param serve_stale_on_error: as ``Cached``'s.
    :raises ValueError: a name that is not as above.
    """

    _scope_type = _Scoped
    _declared = _declared
    _declared_lock = _declared_lock

    #: dogpile.cache's name: the herd-safe decorator (:meth:`wraps_get_or_create`).
    cache_on_arguments = Cached.wraps_get_or_create

    def configure(
        self,
        backend_or_url: Cache | str,
        time: Time | None = None,
        **settings: Any,
    ) -> Region:
        """Bind the region to a backend, or to ``from_url(url)``.

        :param backend_or_url: a backend of the contract, or a URL
            (``memory://``, ``memcached://host:port,...?client=...``).
        :param time: expiry of the region's items, ``int`` seconds or
            ``timedelta`` (a digit string is taken as seconds); ``None``:
            keep the current one.
        :param settings: ``key_prefix``, ``timeout``, ``invalidation_check``,
            ``cache_none``, ``stale``, ``refresh``, ``serve_stale_on_error``
            (strings are converted, see :data:`SETTINGS`).
        :returns: the region.
        :raises ValueError: an unknown setting or a bad value, naming the
            region, the setting and what is accepted; a bad URL.
        """
        check = apply_settings(self, self._scoped, time, settings)
        if isinstance(backend_or_url, str):
            self.url = backend_or_url
            backend = from_url(backend_or_url)
        else:
            self.url = None
            backend = backend_or_url
        self.dependency = CacheDependency(self.cache, self.time, None, marks=True)
        self.backend = backend
        self._scoped.bind(backend, check)
        return self

    def invalidate(self, key: Key | None = None, hard: bool = True) -> bool:
        """With no key: invalidate the whole region in every process that
        shares its backend (a new generation; see the module's notes).
        With a key: ``Cached.invalidate(key)``, one item.

        :param hard: ``False``: a soft invalidation of the whole region, for
            a region with a ``stale`` period: every value made before now is
            stale rather than missing, so the next access serves it and one
            caller rebuilds it (other processes see it within
            ``invalidation_check`` seconds).
        :returns: whether the backend confirmed it.
        :raises RegionNotConfiguredError: the region is not configured.
        :raises ValueError: ``hard=False`` on a region without ``stale``, or
            with a key.
        """
        if not hard:
            check_soft(self.name, key, self.stale)
            return self._scoped.invalidate_softly()
        if key is not None:
            return super().invalidate(key)
        return self._scoped.invalidate()

    def __repr__(self) -> str:
        where = self.url or (type(self.backend).__name__ if self.backend else "not configured")
        return f"<Region {self.name!r} {where}>"


def apply_settings(
    region: CachedBase[Any], scoped: ScopeState, time: Time | None, settings: Mapping[str, Any]
) -> float:
    """Check, convert and apply a region's ``configure`` settings (every
    one of :data:`SETTINGS` but ``url``) to ``region`` and its view
    ``scoped``; shared by :class:`Region` and ``caching.aio.regions.AsyncRegion``.

    :returns: the ``invalidation_check`` to bind the view with, seconds.
    :raises ValueError: an unknown setting or a bad value, naming the region.
    """
    name = scoped.name
    values = {}
    for setting, value in settings.items():
        if setting not in _REGION_SETTINGS:
            accepted = ", ".join(sorted(_REGION_SETTINGS))
            raise ValueError(
                f"unknown setting {setting!r} for cache region {name!r} (accepted: {accepted})"
            )
        values[setting] = _convert(name, setting, setting, value)
    if time is not None:
        region.time = _convert(name, "time", "time", time)
    for setting in (
        "timeout",
        "key_prefix",
        "cache_none",
        "stale",
        "refresh",
        "serve_stale_on_error",
    ):
        if setting in values:
            setattr(region, setting, values[setting])
    scoped.soft = bool(region.stale)
    return float(values.get("invalidation_check", scoped.check))


def check_soft(name: str, key: Key | None, stale: Time) -> None:
    """:raises ValueError: a soft invalidation of region ``name`` with a
    key, or without a stale period."""
    if key is not None or not stale:
        raise ValueError(
            f"a soft invalidation of cache region {name!r} needs a stale "
            "period (stale=...) and no key"
        )


def _convert(region: str, key: str, setting: str, value: Any) -> Any:
    try:
        return SETTINGS[setting](value)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"bad value {value!r} for {key!r} of cache region {region!r}: {exc}"
        ) from None


class Regions(dict[str, Region]):
    """The regions :func:`configure` configured, by name; ``client`` is a
    :class:`~caching.client.CacheClient` whose namespaces are the region
    names (each the region's backend; the first region's is the default)."""

    client: CacheClient


# Option names, longest first: an env-style key is parsed from the right.
_OPTIONS = sorted(SETTINGS, key=len, reverse=True)


def _parse_flat(
    config: Mapping[str, Any], prefix: str
) -> tuple[list[str] | None, dict[str, dict[str, tuple[str, Any]]], set[str], list[str]]:
    """Flat keys -> (the ``regions`` list if given, name -> option -> (key,
    value), the names read from env-style keys, the env-style keys that name
    no setting)."""
    listed: list[str] | None = None
    found: dict[str, dict[str, tuple[str, Any]]] = {}
    env_names: set[str] = set()
    unknown: list[str] = []
    lowered = prefix.lower()
    for key, value in config.items():
        if not isinstance(key, str) or not key.lower().startswith(lowered):
            continue
        rest = key[len(prefix) :]
        if rest.lower() == "regions":
            listed = [name.strip() for name in str(value).split(",") if name.strip()]
            continue
        if "." in rest:  # INI style: <name>.<option>
            name, _, option = rest.rpartition(".")
        else:  # env style: <NAME>_<OPTION>, the option one of a known set
            option = next((o for o in _OPTIONS if rest.lower().endswith("_" + o)), "")
            name = rest[: -len(option) - 1].lower() if option else ""
            if not option:
                unknown.append(key)
                continue
            env_names.add(name)
        found.setdefault(name, {})[option.lower()] = (key, value)
    return listed, found, env_names, unknown


def _parse(config: Mapping[str, Any], prefix: str) -> dict[str, dict[str, tuple[str, Any]]]:
    """Every form of config -> name -> option -> (the key as given, value)."""
    nested = {k: v for k, v in config.items() if isinstance(v, Mapping)}
    if nested:
        others = [k for k in config if k not in nested]
        if others:
            raise ValueError(
                f"cache config mixes regions (mappings) with other keys: {others[0]!r}"
            )
        return {
            name: {
                str(option).lower(): (f"{name}.{option}", value) for option, value in opts.items()
            }
            for name, opts in nested.items()
        }
    listed, found, env_names, unknown = _parse_flat(config, prefix)
    if listed is None:
        if unknown:  # without a regions list, every key under the prefix is ours
            raise ValueError(
                f"unknown cache setting {unknown[0]!r}: expected {prefix}REGIONS or "
                f"{prefix}<REGION>_<SETTING>, a setting one of: {', '.join(sorted(SETTINGS))}"
            )
        return found
    by_lower = {name.lower(): name for name in listed}
    regions: dict[str, dict[str, tuple[str, Any]]] = {name: {} for name in listed}
    for name, options in found.items():
        if name not in regions and name.lower() not in by_lower:
            if name in env_names:
                continue  # another variable under the prefix (CACHE_DIR...): not ours
            key = next(iter(options.values()))[0]
            raise ValueError(
                f"cache setting {key!r} names region {name!r}, which is not in "
                f"{prefix}regions (accepted: {', '.join(listed)})"
            )
        regions[name if name in regions else by_lower[name.lower()]].update(options)
    return regions


def read_config(config: Mapping[str, Any], prefix: str = "cache.") -> dict[str, dict[str, Any]]:
    """The regions ``config`` names (every form :func:`configure` reads),
    each with its settings converted: name -> setting -> value (``url``
    included); shared by :func:`configure` and ``caching.aio.regions.configure``.

    :raises ValueError: as :func:`configure`'s, before any backend is built.
    """
    parsed = _parse(config, prefix)
    if not parsed:
        raise ValueError(f"no cache region in the config (no key starts with {prefix!r})")
    converted: dict[str, dict[str, Any]] = {}
    for name, options in parsed.items():
        if not _NAME.match(name):
            raise ValueError(
                f"bad cache region name {name!r}: use 1 to 64 letters, digits, '_' or '-'"
            )
        values = {}
        for option, (key, value) in options.items():
            if option not in SETTINGS:
                raise ValueError(
                    f"unknown setting {key!r} for cache region {name!r} "
                    f"(accepted: {', '.join(sorted(SETTINGS))})"
                )
            values[option] = _convert(name, key, option, value)
        if "url" not in values:
            raise ValueError(
                f"cache region {name!r} has no url (e.g. {prefix}{name}.url = memory://)"
            )
        converted[name] = values
    return converted


def bind_regions(
    converted: Mapping[str, Mapping[str, Any]],
    build: Callable[[str], Any],
    alive: Mapping[str, list[Any]],
    new_region: Callable[[str], Any],
    result: R,
) -> R:
    """Configure the regions of ``converted`` (:func:`read_config`'s answer):
    one backend per distinct URL, ``build(url)``, all built before any is
    bound; the regions ``alive`` under each name (matched without case)
    configured, else ``new_region(name)``; ``result[name]`` the first of
    each. Shared by :func:`configure` and ``caching.aio.regions.configure``.

    :raises ValueError: a bad URL, naming it.
    """
    backends: dict[str, Any] = {}
    for values in converted.values():  # build every backend before binding any
        url = values["url"]
        if url not in backends:
            try:
                backends[url] = build(url)
            except ValueError as exc:
                raise ValueError(f"bad url {url!r} of a cache region: {exc}") from None
    # configparser and environment names lose their case: match it back
    alive_by_lower = {declared_name.lower(): found for declared_name, found in alive.items()}
    for name, values in converted.items():
        settings = {k: v for k, v in values.items() if k not in ("url", "time")}
        regions = alive.get(name) or alive_by_lower.get(name.lower()) or [new_region(name)]
        for region in regions:
            region.configure(backends[values["url"]], values.get("time"), **settings)
            region.url = values["url"]
        result[regions[0].name] = regions[0]
    return result


def configure(config: Mapping[str, Any], prefix: str = "cache.") -> Regions:
    """Configure every region ``config`` names, from the forms applications have.

    - **flat strings** (INI, Beaker, dogpile): ``cache.regions = short_term,
      long_term``, ``cache.short_term.url = memory://``,
      ``cache.short_term.time = 60``;
    - **environment style**, ``configure(os.environ, prefix="CACHE_")``:
      ``CACHE_REGIONS``, ``CACHE_SHORT_TERM_URL``, ``CACHE_SHORT_TERM_TIME``
      (region names are matched without case; the setting is parsed from the
      right, so a region name may hold underscores);
    - **a nested dict** (Django's ``CACHES``): ``{"short_term": {"url": ...,
      "time": 60}}`` (``prefix`` is not used).

    Without a ``regions`` list, every region a key names is configured. The
    settings of each region are :data:`SETTINGS`; ``url`` is required. The
    regions declared in this process under those names (:class:`Region`)
    are configured; a name nobody declared gets a new region. Regions whose
    URLs are equal share one backend.

    :param config: a mapping (``configparser`` section, ``os.environ``, dict).
    :param prefix: the start of the flat keys, matched without case.
    :returns: the regions by name, with ``.client``.
    :raises ValueError: an unknown setting, a bad value, a missing ``url``, a
        region not in the ``regions`` list, or no region at all; the message
        names the key, the region and what is accepted.
    """
    result = bind_regions(read_config(config, prefix), from_url, declared(), Region, Regions())
    # Each namespace is its region's own view (its keys scoped by its name
    # and generation), so the client reads and writes the regions' items.
    result.client = CacheClient({name: result[name].cache for name in result}, next(iter(result)))
    return result
