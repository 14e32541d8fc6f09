"""AsyncCached's cached functions as the sync ones (docs/REGIONS.md): the
acts on one call (``key``, ``get``, ``set``, ``invalidate``, ``refresh``,
``original``; the multi forms) on functions, methods and classmethods;
``time=``, ``should_cache=`` and ``cache_none=`` per decorator; and the
invalidation marks: an invalidation during a creation, from async or sync
code, is never lost. Over AsyncMemoryCache and a real memcached."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from caching import MemoryCache
from caching.aio import AsyncMemoryCache
from caching.aio.cached import AsyncCached
from caching.patterns import Cached, key_builder
from caching.patterns.functions import CACHED_NONE
from caching.patterns.stale import Fresh
from tests import servers
from tests.adapters.conftest import builder
from tests.aio.backends import emcache_at
from tests.aio.makers import PARAMS, async_cache_maker, run

make = pytest.fixture(params=PARAMS)(async_cache_maker)


def _prefix() -> str:
    return f"fn-{uuid.uuid4().hex[:10]}"


def test_acts_on_one_call_of_a_function(make: Callable[[], Any]) -> None:
    calls: list[str] = []

    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, key_builder(_prefix()), time=60)

        @cached
        async def page(name: str, number: int = 1) -> str:
            calls.append(name)
            return f"{name}:{number}:{len(calls)}"

        assert page.original.__name__ == "page"
        assert page.__name__ == "page"
        key = page.key("a", 2)
        assert key == page.key("a", number=2)
        assert key != page.key("b", 2)
        assert await page.get("a", 2) is None  # never calls
        assert calls == []
        assert await page("a", 2) == "a:2:1"
        assert await page.get("a", 2) == "a:2:1"
        assert await cache.get(key) == "a:2:1"  # the key the acts name is the call's
        assert await page.set("set by hand", "a", 2) is True
        assert await page("a", 2) == "set by hand"
        assert await page.refresh("a", 2) == "a:2:2"  # calls now and stores
        assert await page("a", 2) == "a:2:2"
        assert await page.invalidate("a", 2) is True
        assert await page.get("a", 2) is None
        assert await page("a", 2) == "a:2:3"
        assert await page.original("a", 2) == "a:2:4"  # not cached
        assert await page.get("a", 2) == "a:2:3"

    run(make(), body)


def test_acts_on_a_method_and_a_classmethod_go_through_the_instance(
    make: Callable[[], Any],
) -> None:
    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, key_builder(_prefix()), time=60)

        class Repo:
            made = 0

            def __init__(self, name: str) -> None:
                self.name = name

            @cached.wraps_get_or_add
            async def items(self, locale: str = "en") -> list[str]:
                Repo.made += 1
                return [self.name, locale, str(Repo.made)]

            @cached.wraps_get_or_create(time=30)
            @classmethod
            async def count(cls, kind: str) -> int:
                Repo.made += 1
                return 10 + Repo.made

        repo = Repo("r")
        assert await repo.items("fr") == ["r", "fr", "1"]
        assert await Repo("other").items("fr") == ["r", "fr", "1"]  # self is not in the key
        assert repo.items.key("fr") == Repo.items.key(repo, "fr")
        assert await repo.items.get("fr") == ["r", "fr", "1"]
        assert await repo.items.invalidate("fr") is True
        assert await repo.items.get("fr") is None
        assert await repo.items.refresh("fr") == ["r", "fr", "2"]
        assert await repo.items.set(["by", "hand"], "de") is True
        assert await repo.items("de") == ["by", "hand"]
        assert await Repo.count("a") == 13
        assert await Repo.count("a") == 13
        assert await Repo.count.get("a") == 13
        assert await Repo.count.invalidate("a") is True
        assert await Repo.count("a") == 14

    run(make(), body)


def test_time_should_cache_and_cache_none_per_decorator(make: Callable[[], Any]) -> None:
    calls: list[int] = []

    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, key_builder(_prefix()), time=60)

        @cached.wraps_get_or_create(cache_none=True)
        async def find(user_id: int) -> str | None:
            calls.append(user_id)
            return None

        @cached(should_cache=lambda value: value != "partial")
        async def report(day: int) -> str:
            calls.append(day)
            return "partial" if day == 0 else "full"

        @cached(time=1)
        async def short(day: int) -> str:
            calls.append(day)
            return f"short {len(calls)}"

        assert await find(-1) is None
        assert await find(-1) is None  # negative caching: one call
        assert calls == [-1]
        assert await cache.get(find.key(-1)) is CACHED_NONE
        assert await find.get(-1) is None
        assert await report(0) == "partial"
        assert await report(0) == "partial"  # rejected by should_cache: called again
        assert await report(1) == "full"
        assert await report(1) == "full"
        assert calls == [-1, 0, 0, 1]
        assert await short(5) == "short 5"
        assert await short(5) == "short 5"
        await asyncio.sleep(2.1)  # its own time (1 s), not the AsyncCached's 60
        assert await short(5) == "short 6"
        assert await report(1) == "full"  # the AsyncCached's time: still there
        assert calls == [-1, 0, 0, 1, 5, 5]

    run(make(), body)


def test_a_refresh_the_policy_rejects_drops_the_old_item(make: Callable[[], Any]) -> None:
    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, key_builder(_prefix()), time=60)
        answers = ["old", None]

        @cached
        async def value(n: int) -> str | None:
            return answers.pop(0)

        assert await value(1) == "old"
        assert await value.refresh(1) is None
        assert await value.get(1) is None  # the old item went too

    run(make(), body)


def test_multi_acts_on_a_method(make: Callable[[], Any]) -> None:
    asked: list[list[int]] = []
    prefix = _prefix()

    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, time=60)

        class Products:
            @cached.wraps_get_or_set_multi(make_key=lambda i: f"{prefix}:{i}", cache_none=True)
            async def load(self, ids: list[int], suffix: str = "") -> dict[int, str]:
                asked.append(list(ids))
                return {i: f"p{i}{suffix}" for i in ids if i > 0}

        products = Products()
        assert await products.load([1, 2, -3]) == {1: "p1", 2: "p2"}
        assert await products.load([1, 2, -3, 4]) == {1: "p1", 2: "p2", 4: "p4"}
        assert asked == [[1, 2, -3], [4]]  # -3 is cached as "none"
        assert products.load.key(2) == f"{prefix}:2"
        assert await products.load.get_multi([1, 2, 5]) == {1: "p1", 2: "p2"}
        assert await products.load.set_multi({5: "by hand"}) == []
        assert await products.load([5]) == {5: "by hand"}
        assert await products.load.invalidate([1, 5]) is True
        assert await products.load.get_multi([1, 2, 5]) == {2: "p2"}
        assert await products.load.refresh([2], suffix="!") == {2: "p2!"}
        assert await products.load.get_multi([2]) == {2: "p2!"}
        assert asked[-1] == [2]

    run(make(), body)


async def _invalidated_during(
    cached: AsyncCached, call: Callable[[], Any], gate: asyncio.Event, invalidate: Any
) -> Any:
    """Start ``call()``, wait until its creator is at ``gate``'s wait, run
    ``invalidate()``, let the creator finish; return the call's result."""
    task = asyncio.ensure_future(call())
    for _ in range(500):
        await asyncio.sleep(0.002)
        if getattr(gate, "reached", False):
            break
    assert getattr(gate, "reached", False), "the creator never started"
    result = invalidate()
    if asyncio.iscoroutine(result):
        await result
    gate.set()
    return await task


