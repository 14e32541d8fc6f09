"""The async patterns: AsyncOnePass and AsyncCached's herd guard (one
creation per key in one loop; the add-based pass across processes; a
cancelled holder releases the pass), over the in-process and the memcached
async backends; async and sync callers share keys and guards."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest

from caching import MemoryCache
from caching.aio import AsyncMemoryCache, InLoop
from caching.aio.cached import AsyncCached
from caching.aio.onepass import AsyncOnePass
from caching.patterns.cached import Cached
from caching.patterns.key_builders import key_builder
from caching.patterns.onepass import OnePass, pass_key
from tests import servers
from tests.aio.backends import emcache_at

CREATOR_SECONDS = 0.2


@pytest.fixture(params=["memory", "emcache"])
def make(request: pytest.FixtureRequest) -> Callable[[], Any]:
    if request.param == "memory":
        return AsyncMemoryCache
    server: servers.Server = request.getfixturevalue("memcached_server")
    servers.flush(server)
    return lambda: emcache_at([server.address])


def run(cache: Any, body: Callable[[Any], Any]) -> Any:
    async def main() -> Any:
        try:
            return await body(cache)
        finally:
            close = getattr(cache, "close", None)
            if close is not None:
                await close()

    return asyncio.run(main())


def test_a_herd_of_100_tasks_shares_one_creation(make: Callable[[], Any]) -> None:
    calls = 0

    async def create() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(CREATOR_SECONDS)
        return "made"

    async def body(cache: Any) -> list[float]:
        cached = AsyncCached(cache, time=60)

        async def miss() -> float:
            started = time.perf_counter()
            assert await cached.get_or_create("herd", create) == "made"
            return time.perf_counter() - started

        return await asyncio.gather(*(miss() for _ in range(100)))

    latencies = run(make(), body)
    assert calls == 1
    assert statistics.median(latencies) < CREATOR_SECONDS + 1.0  # generous: a shared machine


class CountingAdds(InLoop):
    """An in-process backend that counts its ``add`` calls."""

    adds = 0

    async def add(self, key: Any, value: Any, time: Any = 0, namespace: Any = None) -> bool:
        type(self).adds += 1
        return await super().add(key, value, time, namespace)


def test_the_herd_in_one_loop_awaits_the_creation_without_touching_the_pass() -> None:
    """The 99 waiters await the first miss's creation: one ``add`` (the
    pass) in all, no waiter polls the cache for it."""

    async def create() -> str:
        await asyncio.sleep(CREATOR_SECONDS)
        return "made"

    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, time=60)
        answers = await asyncio.gather(*(cached.get_or_create("k", create) for _ in range(100)))
        assert answers == ["made"] * 100

    CountingAdds.adds = 0
    run(CountingAdds(MemoryCache()), body)
    assert CountingAdds.adds == 1


def test_a_waiter_in_another_process_polls_the_pass(make: Callable[[], Any]) -> None:
    """Another process is another cache object over the same items: it has
    no in-loop creation to await, meets the pass and polls for the value."""
    calls = 0

    async def create() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(CREATOR_SECONDS)
        return "made"

    async def body(cache: Any) -> None:
        here = AsyncCached(cache, time=60)
        elsewhere_cache = InLoop(cache.sync) if isinstance(cache, AsyncMemoryCache) else make()
        elsewhere = AsyncCached(elsewhere_cache, time=60)
        try:
            first = asyncio.create_task(here.get_or_create("shared", create))
            await asyncio.sleep(0.05)  # the pass is taken
            assert await elsewhere.get_or_create("shared", create) == "made"
            assert await first == "made"
        finally:
            close = getattr(elsewhere_cache, "close", None)
            if close is not None:
                await close()

    run(make(), body)
    assert calls == 1


def test_a_cancelled_holder_releases_the_pass(make: Callable[[], Any]) -> None:
    async def body(cache: Any) -> None:
        entered = asyncio.Event()

        async def hold() -> None:
            async with AsyncOnePass(cache, "pass", time=30) as one_pass:
                assert one_pass.acquired
                entered.set()
                await asyncio.sleep(60)

        holder = asyncio.create_task(hold())
        await entered.wait()
        assert await cache.get("pass") is not None
        waiter = AsyncOnePass(cache, "pass", time=30)
        async with waiter:
            assert not waiter.acquired
            waiting = asyncio.create_task(waiter.wait(20))
            await asyncio.sleep(0.05)
            started = time.monotonic()
            holder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await holder
            assert await waiting is True  # woken, not timed out
            assert time.monotonic() - started < 5.0
        assert await cache.get("pass") is None
        async with AsyncOnePass(cache, "pass", time=30) as again:
            assert again.acquired

    run(make(), body)


def test_a_creator_cancelled_mid_creation_releases_the_guard(make: Callable[[], Any]) -> None:
    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, time=60, timeout=30)

        async def never() -> str:
            await asyncio.sleep(60)
            return "never"

        async def create() -> str:
            return "second"

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.2):
                await cached.one_pass_create("k", never)
        assert await cache.get(pass_key("one_pass:", "k")) is None
        started = time.monotonic()
        assert await cached.get_or_create("k", create) == "second"
        assert time.monotonic() - started < 5.0  # not the guard's 30 s

    run(make(), body)


def test_a_cancelled_starter_leaves_the_creation_to_the_others(make: Callable[[], Any]) -> None:
    calls = 0

    async def create() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(CREATOR_SECONDS)
        return "made"

    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, time=60)
        starter = asyncio.create_task(cached.get_or_create("k", create))
        await asyncio.sleep(0.02)
        others = [asyncio.create_task(cached.get_or_create("k", create)) for _ in range(20)]
        await asyncio.sleep(0.02)
        starter.cancel()
        assert await asyncio.gather(*others) == ["made"] * 20
        assert starter.cancelled()

    run(make(), body)
    assert calls == 1


def test_a_failed_creation_is_the_starters_and_the_others_try_again(
    make: Callable[[], Any],
) -> None:
    calls = 0

    async def create() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        if calls == 1:
            raise RuntimeError("backend down")
        return "made"

    async def body(cache: Any) -> list[Any]:
        cached = AsyncCached(cache, time=60)
        return await asyncio.gather(
            *(cached.get_or_create("k", create) for _ in range(10)), return_exceptions=True
        )

    answers = run(make(), body)
    assert [type(a) for a in answers].count(RuntimeError) == 1
    assert answers.count("made") == 9
    assert calls == 2


def test_sync_and_async_callers_share_guards_and_keys() -> None:
    sync = MemoryCache()
    cache = AsyncMemoryCache(cache=sync)
    guard = pass_key("one_pass:", "k")

    async def body(cache: Any) -> None:
        with OnePass(sync, guard, 10) as held:
            assert held.acquired
            async with AsyncOnePass(cache, guard, 10) as one_pass:
                assert not one_pass.acquired
        async with AsyncOnePass(cache, guard, 10) as one_pass:
            assert one_pass.acquired
            with OnePass(sync, guard, 10) as other:
                assert not other.acquired

        cached = AsyncCached(cache, key_builder=key_builder("repo"), time=60)

        @cached.wraps_get_or_create()
        async def list_items(locale: str = "en", page: int = 1) -> list[str]:
            return [locale, str(page)]

        assert await list_items("fr", page=2) == ["fr", "2"]
        sync_key = key_builder("repo")(list_items.__wrapped__)("fr", 2)  # type: ignore[attr-defined]
        assert sync.get(sync_key) == ["fr", "2"]
        assert Cached(sync).get(sync_key) == ["fr", "2"]

    run(cache, body)


def test_get_or_set_multi_creates_only_the_missing(make: Callable[[], Any]) -> None:
    asked: list[list[int]] = []

    async def create(missing: list[int]) -> dict[int, int]:
        asked.append(missing)
        return {arg: arg * 10 for arg in missing}

    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, time=60)
        await cache.set("n:2", 20)
        got = await cached.get_or_set_multi(lambda arg: f"n:{arg}", create, [1, 2, 3])
        assert got == {1: 10, 2: 20, 3: 30}
        assert await cache.get_multi(["n:1", "n:3"]) == {"n:1": 10, "n:3": 30}
        assert await cached.get_or_add("n:4", lambda: _value(40)) == 40
        assert await cached.get_or_set("n:4", lambda: _value(41)) == 40

    run(make(), body)
    assert asked == [[1, 3]]


async def _value(value: Any) -> Any:
    return value


def test_decorators_key_calls_as_the_sync_ones_do() -> None:
    sync = MemoryCache()
    cache = AsyncMemoryCache(cache=sync)
    cached = AsyncCached(cache, key_builder("repo"), time=60)
    sync_cached = Cached(sync, key_builder("repo"), time=60)
    calls: list[str] = []

    class Repository:
        @cached
        async def list_items(self, locale: str = "en") -> list[str]:
            calls.append("list_items")
            return [locale]

        @cached.wraps_get_or_add
        async def count(self, kind: str) -> int:
            calls.append("count")
            return 3

        @classmethod
        @cached.wraps_get_or_create(make_key=lambda name: f"by-name:{name}")
        async def by_name(cls, name: str) -> str:
            calls.append("by_name")
            return name.upper()

        @cached.wraps_get_or_set_multi(make_key=lambda i: f"account:{i}")
        async def accounts(self, ids: list[int]) -> dict[int, str]:
            calls.append(f"accounts {ids}")
            return {i: f"a{i}" for i in ids}

    class SyncRepository:
        @sync_cached
        def list_items(self, locale: str = "en") -> list[str]:
            return ["from sync"]

    async def body(cache: Any) -> None:
        repo = Repository()
        assert await repo.list_items("fr") == ["fr"]
        assert await repo.list_items("fr") == ["fr"]
        assert await repo.count("x") == 3
        assert await repo.count("x") == 3
        assert await Repository.by_name("ada") == "ADA"
        assert await Repository.by_name("ada") == "ADA"
        assert await repo.accounts([1, 2]) == {1: "a1", 2: "a2"}
        assert await repo.accounts([2, 3]) == {2: "a2", 3: "a3"}
        assert Repository.list_items.__name__ == "list_items"

    run(cache, body)
    assert calls == ["list_items", "count", "by_name", "accounts [1, 2]", "accounts [3]"]
    assert sync.get("by-name:ada") == "ADA"
    # The sync decorator of a function of the same module and name reads the
    # item the async one stored: one key for both.
    assert SyncRepository().list_items("fr") == ["fr"]


def test_dependency_groups_are_shared_with_sync_code(make: Callable[[], Any]) -> None:
    from caching.aio.dependency import AsyncCacheDependency
    from caching.patterns.dependency import dependent_key

    async def body(cache: Any) -> None:
        dependency = AsyncCacheDependency(cache, time=60)
        assert await cache.set_multi({"item:1": 1, "item:2": 2, "item:3": 3}) == []
        assert await dependency.add("group", "item:1") is True
        assert await dependency.add_multi("group", ["item:2", "item:3"]) == []
        assert await dependency.next_key("other") == dependent_key("other", 1)
        keys = await dependency.get_keys("group")
        assert set(keys) >= {"item:1", "item:2", "item:3", "group", dependent_key("group", 3)}
        assert await dependency.delete("group") is True
        assert await cache.get_multi(["item:1", "item:2", "item:3", "group"]) == {}
        assert await dependency.delete("never-wired") is True

    run(make(), body)


def test_a_group_wired_by_sync_code_is_deleted_by_async_code() -> None:
    from caching.aio.dependency import AsyncCacheDependency
    from caching.patterns.dependency import CacheDependency

    sync = MemoryCache()
    sync.set_multi({"a": 1, "b": 2})
    wired = CacheDependency(sync, time=60)
    assert wired.add_multi("g", ["a", "b"]) == []

    async def body(cache: Any) -> None:
        assert await AsyncCacheDependency(cache).delete("g") is True

    run(AsyncMemoryCache(cache=sync), body)
    assert sync.get_multi(["a", "b", "g"]) == {}
