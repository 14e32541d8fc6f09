"""What only async has: concurrency in one event loop and cancellation, on
the in-process and the memcached async backends; AsyncNullCache's answers;
``caching.aio.from_url``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from caching import MemoryCache
from caching.aio import (
    AsyncCache,
    AsyncCacheClient,
    AsyncMemoryCache,
    AsyncNullCache,
    from_url,
)
from caching.errors import InvalidKeyError
from tests import servers
from tests.aio.backends import emcache_at

Body = Callable[[Any], Awaitable[None]]


def run_on(cache: Any, body: Body) -> None:
    """``body(cache)`` in a new event loop, the cache closed after."""

    async def main() -> None:
        try:
            await body(cache)
        finally:
            close = getattr(cache, "close", None)
            if close is not None:
                await close()

    asyncio.run(main())


@pytest.fixture(params=["memory", "emcache"])
def make(request: pytest.FixtureRequest) -> Callable[[], Any]:
    """Builds a fresh, empty async backend of each kind."""
    if request.param == "memory":
        return AsyncMemoryCache
    server: servers.Server = request.getfixturevalue("memcached_server")
    servers.flush(server)
    return lambda: emcache_at([server.address])


def test_concurrent_incr_in_one_loop_loses_nothing(make: Callable[[], Any]) -> None:
    async def body(cache: Any) -> None:
        async def work() -> list[int | None]:
            return [await cache.incr("hits", initial_value=0) for _ in range(20)]

        answers = await asyncio.gather(*(work() for _ in range(100)))
        counted = sorted(value for one in answers for value in one if value is not None)
        assert counted == list(range(1, 2001))  # every increment seen once
        assert await cache.get("hits") == 2000

    run_on(make(), body)


def test_exactly_one_concurrent_add_wins_in_one_loop(make: Callable[[], Any]) -> None:
    async def body(cache: Any) -> None:
        for round_ in range(10):
            key = f"lock-{round_}"
            won = await asyncio.gather(*(cache.add(key, index) for index in range(50)))
            assert won.count(True) == 1
            assert await cache.get(key) == won.index(True)

    run_on(make(), body)


def test_concurrent_get_multi_answer_their_own_keys(make: Callable[[], Any]) -> None:
    async def body(cache: Any) -> None:
        assert await cache.set_multi({f"k{i}": i * 3 for i in range(300)}) == []

        async def read(start: int) -> None:
            keys = [f"k{i}" for i in range(start, start + 10)]
            assert await cache.get_multi(keys) == {f"k{i}": i * 3 for i in range(start, start + 10)}

        await asyncio.gather(*(read(start) for start in range(0, 290, 7)))

    run_on(make(), body)


def test_gets_cancelled_mid_flight_leave_every_connection_in_step(
    memcached_server: servers.Server,
) -> None:
    """aiocache #196: a get cancelled after its request went out must not
    leave its reply on a pooled connection for a later get to read. 200 gets
    are cancelled at every point of their flight; then 1,000 gets (one at a
    time, then all at once) each return their own key's value."""
    servers.flush(memcached_server)
    values = {f"key-{i}": f"value-{i}-" + "x" * (i % 50) for i in range(1000)}

    async def body(cache: Any) -> None:
        assert await cache.set_multi(values) == []
        cancelled = 0
        for index in range(200):
            task = asyncio.create_task(cache.get(f"key-{index}"))
            for _ in range(index % 3):  # cancel at a different point each time
                await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            cancelled += task.cancelled()
        assert cancelled >= 50, f"only {cancelled} of 200 gets were cancelled in flight"
        for key, value in values.items():
            assert await cache.get(key) == value
        answers = await asyncio.gather(*(cache.get(key) for key in values))
        assert answers == list(values.values())

    run_on(emcache_at([memcached_server.address], pool_size=4), body)


def test_a_timeout_around_get_multi_leaves_the_adapter_in_step(
    memcached_server: servers.Server,
) -> None:
    """``asyncio.timeout`` cancelling calls mid-flight (the way a web
    framework drops a request), then every answer is the right one."""
    servers.flush(memcached_server)
    values = {f"m-{i}": i for i in range(200)}

    async def body(cache: Any) -> None:
        assert await cache.set_multi(values) == []
        for round_ in range(100):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.0001 * (round_ % 10)):
                    await cache.get_multi(list(values))
        assert await cache.get_multi(list(values)) == values
        for key, value in list(values.items())[:100]:
            assert await cache.get(key) == value

    run_on(emcache_at([memcached_server.address]), body)


def test_null_cache_answers_as_null_cache_and_checks_arguments() -> None:
    async def body(cache: Any) -> None:
        assert await cache.set("k", 1) is True
        assert await cache.add("k", 1) is True
        assert await cache.get("k") is None
        assert await cache.get_multi(["k"]) == {}
        assert await cache.incr("k", initial_value=0) is None
        assert await cache.delete("k") is True
        assert await cache.ping() == {"null": 0.0}
        with pytest.raises(InvalidKeyError):
            await cache.get("bad key")
        with pytest.raises(TypeError):
            await cache.get_multi("k")

    run_on(AsyncNullCache(), body)


