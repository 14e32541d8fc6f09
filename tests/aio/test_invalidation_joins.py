"""A call that begins after an invalidation has returned never takes the
value of a creation that began before it (docs/ASYNCIO.md, "Invalidation
marks").

``AsyncCached.get_or_create`` shares one creation per key among the
concurrent misses of a loop. A creation under way when its key is
invalidated has read the data from before; a caller that comes after the
invalidation must not await it and take its value:

- a local invalidation (``invalidate``, ``invalidate_multi``, a function's
  ``invalidate``, ``AsyncRegion.invalidate``) drops the loop's shared
  creation, so later callers start their own;
- any invalidation (also from sync code, another process, a new region
  generation) is seen by the shared creation itself, which reads the mark
  after the build: it tells its waiters its value is not valid, and they
  read the key again and create it, as the sync waiters do.

Over AsyncMemoryCache (sharing a MemoryCache with sync code) and a real
memcached (sync side: pymemcache).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from caching import MemoryCache
from caching.aio import AsyncMemoryCache
from caching.aio.cached import AsyncCached
from caching.aio.regions import AsyncRegion
from caching.patterns import Cached, key_builder
from caching.regions import Region
from tests import servers
from tests.adapters.conftest import builder
from tests.aio.backends import emcache_at
from tests.aio.makers import PARAMS

Pair = tuple[Callable[[], Any], Any]


@pytest.fixture(params=PARAMS)
def pair(request: pytest.FixtureRequest) -> Iterator[Pair]:
    """``(make the async backend, the sync backend over the same items)``."""
    if request.param == "memory":
        shared = MemoryCache()
        yield (lambda: AsyncMemoryCache(cache=shared)), shared
        return
    server: servers.Server = request.getfixturevalue("memcached_server")
    sync_cache = builder("pymemcache")(server.address, timeout=5.0)
    yield (lambda: emcache_at([server.address])), sync_cache
    sync_cache.close()


def _run(make: Callable[[], Any], body: Callable[[Any], Any]) -> Any:
    async def main() -> Any:
        cache = make()
        try:
            return await asyncio.wait_for(body(cache), 30)
        finally:
            close = getattr(cache, "close", None)
            if close is not None:
                await close()

    return asyncio.run(main())


MODES = ["invalidate", "invalidate_multi", "function", "sync"]


@pytest.mark.parametrize("mode", MODES)
def test_calls_after_an_invalidation_do_not_take_the_creation_under_way(
    pair: Pair, mode: str
) -> None:
    """A creation reads "old", the key is invalidated (and the data is now
    "new"), then 20 calls of the key begin while the creation still runs:
    each gets "new", made by one creation of their own (before: all 20
    awaited the first creation and got "old")."""
    make, sync_cache = pair
    prefix = f"join-{uuid.uuid4().hex[:10]}"
    sync_cached = Cached(sync_cache, key_builder(prefix), time=60)

    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, key_builder(prefix), time=60)
        version = {"data": "old"}
        reads: list[str] = []
        reached = asyncio.Event()
        gate = asyncio.Event()

        @cached.wraps_get_or_create
        async def data(n: int) -> str:
            value = version["data"]
            reads.append(value)
            reached.set()
            await gate.wait()
            return value

        first = asyncio.ensure_future(data(1))
        await asyncio.wait_for(reached.wait(), 10)
        version["data"] = "new"
        key = data.key(1)
        if mode == "invalidate":
            await cached.invalidate(key)
        elif mode == "invalidate_multi":
            await cached.invalidate_multi([key, f"{prefix}-other"])
        elif mode == "function":
            await data.invalidate(1)
        else:  # sync code of this process (another thread), same items and marks
            await asyncio.to_thread(sync_cached.invalidate, key)
        later = [asyncio.ensure_future(data(1)) for _ in range(20)]
        await asyncio.sleep(0.05)  # they reach the creation under way (or their own)
        gate.set()
        assert await first == "old"  # the first caller's call began before it
        assert await asyncio.gather(*later) == ["new"] * 20
        assert reads == ["old", "new"]  # one creation for the 20 later calls
        assert await data.get(1) == "new"
        assert sync_cached.get(key) == "new"

    _run(make, body)


@pytest.mark.parametrize("remote", [False, True])
def test_calls_after_a_region_invalidation_do_not_take_the_creation_under_way(
    pair: Pair, remote: bool
) -> None:
    """The same for a whole AsyncRegion: invalidated here (``invalidate()``),
    or by a sync Region of the same name over the same items (read here at
    once: ``invalidation_check=0``)."""
    make, sync_cache = pair
    name = f"join{uuid.uuid4().hex[:10]}"
    sync_region = Region(name, invalidation_check=0).configure(sync_cache, time=60)

    async def body(cache: Any) -> None:
        region = AsyncRegion(name, invalidation_check=0).configure(cache, time=60)
        version = {"data": "old"}
        reads: list[str] = []
        reached = asyncio.Event()
        gate = asyncio.Event()

        @region.cache_on_arguments
        async def data(n: int) -> str:
            value = version["data"]
            reads.append(value)
            reached.set()
            await gate.wait()
            return value

        first = asyncio.ensure_future(data(1))
        await asyncio.wait_for(reached.wait(), 10)
        version["data"] = "new"
        if remote:
            assert await asyncio.to_thread(sync_region.invalidate)
        else:
            assert await region.invalidate()
        later = [asyncio.ensure_future(data(1)) for _ in range(20)]
        await asyncio.sleep(0.05)
        gate.set()
        assert await first == "old"
        assert await asyncio.gather(*later) == ["new"] * 20
        assert reads == ["old", "new"]
        assert await data(1) == "new"

    _run(make, body)


def test_a_herd_still_shares_one_creation(pair: Pair) -> None:
    """With no invalidation, 100 concurrent misses of one key in a loop
    still make one creation, and each gets its value."""
    make, _ = pair
    prefix = f"herd-{uuid.uuid4().hex[:10]}"

    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, key_builder(prefix), time=60)
        calls: list[int] = []

        @cached.wraps_get_or_create
        async def data(n: int) -> int:
            calls.append(n)
            await asyncio.sleep(0.1)
            return n * 2

        started = time.monotonic()
        assert await asyncio.gather(*[data(3) for _ in range(100)]) == [6] * 100
        assert calls == [3]
        assert time.monotonic() - started < 10

    _run(make, body)


class _SlowRelease:
    """An async backend whose ``delete`` of a one-pass key (the release of
    the pass) takes ``delay`` seconds (a slow round trip) and is announced."""

    def __init__(self, inner: Any, delay: float) -> None:
        self.inner, self.delay = inner, delay
        self.releasing = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def delete(self, key: Any, seconds: int = 0, namespace: str | None = None) -> bool:
        if str(key).startswith("one_pass:"):
            self.releasing.set()
            await asyncio.sleep(self.delay)
        return bool(await self.inner.delete(key, seconds, namespace))


@pytest.mark.parametrize("mode", ["other instance", "sync"])
def test_a_call_after_an_invalidation_during_the_release_reads_the_key_again(
    pair: Pair, mode: str
) -> None:
    """The holder has built "old" and checked its mark; while it releases
    its pass (slowly), another instance (another process) or sync code
    invalidates the key: a call that begins after that invalidation returned
    gets "new" (before: it joined the holder's creation, valid by then, and
    got "old")."""
    make, sync_cache = pair
    prefix = f"release-{uuid.uuid4().hex[:10]}"
    sync_cached = Cached(sync_cache, key_builder(prefix), time=60)

    async def body(cache: Any) -> None:
        slow = _SlowRelease(cache, 0.3)
        cached = AsyncCached(slow, key_builder(prefix), time=60)
        other = AsyncCached(cache, key_builder(prefix), time=60)
        version = {"data": "old"}

        @cached.wraps_get_or_create
        async def data(n: int) -> str:
            return version["data"]

        first = asyncio.ensure_future(data(1))
        await asyncio.wait_for(slow.releasing.wait(), 10)  # built, checked, releasing
        version["data"] = "new"
        key = data.key(1)
        if mode == "sync":
            await asyncio.to_thread(sync_cached.invalidate, key)
        else:
            await other.invalidate(key)
        assert not first.done()  # the release is still under way
        assert await data(1) == "new"
        assert await first == "old"  # its call began before the invalidation

    _run(make, body)


def test_waiters_told_invalid_share_one_creation_per_round(pair: Pair) -> None:
    """100 concurrent misses while another instance invalidates the key
    every 20 ms and a creation takes 50 ms: the waiters told "invalid" share
    one new creation per round, for at most ONE_PASS_ATTEMPTS rounds (before:
    each of the 100 made its own, one after the other, through the pass)."""
    from caching.patterns.cached import ONE_PASS_ATTEMPTS

    make, _ = pair
    prefix = f"rounds-{uuid.uuid4().hex[:10]}"

    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, key_builder(prefix), time=60)
        other = AsyncCached(cache, key_builder(prefix), time=60)
        version = {"data": 1}
        made: list[int] = []

        @cached.wraps_get_or_create
        async def data(n: int) -> int:
            value = version["data"]
            made.append(value)
            await asyncio.sleep(0.05)
            return value

        stop = asyncio.Event()

        async def invalidator() -> None:
            while not stop.is_set():
                version["data"] += 1
                await other.invalidate(data.key(1))
                await asyncio.sleep(0.02)

        running = asyncio.ensure_future(invalidator())
        try:
            results = await asyncio.gather(*[data(1) for _ in range(100)])
        finally:
            stop.set()
            await running
        assert set(results) <= set(made)
        # One creation per round (the first, then ONE_PASS_ATTEMPTS rounds
        # of the waiters), with room for a waiter that lands a round late.
        assert len(made) <= 2 * (ONE_PASS_ATTEMPTS + 1), made

    _run(make, body)


class _ReadsAfterStores:
    """An async backend with, after each store, what a call beginning at
    that very moment reads of :attr:`key` (in :attr:`reads`)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.key = ""
        self.reads: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def set(self, key: Any, value: Any, time: int = 0, namespace: str | None = None) -> bool:
        return bool(await self._read_after(self.inner.set(key, value, time, namespace)))

    async def add(self, key: Any, value: Any, time: int = 0, namespace: str | None = None) -> bool:
        return bool(await self._read_after(self.inner.add(key, value, time, namespace)))

    async def set_multi(self, mapping: Any, time: int = 0, namespace: str | None = None) -> Any:
        return await self._read_after(self.inner.set_multi(mapping, time, namespace))

    async def _read_after(self, store: Any) -> Any:
        answer = await store
        self.reads.append(await self.inner.get(self.key))
        return answer


