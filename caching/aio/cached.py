"""``AsyncCached``: :class:`caching.patterns.cached.Cached`'s patterns for
asyncio, over any :class:`~caching.aio.contract.AsyncCache`.

The decisions are the sync layer's, shared rather than copied: the settings
and every decision without I/O live in
:class:`~caching.patterns.cached.CachedBase`, which both classes extend
(what is stored for a created value: ``should_cache``, ``cache_none``, the
:class:`~caching.patterns.stale.Fresh` item of a stale period; when an item
is stale; the guard key; the make-key function of a decorated function; the
events; the bookkeeping of failed and queued rebuilds). The invalidation
marks are :mod:`caching.patterns.marks`' keys and tokens, the decorated
functions bind to instances as the sync ones do
(:func:`~caching.patterns.functions.cached_function`), and every cache call
passes the same arguments in the same order. So async and sync callers of
one memcached read each other's items (plain, ``Fresh``, ``CACHED_NONE``),
respect each other's guards and see each other's invalidations.

The herd guard of :meth:`AsyncCached.get_or_create` has two levels:

- in one event loop, concurrent misses of one key share a single creation:
  the first starts it in a task, the others await that task (no polling, no
  thread); a waiter cancelled meanwhile leaves the creation running for
  the others; a call after an invalidation of the key never takes the value
  of a creation that began before it (the invalidation drops the shared
  creation, and the creation tells its waiters when it saw the mark or the
  generation change: they read the key again and create it);
- across processes (and loops), the creation takes an :class:`AsyncOnePass`
  (``add``-based, polled with ``asyncio.sleep``), as the sync guard does; a
  creator cancelled mid-creation releases the pass at once.

Stale-while-revalidate (``stale=``): a stale hit is served at once to every
caller but the one that takes the pass (across processes), which rebuilds
it inline, or (``refresh="background"``) starts an asyncio task that
rebuilds it: one task per key at a time in a process, at most
:data:`~caching.patterns.stale.MAX_QUEUED` tasks at once, each referenced
until it ends; a task that raises is logged (once per key per
:data:`~caching.patterns.cached.REBUILD_RETRY` seconds), never lost.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import time as _time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar, cast, overload

from caching.aio.contract import AsyncCache
from caching.aio.dependency import AsyncCacheDependency
from caching.aio.functions import (
    AsyncCachedDecorator,
    AsyncCachedFunction,
    AsyncCachedMultiDecorator,
)
from caching.aio.marks import read_marks, write_marks
from caching.aio.onepass import AsyncOnePass
from caching.events import LISTENING
from caching.expiry import Time, seconds
from caching.key_rules import Key
from caching.patterns.cached import (
    _DEFAULT,
    ONE_PASS_ATTEMPTS,
    CachedBase,
    ShouldCache,
    _Ids,
    _Policy,
    _value,
)
from caching.patterns.functions import (
    CACHED_NONE,
    cached_function,
    cached_multi_function,
    with_acts,
)
from caching.patterns.marks import mark_key
from caching.patterns.stale import BACKGROUND, MAX_QUEUED, Fresh
from caching.steps import run_async

__all__ = ["AsyncCached"]

Factory = Callable[[], Awaitable[Any]]
Store = Callable[[Key, Any, Time, "str | None"], Awaitable[bool]]
Fill = Callable[[Key, Factory, _Policy], Awaitable[Any]]
P = ParamSpec("P")
R = TypeVar("R")

#: The background rebuilds running in this process (every loop): referenced
#: here until they end, and counted against ``MAX_QUEUED``.
_background: set[asyncio.Task[Any]] = set()


def _wired(dependency_key_factory: Callable[[], str] | None) -> _Policy:
    """The policy of a call whose item is wired to ``dependency_key_factory()``."""
    if dependency_key_factory is None:
        return _DEFAULT
    return _Policy(dependency=dependency_key_factory)


class AsyncCached(CachedBase[AsyncCache]):
    """Cache settings shared by many calls, and the caching patterns, for
    coroutines. Arguments as :class:`caching.patterns.cached.Cached`'s
    (``should_cache``, ``cache_none``, ``stale``, ``refresh`` and
    ``serve_stale_on_error`` keyword only):

    :param cache: any :class:`~caching.aio.contract.AsyncCache`.
    :param key_builder: makes a decorated function's make-key function;
        defaults to ``key_builder(func.__module__)``.
    :param time: expiry of stored items, ``int`` seconds or ``timedelta``.
    :param namespace: passed to every cache call.
    :param timeout: life of a one-pass guard (seconds or ``timedelta``): how
        long waiters wait for a creator elsewhere, and how long a dead one
        blocks others.
    :param key_prefix: prepended to a key to name its guard.
    :param refresh: with ``stale``: ``"inline"`` (the caller that takes the
        pass rebuilds and gets the new value) or ``"background"`` (an asyncio
        task of the caller's loop rebuilds; every caller gets the stale
        value at once).
    :raises ValueError: as ``Cached``'s (a bad ``refresh``; ``stale`` or
        ``cache_none`` over a serializer that cannot store Python objects).

    The creators never leave a value built from data read before an
    invalidation (:meth:`invalidate`, a decorated function's ``invalidate``)
    that ran while they were building, whether it came from async or sync
    code (:mod:`caching.patterns.marks`).
    """

    def _started(self) -> None:
        #: Wires items to master keys (``dependency_key_factory``); its
        #: ``delete`` writes invalidation marks, as ``Cached.dependency``'s.
        self.dependency = AsyncCacheDependency(self.cache, self.time, self.namespace, marks=True)
        #: (id(loop), key) -> the creation under way in that loop.
        self._creating: dict[tuple[int, Key], asyncio.Future[Any]] = {}

    # -- pass-through --------------------------------------------------------

    async def get(self, key: Key) -> Any:
        """``get`` in this instance's namespace (``CACHED_NONE`` reads as
        ``None``, a ``Fresh`` as its value)."""
        return _value(await self.cache.get(key, self.namespace))

    async def get_multi(self, keys: Iterable[Key]) -> dict[Key, Any]:
        """``get_multi`` in this instance's namespace (``CACHED_NONE`` items
        left out, as misses are)."""
        return self._read_multi(await self.cache.get_multi(keys, self.namespace))

    async def set(self, key: Key, value: Any) -> bool:
        """``set`` with this instance's time and namespace."""
        return await self.cache.set(key, *self._item(value, self.time), self.namespace)

    async def add(self, key: Key, value: Any) -> bool:
        """``add`` with this instance's time and namespace."""
        return await self.cache.add(key, *self._item(value, self.time), self.namespace)

    async def replace(self, key: Key, value: Any) -> bool:
        """``replace`` with this instance's time and namespace."""
        return await self.cache.replace(key, *self._item(value, self.time), self.namespace)

    async def set_multi(self, mapping: Mapping[Key, Any]) -> list[Key]:
        """``set_multi`` with this instance's time and namespace."""
        return await self.cache.set_multi(*self._items(mapping), self.namespace)

    async def add_multi(self, mapping: Mapping[Key, Any]) -> list[Key]:
        """``add_multi`` with this instance's time and namespace."""
        return await self.cache.add_multi(*self._items(mapping), self.namespace)

    async def replace_multi(self, mapping: Mapping[Key, Any]) -> list[Key]:
        """``replace_multi`` with this instance's time and namespace."""
        return await self.cache.replace_multi(*self._items(mapping), self.namespace)

    async def delete(self, key: Key, seconds: int = 0) -> bool:
        """``delete`` in this instance's namespace (wheezy's plain delete;
        :meth:`invalidate` is the protected one)."""
        return await self.cache.delete(key, seconds, self.namespace)

    async def delete_multi(self, keys: Iterable[Key], seconds: int = 0) -> bool:
        """``delete_multi`` in this instance's namespace."""
        return await self.cache.delete_multi(keys, seconds, self.namespace)

    async def invalidate(self, key: Key) -> bool:
        """``Cached.invalidate``: a new invalidation mark, then ``delete``,
        so that no creator building ``key`` meanwhile (here, in sync code or
        in another process) stores a value made from older data; a
        :meth:`get_or_create` of ``key`` from now on does not await a
        creation of this loop that was under way.

        :returns: whether a live item was removed.
        :raises InvalidKeyError: ``key`` is not a valid key.
        """
        await write_marks(self.cache, [key], self.namespace)
        self._forget_creations([key])
        return await self.cache.delete(key, 0, self.namespace)

    async def invalidate_multi(self, keys: Iterable[Key]) -> bool:
        """:meth:`invalidate` for many keys (one ``set_multi``, one ``delete_multi``).

        :returns: ``True`` when none of ``keys`` holds an item afterwards.
        """
        keys = list(keys)
        if not keys:
            return True
        await write_marks(self.cache, keys, self.namespace)
        self._forget_creations(keys)
        return await self.cache.delete_multi(keys, 0, self.namespace)

    def _forget_creations(self, keys: Iterable[Key] | None = None) -> None:
        """Drop this loop's shared creations of ``keys`` (``None``: of every
        key) from :attr:`_creating`: a call that comes after an invalidation
        starts a creation of its own rather than await one that may have read
        the data from before it. The creation dropped still runs for the
        callers already awaiting it (and deletes what it stored, its mark
        having changed)."""
        loop_id = id(asyncio.get_running_loop())
        if keys is None:
            for slot in [slot for slot in list(self._creating) if slot[0] == loop_id]:
                self._creating.pop(slot, None)
            return
        for key in keys:
            self._creating.pop((loop_id, key), None)

    def _settled(self, key: Key) -> None:
        """The shared creation of ``key`` running in the current task has
        its answer (read, or built and its mark checked): drop it from
        :attr:`_creating` now, synchronously, before the awaits that remain
        (releasing the pass), so that a call beginning after an invalidation
        that lands meanwhile, from any process, reads the key again rather
        than join an answer checked before that invalidation."""
        slot = (id(asyncio.get_running_loop()), key)
        if self._creating.get(slot) is asyncio.current_task():
            self._creating.pop(slot, None)

    async def incr(self, key: Key, delta: int = 1, initial_value: int | None = None) -> int | None:
        """``incr`` in this instance's namespace."""
        return await self.cache.incr(key, delta, self.namespace, initial_value)

    async def decr(self, key: Key, delta: int = 1, initial_value: int | None = None) -> int | None:
        """``decr`` in this instance's namespace."""
        return await self.cache.decr(key, delta, self.namespace, initial_value)

    # -- creation ------------------------------------------------------------

    async def _create(
        self, key: Key, create_factory: Factory, store: Store, policy: _Policy = _DEFAULT
    ) -> Any:
        """Await ``create_factory()``; store a result ``policy`` keeps. The
        mark of ``key`` is read before, again before the store and once more
        after: when it changed, an invalidation ran meanwhile, and the value
        is not stored, or the stored item is deleted."""
        return (await self._create_checked(key, create_factory, store, policy, False))[0]

    async def _create_checked(
        self, key: Key, create_factory: Factory, store: Store, policy: _Policy, shared: bool
    ) -> tuple[Any, bool]:
        """:meth:`_create`. :returns: the result and whether it is still
        valid: no invalidation of ``key``, nor of the region, seen while it
        was built (when nothing was stored, the mark is read again only for
        a ``shared`` creation, whose waiters are told; else ``True``)."""
        dependency_key = None if policy.dependency is None else policy.dependency()
        watched = [key] if dependency_key is None else [key, dependency_key]
        epoch = self._epoch()
        before = await read_marks(self.cache, watched, self.namespace)
        unchanged = self._unchanged(watched, before, epoch)
        result, stored = await self._build(
            key, create_factory, store, policy, unchanged, dependency_key
        )
        if not stored and not shared:
            return result, True
        valid = await unchanged()
        if shared:
            self._settled(key)
        if stored and not valid:
            await self.cache.delete(key, 0, self.namespace)  # invalidated while it was stored
        return result, valid

    def _unchanged(
        self, watched: list[Key], before: list[object], epoch: object
    ) -> Callable[[], Awaitable[bool]]:
        """``await unchanged()``: the sync ``_unchanged`` (still valid, the
        marks read again, until it is not)."""
        valid = True

        async def unchanged() -> bool:
            nonlocal valid
            if valid:
                now = await read_marks(self.cache, watched, self.namespace)
                valid = self._valid_since(before, now, epoch)
            return valid

        return unchanged

    async def _build(
        self,
        key: Key,
        create_factory: Factory,
        store: Store,
        policy: _Policy,
        unchanged: Callable[[], Awaitable[bool]],
        dependency_key: str | None = None,
    ) -> tuple[Any, bool]:
        """Await ``create_factory()``; store the item of a result ``policy``
        keeps, wired to ``dependency_key`` when given, unless ``await
        unchanged()`` (the marks read again) says it was invalidated while
        it was built: then nothing is stored (the sync ``_build``).
        :returns: the result and whether it was stored."""
        started = _time.time()  # the value is as old as the data it was built from
        if LISTENING:
            result = await self._timed_create(key, create_factory)
        else:
            result = await create_factory()
        if not self._keep(result, policy) or not await unchanged():
            return result, False
        item, time = self._created_item(result, policy, started)
        stored = await store(key, item, time, self.namespace)
        if stored and dependency_key is not None:
            await self.dependency.add(dependency_key, key)  # type: ignore[arg-type]
        return result, stored

    async def _timed_create(self, key: Key, create_factory: Factory) -> Any:
        """``await create_factory()``, reported as ``created`` or ``create_failed``."""
        started = _time.perf_counter()
        try:
            result = await create_factory()
        except BaseException as exc:
            self._emit("create_failed", key, _time.perf_counter() - started, exc)
            raise
        self._emit("created", key, _time.perf_counter() - started)
        return result

    async def _add_missed(self, key: Key, create_factory: Factory, policy: _Policy) -> Any:
        return await self._create(key, create_factory, self.cache.add, policy)

    async def _set_missed(self, key: Key, create_factory: Factory, policy: _Policy) -> Any:
        return await self._create(key, create_factory, self.cache.set, policy)

    # -- stale-while-revalidate ----------------------------------------------

    async def _serve(self, key: Key, item: Fresh, create_factory: Factory, policy: _Policy) -> Any:
        """A hit on an item stored with a stale period (the sync ``_serve``):
        its value while fresh; when stale, its value too, unless this caller
        takes the pass and rebuilds it inline or in a background task."""
        value = _value(item.value)
        if not self._is_stale(item):
            if LISTENING:
                self._emit("hit", key)
            return value
        background = self.refresh == BACKGROUND
        if self._skip_rebuild(key) or (background and len(_background) >= MAX_QUEUED):
            return self._served_stale(key, value)  # failed just now, queued, or full
        one_pass = AsyncOnePass(self.cache, self._pass_key(key), self.timeout, self.namespace)
        await one_pass.__aenter__()
        if not one_pass.acquired:
            return self._served_stale(key, value)  # another caller, in any process, rebuilds it
        try:
            current = await self.cache.get(key, self.namespace)  # rebuilt since it was read?
        except BaseException:  # cancelled: the pass goes with it
            await one_pass.__aexit__(None, None, None)
            raise
        if current is not None and not self._is_stale(current):
            await one_pass.__aexit__(None, None, None)
            return _value(current)
        if not background:
            return await self._rebuild(one_pass, key, create_factory, policy)
        with self._rebuild_lock:
            self._queued.add(key)
        task = asyncio.get_running_loop().create_task(
            self._rebuild_in_background(one_pass, key, create_factory, policy)
        )
        _background.add(task)
        task.add_done_callback(_background.discard)
        return self._served_stale(key, value)

    async def _rebuild(
        self, one_pass: AsyncOnePass, key: Key, create_factory: Factory, policy: _Policy
    ) -> Any:
        """Rebuild a stale value holding ``one_pass``, then release it. A
        failure drops the stale item, or with ``serve_stale_on_error`` keeps
        it and holds this process's next try off for ``REBUILD_RETRY``."""
        try:
            result = await self._create(key, create_factory, self.cache.set, policy)
        except Exception:
            if self._rebuild_failed_now(key):
                await self.cache.delete(key, 0, self.namespace)
            raise
        finally:
            await one_pass.__aexit__(None, None, None)
        self._rebuild_done(key)
        return result

    async def _rebuild_in_background(
        self, one_pass: AsyncOnePass, key: Key, create_factory: Factory, policy: _Policy
    ) -> None:
        """The background task of a rebuild: its exception is logged."""
        try:
            await self._rebuild(one_pass, key, create_factory, policy)
        except Exception as exc:
            self._rebuild_error(key, exc)
        finally:
            self._dequeue(key)

    # -- patterns ------------------------------------------------------------

    async def _get_or(
        self, key: Key, fill: Fill, create_factory: Factory, policy: _Policy = _DEFAULT
    ) -> Any:
        """Get ``key``; on a miss ``await fill(key, create_factory, policy)``."""
        result = await self.cache.get(key, self.namespace)
        if result is None:
            if LISTENING:
                self._emit("miss", key)
            return await fill(key, create_factory, policy)
        if type(result) is Fresh:
            return await self._serve(key, result, create_factory, policy)
        if LISTENING:
            self._emit("hit", key)
        return None if result is CACHED_NONE else result

    async def get_or_add(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None = None,
    ) -> Any:
        """Get ``key``; on a miss await ``create_factory()`` and ``add`` its
        result (unless ``None`` or ``should_cache`` rejects it), wired to
        ``dependency_key_factory()`` when given (:attr:`dependency`), as
        the sync ``get_or_add``.

        :returns: the cached or created value.
        """
        return await self._get_or(
            key, self._add_missed, create_factory, _wired(dependency_key_factory)
        )

    async def get_or_set(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None = None,
    ) -> Any:
        """As :meth:`get_or_add`, storing with ``set`` (overwrites)."""
        return await self._get_or(
            key, self._set_missed, create_factory, _wired(dependency_key_factory)
        )

    async def get_or_create(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None = None,
    ) -> Any:
        """Get ``key``; on a miss create it once however many callers miss it.

        In this event loop, the misses of ``key`` share one creation
        (:meth:`one_pass_create` in a task of its own), which they await;
        the caller that started it gets its exception, if any, and the others
        then try themselves (through the pass), as the sync waiters do.
        When the creation saw an invalidation of ``key`` (its mark, or a
        region's generation, changed while it built the value), the waiters
        told so read the key again through one new shared creation (so a
        key invalidated often is still created once per round, not once per
        waiter), for at most :data:`~caching.patterns.cached.ONE_PASS_ATTEMPTS`
        rounds; then each takes the last round's value as it is, as a sync
        waiter does. A shared creation leaves the loop's table as soon as it
        has its answer (before it releases its pass). So a caller never
        takes a value built from data read before an invalidation that had
        returned when the call began.

        :returns: the value (``None`` only if ``create_factory`` says so).
        :raises: whatever ``create_factory`` raises, to the caller whose
            creation ran it.
        """
        return await self._get_or(
            key, self._create_missed, create_factory, _wired(dependency_key_factory)
        )

    async def _create_missed(self, key: Key, create_factory: Factory, policy: _Policy) -> Any:
        """The in-loop level of the herd guard (see :meth:`get_or_create`)."""
        loop = asyncio.get_running_loop()
        slot = (id(loop), key)
        result: Any = None
        for _ in range(ONE_PASS_ATTEMPTS):
            creating = self._creating.get(slot)
            if creating is None:
                return await self._start_creation(loop, slot, key, create_factory, policy)
            try:  # a waiter's cancel stays its own
                result, valid = await asyncio.shield(creating)
            except Exception:  # the creator's error is the creator's: try ourselves
                return await self._one_pass_create(key, create_factory, policy)
            if valid:
                return result
            # Invalidated while it was built (here, in sync code, in another
            # process, a new region generation): read the key again, sharing
            # one new creation with the loop's other waiters told so.
        # Invalidated in every round (invalidations more frequent than a
        # creation): take the last value as it is, as a sync waiter does
        # after ONE_PASS_ATTEMPTS; it was built after this call began.
        return result

    async def _start_creation(
        self,
        loop: asyncio.AbstractEventLoop,
        slot: tuple[int, Key],
        key: Key,
        create_factory: Factory,
        policy: _Policy,
    ) -> Any:
        """Start the loop's shared creation of ``key`` in a task of its own
        (in :attr:`_creating` until it has its answer) and await it."""
        task = loop.create_task(self._shared_create(key, create_factory, policy))
        self._creating[slot] = task

        def forget(done: asyncio.Future[Any]) -> None:
            if self._creating.get(slot) is done:
                self._creating.pop(slot, None)
            if not done.cancelled():
                done.exception()  # retrieved: a failed creation is the starter's

        task.add_done_callback(forget)
        return (await asyncio.shield(task))[0]

    async def one_pass_create(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None = None,
    ) -> Any:
        """The sync ``one_pass_create`` over :class:`AsyncOnePass`: the
        holder of the guard (``key_prefix`` + ``key``, alive ``timeout``
        seconds) reads ``key`` and its invalidation mark again, awaits
        ``create_factory()`` and stores a result it keeps with ``set``
        (deleted again if the mark changed meanwhile); the others wait for
        it and read the value; a waiter that times out or runs out of tries
        creates the value itself."""
        return await self._one_pass_create(key, create_factory, _wired(dependency_key_factory))

    async def _one_pass_create(self, key: Key, create_factory: Factory, policy: _Policy) -> Any:
        return (await self._shared_create(key, create_factory, policy))[0]

    async def _shared_create(
        self, key: Key, create_factory: Factory, policy: _Policy
    ) -> tuple[Any, bool]:
        """:meth:`one_pass_create`, the work of a creation shared in a loop.

        :returns: the value and whether the loop's other callers may take
            it: ``True`` for a value read from the cache, or created with no
            invalidation seen meanwhile (:meth:`_hold`, :meth:`_create_checked`).
        """
        guard = self._pass_key(key)
        deadline = _time.monotonic() + seconds(self.timeout)
        for _ in range(ONE_PASS_ATTEMPTS):
            async with AsyncOnePass(
                self.cache, guard, self.timeout, self.namespace, guards=key
            ) as one_pass:
                if one_pass.acquired:
                    return await self._hold(key, create_factory, policy)
                remaining = deadline - _time.monotonic()
                if remaining <= 0 or not await self._wait(one_pass, key, remaining):
                    break
                result = one_pass.value
                if result is not None:
                    self._settled(key)  # before the pass's exit awaits
            if result is None:
                result = await self.cache.get(key, self.namespace)
            if result is not None:
                self._settled(key)
                return _value(result), True
        return await self._create_checked(key, create_factory, self.cache.set, policy, True)

    async def _wait(self, one_pass: AsyncOnePass, key: Key, remaining: float) -> bool:
        """``one_pass.wait(remaining)``, reported as ``waited`` or ``wait_timeout``."""
        if not LISTENING:
            return await one_pass.wait(remaining)
        started = _time.perf_counter()
        done = await one_pass.wait(remaining)
        self._emit("waited" if done else "wait_timeout", key, _time.perf_counter() - started)
        return done

    async def _hold(self, key: Key, create_factory: Factory, policy: _Policy) -> tuple[Any, bool]:
        """The work of the pass holder (the sync ``_hold``): read the key
        again with its mark in one ``get_multi``; create; read the mark
        again and store unless it changed; read it once more before the pass
        is released, and delete the item if it changed (so no waiter reads it).

        :returns: the value and whether it is still valid (read from the
            cache, or no invalidation seen while it was built)."""
        dependency_key = None if policy.dependency is None else policy.dependency()
        watched = [key] if dependency_key is None else [key, dependency_key]
        marks = [mark_key(watched_key) for watched_key in watched]
        epoch = self._epoch()
        found = await self.cache.get_multi([key, *marks], self.namespace)
        result = found.get(key)
        if result is not None:
            self._settled(key)
            return _value(result), True
        unchanged = self._unchanged(watched, [found.get(mark) for mark in marks], epoch)
        result, stored = await self._build(
            key, create_factory, self.cache.set, policy, unchanged, dependency_key
        )
        valid = await unchanged()
        self._settled(key)
        if stored and not valid:
            await self.cache.delete(key, 0, self.namespace)  # invalidated while it was stored
        return result, valid

    async def get_or_set_multi(
        self,
        make_key: Callable[[Any], Key],
        create_factory: Callable[[list[Any]], Awaitable[Mapping[Any, Any] | None]],
        args: Iterable[Any],
    ) -> dict[Any, Any]:
        """As the sync ``get_or_set_multi``: the items of ``args`` in one
        ``get_multi``; the missing (or stale) ones created by one awaited
        ``create_factory(missing_args)`` and stored with one ``set_multi``,
        guarded by their marks.

        :returns: ``arg -> value`` for the items cached or created.
        """
        return await self._get_or_set_multi(make_key, create_factory, args, _DEFAULT)

    async def _get_or_set_multi(
        self,
        make_key: Callable[[Any], Key],
        create_factory: Callable[[list[Any]], Awaitable[Mapping[Any, Any] | None]],
        args: Iterable[Any],
        policy: _Policy,
    ) -> dict[Any, Any]:
        key_map = {make_key(arg): arg for arg in args}
        cached = await self.cache.get_multi(list(key_map), self.namespace)
        found, missing = self._multi_found(key_map, cached)
        if not missing:
            return found
        return {**await self._create_multi(key_map, missing, create_factory, policy), **found}

    async def _create_multi(
        self,
        key_map: Mapping[Key, Any],
        missing: list[Key],
        create_factory: Callable[[list[Any]], Awaitable[Mapping[Any, Any] | None]],
        policy: _Policy,
    ) -> dict[Any, Any]:
        """The sync ``_create_multi``: create the items of ``missing`` in one
        call, store those ``policy`` keeps in one ``set_multi``, and delete
        those whose marks changed meanwhile."""
        epoch = self._epoch()
        before = await read_marks(self.cache, missing, self.namespace)
        created = dict(await create_factory([key_map[key] for key in missing]) or {})
        steps = self._multi_stored(created, key_map, missing, policy, before, epoch)
        await run_async(steps, self.cache)
        return created

    # -- decorators ----------------------------------------------------------

    def _wraps(self, wrapped: Any, make_key: Any, fill: Fill, policy: _Policy) -> Any:
        """Decorator of an ``async def``: look the call's key up; on a miss
        ``await fill(key, factory, policy)``; on a ``Fresh`` item, serve it."""
        get = self.cache.get
        namespace = self.namespace
        serve = self._serve

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            mk = self.adapt(func, make_key)

            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                key = mk(*args, **kwargs)
                result = await get(key, namespace)
                if result is None:
                    if LISTENING:
                        self._emit("miss", key)
                    return await fill(key, functools.partial(func, *args, **kwargs), policy)
                if type(result) is Fresh:
                    return await serve(
                        key, result, functools.partial(func, *args, **kwargs), policy
                    )
                if LISTENING:
                    self._emit("hit", key)
                return None if result is CACHED_NONE else result

            return self._helpers(func, wrapper, mk, policy)

        return cached_function(wrapped, decorate)

    def _helpers(
        self,
        func: Callable[..., Any],
        wrapper: Callable[..., Any],
        make_key: Callable[..., Key],
        policy: _Policy,
    ) -> Callable[..., Any]:
        """Give ``wrapper`` the acts on one call (the sync ``_helpers``):
        ``key`` and ``original`` plain, ``get``, ``set``, ``invalidate`` and
        ``refresh`` coroutines; each takes the function's own arguments."""

        def key(*args: Any, **kwargs: Any) -> Key:
            return make_key(*args, **kwargs)

        async def get(*args: Any, **kwargs: Any) -> Any:
            return _value(await self.cache.get(make_key(*args, **kwargs), self.namespace))

        async def set(value: Any, *args: Any, **kwargs: Any) -> bool:
            item, time = self._set_item(value, policy)
            return await self.cache.set(make_key(*args, **kwargs), item, time, self.namespace)

        async def invalidate(*args: Any, **kwargs: Any) -> bool:
            return await self.invalidate(make_key(*args, **kwargs))

        async def refresh(*args: Any, **kwargs: Any) -> Any:
            factory = functools.partial(func, *args, **kwargs)
            call_key = make_key(*args, **kwargs)
            result = await self._set_missed(call_key, factory, policy)
            if not self._keep(result, policy):  # not stored: the old item must go too
                await self.cache.delete(call_key, 0, self.namespace)
            return result

        return with_acts(
            wrapper, func, key=key, get=get, set=set, invalidate=invalidate, refresh=refresh
        )

    @overload
    def wraps_get_or_add(
        self,
        wrapped: Callable[P, Awaitable[R]],
        make_key: Callable[..., Key] | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> AsyncCachedFunction[P, R]: ...
    @overload
    def wraps_get_or_add(
        self,
        wrapped: None = None,
        make_key: Callable[..., Key] | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> AsyncCachedDecorator: ...
    @overload
    def wraps_get_or_add(
        self,
        wrapped: classmethod[Any, Any, Any] | staticmethod[Any, Any],
        make_key: Callable[..., Key] | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> Any: ...
    def wraps_get_or_add(
        self,
        wrapped: Any = None,
        make_key: Callable[..., Key] | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> Any:
        """Decorator of the :meth:`get_or_add` pattern for ``async def``
        functions, as the sync ``Cached.wraps_get_or_add``: keeps the
        function's name, docstring and signature (and its types:
        :class:`~caching.aio.functions.AsyncCachedFunction`); works on
        functions, methods and classmethods (``self``/``cls`` left out of
        the key); usable bare or called::

            @cached.wraps_get_or_add(time=30)
            async def list_items(self, locale="en"): ...

            await repo.list_items.invalidate("en")  # acts on one call

        :param make_key: takes the function's arguments (``self``/``cls``
            left out) and returns the key; default: the key builder's.
        :param time: this function's expiry, ``int`` seconds or
            ``timedelta``; ``None``: the ``AsyncCached``'s.
        :param should_cache: this function's ``should_cache``; ``None``: the
            ``AsyncCached``'s.
        :param cache_none: this function's ``cache_none``; ``None``: the
            ``AsyncCached``'s.
        :returns: the decorated function, with ``key`` and ``original``, and
            the coroutines ``get``, ``set``, ``invalidate`` and ``refresh``.
        :raises TypeError: (on a call) an argument whose ``repr`` is the
            default ``<... object at 0x...>``, when the key builder makes the key.
        """
        policy = self._policy(time, should_cache, cache_none)
        return self._wraps(wrapped, make_key, self._add_missed, policy)

    @overload
    def wraps_get_or_set(
        self,
        wrapped: Callable[P, Awaitable[R]],
        make_key: Callable[..., Key] | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> AsyncCachedFunction[P, R]: ...
    @overload
    def wraps_get_or_set(
        self,
        wrapped: None = None,
        make_key: Callable[..., Key] | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> AsyncCachedDecorator: ...
    @overload
    def wraps_get_or_set(
        self,
        wrapped: classmethod[Any, Any, Any] | staticmethod[Any, Any],
        make_key: Callable[..., Key] | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> Any: ...
    def wraps_get_or_set(
        self,
        wrapped: Any = None,
        make_key: Callable[..., Key] | None = None,
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
        wrapped: Callable[P, Awaitable[R]],
        make_key: Callable[..., Key] | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> AsyncCachedFunction[P, R]: ...
    @overload
    def __call__(
        self,
        wrapped: None = None,
        make_key: Callable[..., Key] | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> AsyncCachedDecorator: ...
    @overload
    def __call__(
        self,
        wrapped: classmethod[Any, Any, Any] | staticmethod[Any, Any],
        make_key: Callable[..., Key] | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> Any: ...
    def __call__(
        self,
        wrapped: Any = None,
        make_key: Callable[..., Key] | None = None,
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
        wrapped: Callable[P, Awaitable[R]],
        make_key: Callable[..., Key] | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> AsyncCachedFunction[P, R]: ...
    @overload
    def wraps_get_or_create(
        self,
        wrapped: None = None,
        make_key: Callable[..., Key] | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> AsyncCachedDecorator: ...
    @overload
    def wraps_get_or_create(
        self,
        wrapped: classmethod[Any, Any, Any] | staticmethod[Any, Any],
        make_key: Callable[..., Key] | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> Any: ...
    def wraps_get_or_create(
        self,
        wrapped: Any = None,
        make_key: Callable[..., Key] | None = None,
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> Any:
        """Decorator of the :meth:`get_or_create` pattern (one creation per
        key in a loop, the pass across processes); see :meth:`wraps_get_or_add`."""
        policy = self._policy(time, should_cache, cache_none)
        return self._wraps(wrapped, make_key, self._create_missed, policy)

    def wraps_get_or_set_multi(
        self,
        make_key: Callable[[Any], Key],
        *,
        time: Time | None = None,
        should_cache: ShouldCache | None = None,
        cache_none: bool | None = None,
    ) -> AsyncCachedMultiDecorator:
        """Decorator of the :meth:`get_or_set_multi` pattern, as the sync
        one: the ``async def`` takes the list of ids as its first argument
        (after ``self``/``cls``) and returns ``id -> value``.

        The decorated function has ``key(id)`` and ``original``, and the
        coroutines ``get_multi(ids)``, ``set_multi(mapping)`` (the ids not
        stored), ``invalidate(ids)`` and ``refresh(ids, ...)``; on a method
        they go through the instance.
        """
        policy = self._policy(time, should_cache, cache_none)

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            ids = _Ids(func)

            def creator(bound: inspect.BoundArguments) -> Any:
                async def create(missing: list[Any]) -> Any:
                    args, kwargs = ids.replaced(bound, missing)
                    return await func(*args, **kwargs)

                return create

            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                bound = ids.bind(args, kwargs)
                call_ids = bound.arguments[ids.name]
                return await self._get_or_set_multi(make_key, creator(bound), call_ids, policy)

            def key(*args: Any) -> Key:
                return make_key(ids.one(args))

            async def get_multi(*args: Any) -> dict[Any, Any]:
                return await run_async(self._ids_found(make_key, ids.one(args)), self.cache)

            async def set_multi(*args: Any) -> list[Any]:
                return await run_async(self._ids_set(make_key, ids.one(args), policy), self.cache)

            async def invalidate(*args: Any) -> bool:
                return await self.invalidate_multi([make_key(arg) for arg in ids.one(args)])

            async def refresh(*args: Any, **kwargs: Any) -> dict[Any, Any]:
                bound = ids.bind(args, kwargs)
                key_map = {make_key(arg): arg for arg in bound.arguments[ids.name]}
                return await self._create_multi(key_map, list(key_map), creator(bound), policy)

            return with_acts(
                wrapper,
                func,
                key=key,
                get_multi=get_multi,
                set_multi=set_multi,
                invalidate=invalidate,
                refresh=refresh,
            )

        return cast(
            AsyncCachedMultiDecorator, lambda wrapped: cached_multi_function(wrapped, decorate)
        )
