"""``Cached``: one set of cache settings, the pass-through calls and the patterns.

Names, signatures and behaviour follow wheezy.caching's ``Cached``; every call
into the cache passes ``(key, value, time, namespace)`` positionally, in
wheezy's order, so backends written for wheezy.caching keep working.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time as _time
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, Generic, NamedTuple, ParamSpec, TypeVar, cast, overload

from caching import events
from caching.contract import Cache
from caching.events import LISTENING, Event, Listener
from caching.expiry import MAX_RELATIVE, Time, lifetime, seconds
from caching.key_rules import Key
from caching.memo import Memo
from caching.patterns.dependency import CacheDependency
from caching.patterns.functions import (
    CACHED_NONE,
    CachedDecorator,
    CachedFunction,
    CachedMultiDecorator,
    cached_function,
    cached_multi_function,
    with_acts,
)
from caching.patterns.key_builders import (
    CONTEXT_NAMES,
    DEFAULT_REPR,
    KeySource,
    KeySpec,
    MakeKey,
    check_arguments,
    is_valid,
    key_builder,
    safe_key,
)
from caching.patterns.marks import (
    any_invalidated,
    invalidated_keys,
    mark_key,
    marks_read,
    read_marks,
    write_marks,
)
from caching.patterns.onepass import OnePass, pass_key
from caching.patterns.stale import BACKGROUND, INLINE, REFRESH_MODES, Fresh, run_in_background
from caching.steps import Steps, run

__all__ = ["CACHED_NONE", "Cached"]

#: How many times a waiter of ``get_or_create`` tries to read the value or take
#: the pass (a creator that fails releases the pass without a value) before it
#: computes the value itself.
ONE_PASS_ATTEMPTS = 3

#: Seconds after a failed stale-while-revalidate rebuild of a key during
#: which this process serves the stale value without trying again; also the
#: period of the log of failed background rebuilds.
REBUILD_RETRY = 1.0

logger = logging.getLogger(__name__)

Factory = Callable[[], Any]
Store = Callable[[Key, Any, Time, "str | None"], bool]
KeyBuilder = Callable[[Callable[..., Any]], MakeKey]
ShouldCache = Callable[[Any], object]
P = ParamSpec("P")
R = TypeVar("R")
#: The backend of a pattern: a sync ``Cache`` or an async one.
C = TypeVar("C")


class _Policy(NamedTuple):
    """A decorated function's own settings; ``None``: the ``Cached``'s."""

    time: Time | None = None
    should_cache: ShouldCache | None = None
    cache_none: bool | None = None
    #: ``AsyncCached``: the call's ``dependency_key_factory`` (the sync
    #: ``Cached`` passes it on as an argument of its own).
    dependency: Callable[[], str] | None = None


_DEFAULT = _Policy()


def _value(stored: Any) -> Any:
    """The value a caller gets for an item ``Cached`` stored (a :class:`Fresh`
    unwrapped, :data:`CACHED_NONE` as ``None``)."""
    if type(stored) is Fresh:
        stored = stored.value
    return None if stored is CACHED_NONE else stored


class _UntrustedKeyError(Exception):
    """A formatted key holds a default repr: check the arguments themselves."""


#: The hit path of a function keyed by ``key_builder``, generated with the
#: function's parameters (:class:`~caching.patterns.key_builders.KeySource`;
#: docs/PERFORMANCE.md, "Decorated hits"). Every name of its own starts with
#: ``_caching_``, a prefix no such function's parameter has; it calls no
#: builtin by name (a parameter may be called ``type``).
_WRAPPER = """
def _caching_wrapper(
    _caching_head, _caching_valid, _caching_untrusted, _caching_checked, _caching_bind,
    _caching_format_of, _caching_skip, _caching_get, _caching_namespace, _caching_fill,
    _caching_served, _caching_func,
    _caching_partial, _caching_fresh, _caching_none, _caching_listening, _caching_emit,
    _caching_type,
):
    def _caching_call({parameters}):
        _caching_formatted = {key}
        try:
            _caching_key = _caching_valid[_caching_formatted]
        except _caching_untrusted:
            _caching_key = _caching_checked(_caching_formatted, ({args}), {kwargs})
        _caching_result = _caching_get(_caching_key, _caching_namespace)
        if _caching_result is None:
            if _caching_listening:
                _caching_emit("miss", _caching_key)
            return _caching_fill(_caching_key, _caching_partial(_caching_func, {args}**{kwargs}))
        if _caching_type(_caching_result) is _caching_fresh:
            return _caching_served(
                _caching_key, _caching_result, _caching_partial(_caching_func, {args}**{kwargs})
            )
        if _caching_listening:
            _caching_emit("hit", _caching_key)
        return None if _caching_result is _caching_none else _caching_result
    return _caching_call
