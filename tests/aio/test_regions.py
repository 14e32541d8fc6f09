"""AsyncRegion: caching.regions' Region for ``async def`` functions over an
async backend, sharing its logic: declared first, configured later (or from
a config, as ``caching.configure``), whole-region invalidation by
generation, soft invalidation; and one region name read and invalidated by
sync and async code alike over one real memcached."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from caching.aio.regions import AsyncRegion, configure, declared
from caching.errors import RegionNotConfiguredError
from caching.regions import Region
from tests import servers
from tests.adapters.conftest import builder
from tests.aio.backends import emcache_at
from tests.cli.runner import memcached_url

pytestmark = pytest.mark.memcached


def _name() -> str:
    return f"aio_{uuid.uuid4().hex[:10]}"


def test_a_region_declared_at_import_caches_once_configured(
    memcached_server: servers.Server,
) -> None:
    region = AsyncRegion(_name(), time=60)
    calls = 0

    @region.cache_on_arguments
    async def product(product_id: int) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.1)
        return {"id": product_id, "made": calls}

    async def main() -> None:
        with pytest.raises(RegionNotConfiguredError, match=region.name):
            await product(1)
        region.configure(emcache_at([memcached_server.address]), invalidation_check=0)
        try:
            answers = await asyncio.gather(*(product(7) for _ in range(50)))
            assert answers == [{"id": 7, "made": 1}] * 50  # one creation for the herd
            assert await product.get(7) == {"id": 7, "made": 1}
            assert await region.invalidate() is True  # the whole region
            assert await product.get(7) is None
            assert await product(7) == {"id": 7, "made": 2}
            assert await product.invalidate(7) is True  # one item
            assert await product(7) == {"id": 7, "made": 3}
        finally:
            await region.close()

    asyncio.run(main())
    assert calls == 3


def test_sync_and_async_regions_of_one_name_share_items_and_invalidations(
    memcached_server: servers.Server,
) -> None:
    name = _name()
    sync_cache = builder("pymemcache")(memcached_server.address, timeout=5.0)
    sync_region = Region(name, time=60).configure(sync_cache, invalidation_check=0)
    region = AsyncRegion(name, time=60)

    async def main() -> None:
        region.configure(emcache_at([memcached_server.address]), invalidation_check=0)

        async def made() -> str:
            return "async made"

        try:
            assert await region.get_or_create("page", made) == "async made"
            assert sync_region.get("page") == "async made"  # same scoped key
            assert sync_region.get_or_create("other", lambda: "sync made") == "sync made"
            assert await region.get("other") == "sync made"
            assert sync_region.invalidate() is True  # a new generation, from sync code
            assert await region.get("page") is None
            assert await region.get_or_create("page", made) == "async made"
            assert await region.invalidate() is True  # and from async code
            assert sync_region.get("page") is None
        finally:
            await region.close()

    asyncio.run(main())
    sync_cache.close()


def test_configure_reads_the_config_forms_of_caching_configure(
    memcached_server: servers.Server,
) -> None:
    name = _name()
    region = AsyncRegion(name)
    url = memcached_url(memcached_server.address)
    config = {
        "cache.regions": name,
        f"cache.{name}.url": url,
        f"cache.{name}.time": "60",
        f"cache.{name}.stale": "30",
        f"cache.{name}.refresh": "background",
    }
    regions = configure(config)
    assert regions[name] is region
    assert region in declared()[name]
    assert (region.time, region.stale, region.refresh, region.url) == (60, 30, "background", url)
    with pytest.raises(ValueError, match="refresh"):
        configure({f"cache.{name}.url": url, f"cache.{name}.refresh": "sometimes"})

    async def main() -> None:
        try:
            assert await regions.client.set("k", "v", 0, name) is True
            assert await region.get("k") == "v"  # the client writes the region's items
        finally:
            await region.close()

    asyncio.run(main())


def test_a_soft_invalidation_serves_stale_and_rebuilds_once(
    memcached_server: servers.Server,
) -> None:
    region = AsyncRegion(_name(), time=60, stale=600)
    made = 0

    @region.cache_on_arguments
    async def page(n: int) -> str:
        nonlocal made
        made += 1
        await asyncio.sleep(0.1)
        return f"v{made}"

    async def main() -> None:
        region.configure(emcache_at([memcached_server.address]), invalidation_check=0)
        try:
            assert await page(1) == "v1"
            with pytest.raises(ValueError, match="stale"):
                await region.invalidate("a key", hard=False)
            assert await region.invalidate(hard=False) is True
            answers = await asyncio.gather(*(page(1) for _ in range(10)))
            assert sorted(answers) == ["v1"] * 9 + ["v2"]  # stale served, rebuilt once inline
            assert await page(1) == "v2"
        finally:
            await region.close()

    asyncio.run(main())
    assert made == 2


def test_the_first_calls_in_a_loop_await_the_first_read_of_the_generation(
    memcached_server: servers.Server, caplog: pytest.LogCaptureFixture
) -> None:
    """50 concurrent first calls (default ``invalidation_check``): the calls
    that come while the generation is being read await that read, so every
    one uses the same scoped keys (else their pass and item keys differ:
    several creations, a pass whose release is never confirmed)."""
    region = AsyncRegion(_name(), time=60)
    calls = 0

    @region.cache_on_arguments
    async def product(product_id: int) -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.1)
        return product_id

    async def main() -> None:
        region.configure(emcache_at([memcached_server.address]))
        try:
            assert await asyncio.gather(*(product(7) for _ in range(50))) == [7] * 50
            assert await product(7) == 7
            assert await region.get(product.key(7)) == 7
        finally:
            await region.close()

    asyncio.run(main())
    assert calls == 1
    assert not [record for record in caplog.records if "did not confirm" in record.getMessage()]


class _CountingAsync:
    """An async backend's calls, counted, and the reads of a region's
    generation key."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.calls = 0
        self.generation_reads = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.backend, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if name in ("get", "get_multi") and "region:" in repr(args[:1]):
                self.generation_reads += 1
            return await method(*args, **kwargs)

        return call


@pytest.mark.memcached
def test_an_async_region_reads_an_unanswered_generation_again_after_a_while() -> None:
    """AsyncRegion over a memcached down at start-up (a real server,
    stopped): as the sync region, the generation is read again at most once
    per ``min(invalidation_check, UNANSWERED_RETRY)`` seconds, not at every
    call (before: at every call)."""
    import time

    from caching.regions import UNANSWERED_RETRY

    with servers.running(servers.memcached()) as server:
        server.stop()

        async def body() -> None:
            backend = _CountingAsync(emcache_at([server.address]))
            region = AsyncRegion(f"down{uuid.uuid4().hex[:8]}", invalidation_check=60)
            region.configure(backend, time=60)  # type: ignore[arg-type]

            @region.cache_on_arguments
            async def f(x: int) -> int:
                return x

            assert await f(1) == 1
            first = backend.generation_reads
            assert first >= 1
            started = time.monotonic()
            for _ in range(10):
                assert await f(1) == 1
            elapsed = time.monotonic() - started
            reads = backend.generation_reads - first
            assert reads <= 1 + int(elapsed / UNANSWERED_RETRY), (reads, elapsed)
            await backend.backend.close()

        asyncio.run(asyncio.wait_for(body(), 60))