def test_memory_cache_shared_with_sync_code() -> None:
    sync = MemoryCache()
    sync.set("k", "from sync")

    async def body(cache: Any) -> None:
        assert await cache.get("k") == "from sync"
        assert await cache.set("j", 2) is True

    run_on(AsyncMemoryCache(cache=sync), body)
    assert sync.get("j") == 2
    with pytest.raises(ValueError, match="either"):
        AsyncMemoryCache(max_items=3, cache=sync)


def test_client_routes_by_namespace() -> None:
    local, shared = AsyncMemoryCache(), AsyncMemoryCache()
    client = AsyncCacheClient({"local": local, "shared": shared}, "shared")

    async def body(cache: Any) -> None:
        assert await cache.set("k", 1, namespace="local") is True
        assert await local.get("k") == 1
        assert await shared.get("k") is None
        assert await cache.get("k") is None
        with pytest.raises(KeyError):
            await cache.get("k", namespace="nowhere")
        pinged = await cache.ping()
        assert sorted(pinged) == ["local/memory", "shared/memory"]
        assert all(isinstance(seconds, float) for seconds in pinged.values())

    run_on(client, body)
    with pytest.raises(KeyError):
        AsyncCacheClient({"local": local}, "shared")


def test_from_url_builds_each_scheme() -> None:
    memory = from_url("memory://?max_items=2")
    assert isinstance(memory, AsyncMemoryCache)
    assert isinstance(memory, AsyncCache)
    assert isinstance(from_url("null://"), AsyncNullCache)
    adapter = from_url("memcached://127.0.0.1:1,127.0.0.1:2?timeout=0.25&serializer=json")
    assert isinstance(adapter, AsyncCache)
    assert adapter.servers == ["127.0.0.1:1", "127.0.0.1:2"]  # type: ignore[attr-defined]
    assert adapter.timeout == 0.25  # type: ignore[attr-defined]
    assert adapter.codec.serializer == "json"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="unknown async memcached client"):
        from_url("memcached://127.0.0.1:1?client=pylibmc")
    with pytest.raises(ValueError, match="unknown option"):
        from_url("memcached://127.0.0.1:1?nope=1")
    with pytest.raises(ValueError, match="unknown cache URL scheme"):
        from_url("redis://x")
    with pytest.raises(TypeError):
        from_url(b"memory://")  # type: ignore[arg-type]


def test_bad_keys_raise_before_any_io() -> None:
    """A server that does not exist: a bad key still raises at once, not a
    failure answer, and nothing is logged."""
    cache = emcache_at(["127.0.0.1:1"], timeout=0.2)

    async def body(cache: Any) -> None:
        with pytest.raises(InvalidKeyError):
            await cache.set("a b", 1)
        with pytest.raises(InvalidKeyError):
            await cache.get_multi(["ok", "x" * 251])
        with pytest.raises(TypeError):
            await cache.get(3)
        with pytest.raises(ValueError, match="delta"):
            await cache.incr("k", -1)
        with pytest.raises(ValueError, match="2038"):
            await cache.set("k", 1, 2**31)
        assert cache.failures.down == frozenset()

    run_on(cache, body)


def test_calls_queue_fairly_for_the_connections_under_load(
    memcached_server: servers.Server, caplog: pytest.LogCaptureFixture
) -> None:
    """100 tasks on 2 connections: each call waits its turn, first come
    first served, so none sits out the timeout and none is taken for a
    server failure (emcache's own pool serves its newest waiter first)."""
    servers.flush(memcached_server)

    async def body(cache: Any) -> None:
        assert await cache.set("k", "v") is True

        async def worker() -> None:
            for _ in range(100):
                assert await cache.get("k") == "v"

        await asyncio.gather(*(worker() for _ in range(100)))
        assert cache.failures.down == frozenset()

    with caplog.at_level(logging.WARNING, logger="caching.aio.memcached"):
        run_on(emcache_at([memcached_server.address], pool_size=2, timeout=0.5), body)
    assert [r.getMessage() for r in caplog.records if r.name == "caching.aio.memcached"] == []


def test_get_multi_through_emcaches_public_get_many(memcached_server: servers.Server) -> None:
    """Where emcache has no per-operation timeout to borrow, batch reads go
    through its public ``get_many``: the same answers, str and bytes keys."""
    servers.flush(memcached_server)
    cache = emcache_at([memcached_server.address], serializer="json")
    cache._op_timeout = None

    async def body(cache: Any) -> None:
        assert await cache.set_multi({"a": 1, "b": "two", b"c": [3]}) == []
        assert await cache.get_multi(["a", b"b", "c", "missing", "a"]) == {
            "a": 1,
            b"b": "two",
            "c": [3],
        }
        assert all(server.node is None for server in cache._servers)

    run_on(cache, body)
