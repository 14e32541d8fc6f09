"""Regions for asyncio: :class:`AsyncRegion`, a :class:`~caching.regions.Region`
whose functions are ``async def`` and whose backend is an
:class:`~caching.aio.contract.AsyncCache`::

    # app/cache.py -- imported by the modules that decorate
    from caching.aio.regions import AsyncRegion

    short_term = AsyncRegion("short_term", time=60)

    # app/products.py
    @short_term.cache_on_arguments
    async def product_page(product_id: int) -> str: ...

    # app/main.py -- at start-up
    caching.aio.regions.configure({"short_term": {"url": "memcached://..."}})

Everything a region decides is :mod:`caching.regions`' own, shared, not
copied: the key scoping by name and generation and the reading of the
generation (:class:`~caching.regions.ScopeState`), the settings and their
conversion (:func:`~caching.regions.apply_settings`), the config forms
(:func:`~caching.regions.read_config`); the patterns are
:class:`~caching.aio.cached.AsyncCached`'s. So a sync :class:`Region` and an
:class:`AsyncRegion` of one name over one memcached read each other's
items, and an ``invalidate()`` of either invalidates both (within
``invalidation_check`` seconds in other processes).

Async regions are declared apart from the sync ones: :func:`caching.configure`
configures sync regions (it builds sync backends), :func:`configure` here
the async ones.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from caching.aio.cached import AsyncCached
from caching.aio.client import AsyncCacheClient
from caching.aio.contract import AsyncCache
from caching.aio.url import from_url
from caching.expiry import Time
from caching.key_rules import Key
from caching.regions import (
    RegionBase,
    RegionNotConfiguredError,
    ScopeState,
    apply_settings,
    bind_regions,
    check_soft,
    read_config,
)

__all__ = ["AsyncRegion", "AsyncRegions", "RegionNotConfiguredError", "configure", "declared"]


class _AsyncScoped(ScopeState):
    """The async region's view of its backend: :class:`ScopeState`'s keys
    over an :class:`AsyncCache`; an :class:`AsyncCache` itself."""

    def __init__(self, name: str, check: float) -> None:
        super().__init__(name, check)
        #: id(loop) -> the read of the generation under way in that loop:
        #: the loop's other calls await it rather than use an older
        #: generation (on the first call: none at all).
        self._reading: dict[int, asyncio.Future[None]] = {}

    async def refresh(self) -> None:
        """Read the generation (create it when missing), at most once per
        period; the calls of this loop meanwhile await that read."""
        loop = asyncio.get_running_loop()
        reading = self._reading.get(id(loop))
        if reading is None:
            seen = self.begin_refresh()
            if seen is None:
                return  # read just now (another loop or thread)
            reading = loop.create_task(self._read(seen))
            self._reading[id(loop)] = reading
            reading.add_done_callback(lambda _: self._reading.pop(id(loop), None))
        await asyncio.shield(reading)  # a caller's cancel stays its own

    async def _read(self, seen: int) -> None:
        backend = self.backend
        try:
            if self.soft:
                value = self.found(await backend.get_multi(self.read_keys()))
            else:
                value = await backend.get(self.generation_key)
            if not self.is_generation(value):
                start = self.first_generation()
                if await backend.add(self.generation_key, start):
                    value = start
                else:
                    value = await backend.get(self.generation_key)
        except BaseException:
            self.abort_refresh()
            raise
        self.end_refresh(value, seen)

    async def invalidate_softly(self) -> bool:
        """Make every value made before now stale (one ``set``)."""
        return bool(await self.backend.set(self.stale_key, self.softly_invalidated()))

    async def invalidate(self) -> bool:
        """Start a new generation (one ``incr``; an ``add`` when missing)."""
        backend = self.backend
        value = await backend.incr(self.generation_key, 1)
        if value is None:
            start = self.first_generation()
            value = start if await backend.add(self.generation_key, start) else None
            if value is None:
                value = await backend.incr(self.generation_key, 1)
        self.invalidated(value)
        return value is not None

    async def key(self, key: Key) -> Key:
        """The backend's key of the region's ``key`` (reads the generation
        when due, or awaits the read under way)."""
        if self._reading or self.due():
            await self.refresh()
        return self._memo[key]

    async def _keys(self, keys: Iterable[Key]) -> dict[Key, Key]:
        if isinstance(keys, (str, bytes)):
            raise TypeError("keys must be an iterable of keys, not a single key")
        return {await self.key(key): key for key in keys}

    # -- the contract --------------------------------------------------------

    async def set(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return await self.backend.set(await self.key(key), value, time, namespace)  # type: ignore[no-any-return]

    async def add(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return await self.backend.add(await self.key(key), value, time, namespace)  # type: ignore[no-any-return]

    async def replace(
        self, key: Key, value: Any, time: Time = 0, namespace: str | None = None
    ) -> bool:
        return await self.backend.replace(await self.key(key), value, time, namespace)  # type: ignore[no-any-return]

    async def _store_multi(
        self, call: str, mapping: Mapping[Key, Any], time: Time, namespace: str | None
    ) -> list[Key]:
        scoped = await self._keys(mapping)
        failed = await getattr(self.backend, call)(
            {s: mapping[k] for s, k in scoped.items()}, time, namespace
        )
        return [scoped[key] for key in failed]

    async def set_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return await self._store_multi("set_multi", mapping, time, namespace)

    async def add_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return await self._store_multi("add_multi", mapping, time, namespace)

    async def replace_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return await self._store_multi("replace_multi", mapping, time, namespace)

    async def get(self, key: Key, namespace: str | None = None) -> Any:
        # The hit path: self.key(key) written out (one coroutine less per hit).
        if self._reading or self.due():
            await self.refresh()
        return await self.backend.get(self._memo[key], namespace)

    async def get_multi(self, keys: Iterable[Key], namespace: str | None = None) -> dict[Key, Any]:
        scoped = await self._keys(keys)
        found = await self.backend.get_multi(list(scoped), namespace)
        return {scoped[key]: value for key, value in found.items()}

    async def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool:
        return await self.backend.delete(await self.key(key), seconds, namespace)  # type: ignore[no-any-return]

    async def delete_multi(
        self, keys: Iterable[Key], seconds: int = 0, namespace: str | None = None
    ) -> bool:
        scoped = await self._keys(keys)
        return await self.backend.delete_multi(list(scoped), seconds, namespace)  # type: ignore[no-any-return]

    async def incr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return await self.backend.incr(await self.key(key), delta, namespace, initial_value)  # type: ignore[no-any-return]

    async def decr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return await self.backend.decr(await self.key(key), delta, namespace, initial_value)  # type: ignore[no-any-return]

    async def ping(self) -> dict[str, float | None]:
        return await self.backend.ping()  # type: ignore[no-any-return]

    async def flush_all(self) -> bool:
        """Invalidate the region (never the backend's other items)."""
        return await self.invalidate()


_declared: dict[str, weakref.WeakSet[AsyncRegion]] = {}
_declared_lock = threading.Lock()


def declared() -> dict[str, list[AsyncRegion]]:
    """The async regions declared in this process and still alive, by name."""
    with _declared_lock:
        return {name: list(regions) for name, regions in _declared.items() if regions}


class AsyncRegion(RegionBase[_AsyncScoped, AsyncCache], AsyncCached):
    """An :class:`~caching.aio.cached.AsyncCached` whose backend and settings
    come later: :class:`caching.regions.Region` for ``async def`` functions.
    Arguments, settings and behaviour as ``Region``'s; the backend is an
    :class:`~caching.aio.contract.AsyncCache` (or an async URL:
    :func:`caching.aio.from_url`). Until configured, every call of the region
    or of a function it caches raises
    :class:`~caching.errors.RegionNotConfiguredError` naming it.

    :raises ValueError: a bad name (1 to 64 letters, digits, ``_``, ``-``).
    """

    _scope_type = _AsyncScoped
    _declared = _declared
    _declared_lock = _declared_lock

    #: dogpile.cache's name: the herd-safe decorator (:meth:`wraps_get_or_create`).
    cache_on_arguments = AsyncCached.wraps_get_or_create

    def configure(
        self, backend_or_url: AsyncCache | str, time: Time | None = None, **settings: Any
    ) -> AsyncRegion:
        """Bind the region to an async backend, or to
        :func:`caching.aio.from_url` ``(url)``; as ``Region.configure``.

        :param time: expiry of the region's items, ``int`` seconds or
            ``timedelta``; ``None``: keep the current one.
        :param settings: ``key_prefix``, ``timeout``, ``invalidation_check``,
            ``cache_none``, ``stale``, ``refresh``, ``serve_stale_on_error``.
        :returns: the region.
        :raises ValueError: an unknown setting or a bad value; a bad URL.
        """
        check = apply_settings(self, self._scoped, time, settings)
        if isinstance(backend_or_url, str):
            backend = from_url(backend_or_url)
            self.url = backend_or_url
        else:
            backend = backend_or_url
            self.url = None
        self.backend = backend
        self._scoped.bind(backend, check)
        return self

    async def invalidate(self, key: Key | None = None, hard: bool = True) -> bool:
        """As ``Region.invalidate``: with no key, the whole region in every
        process sharing its backend (a new generation; ``hard=False``: every
        value made before now is stale); with a key, one item
        (``AsyncCached.invalidate``).

        :returns: whether the backend confirmed it.
        :raises RegionNotConfiguredError: the region is not configured.
        :raises ValueError: ``hard=False`` with a key or without ``stale``.
        """
        if not hard:
            check_soft(self.name, key, self.stale)
            return await self._scoped.invalidate_softly()
        if key is not None:
            return await super().invalidate(key)
        done = await self._scoped.invalidate()
        self._forget_creations()  # a call from now on uses the new generation's keys
        return done

    async def close(self) -> None:
        """Close the backend's connections, if it has any (memcached)."""
        close = getattr(self.backend, "close", None)
        if close is not None:
            await close()

    def __repr__(self) -> str:
        where = self.url or (type(self.backend).__name__ if self.backend else "not configured")
        return f"<AsyncRegion {self.name!r} {where}>"


class AsyncRegions(dict[str, AsyncRegion]):
    """The async regions :func:`configure` configured, by name; ``client``
    is an :class:`~caching.aio.client.AsyncCacheClient` over their views."""

    client: AsyncCacheClient


def configure(config: Mapping[str, Any], prefix: str = "cache.") -> AsyncRegions:
    """:func:`caching.regions.configure` for async regions: the same config
    forms and settings (:func:`~caching.regions.read_config`), the backends
    built by :func:`caching.aio.from_url` (one per distinct URL); the async
    regions declared under those names are configured, a name nobody
    declared gets a new :class:`AsyncRegion`.

    :returns: the regions by name, with ``.client``.
    :raises ValueError: as :func:`caching.regions.configure`'s.
    """
    converted = read_config(config, prefix)
    result = bind_regions(converted, from_url, declared(), AsyncRegion, AsyncRegions())
    result.client = AsyncCacheClient(
        {name: result[name].cache for name in result}, next(iter(result))
    )
    return result