"""

#: The :class:`KeySource` of a function with ``*args`` or ``**kwargs``: its
#: key made as ``make_key`` makes it (the format of the positional count, or
#: ``bind`` for keyword arguments), inline.
_GENERAL_SOURCE = KeySource(
    parameters="*args, **kwargs",
    key=(
        "_caching_bind(args, kwargs)"
        " if kwargs or (_caching_fmt := _caching_format_of(len(args))) is None"
        " else _caching_fmt % args[_caching_skip:]"
    ),
    args="*args, ",
    kwargs="kwargs",
    defaults=None,
    kwdefaults=None,
)


def _has_context(func: Callable[..., Any]) -> bool:
    """Whether the first parameter of ``func`` is ``self``/``cls``/``klass``."""
    names = list(inspect.signature(func).parameters)
    return bool(names) and names[0] in CONTEXT_NAMES


class _Ids:
    """How a function of ``wraps_get_or_set_multi`` takes its ids: the
    first parameter after ``self``/``cls``; shared by ``Cached`` and
    ``AsyncCached``."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.signature = inspect.signature(func)
        names = list(self.signature.parameters)
        self.context = _has_context(func)
        self.name = names[1] if self.context else names[0]

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> inspect.BoundArguments:
        """A call's arguments, bound to the function's parameters."""
        return self.signature.bind(*args, **kwargs)

    def replaced(
        self, bound: inspect.BoundArguments, ids: list[Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The arguments of the call ``bound`` with ``ids`` as its ids."""
        bound.arguments[self.name] = ids
        return bound.args, bound.kwargs

    def one(self, args: tuple[Any, ...]) -> Any:
        """The one argument of an act (``key``, ``get_multi``, ...), its
        ``self``/``cls`` left out."""
        (arg,) = args[1:] if self.context else args
        return arg


class CachedBase(Generic[C]):
    """The settings and the decisions of :class:`Cached`, with no I/O: what
    is stored for a created value (``should_cache``, ``cache_none``, the
    :class:`~caching.patterns.stale.Fresh` item of a stale period), when an
    item is stale, the guard key, the make-key function of a decorated
    function, the events, and the bookkeeping of stale-while-revalidate
    rebuilds. :class:`Cached` and :class:`caching.aio.cached.AsyncCached`
    both build on it, so the sync and async patterns decide alike.

    Arguments as :class:`Cached`'s; ``cache`` is the backend ``C``, a sync
    ``Cache`` or an async one. A subclass sets up its own state in
    :meth:`_started`.

    :raises ValueError: ``refresh`` not one of
        :data:`~caching.patterns.stale.REFRESH_MODES`; ``stale`` or
        ``cache_none`` with a serializer that cannot store Python objects.
    """

    cache: C

    def __init__(
        self,
        cache: C,
        key_builder: KeyBuilder | None = None,
        time: Time = 0,
        namespace: str | None = None,
        timeout: Time = 10,
        key_prefix: str = "one_pass:",
        *,
        should_cache: ShouldCache | None = None,
        cache_none: bool = False,
        stale: Time = 0,
        refresh: str = INLINE,
        serve_stale_on_error: bool = False,
    ) -> None:
        if refresh not in REFRESH_MODES:
            raise ValueError(f"refresh must be one of {REFRESH_MODES}, not {refresh!r}")
        serializer = getattr(getattr(cache, "codec", None), "serializer", "pickle")
        if (stale or cache_none) and serializer != "pickle":
            # Fresh and CACHED_NONE are Python objects; say so now, not after
            # a creator ran and its value could not be stored.
            raise ValueError(
                f"stale= and cache_none= store Python objects, which serializer="
                f"{serializer!r} cannot: use serializer='pickle' with secret= for safety"
            )
        self.cache = cache
        self.key_builder = key_builder
        self.time = lifetime(time)
        self.namespace = namespace
        self.timeout = lifetime(timeout)
        self.key_prefix = key_prefix
        self.should_cache = should_cache
        self.cache_none = cache_none
        self.stale = lifetime(stale)
        self.refresh = refresh
        self.serve_stale_on_error = serve_stale_on_error
        #: Listeners of this instance's events (:mod:`caching.events`).
        self._listeners: list[Listener] = []
        #: key -> monotonic time before which a failed rebuild is not retried.
        self._rebuild_failed: dict[Key, float] = {}
        #: Keys whose background rebuild is queued or running in this process.
        self._queued: set[Key] = set()
        #: key -> monotonic time before which a failed background rebuild is
        #: not logged again.
        self._rebuild_logged: dict[Key, float] = {}
        self._rebuild_lock = threading.Lock()
        self._started()

    def _started(self) -> None:
        """The subclass's own state, once the settings are in place."""

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for this instance's events (see
        :mod:`caching.events`; :func:`caching.events.subscribe` listens to
        every instance).

        :returns: a function that unsubscribes it.
        """
        self._listeners.append(listener)
        events._local(+1)
        # A Cached dropped with listeners subscribed gives its count back.
        gone = weakref.finalize(self, events._local, -1)

        def unsubscribe() -> None:
            with self._rebuild_lock:
                if listener not in self._listeners:
                    return
                self._listeners.remove(listener)
            if gone.detach() is not None:
                events._local(-1)

        return unsubscribe

    def _emit(
        self,
        name: str,
        key: Key,
        seconds: float | None = None,
        error: BaseException | None = None,
    ) -> None:
        """Hand an event to the listeners (called only while ``LISTENING``:
        some ``Cached`` has listeners; nothing is built unless this one or
        every ``Cached`` has)."""
        if self._listeners or events.has_global_listeners():
            event = Event(name, key, self._event_namespace(), seconds, error)
            events.emit(self._listeners, event)

    def _event_namespace(self) -> str | None:
        """What events name as their namespace (a region: its name)."""
        return self.namespace

    def _keep(self, result: Any, policy: _Policy) -> bool:
        """Whether a created ``result`` is stored under ``policy``."""
        cache_none = self.cache_none if policy.cache_none is None else policy.cache_none
        if result is None and not cache_none:
            return False
        should_cache = self.should_cache if policy.should_cache is None else policy.should_cache
        return should_cache is None or bool(should_cache(result))

    def _epoch(self) -> object:
        """What a whole-cache invalidation changes (a region's generation;
        ``None`` here): a creator that sees it change deletes what it stored."""
        return None

    def _valid_since(self, before: Iterable[object], now: Iterable[object], epoch: object) -> bool:
        """Whether a creation that read the marks ``before`` and the epoch
        ``epoch`` is still valid with the marks ``now``: no invalidation
        shown (:func:`~caching.patterns.marks.any_invalidated`), the same epoch."""
        return not any_invalidated(before, now) and self._epoch() == epoch

    def _item(self, value: Any, time: Time, made: float | None = None) -> tuple[Any, Time]:
        """What is stored for ``value`` with expiry ``time``: as it is, or,
        with a stale period, a :class:`Fresh` stored for ``time + stale``
        (``made``: wall-clock time the data it was built from was read; a
        soft invalidation after it makes it stale; default now)."""
        if not self.stale or not time:
            return value, time
        now = _time.time()
        fresh = seconds(time)
        until = fresh if fresh > MAX_RELATIVE else now + fresh  # an absolute time
        hard = timedelta(seconds=until - now + seconds(self.stale))
        return Fresh(value, until, now if made is None else made), hard

    def _items(self, mapping: Mapping[Key, Any]) -> tuple[Mapping[Key, Any], Time]:
        """:meth:`_item` of every value of ``mapping``, and their expiry."""
        if not self.stale or not self.time:
            return mapping, self.time
        time: Time = self.time
        items = {}
        for key, value in mapping.items():
            items[key], time = self._item(value, self.time)
        return items, time

    def _is_stale(self, stored: Any) -> bool:
        """Whether ``stored`` is a :class:`Fresh` past its fresh time."""
        return type(stored) is Fresh and (
            _time.time() >= stored.until or stored.made < self._stale_before()
        )

    def _stale_before(self) -> float:
        """Wall-clock time before which every value is stale (a region's soft
        invalidation; ``0`` here)."""
        return 0.0

    def _dequeue(self, key: Key) -> None:
        with self._rebuild_lock:
            self._queued.discard(key)

    def _served_stale(self, key: Key, value: Any) -> Any:
        if LISTENING:
            self._emit("stale_served", key)
        return value

    def _rebuild_error(self, key: Key, error: BaseException) -> None:
        """A background rebuild raised: log it, at most once per period per key."""
        with self._rebuild_lock:
            logged = self._rebuild_logged.get(key, 0.0)
            now = _time.monotonic()
            if now < logged:
                return
            self._rebuild_logged[key] = now + REBUILD_RETRY
        logger.error(
            "background rebuild of %r failed (%s: %s); %s",
            key,
            type(error).__name__,
            error,
            "serving the stale value" if self.serve_stale_on_error else "the item was dropped",
            exc_info=error,
        )

    def _pass_key(self, key: Key) -> str:
        """The key of the one-pass guard of ``key``; see :func:`pass_key`."""
        return pass_key(self.key_prefix, key)

    def adapt(self, func: Callable[..., Any], make_key: MakeKey | None = None) -> MakeKey:
        """Return the make-key function of ``func``.

        :param make_key: takes ``func``'s arguments, ``self``/``cls`` left
            out; default: built by ``key_builder``.
        """
        if make_key is None:
            builder = self.key_builder or key_builder(func.__module__)
            return builder(func)
        if _has_context(func):
            given = make_key
            return lambda _context, *args, **kwargs: given(*args, **kwargs)
        return make_key

    def _policy(
        self, time: Time | None, should_cache: ShouldCache | None, cache_none: bool | None
    ) -> _Policy:
        return _Policy(None if time is None else lifetime(time), should_cache, cache_none)

    def _skip_rebuild(self, key: Key) -> bool:
        """Whether a stale hit of ``key`` is served without trying a rebuild
        here: a rebuild failed less than :data:`REBUILD_RETRY` seconds ago,
        or (background) its rebuild is queued or running in this process."""
        failed = self._rebuild_failed.get(key)
        if failed is not None and _time.monotonic() < failed:
            return True
        return self.refresh == BACKGROUND and key in self._queued

    def _rebuild_failed_now(self, key: Key) -> bool:
        """A rebuild of ``key`` raised: with ``serve_stale_on_error``, hold
        this process's next try off for :data:`REBUILD_RETRY` seconds.

        :returns: whether the stale item is dropped (no ``serve_stale_on_error``).
        """
        if not self.serve_stale_on_error:
            return True
        with self._rebuild_lock:
            self._rebuild_failed[key] = _time.monotonic() + REBUILD_RETRY
        return False

    def _rebuild_done(self, key: Key) -> None:
        """A rebuild of ``key`` succeeded: forget an earlier failure."""
        if self._rebuild_failed:
            with self._rebuild_lock:
                self._rebuild_failed.pop(key, None)

    # -- what the sync and async patterns share: plain decisions, and the
    # steps of their cache calls (caching.steps: run, run_async) ----------

    def _policy_time(self, policy: _Policy) -> Time:
        """The expiry of the items stored under ``policy``."""
        return self.time if policy.time is None else policy.time

    def _created_item(self, result: Any, policy: _Policy, started: float) -> tuple[Any, Time]:
        """What is stored for a ``result`` created from data read at
        ``started`` (wall-clock seconds), and its expiry, under ``policy``."""
        stored = CACHED_NONE if result is None else result
        return self._item(stored, self._policy_time(policy), started)

    def _set_item(self, value: Any, policy: _Policy) -> tuple[Any, Time]:
        """What a decorated function's ``set(value, ...)`` stores, and its expiry."""
        cache_none = self.cache_none if policy.cache_none is None else policy.cache_none
        stored = CACHED_NONE if value is None and cache_none else value
        return self._item(stored, self._policy_time(policy))

    @staticmethod
    def _read_multi(found: dict[Key, Any]) -> dict[Key, Any]:
        """The answer of ``get_multi`` for the items ``found``: values
        unwrapped, :data:`CACHED_NONE` items left out, as misses are."""
        if any(value is CACHED_NONE or type(value) is Fresh for value in found.values()):
            read = {key: _value(value) for key, value in found.items()}
            return {key: value for key, value in read.items() if value is not None}
        return found

    def _multi_found(
        self, key_map: Mapping[Key, Any], cached: Mapping[Key, Any]
    ) -> tuple[dict[Any, Any], list[Key]]:
        """The ids of ``key_map`` (key -> id) found in ``cached`` (stale items
        count as missing), with their values, and the keys to create."""
        if self.stale:  # a stale item is made again with the missing ones
            cached = {key: value for key, value in cached.items() if not self._is_stale(value)}
        found = {key_map[key]: _value(value) for key, value in cached.items()}
        found = {arg: value for arg, value in found.items() if value is not None}
        if len(cached) == len(key_map):
            return found, []
        return found, [key for key in key_map if key not in cached]

    def _multi_stored(
        self,
        created: Mapping[Any, Any],
        key_map: Mapping[Key, Any],
        missing: list[Key],
        policy: _Policy,
        before: Iterable[object],
        epoch: object,
    ) -> Steps[None]:
        """The steps after ``get_or_set_multi``'s creator answered
        ``created`` (id -> value) for ``missing``: the marks of ``missing``
        read again, and the items ``policy`` keeps whose mark shows no
        invalidation since ``before`` stored in one ``set_multi`` (none when
        the epoch changed); then the marks read once more and the items
        invalidated meanwhile deleted in one ``delete_multi``."""
        namespace = self.namespace
        batch = hasattr(self.cache, "get_multi")
        mapping: dict[Key, Any] = {}
        time = self._policy_time(policy)
        stored_time = time
        for key in missing:
            value = created.get(key_map[key])
            if self._keep(value, policy):
                stored = CACHED_NONE if value is None else value
                mapping[key], stored_time = self._item(stored, time)
        if not mapping:
            return
        now = yield from marks_read(missing, namespace, batch)
        dropped = [key for key in invalidated_keys(missing, before, now) if key in mapping]
        if self._epoch() != epoch:
            dropped = list(mapping)
        for key in dropped:  # invalidated while it was built: not stored
            del mapping[key]
        if not mapping:
            return
        yield "set_multi", (mapping, stored_time, namespace)
        after = yield from marks_read(missing, namespace, batch)
        changed = [key for key in invalidated_keys(missing, before, after) if key in mapping]
        if self._epoch() != epoch:
            changed = list(mapping)
        if changed:
            yield "delete_multi", (changed, 0, namespace)

    def _ids_found(
        self, make_key: Callable[[Any], Key], ids: Iterable[Any]
    ) -> Steps[dict[Any, Any]]:
        """The steps of a multi-function's ``get_multi(ids)``: one
        ``get_multi``; ``id -> value`` of the items found."""
        key_map = {make_key(arg): arg for arg in ids}
        found = yield "get_multi", (list(key_map), self.namespace)
        read = {key_map[k]: _value(v) for k, v in found.items()}
        return {arg: value for arg, value in read.items() if value is not None}

    def _ids_set(
        self, make_key: Callable[[Any], Key], mapping: Mapping[Any, Any], policy: _Policy
    ) -> Steps[list[Any]]:
        """The steps of a multi-function's ``set_multi(mapping)``: one
        ``set_multi``; the ids not stored."""
        key_map = {make_key(arg): arg for arg in mapping}
        items = {k: mapping[arg] for k, arg in key_map.items()}
        failed = yield "set_multi", (items, self._policy_time(policy), self.namespace)
        return [key_map[k] for k in failed]


class Cached(CachedBase[Cache]):
    """Cache settings shared by many calls, and the caching patterns.

    :param cache: any backend of the contract (or of wheezy.caching).
    :param key_builder: makes a decorated function's make-key function, e.g.
        ``key_builder("repo")``; defaults to ``key_builder(func.__module__)``.
    :param time: expiry of stored items, ``int`` seconds or ``timedelta``
        (``0``: none).
    :param namespace: passed to every cache call.
    :param timeout: life of a one-pass guard in ``get_or_create``, ``int``
        seconds or ``timedelta``: how long waiters wait for a creator, and how
        long a dead creator blocks others.
    :param key_prefix: prepended to a key to name its one-pass guard
        (:func:`~caching.patterns.onepass.pass_key`: distinct items get
        distinct guards).
    :param should_cache: ``should_cache(value) -> bool``, asked of every
        created value before it is stored: a value it rejects is returned but
        not stored (dogpile.cache's ``should_cache_fn``). ``None``: store
        every value that is not ``None``. Keyword only.
    :param cache_none: store a ``None`` result as :data:`CACHED_NONE`, a
        distinct marker, so that repeated lookups of an unknown id do not run
        the creator again (negative caching); every read through ``Cached``
        still answers ``None`` for it. Keyword only.
    :param stale: stale-while-revalidate, ``int`` seconds or ``timedelta``
        (``0``: off). A created value is fresh for ``time`` seconds, then
        stale for ``stale`` more: it is stored for ``time + stale`` with its
        logical expiry inside (:class:`~caching.patterns.stale.Fresh`). A
        stale hit returns the stale value at once to every caller but the
        one that takes the one-pass guard (across processes), which rebuilds
        it. Needs a ``time``. Keyword only.
    :param refresh: with ``stale``: ``"inline"`` (the caller that wins the
        pass rebuilds and gets the new value) or ``"background"`` (the
        rebuild runs on a small thread pool and every caller gets the stale
        value at once; a rebuild's exception is logged). Keyword only.
    :param serve_stale_on_error: with ``stale``: when a rebuild raises,
        keep serving the stale value until the item expires (this process
        tries again after :data:`REBUILD_RETRY` seconds) rather than
        dropping it; the error goes to the caller that ran the rebuild
        (inline) or to the log (background). Keyword only.

    The patterns' creators never leave a value built from data read before
    an invalidation (:meth:`invalidate`, a decorated function's
    ``invalidate``, ``dependency.delete``) that ran while they were building
    (:mod:`caching.patterns.marks`).
    """

    def _started(self) -> None:
        self.dependency = CacheDependency(self.cache, self.time, self.namespace, marks=True)

    # -- pass-through --------------------------------------------------------

    def set(self, key: Key, value: Any, dependency_key: str | None = None) -> bool:
        """``set`` with this instance's time and namespace; wire ``key`` to
        ``dependency_key`` when given."""
        succeed = self.cache.set(key, *self._item(value, self.time), self.namespace)
        if dependency_key:
            self.dependency.add(dependency_key, key)  # type: ignore[arg-type]
        return succeed

    def add(self, key: Key, value: Any, dependency_key: str | None = None) -> bool:
        """``add`` with this instance's time and namespace; when stored, wire
        ``key`` to ``dependency_key`` when given."""
        succeed = self.cache.add(key, *self._item(value, self.time), self.namespace)
        if succeed and dependency_key:
            self.dependency.add(dependency_key, key)  # type: ignore[arg-type]
        return succeed

    def replace(self, key: Key, value: Any) -> bool:
        """``replace`` with this instance's time and namespace."""
        return self.cache.replace(key, *self._item(value, self.time), self.namespace)

    def set_multi(self, mapping: Mapping[Key, Any]) -> list[Key]:
        """``set_multi`` with this instance's time and namespace."""
        return self.cache.set_multi(*self._items(mapping), self.namespace)

    def add_multi(self, mapping: Mapping[Key, Any]) -> list[Key]:
        """``add_multi`` with this instance's time and namespace."""
        return self.cache.add_multi(*self._items(mapping), self.namespace)

    def replace_multi(self, mapping: Mapping[Key, Any]) -> list[Key]:
        """``replace_multi`` with this instance's time and namespace."""
        return self.cache.replace_multi(*self._items(mapping), self.namespace)

    def get(self, key: Key) -> Any:
        """``get`` in this instance's namespace (:data:`CACHED_NONE` reads as ``None``)."""
        return _value(self.cache.get(key, self.namespace))

    def get_multi(self, keys: Iterable[Key]) -> dict[Key, Any]:
        """``get_multi`` in this instance's namespace (:data:`CACHED_NONE`
        items are left out, as misses are)."""
        return self._read_multi(self.cache.get_multi(keys, self.namespace))

    def delete(self, key: Key, seconds: int = 0) -> bool:
        """``delete`` in this instance's namespace."""
        return self.cache.delete(key, seconds, self.namespace)

    def delete_multi(self, keys: Iterable[Key], seconds: int = 0) -> bool:
        """``delete_multi`` in this instance's namespace."""
        return self.cache.delete_multi(keys, seconds, self.namespace)

    def invalidate(self, key: Key) -> bool:
        """Delete ``key`` so that no creator building it meanwhile stores a
        value made from older data: a new invalidation mark, then ``delete``
        (two round trips; :mod:`caching.patterns.marks`). :meth:`delete` is
        wheezy's plain ``delete`` (one round trip, no mark).

        :returns: whether a live item was removed.
        :raises InvalidKeyError: ``key`` is not a valid key.
        """
        write_marks(self.cache, [key], self.namespace)
        return self.cache.delete(key, 0, self.namespace)

    def invalidate_multi(self, keys: Iterable[Key]) -> bool:
        """:meth:`invalidate` for many keys (one ``set_multi``, one ``delete_multi``).

        :returns: ``True`` when none of ``keys`` holds an item afterwards.
        """
        keys = list(keys)
        if not keys:
            return True
        write_marks(self.cache, keys, self.namespace)
        return self.cache.delete_multi(keys, 0, self.namespace)

    def incr(self, key: Key, delta: int = 1, initial_value: int | None = None) -> int | None:
        """``incr`` in this instance's namespace."""
        return self.cache.incr(key, delta, self.namespace, initial_value)

    def decr(self, key: Key, delta: int = 1, initial_value: int | None = None) -> int | None:
        """``decr`` in this instance's namespace."""
        return self.cache.decr(key, delta, self.namespace, initial_value)

    # -- patterns ------------------------------------------------------------

    def _create(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None,
        store: Store,
        policy: _Policy = _DEFAULT,
    ) -> Any:
        """Call ``create_factory``; store a result ``policy`` keeps; wire it.

        The marks of ``key`` (and of the dependency key) are read before the
        call, again before the store and again after it; when they changed,
        an invalidation ran meanwhile: the value is not stored, or the stored
        item is deleted (:mod:`caching.patterns.marks`).
        """
        dependency_key = None if dependency_key_factory is None else dependency_key_factory()
        watched: list[Key] = [key] if dependency_key is None else [key, dependency_key]
        epoch = self._epoch()
        unchanged = self._unchanged(watched, read_marks(self.cache, watched, self.namespace), epoch)
        result, stored = self._build(key, create_factory, dependency_key, store, policy, unchanged)
        if stored and not unchanged():
            self.cache.delete(key, 0, self.namespace)  # invalidated while it was stored
        return result

    def _unchanged(
        self, watched: list[Key], before: tuple[object, ...], epoch: object
    ) -> Callable[[], bool]:
        """``unchanged()``: whether the creation that read the marks of
        ``watched`` as ``before`` is still valid (:meth:`_valid_since`), the
        marks read again; once it is not, it stays so without reading again
        (an invalidation seen is not undone by its mark expiring)."""
        valid = True

        def unchanged() -> bool:
            nonlocal valid
            if valid:
                now = read_marks(self.cache, watched, self.namespace)
                valid = self._valid_since(before, now, epoch)
            return valid

        return unchanged

    def _build(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key: str | None,
        store: Store,
        policy: _Policy,
        unchanged: Callable[[], bool],
    ) -> tuple[Any, bool]:
        """Call ``create_factory``; store (and wire) a result ``policy`` keeps,
        unless ``unchanged()`` (the marks read again) says it was invalidated
        while it was built: then the value is not stored, so a value built
        across an invalidation seen before the store is never readable
        (docs/PATTERNS.md, "Invalidation during a rebuild").

        A run longer than a mark's life (:data:`~caching.patterns.marks.MARK_SECONDS`)
        is stored as any other (wheezy's answer): an invalidation whose mark
        came and went meanwhile is then not seen (docs/PATTERNS.md).

        :returns: the result and whether it was stored.
        """
        started = _time.time()  # the value is as old as the data it was built from
        result = self._timed_create(key, create_factory) if LISTENING else create_factory()
        if not self._keep(result, policy) or not unchanged():
            return result, False
        item, time = self._created_item(result, policy, started)
        stored = store(key, item, time, self.namespace)
        if stored and dependency_key is not None:
            self.dependency.add(dependency_key, key)  # type: ignore[arg-type]
        return result, stored

    def _serve(
        self,
        key: Key,
        item: Fresh,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None,
        policy: _Policy,
    ) -> Any:
        """A hit on an item stored with a stale period: its value while
        fresh; when stale, its value too, unless this caller takes the pass
        and rebuilds it inline (docs/PATTERNS.md, "Stale-while-revalidate")."""
        value = _value(item.value)
        if not self._is_stale(item):
            if LISTENING:
                self._emit("hit", key)
            return value
        if self._skip_rebuild(key):  # a rebuild failed just now, or is queued here
            return self._served_stale(key, value)
        background = self.refresh == BACKGROUND
        one_pass = OnePass(self.cache, self._pass_key(key), self.timeout, self.namespace)
        one_pass.__enter__()
        if not one_pass.acquired:
            return self._served_stale(key, value)  # another caller, in any process, rebuilds it
        current = self.cache.get(key, self.namespace)  # rebuilt since it was read?
        if current is not None and not self._is_stale(current):
            one_pass.__exit__(None, None, None)
            return _value(current)
        rebuild = functools.partial(
            self._rebuild, one_pass, key, create_factory, dependency_key_factory, policy
        )
        if not background:
            return rebuild()
        with self._rebuild_lock:
            self._queued.add(key)
        queued = functools.partial(self._rebuild_queued, one_pass, key, rebuild)
        if run_in_background(queued, functools.partial(self._rebuild_error, key)) is None:
            self._dequeue(key)  # the pool is full: serve stale, rebuild later
            one_pass.__exit__(None, None, None)
        return self._served_stale(key, value)

    def _rebuild_queued(self, one_pass: OnePass, key: Key, rebuild: Factory) -> Any:
        """A queued rebuild, on the pool: its pass may have expired in the
        queue; it goes on only if it still holds it (renewed), else another
        caller rebuilds."""
        try:
            if not one_pass.renew():
                one_pass.__exit__(None, None, None)
                return None
            return rebuild()
        finally:
            self._dequeue(key)

    def _rebuild(
        self,
        one_pass: OnePass,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None,
        policy: _Policy,
    ) -> Any:
        """Rebuild a stale value holding ``one_pass``, then release it. A
        failure drops the stale item, or with ``serve_stale_on_error`` keeps
        it and holds this process's next try off for :data:`REBUILD_RETRY`."""
        try:
            store = self.cache.set
            result = self._create(key, create_factory, dependency_key_factory, store, policy)
        except Exception:
            if self._rebuild_failed_now(key):
                self.cache.delete(key, 0, self.namespace)
            raise
        finally:
            one_pass.__exit__(None, None, None)
        self._rebuild_done(key)
        return result

    def _timed_create(self, key: Key, create_factory: Factory) -> Any:
        """``create_factory()``, reported as ``created`` or ``create_failed``."""
        started = _time.perf_counter()
        try:
            result = create_factory()
        except BaseException as exc:
            self._emit("create_failed", key, _time.perf_counter() - started, exc)
            raise
        self._emit("created", key, _time.perf_counter() - started)
        return result

    def _get_or(
        self,
        key: Key,
        fill: Callable[[Key, Factory, Callable[[], str] | None, _Policy], Any],
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None,
    ) -> Any:
        """Get ``key``; on a miss return ``fill(key, create_factory, ...)``."""
        result = self.cache.get(key, self.namespace)
        if result is None:
            if LISTENING:
                self._emit("miss", key)
            return fill(key, create_factory, dependency_key_factory, _DEFAULT)
        if type(result) is Fresh:
            return self._serve(key, result, create_factory, dependency_key_factory, _DEFAULT)
        if LISTENING:
            self._emit("hit", key)
        return None if result is CACHED_NONE else result

    def _add_missed(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None = None,
        policy: _Policy = _DEFAULT,
    ) -> Any:
        return self._create(key, create_factory, dependency_key_factory, self.cache.add, policy)

    def _set_missed(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None = None,
        policy: _Policy = _DEFAULT,
    ) -> Any:
        return self._create(key, create_factory, dependency_key_factory, self.cache.set, policy)

    def get_or_add(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None = None,
    ) -> Any:
        """Get ``key``; on a miss call ``create_factory()`` and ``add`` its
        result (when not ``None``, or ``should_cache`` rejects it), wiring it
        to ``dependency_key_factory()`` when the ``add`` succeeds.

        :returns: the cached or created value (``None`` if the factory says so).
        """
        return self._get_or(key, self._add_missed, create_factory, dependency_key_factory)

    def get_or_set(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None = None,
    ) -> Any:
        """As :meth:`get_or_add`, storing with ``set`` (overwrites)."""
        return self._get_or(key, self._set_missed, create_factory, dependency_key_factory)

    def get_or_create(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None = None,
    ) -> Any:
        """Get ``key``; on a miss see :meth:`one_pass_create`."""
        return self._get_or(key, self._one_pass_create, create_factory, dependency_key_factory)

    def one_pass_create(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None = None,
    ) -> Any:
        """Create the value of ``key`` once however many callers miss it at once.

        The caller that takes the :class:`OnePass` guard (``key_prefix + key``,
        alive ``timeout`` seconds) reads ``key`` again (a caller that missed
        just before the previous holder stored the value may take the guard
        after it), then calls ``create_factory()``, stores a result
        that is not ``None`` with ``set`` (wired to
        ``dependency_key_factory()`` when given) and releases the guard;
        the others wait for it (in the creator's process without polling)
        and read the value. A waiter in another process reads the value and
        the guard in one ``get_multi`` every 5 ms and returns the value as
        soon as it is stored, even if the guard is never released (a holder
        killed after storing, or whose ``delete`` failed).

        Unlike wheezy.caching, a waiter never returns ``None`` for a value
        that could be made: if the creator fails (the guard is released at
        once, so waiters do not sit out the timeout) or returns ``None``,
        a waiter tries again to take the guard or read the value, up to
        :data:`ONE_PASS_ATTEMPTS` times; a waiter whose wait times out, or
        that runs out of attempts, calls ``create_factory()`` itself and
        stores the result. So if the holder dies (SIGKILL) before storing,
        every waiter has the value, stored by another or made itself, within
        ``timeout`` seconds (docs/PATTERNS.md, "When the holder dies").

        :returns: the value (``None`` only if ``create_factory`` says so).
        :raises: whatever ``create_factory`` raises, to the caller that ran it.
        """
        return self._one_pass_create(key, create_factory, dependency_key_factory, _DEFAULT)

    def _one_pass_create(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None,
        policy: _Policy,
    ) -> Any:
        guard = self._pass_key(key)
        deadline = _time.monotonic() + seconds(self.timeout)
        for _ in range(ONE_PASS_ATTEMPTS):
            with OnePass(self.cache, guard, self.timeout, self.namespace, guards=key) as one_pass:
                if one_pass.acquired:
                    return self._hold(one_pass, key, create_factory, dependency_key_factory, policy)
                remaining = deadline - _time.monotonic()
                if remaining <= 0 or not self._wait(one_pass, key, remaining):
                    break
                result = one_pass.value
            if result is None:
                result = self.cache.get(key, self.namespace)
            if result is not None:
                return _value(result)
        return self._set_missed(key, create_factory, dependency_key_factory, policy)

    def _wait(self, one_pass: OnePass, key: Key, remaining: float) -> bool:
        """``one_pass.wait(remaining)``, reported as ``waited`` or ``wait_timeout``."""
        if not LISTENING:
            return one_pass.wait(remaining)
        started = _time.perf_counter()
        done = one_pass.wait(remaining)
        self._emit("waited" if done else "wait_timeout", key, _time.perf_counter() - started)
        return done

    def _hold(
        self,
        one_pass: OnePass,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None,
        policy: _Policy,
    ) -> Any:
        """The work of the caller holding the pass: read the key again (a
        caller that missed just before the previous holder stored the value
        may take the pass after it) with the marks, in one ``get_multi``;
        create; read the marks again and store unless they changed; the
        marks are read once more with the pass key when it is released, and
        the item deleted if they changed (before the waiters of this process
        are woken)."""
        if not hasattr(self.cache, "get_multi"):  # a minimal wheezy-style backend
            result = self.cache.get(key, self.namespace)
            if result is not None:
                return _value(result)
            return self._set_missed(key, create_factory, dependency_key_factory, policy)
        dependency_key = None if dependency_key_factory is None else dependency_key_factory()
        watched: list[Key] = [key] if dependency_key is None else [key, dependency_key]
        marks: list[Key] = [mark_key(k) for k in watched]
        epoch = self._epoch()
        found = self.cache.get_multi([key, *marks], self.namespace)
        result = found.get(key)
        if result is not None:
            return _value(result)
        before = tuple(found.get(mark) for mark in marks)
        unchanged = self._unchanged(watched, before, epoch)
        result, stored = self._build(
            key, create_factory, dependency_key, self.cache.set, policy, unchanged
        )
        if stored:
            namespace = self.namespace

            def check(now: dict[Key, Any]) -> None:
                if not self._valid_since(before, [now.get(mark) for mark in marks], epoch):
                    self.cache.delete(key, 0, namespace)  # invalidated while it was stored

            one_pass.watch = marks
            one_pass.on_watched = check
        return result

    def get_or_set_multi(
        self,
        make_key: Callable[[Any], Key],
        create_factory: Callable[[list[Any]], Mapping[Any, Any] | None],
        args: Iterable[Any],
    ) -> dict[Any, Any]:
        """Get the items of ``args`` in one ``get_multi``; create the missing ones.

        :param make_key: ``make_key(arg) -> key``.
        :param create_factory: called with the list of args whose items were
            missed; returns a mapping ``arg -> value`` (may be partial).
        :param args: the item ids.
        :returns: ``arg -> value`` for the items cached or created; created
            items (values not ``None``) are stored with one ``set_multi``.
        """
        return self._get_or_set_multi(make_key, create_factory, args, _DEFAULT)

    def _get_or_set_multi(
        self,
        make_key: Callable[[Any], Key],
        create_factory: Callable[[list[Any]], Mapping[Any, Any] | None],
        args: Iterable[Any],
        policy: _Policy,
    ) -> dict[Any, Any]:
        key_map = {make_key(arg): arg for arg in args}
        found, missing = self._multi_found(
            key_map, self.cache.get_multi(list(key_map), self.namespace)
        )
        if not missing:
            return found
        return {**self._create_multi(key_map, missing, create_factory, policy), **found}

    def _create_multi(
        self,
        key_map: Mapping[Key, Any],
        missing: list[Key],
        create_factory: Callable[[list[Any]], Mapping[Any, Any] | None],
        policy: _Policy,
    ) -> dict[Any, Any]:
        """Create the items of ``missing`` (keys of ``key_map``) in one call
        and store those ``policy`` keeps in one ``set_multi``, guarded by
        their marks as :meth:`_create` is; return what was created."""
        epoch = self._epoch()
        before = read_marks(self.cache, missing, self.namespace)
        created = dict(create_factory([key_map[key] for key in missing]) or {})
        run(self._multi_stored(created, key_map, missing, policy, before, epoch), self.cache)
        return created

    # -- decorators ----------------------------------------------------------

    def _wraps(
        self,
        wrapped: Any,
        make_key: MakeKey | None,
        fill: Callable[[Key, Factory, Callable[[], str] | None, _Policy], Any],
        policy: _Policy,
    ) -> Any:
        """Decorator: look the call's key up; on a miss ``fill(key, factory, None, policy)``."""
        get = self.cache.get
        namespace = self.namespace

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            mk = self.adapt(func, make_key)

            def missed(key: Key, factory: Factory) -> Any:
                return fill(key, factory, None, policy)

            def served(key: Key, item: Fresh, factory: Factory) -> Any:
                return self._serve(key, item, factory, None, policy)

            spec: KeySpec | None = getattr(mk, "key_spec", None)
            if spec is not None:
                wrapper = self._inline_key_wrapper(func, spec, mk.bind, missed, served)  # type: ignore[attr-defined]
            else:

                def wrapper(*args: Any, **kwargs: Any) -> Any:
                    key = mk(*args, **kwargs)
                    result = get(key, namespace)
                    if result is None:
                        if LISTENING:
                            self._emit("miss", key)
                        return missed(key, functools.partial(func, *args, **kwargs))
                    if type(result) is Fresh:
                        return served(key, result, functools.partial(func, *args, **kwargs))
                    if LISTENING:
                        self._emit("hit", key)
                    return None if result is CACHED_NONE else result

            return self._helpers(func, wrapper, mk, policy)

        return cached_function(wrapped, decorate)

    def _helpers(
        self,
        func: Callable[..., Any],
        wrapper: Callable[..., Any],
        make_key: MakeKey,
        policy: _Policy,
    ) -> Callable[..., Any]:
        """Give ``wrapper`` the acts on one call: ``key``, ``get``, ``set``,
        ``invalidate``, ``refresh`` and ``original`` (each takes the
        function's own arguments, ``self``/``cls`` included)."""

        def key(*args: Any, **kwargs: Any) -> Key:
            return make_key(*args, **kwargs)

        def get(*args: Any, **kwargs: Any) -> Any:
            return _value(self.cache.get(make_key(*args, **kwargs), self.namespace))

        def set(value: Any, *args: Any, **kwargs: Any) -> bool:
            item, time = self._set_item(value, policy)
            return self.cache.set(make_key(*args, **kwargs), item, time, self.namespace)

        def invalidate(*args: Any, **kwargs: Any) -> bool:
            return self.invalidate(make_key(*args, **kwargs))

        def refresh(*args: Any, **kwargs: Any) -> Any:
            factory = functools.partial(func, *args, **kwargs)
            call_key = make_key(*args, **kwargs)
            result = self._set_missed(call_key, factory, None, policy)
            if not self._keep(result, policy):  # not stored: the old item must go too
                self.cache.delete(call_key, 0, self.namespace)
            return result

        return with_acts(
            wrapper, func, key=key, get=get, set=set, invalidate=invalidate, refresh=refresh
        )

    def _inline_key_wrapper(
        self,
        func: Callable[..., Any],
        spec: KeySpec,
        bind: Callable[[tuple[Any, ...], dict[str, Any]], str],
        fill: Callable[[Key, Factory], Any],
        served: Callable[[Key, Fresh, Factory], Any],
    ) -> Callable[..., Any]:
        """The wrapper of a function keyed by :func:`key_builder`, its hit path
        made short: generated with the function's own signature where it has
        no ``*args``/``**kwargs`` (docs/PERFORMANCE.md, "Decorated hits"), the
        key formatted in it (no call to ``make_key``) and checked there,
        whatever the backend checks: a key that breaks the key rules is
        hashed (:func:`safe_key`), exactly as ``make_key`` does; a key holding
        a default repr has its arguments checked
        (:func:`~caching.patterns.key_builders.check_arguments`)."""
        head = spec.head

        def check(key: str) -> str:
            if DEFAULT_REPR in key:
                raise _UntrustedKeyError
            return key if is_valid(key) else safe_key(key, head)

        def checked(key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
            check_arguments(func, args, kwargs)  # raises for a default repr
            return key if is_valid(key) else safe_key(key, head)

        source = spec.source or _GENERAL_SOURCE
        scope: dict[str, Any] = {}
        text = _WRAPPER.format(
            parameters=source.parameters, key=source.key, args=source.args, kwargs=source.kwargs
        )
        exec(compile(text, f"<cached {getattr(func, '__qualname__', '?')}>", "exec"), scope)
        wrapper: Callable[..., Any] = scope["_caching_wrapper"](
            _caching_head=head,
            # formatted key -> that key, or its hashed stand-in (checked once per key)
            _caching_valid=Memo(check),
            _caching_untrusted=_UntrustedKeyError,
            _caching_checked=checked,
            _caching_bind=bind,
            _caching_format_of=spec.formats.get,
            _caching_skip=spec.skip,
            _caching_get=self.cache.get,
            _caching_namespace=self.namespace,
            _caching_fill=fill,
            _caching_served=served,
            _caching_func=func,
            _caching_partial=functools.partial,
            _caching_fresh=Fresh,
            _caching_none=CACHED_NONE,
            _caching_listening=LISTENING,
            _caching_emit=self._emit,
            _caching_type=type,
        )
        wrapper.__defaults__ = source.defaults
        wrapper.__kwdefaults__ = source.kwdefaults
        # a wrong call's TypeError names the function, as the function's own would
        name = getattr(func, "__name__", "cached")
        qualname = getattr(func, "__qualname__", name)
        wrapper.__code__ = wrapper.__code__.replace(co_name=name, co_qualname=qualname)
        return wrapper

    @overload
    def wraps_get_or_add(
        self,
        wrapped: Callable[P, R],
        make_key: MakeKey | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> CachedFunction[P, R]: ...
    @overload
    def wraps_get_or_add(
        self,
        wrapped: None = None,
        make_key: MakeKey | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> CachedDecorator: ...
    @overload
    def wraps_get_or_add(
        self,
        wrapped: classmethod[Any, Any, Any] | staticmethod[Any, Any],
        make_key: MakeKey | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> Any: ...
    def wraps_get_or_add(
        self,
        wrapped: Any = None,
        make_key: MakeKey | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> Any:
        """Decorator of the :meth:`get_or_add` pattern.

        Keeps the function's name, docstring and signature (and its types:
        :class:`~caching.patterns.functions.CachedFunction`); works on
        functions, methods and classmethods (``self``/``cls`` left out of the
        key); usable bare or called (``make_key=...``)::

            cached = Cached(cache, key_builder("repo"), time=60)

            @cached.wraps_get_or_add
            def list_items(self, locale="en"): ...

            repo.list_items.invalidate("en")  # acts on one call

        :param make_key: takes the function's arguments (``self``/``cls``
            left out) and returns the key.
        :param time: this function's expiry, ``int`` seconds or
            ``timedelta``; ``None``: the ``Cached``'s.
        :param should_cache: this function's ``should_cache`` (see
            :class:`Cached`); ``None``: the ``Cached``'s.
        :param cache_none: this function's ``cache_none``; ``None``: the
            ``Cached``'s.
        :returns: the decorated function, with ``key``, ``get``, ``set``,
            ``invalidate``, ``refresh`` and ``original``.
        :raises TypeError: (on a call) an argument whose ``repr`` is the
            default ``<... object at 0x...>``, when the key builder makes the key.
        """
        policy = self._policy(time, should_cache, cache_none)
        return self._wraps(wrapped, make_key, self._add_missed, policy)

    @overload
    def wraps_get_or_set(
        self,
        wrapped: Callable[P, R],
        make_key: MakeKey | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> CachedFunction[P, R]: ...
    @overload
    def wraps_get_or_set(
        self,
        wrapped: None = None,
        make_key: MakeKey | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> CachedDecorator: ...
    @overload
    def wraps_get_or_set(
        self,
        wrapped: classmethod[Any, Any, Any] | staticmethod[Any, Any],
        make_key: MakeKey | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> Any: ...
    def wraps_get_or_set(
        self,
        wrapped: Any = None,
        make_key: MakeKey | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> Any:
        """Decorator of the :meth:`get_or_set` pattern (also ``@cached``);
        see :meth:`wraps_get_or_add`."""
        policy = self._policy(time, should_cache, cache_none)
        return self._wraps(wrapped, make_key, self._set_missed, policy)

    @overload
    def __call__(
        self,
        wrapped: Callable[P, R],
        make_key: MakeKey | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> CachedFunction[P, R]: ...
    @overload
    def __call__(
        self,
        wrapped: None = None,
        make_key: MakeKey | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> CachedDecorator: ...
    @overload
    def __call__(
        self,
        wrapped: classmethod[Any, Any, Any] | staticmethod[Any, Any],
        make_key: MakeKey | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> Any: ...
    def __call__(
        self,
        wrapped: Any = None,
        make_key: MakeKey | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> Any:
        """``@cached`` is :meth:`wraps_get_or_set`."""
        return self.wraps_get_or_set(
            wrapped, make_key, time=time, should_cache=should_cache, cache_none=cache_none
        )

    @overload
    def wraps_get_or_create(
        self,
        wrapped: Callable[P, R],
        make_key: MakeKey | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> CachedFunction[P, R]: ...
    @overload
    def wraps_get_or_create(
        self,
        wrapped: None = None,
        make_key: MakeKey | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> CachedDecorator: ...
    @overload
    def wraps_get_or_create(
        self,
        wrapped: classmethod[Any, Any, Any] | staticmethod[Any, Any],
        make_key: MakeKey | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> Any: ...
    def wraps_get_or_create(
        self,
        wrapped: Any = None,
        make_key: MakeKey | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> Any:
        """Decorator of the :meth:`get_or_create` pattern (thundering-herd
        safe); see :meth:`wraps_get_or_add`."""
        policy = self._policy(time, should_cache, cache_none)
        return self._wraps(wrapped, make_key, self._one_pass_create, policy)

    def wraps_get_or_set_multi(
        self,
        make_key: Callable[[Any], Key],
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> CachedMultiDecorator:
        """Decorator of the :meth:`get_or_set_multi` pattern::

            @cached.wraps_get_or_set_multi(make_key=lambda i: f"account:{i}")
            def get_multi_account(account_ids): ...

        The function takes the list of ids as its first argument (after
        ``self``/``cls``) and returns ``id -> value``; other arguments are
        passed on but are not part of the keys. With ``cache_none``, an id
        the function leaves out (or maps to ``None``) is stored as
        :data:`CACHED_NONE` and left out of later answers without a call.

        The decorated function has ``key(id)``, ``get_multi(ids)`` (the
        cached values, no call), ``set_multi(mapping)`` (the ids not
        stored), ``invalidate(ids)``, ``refresh(ids, ...)`` (calls the
        function for every id, stores and returns its answer) and
        ``original``; on a method they go through the instance.
        """
        policy = self._policy(time, should_cache, cache_none)

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            ids = _Ids(func)

            def creator(bound: inspect.BoundArguments) -> Callable[[list[Any]], Any]:
                def create(missing: list[Any]) -> Any:
                    args, kwargs = ids.replaced(bound, missing)
                    return func(*args, **kwargs)

                return create

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                bound = ids.bind(args, kwargs)
                call_ids = bound.arguments[ids.name]
                return self._get_or_set_multi(make_key, creator(bound), call_ids, policy)

            def key(*args: Any) -> Key:
                return make_key(ids.one(args))

            def get_multi(*args: Any) -> dict[Any, Any]:
                return run(self._ids_found(make_key, ids.one(args)), self.cache)

            def set_multi(*args: Any) -> list[Any]:
                return run(self._ids_set(make_key, ids.one(args), policy), self.cache)

            def invalidate(*args: Any) -> bool:
                return self.invalidate_multi([make_key(arg) for arg in ids.one(args)])

            def refresh(*args: Any, **kwargs: Any) -> dict[Any, Any]:
                bound = ids.bind(args, kwargs)
                key_map = {make_key(arg): arg for arg in bound.arguments[ids.name]}
                return self._create_multi(key_map, list(key_map), creator(bound), policy)

            return with_acts(
                wrapper,
                func,
                key=key,
                get_multi=get_multi,
                set_multi=set_multi,
                invalidate=invalidate,
                refresh=refresh,
            )

        return cast(CachedMultiDecorator, lambda wrapped: cached_multi_function(wrapped, decorate))
