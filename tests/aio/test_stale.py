"""AsyncCached's stale-while-revalidate (``stale=``, ``refresh=``,
``serve_stale_on_error=``), the sync ``Cached``'s semantics and item
format: a stale hit is served at once and rebuilt once (across processes,
by the pass), inline or in a background asyncio task; background tasks are
one per key, bounded by MAX_QUEUED, referenced, and a failing one is logged.
Over AsyncMemoryCache and a real memcached; the sync and async items cross."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

import caching.aio.cached as aio_cached
from caching.aio.cached import AsyncCached
from caching.patterns import Cached, key_builder
from caching.patterns.stale import Fresh
from tests import servers
from tests.adapters.conftest import builder
from tests.aio.backends import emcache_at
from tests.aio.makers import PARAMS, async_cache_maker, run

CREATOR_SECONDS = 0.2

make = pytest.fixture(params=PARAMS)(async_cache_maker)


def _stale(value: Any) -> Fresh:
    """An item that went stale a second ago (as ``Cached`` stores it)."""
    now = time.time()
    return Fresh(value, now - 1, now - 61)


def _key() -> str:
    return f"swr-{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize("refresh", ["inline", "background"])
def test_a_stale_item_met_by_20_tasks_is_rebuilt_once(
    make: Callable[[], Any], refresh: str
) -> None:
    calls = 0
    key = _key()

    async def create() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(CREATOR_SECONDS)
        return "new"

    async def body(cache: Any) -> tuple[list[Any], list[float]]:
        cached = AsyncCached(cache, time=60, stale=600, refresh=refresh)
        assert await cache.set(key, _stale("old"), 600) is True

        async def hit() -> tuple[Any, float]:
            started = time.perf_counter()
            value = await cached.get_or_create(key, create)
            return value, time.perf_counter() - started

        answers = await asyncio.gather(*(hit() for _ in range(20)))
        for _ in range(200):  # the background task, if any
            if not aio_cached._background:
                break
            await asyncio.sleep(0.01)
        assert not aio_cached._background
        stored = await cache.get(key)
        assert type(stored) is Fresh
        assert stored.value == "new"
        assert stored.until > time.time() + 50  # fresh for time=60
        assert await cached.get_or_create(key, create) == "new"
        return [value for value, _ in answers], [seconds for _, seconds in answers]

    values, waits = run(make(), body)
    assert calls == 1
    if refresh == "inline":
        assert sorted(values) == ["new"] + ["old"] * 19  # the rebuilder waits, the rest do not
    else:
        assert values == ["old"] * 20
    served = sorted(waits)[: 19 if refresh == "inline" else 20]
    assert max(served) < CREATOR_SECONDS  # stale values were not held for the rebuild


def test_background_rebuilds_are_one_per_key_and_bounded(
    make: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aio_cached, "MAX_QUEUED", 3)
    calls: list[str] = []
    keys = [_key() for _ in range(6)]

    async def body(cache: Any) -> int:
        cached = AsyncCached(cache, time=60, stale=600, refresh="background")
        gate = asyncio.Event()
        for key in keys:
            await cache.set(key, _stale(f"old {key}"), 600)

        def creator(key: str) -> Callable[[], Any]:
            async def create() -> str:
                calls.append(key)
                await gate.wait()
                return f"new {key}"

            return create

        for _ in range(3):  # every key met three times while the rebuilds wait
            for key in keys:
                assert await cached.get_or_create(key, creator(key)) == f"old {key}"
        await asyncio.sleep(0.05)
        running = len(aio_cached._background)
        assert all(not task.done() for task in aio_cached._background)  # referenced, alive
        gate.set()
        while aio_cached._background:
            await asyncio.sleep(0.01)
        return running

    running = run(make(), body)
    assert running == 3
    assert sorted(calls) == sorted(keys[:3])  # one each, the first three; the rest later


@pytest.mark.parametrize("serve_stale_on_error", [True, False])
def test_a_failing_background_rebuild_is_logged(
    make: Callable[[], Any], serve_stale_on_error: bool, caplog: pytest.LogCaptureFixture
) -> None:
    key = _key()

    async def fail() -> str:
        raise RuntimeError("database down")

    async def body(cache: Any) -> Any:
        cached = AsyncCached(
            cache,
            time=60,
            stale=600,
            refresh="background",
            serve_stale_on_error=serve_stale_on_error,
        )
        await cache.set(key, _stale("old"), 600)
        with caplog.at_level(logging.ERROR, "caching.patterns.cached"):
            assert await cached.get_or_create(key, fail) == "old"
            while aio_cached._background:
                await asyncio.sleep(0.01)
        return await cache.get(key)

    left = run(make(), body)
    errors = [r for r in caplog.records if "background rebuild" in r.getMessage()]
    assert len(errors) == 1
    assert "database down" in errors[0].getMessage()
    if serve_stale_on_error:
        assert type(left) is Fresh
        assert left.value == "old"  # kept
    else:
        assert left is None  # dropped


def test_an_inline_rebuild_error_goes_to_its_caller_and_the_stale_value_stays(
    make: Callable[[], Any],
) -> None:
    key = _key()
    calls = 0

    async def fail() -> str:
        nonlocal calls
        calls += 1
        raise RuntimeError("database down")

    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, time=60, stale=600, serve_stale_on_error=True)
        await cache.set(key, _stale("old"), 600)
        with pytest.raises(RuntimeError, match="database down"):
            await cached.get_or_create(key, fail)
        # REBUILD_RETRY: served stale without trying again
        assert [await cached.get_or_create(key, fail) for _ in range(5)] == ["old"] * 5
        assert calls == 1

    run(make(), body)


def test_a_decorated_function_serves_stale_and_rebuilds(make: Callable[[], Any]) -> None:
    made = 0

    async def body(cache: Any) -> None:
        nonlocal made
        cached = AsyncCached(cache, key_builder(_key()), time=60, stale=600, refresh="background")

        @cached.wraps_get_or_create
        async def page(n: int) -> str:
            nonlocal made
            made += 1
            return f"page {n} v{made}"

        await cache.set(page.key(1), _stale("page 1 v0"), 600)
        assert await page(1) == "page 1 v0"
        while aio_cached._background:
            await asyncio.sleep(0.01)
        assert await page(1) == "page 1 v1"
        assert await page.get(1) == "page 1 v1"
        assert type(await cache.get(page.key(1))) is Fresh

    run(make(), body)
    assert made == 1


@pytest.mark.memcached
def test_stale_items_cross_between_sync_and_async_cached(
    memcached_server: servers.Server,
) -> None:
    """An item the sync Cached stored with a stale period reads through
    AsyncCached (fresh: its value; stale: served and rebuilt), and the
    rebuilt item reads back through the sync Cached, on one memcached."""
    sync_cache = builder("pymemcache")(memcached_server.address, timeout=5.0)
    key = _key()
    sync_cached = Cached(sync_cache, time=1, stale=600)
    assert sync_cached.get_or_create(key, lambda: "sync made") == "sync made"

    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, time=60, stale=600)

        async def create() -> str:
            return "async made"

        assert await cached.get_or_create(key, create) == "sync made"  # fresh
        await asyncio.sleep(1.2)
        assert await cached.get_or_create(key, create) == "async made"  # stale: rebuilt inline

    run(emcache_at([memcached_server.address]), body)
    stored = sync_cache.get(key)
    assert type(stored) is Fresh
    assert stored.until > time.time() + 50
    assert sync_cached.get_or_create(key, lambda: "sync again") == "async made"
    sync_cache.close()
