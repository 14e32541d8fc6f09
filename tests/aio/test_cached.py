"""AsyncCached reads the items of the sync Cached's newer settings (a
``Fresh`` of stale-while-revalidate, the ``CACHED_NONE`` marker) as
values, never as the wrapper objects."""

from __future__ import annotations

import asyncio

from caching import MemoryCache
from caching.aio import AsyncMemoryCache
from caching.aio.cached import AsyncCached
from caching.patterns import Cached


def test_items_of_the_sync_cached_newer_settings_read_as_values() -> None:
    shared = MemoryCache()
    Cached(shared, time=60, stale=600).get_or_create("fresh", lambda: {"name": "ann"})
    Cached(shared, time=60, cache_none=True).get_or_create("none", lambda: None)
    Cached(shared, time=1, stale=600).get_or_create("stale", lambda: "old")
    cached = AsyncCached(AsyncMemoryCache(cache=shared), time=60)

    async def made() -> str:
        return "made here"

    async def main() -> None:
        assert await cached.get_or_create("fresh", made) == {"name": "ann"}
        assert await cached.get("fresh") == {"name": "ann"}
        assert await cached.get("none") is None
        assert await cached.get_multi(["fresh", "none"]) == {"fresh": {"name": "ann"}}
        await asyncio.sleep(1.1)
        assert await cached.get_or_create("stale", made) == "made here"  # stale: made again

    asyncio.run(main())