@pytest.mark.parametrize("pattern", ["set", "add", "create", "refresh"])
def test_an_invalidation_during_a_creation_is_never_lost(
    make: Callable[[], Any], pattern: str
) -> None:
    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, key_builder(_prefix()), time=60)
        gate = asyncio.Event()
        version = {"data": "old"}

        async def read() -> str:
            value = version["data"]  # read before the invalidation
            gate.reached = True  # type: ignore[attr-defined]
            await gate.wait()
            return value

        decorate = {
            "set": cached.wraps_get_or_set,
            "add": cached.wraps_get_or_add,
            "create": cached.wraps_get_or_create,
            "refresh": cached.wraps_get_or_set,
        }[pattern]

        @decorate
        async def data(n: int) -> str:
            return await read()

        async def invalidate() -> None:
            version["data"] = "new"
            await data.invalidate(1)

        call = (lambda: data.refresh(1)) if pattern == "refresh" else (lambda: data(1))
        assert await _invalidated_during(cached, call, gate, invalidate) == "old"
        assert await data.get(1) is None  # the value built from old data was not kept
        assert await data(1) == "new"

    run(make(), body)


def test_an_invalidation_of_some_ids_during_a_multi_creation_is_never_lost(
    make: Callable[[], Any],
) -> None:
    prefix = _prefix()

    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, time=60)
        gate = asyncio.Event()
        version = {"data": "old"}

        @cached.wraps_get_or_set_multi(make_key=lambda i: f"{prefix}:{i}")
        async def load(ids: list[int]) -> dict[int, str]:
            value = version["data"]
            gate.reached = True  # type: ignore[attr-defined]
            await gate.wait()
            return dict.fromkeys(ids, value)

        async def invalidate() -> None:
            version["data"] = "new"
            await load.invalidate([2])

        got = await _invalidated_during(cached, lambda: load([1, 2, 3]), gate, invalidate)
        assert got == {1: "old", 2: "old", 3: "old"}
        assert await load.get_multi([1, 2, 3]) == {1: "old", 3: "old"}  # only 2 was invalidated

    run(make(), body)