@pytest.mark.parametrize(
    "decorator",
    ["wraps_get_or_add", "wraps_get_or_set", "wraps_get_or_create", "wraps_get_or_set_multi"],
)
def test_a_value_built_across_an_invalidation_is_never_readable(pair: Pair, decorator: str) -> None:
    """A creation reads "old", the key is invalidated, the creation ends:
    "old" is not stored, so no call that begins after the invalidation
    (here: right after each store, over the network for memcached) reads it
    (before: it was stored, then found invalidated and deleted, one round
    trip later, and the calls of test_calls_after_an_invalidation... that
    began late took it)."""
    make, _ = pair
    prefix = f"readable-{uuid.uuid4().hex[:10]}"

    async def body(cache: Any) -> None:
        watched = _ReadsAfterStores(cache)
        cached = AsyncCached(watched, key_builder(prefix), time=60)
        version = {"data": "old"}
        reached = asyncio.Event()
        gate = asyncio.Event()

        async def read() -> str:
            value = version["data"]
            reached.set()
            await gate.wait()
            return value

        if decorator == "wraps_get_or_set_multi":

            @cached.wraps_get_or_set_multi(make_key=lambda i: f"{prefix}-item-{i}")
            async def items(ids: list[int]) -> dict[int, str]:
                return {i: await read() for i in ids}

            async def call() -> str:
                return str((await items([1]))[1])

            async def invalidate() -> None:
                await items.invalidate([1])

            watched.key = f"{prefix}-item-1"
        else:
            data = getattr(cached, decorator)(_one(read))

            async def call() -> str:
                return str(await data(1))

            async def invalidate() -> None:
                await data.invalidate(1)

            watched.key = data.key(1)
        first = asyncio.ensure_future(call())
        await asyncio.wait_for(reached.wait(), 10)
        version["data"] = "new"
        await invalidate()
        gate.set()
        assert await first == "old"  # its own answer
        assert await call() == "new"
        assert "new" in watched.reads  # the reads saw the stores
        assert "old" not in watched.reads

    _run(make, body)


def _one(read: Callable[[], Any]) -> Callable[[int], Any]:
    """An ``async def data(n)`` over ``read`` (for the one-key decorators)."""

    async def data(n: int) -> str:
        return str(await read())

    return data
