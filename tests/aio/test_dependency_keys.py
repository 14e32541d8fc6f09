"""``AsyncCached``'s ``dependency_key_factory`` (wheezy's third argument of
``get_or_add``/``get_or_set``/``get_or_create``/``one_pass_create``): the
created item is wired to the master key, so ``dependency.delete`` drops it;
a delete during the build leaves no value made from old data (the marks).
On the in-process backend and a real memcached."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from caching.aio.cached import AsyncCached
from tests.aio.makers import PARAMS, async_cache_maker, run

METHODS = ["get_or_add", "get_or_set", "get_or_create", "one_pass_create"]


@pytest.fixture(params=PARAMS)
def make(request: pytest.FixtureRequest) -> Callable[[], Any]:
    return async_cache_maker(request)


@pytest.mark.parametrize("method", METHODS)
def test_a_created_item_is_wired_to_its_master_key(make: Callable[[], Any], method: str) -> None:
    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, time=60)
        key, master = f"dep-item-{method}", f"dep-master-{method}"
        await cached.delete(key)
        calls: list[int] = []

        async def create() -> str:
            calls.append(1)
            return f"v{len(calls)}"

        call = getattr(cached, method)
        assert await call(key, create, lambda: master) == "v1"
        assert await cached.get(key) == "v1"
        assert await cached.dependency.delete(master) is True
        assert await cached.get(key) is None  # dropped with its master key
        assert await call(key, create, lambda: master) == "v2"

    run(make(), body)


@pytest.mark.parametrize("method", ["get_or_set", "get_or_create"])
def test_a_master_key_deleted_during_the_build_leaves_no_old_value(
    make: Callable[[], Any], method: str
) -> None:
    async def body(cache: Any) -> None:
        cached = AsyncCached(cache, time=60)
        key, master = f"dep-race-{method}", f"dep-race-master-{method}"
        await cached.delete(key)
        building = asyncio.Event()
        deleted = asyncio.Event()

        async def create() -> str:
            building.set()
            await deleted.wait()  # the data changes and its master is deleted meanwhile
            return "old"

        async def invalidate() -> None:
            await building.wait()
            await cached.dependency.delete(master)
            deleted.set()

        call = getattr(cached, method)
        got, _ = await asyncio.gather(call(key, create, lambda: master), invalidate())
        assert got == "old"  # the caller gets what it built
        assert await cached.get(key) is None  # but it is not kept

    run(make(), body)