@pytest.mark.memcached
def test_a_sync_invalidation_during_an_async_creation_is_never_lost(
    memcached_server: servers.Server,
) -> None:
    """The marks are shared: sync code invalidating a key (pymemcache, same
    memcached) while an async holder builds it wins."""
    sync_cache = builder("pymemcache")(memcached_server.address, timeout=5.0)
    prefix = _prefix()
    sync_cached = Cached(sync_cache, key_builder(prefix), time=60)

    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, key_builder(prefix), time=60)
        gate = asyncio.Event()

        @cached.wraps_get_or_create
        async def data(n: int) -> str:
            gate.reached = True  # type: ignore[attr-defined]
            await gate.wait()
            return "old"

        def invalidate() -> None:
            sync_cached.invalidate(data.key(1))

        assert await _invalidated_during(cached, lambda: data(1), gate, invalidate) == "old"
        assert sync_cache.get(data.key(1)) is None
        assert await data.get(1) is None

    run(emcache_at([memcached_server.address]), body)
    sync_cache.close()


def test_a_herd_of_a_decorated_function_with_cache_none_shares_one_creation(
    make: Callable[[], Any],
) -> None:
    calls = 0

    async def body(cache: Any) -> list[Any]:
        cached = AsyncCached(cache, key_builder(_prefix()), time=60)

        @cached.wraps_get_or_create(cache_none=True)
        async def missing(n: int) -> None:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.1)

        first = await asyncio.gather(*(missing(1) for _ in range(100)))
        return [*first, await missing(1)]

    assert run(make(), body) == [None] * 101
    assert calls == 1


def test_items_of_sync_and_async_cached_functions_cross() -> None:
    """A sync and an async cached function of one module and name share
    keys and the CACHED_NONE item."""
    shared = MemoryCache()
    prefix = _prefix()
    sync_cached = Cached(shared, key_builder(prefix), time=60, cache_none=True)
    cached = AsyncCached(AsyncMemoryCache(cache=shared), key_builder(prefix), time=60)

    @sync_cached
    def lookup(n: int) -> str | None:
        return None if n < 0 else f"sync {n}"

    async def main() -> None:
        @cached(cache_none=True)
        async def lookup(n: int) -> str | None:  # the same name on purpose
            return "async"

        assert sync_lookup(-1) is None
        assert await lookup(-1) is None  # read the sync CACHED_NONE, no call
        assert await lookup(2) == "async"
        assert sync_lookup(2) == "async"
        assert await lookup.invalidate(2) is True
        assert sync_lookup(2) == "sync 2"
        assert await lookup.get(2) == "sync 2"

    sync_lookup = lookup
    asyncio.run(main())


def test_the_events_of_an_async_cached_are_the_sync_ones() -> None:
    seen: list[str] = []

    async def main() -> None:
        cache = AsyncMemoryCache()
        cached = AsyncCached(cache, time=60, stale=600)
        unsubscribe = cached.subscribe(lambda event: seen.append(event.name))

        async def make() -> str:
            return "v"

        await cached.get_or_create("k", make)
        await cached.get_or_create("k", make)
        await cache.set("s", Fresh("old", 0.0, 0.0), 600)
        await cached.get_or_create("s", make)  # stale: this caller rebuilds inline
        await cache.set("s", Fresh("old", 0.0, 0.0), 600)
        await cache.add("one_pass:s", "held elsewhere", 10)
        assert await cached.get_or_create("s", make) == "old"
        unsubscribe()
        await cached.get_or_create("k", make)

    asyncio.run(main())
    assert seen == ["miss", "created", "hit", "created", "stale_served"]


def test_the_pass_through_calls_store_the_sync_items(make: Callable[[], Any]) -> None:
    """With a stale period, every store of AsyncCached writes the sync
    Cached's Fresh item (time + stale on the server, the fresh time inside)."""
    prefix = _prefix()

    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, time=60, stale=600)
        keys = [f"{prefix}-{name}" for name in ("set", "add", "m1", "m2", "a1")]
        assert await cached.set(keys[0], "v") is True
        assert await cached.add(keys[1], "v") is True
        assert await cached.set_multi({keys[2]: "v", keys[3]: "v"}) == []
        assert await cached.add_multi({keys[4]: "v"}) == []
        assert await cached.replace_multi({keys[4]: "w"}) == []
        for key in keys:
            stored = await cache.get(key)
            assert type(stored) is Fresh, key
            assert 50 < stored.until - time.time() <= 60
        assert await cached.get_multi(keys) == {**dict.fromkeys(keys, "v"), keys[4]: "w"}
        assert await cached.replace(keys[0], "x") is True
        assert await cached.get(keys[0]) == "x"

    run(make(), body)
