"""``AsyncCached``: :class:`caching.patterns.cached.Cached`'s patterns for
asyncio, over any :class:`~caching.aio.contract.AsyncCache`.

The decisions are the sync layer's, shared rather than copied: the guard key
(:func:`~caching.patterns.onepass.pass_key` with ``key_prefix``), the
make-key functions of decorated functions
(:func:`~caching.patterns.key_builders.key_builder`), ``None`` meaning "do
not cache", the number of tries of a waiter (``ONE_PASS_ATTEMPTS``) and the
argument order of every cache call. So async and sync callers of one
memcached read each other's items and respect each other's guards.

The herd guard of :meth:`AsyncCached.get_or_create` has two levels:

- in one event loop, concurrent misses of one key share a single creation:
  the first starts it in a task, the others await that task (no polling, no
  thread); a waiter cancelled meanwhile leaves the creation running for
  the others;
- across processes (and loops), the creation takes an :class:`AsyncOnePass`
  (``add``-based, polled with ``asyncio.sleep``), as the sync guard does; a
  creator cancelled mid-creation releases the pass at once.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import time as _time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from caching.aio.contract import AsyncCache
from caching.aio.onepass import AsyncOnePass
from caching.expiry import Time, lifetime, seconds
from caching.key_rules import Key
from caching.patterns.cached import CACHED_NONE, ONE_PASS_ATTEMPTS
from caching.patterns.decorators import apply_decorator
from caching.patterns.key_builders import CONTEXT_NAMES, MakeKey, key_builder
from caching.patterns.onepass import pass_key
from caching.patterns.stale import Fresh

__all__ = ["AsyncCached"]

Factory = Callable[[], Awaitable[Any]]
KeyBuilder = Callable[[Callable[..., Any]], MakeKey]
Store = Callable[[Key, Any, Time, "str | None"], Awaitable[bool]]


def _readable(stored: Any) -> Any:
    """What a caller gets for an item the sync ``Cached`` may have stored:
    a ``Fresh`` of stale-while-revalidate unwrapped while fresh and a miss
    once stale (made again here: the async patterns do not serve stale
    values yet), ``CACHED_NONE`` as ``None``."""
    if type(stored) is Fresh:
        if _time.time() >= stored.until:
            return None
        stored = stored.value
    return None if stored is CACHED_NONE else stored


class AsyncCached:
    """Cache settings shared by many calls, and the caching patterns, for
    coroutines. Arguments as :class:`caching.patterns.cached.Cached`'s:

    :param cache: any :class:`~caching.aio.contract.AsyncCache`.
    :param key_builder: makes a decorated function's make-key function;
        defaults to ``key_builder(func.__module__)``.
    :param time: expiry of stored items, ``int`` seconds or ``timedelta``.
    :param namespace: passed to every cache call.
    :param timeout: life of a one-pass guard (seconds or ``timedelta``): how
        long waiters wait for a creator elsewhere, and how long a dead one
        blocks others.
    :param key_prefix: prepended to a key to name its guard.
    """

    def __init__(
        self,
        cache: AsyncCache,
        key_builder: KeyBuilder | None = None,
        time: Time = 0,
        namespace: str | None = None,
        timeout: Time = 10,
        key_prefix: str = "one_pass:",
    ) -> None:
        self.cache = cache
        self.key_builder = key_builder
        self.time = lifetime(time)
        self.namespace = namespace
        self.timeout = lifetime(timeout)
        self.key_prefix = key_prefix
        #: (id(loop), key) -> the creation under way in that loop.
        self._creating: dict[tuple[int, Key], asyncio.Future[Any]] = {}

    # -- pass-through --------------------------------------------------------

    async def get(self, key: Key) -> Any:
        """``get`` in this instance's namespace."""
        return _readable(await self.cache.get(key, self.namespace))

    async def get_multi(self, keys: Iterable[Key]) -> dict[Key, Any]:
        """``get_multi`` in this instance's namespace."""
        found = await self.cache.get_multi(keys, self.namespace)
        read = {key: _readable(value) for key, value in found.items()}
        return {key: value for key, value in read.items() if value is not None}

    async def set(self, key: Key, value: Any) -> bool:
        """``set`` with this instance's time and namespace."""
        return await self.cache.set(key, value, self.time, self.namespace)

    async def add(self, key: Key, value: Any) -> bool:
        """``add`` with this instance's time and namespace."""
        return await self.cache.add(key, value, self.time, self.namespace)

    async def delete(self, key: Key, seconds: int = 0) -> bool:
        """``delete`` in this instance's namespace."""
        return await self.cache.delete(key, seconds, self.namespace)

    # -- patterns ------------------------------------------------------------

    async def _create(self, key: Key, create_factory: Factory, store: Store) -> Any:
        """Await ``create_factory()``; store a result that is not ``None``."""
        result = await create_factory()
        if result is not None:
            await store(key, result, self.time, self.namespace)
        return result

    async def get_or_add(self, key: Key, create_factory: Factory) -> Any:
        """Get ``key``; on a miss await ``create_factory()`` and ``add`` its
        result (when not ``None``). :returns: the cached or created value."""
        result = _readable(await self.cache.get(key, self.namespace))
        if result is None:
            result = await self._create(key, create_factory, self.cache.add)
        return result

    async def get_or_set(self, key: Key, create_factory: Factory) -> Any:
        """As :meth:`get_or_add`, storing with ``set`` (overwrites)."""
        result = _readable(await self.cache.get(key, self.namespace))
        if result is None:
            result = await self._create(key, create_factory, self.cache.set)
        return result

    async def get_or_create(self, key: Key, create_factory: Factory) -> Any:
        """Get ``key``; on a miss create it once however many callers miss it.

        In this event loop, the misses of ``key`` share one creation
        (:meth:`one_pass_create` in a task of its own), which they await;
        the caller that started it gets its exception, if any, and the others
        then try themselves (through the pass), as the sync waiters do.

        :returns: the value (``None`` only if ``create_factory`` says so).
        :raises: whatever ``create_factory`` raises, to the caller whose
            creation ran it.
        """
        result = _readable(await self.cache.get(key, self.namespace))
        if result is not None:
            return result
        loop = asyncio.get_running_loop()
        slot = (id(loop), key)
        creating = self._creating.get(slot)
        if creating is not None:
            try:
                result = await asyncio.shield(creating)  # a waiter's cancel stays its own
            except Exception:  # the creator's error is the creator's
                result = None
            if result is not None:
                return result
            return await self.one_pass_create(key, create_factory)
        task = loop.create_task(self.one_pass_create(key, create_factory))
        self._creating[slot] = task

        def forget(done: asyncio.Future[Any]) -> None:
            if self._creating.get(slot) is done:
                del self._creating[slot]
            if not done.cancelled():
                done.exception()  # retrieved: a failed creation is the starter's

        task.add_done_callback(forget)
        return await asyncio.shield(task)

    async def one_pass_create(self, key: Key, create_factory: Factory) -> Any:
        """The sync ``one_pass_create`` over :class:`AsyncOnePass`: the
        holder of the guard (``key_prefix`` + ``key``, alive ``timeout``
        seconds) reads ``key`` again, awaits ``create_factory()`` and stores
        a result that is not ``None`` with ``set``; the others wait for it
        and read the value; a waiter that times out or runs out of tries
        creates the value itself."""
        guard = pass_key(self.key_prefix, key)
        deadline = _time.monotonic() + seconds(self.timeout)
        for _ in range(ONE_PASS_ATTEMPTS):
            async with AsyncOnePass(
                self.cache, guard, self.timeout, self.namespace, guards=key
            ) as one_pass:
                if one_pass.acquired:
                    result = _readable(await self.cache.get(key, self.namespace))
                    if result is not None:
                        return result
                    return await self._create(key, create_factory, self.cache.set)
                remaining = deadline - _time.monotonic()
                if remaining <= 0 or not await one_pass.wait(remaining):
                    break
                result = _readable(one_pass.value)
            if result is None:
                result = _readable(await self.cache.get(key, self.namespace))
            if result is not None:
                return result
        return await self._create(key, create_factory, self.cache.set)

    async def get_or_set_multi(
        self,
        make_key: Callable[[Any], Key],
        create_factory: Callable[[list[Any]], Awaitable[Mapping[Any, Any] | None]],
        args: Iterable[Any],
    ) -> dict[Any, Any]:
        """As the sync ``get_or_set_multi``: the items of ``args`` in one
        ``get_multi``; the missing ones created by one awaited
        ``create_factory(missing_args)`` and stored with one ``set_multi``.

        :returns: ``arg -> value`` for the items cached or created.
        """
        key_map = {make_key(arg): arg for arg in args}
        cached = await self.cache.get_multi(list(key_map), self.namespace)
        cached = {k: v for k, v in ((k, _readable(v)) for k, v in cached.items()) if v is not None}
        found = {key_map[key]: value for key, value in cached.items()}
        if len(cached) == len(key_map):
            return found
        created = await create_factory([arg for key, arg in key_map.items() if key not in cached])
        if not created:
            return found
        mapping = {
            key: created[arg]
            for key, arg in key_map.items()
            if key not in cached and created.get(arg) is not None
        }
        if mapping:
            await self.cache.set_multi(mapping, self.time, self.namespace)
        return {**created, **found}

    # -- decorators ----------------------------------------------------------

    def adapt(self, func: Callable[..., Any], make_key: MakeKey | None = None) -> MakeKey:
        """The make-key function of ``func`` (as the sync ``Cached.adapt``)."""
        if make_key is None:
            builder = self.key_builder or key_builder(func.__module__)
            return builder(func)
        names = list(inspect.signature(func).parameters)
        if names and names[0] in CONTEXT_NAMES:
            given = make_key
            return lambda _context, *args, **kwargs: given(*args, **kwargs)
        return make_key

    def _wraps(
        self,
        wrapped: Any,
        make_key: MakeKey | None,
        fill: Callable[[Key, Factory], Awaitable[Any]],
    ) -> Any:
        """Decorator of an ``async def``: look the call's key up; on a miss
        ``await fill(key, factory)``."""
        get = self.cache.get

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            mk = self.adapt(func, make_key)

            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                key = mk(*args, **kwargs)
                result = _readable(await get(key, self.namespace))
                if result is None:
                    result = await fill(key, functools.partial(func, *args, **kwargs))
                return result

            return wrapper

        return apply_decorator(wrapped, decorate)

    async def _add_missed(self, key: Key, create_factory: Factory) -> Any:
        return await self._create(key, create_factory, self.cache.add)

    async def _set_missed(self, key: Key, create_factory: Factory) -> Any:
        return await self._create(key, create_factory, self.cache.set)

    async def _create_missed(self, key: Key, create_factory: Factory) -> Any:
        return await self.get_or_create(key, create_factory)

    def wraps_get_or_add(self, wrapped: Any = None, make_key: MakeKey | None = None) -> Any:
        """Decorator of the :meth:`get_or_add` pattern for ``async def``
        functions, as the sync ``Cached.wraps_get_or_add``: keeps the
        function's name, docstring and signature; works on functions,
        methods and classmethods (``self``/``cls`` left out of the key,
        which is the sync key builders'); usable bare or called
        (``make_key=...``)."""
        return self._wraps(wrapped, make_key, self._add_missed)

    def wraps_get_or_set(self, wrapped: Any = None, make_key: MakeKey | None = None) -> Any:
        """Decorator of the :meth:`get_or_set` pattern (also ``@cached``)."""
        return self._wraps(wrapped, make_key, self._set_missed)

    def __call__(self, wrapped: Any = None, make_key: MakeKey | None = None) -> Any:
        """``@cached`` is :meth:`wraps_get_or_set`."""
        return self.wraps_get_or_set(wrapped, make_key)

    def wraps_get_or_create(self, wrapped: Any = None, make_key: MakeKey | None = None) -> Any:
        """Decorator of the :meth:`get_or_create` pattern (one creation per
        key in a loop, the pass across processes)."""
        return self._wraps(wrapped, make_key, self._create_missed)

    def wraps_get_or_set_multi(self, make_key: Callable[[Any], Key]) -> Any:
        """Decorator of the :meth:`get_or_set_multi` pattern, as the sync
        one: the ``async def`` takes the list of ids as its first argument
        (after ``self``/``cls``) and returns ``id -> value``."""

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            signature = inspect.signature(func)
            names = list(signature.parameters)
            ids_name = names[1] if names and names[0] in CONTEXT_NAMES else names[0]

            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                bound = signature.bind(*args, **kwargs)

                async def create(missing: list[Any]) -> Any:
                    bound.arguments[ids_name] = missing
                    return await func(*bound.args, **bound.kwargs)

                return await self.get_or_set_multi(make_key, create, bound.arguments[ids_name])

            return wrapper

        return lambda wrapped: apply_decorator(wrapped, decorate)
