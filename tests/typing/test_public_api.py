"""The public API as a user calls it, type-checked by ``mypy --strict`` (``make lint``).

Each ``assert_type`` fails the type check when a signature drifts: the
methods that ``MemoryCache`` builds once (``set``, ``incr``...) included.
Run by pytest too, so the calls are real.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any, assert_type

from caching import Cache, CacheClient, MemoryCache, NullCache, from_url
from caching.encoding import hash_encode
from caching.patterns import Cached, OnePass, key_builder
from caching.testing import ContractTests


def test_backends_have_the_contracts_signatures() -> None:
    memory = MemoryCache(max_items=100, key_encode=hash_encode(hashlib.sha1))
    assert_type(memory.set("k", {"id": 1}, 60), bool)
    assert_type(memory.add("k", 1, timedelta(seconds=5)), bool)
    assert_type(memory.replace("k", 2, namespace="n"), bool)
    assert_type(memory.get("k"), Any)
    assert_type(memory.get_multi(["k", b"j"]), dict[str | bytes, Any])
    assert_type(memory.set_multi({"a": 1}), list[str | bytes])
    assert_type(memory.incr("n", 2, initial_value=0), int | None)
    assert_type(memory.decr("n"), int | None)
    assert_type(memory.delete("k"), bool)
    assert_type(memory.flush_all(), bool)
    caches: list[Cache] = [memory, NullCache(), from_url("memory://")]
    client = CacheClient({"local": caches[0]}, "local")
    assert_type(client.get_multi(["a"], namespace="local"), dict[str | bytes, Any])
    assert client.set("k", 1) is True


def test_patterns_are_typed() -> None:
    cached = Cached(MemoryCache(), key_builder("repo"), time=60)
    assert_type(cached.get_or_create("k", lambda: 1), Any)
    with OnePass(MemoryCache(), "one_pass:k") as one_pass:
        assert_type(one_pass.acquired, bool)


def test_contract_tests_is_a_class() -> None:
    assert isinstance(ContractTests, type)


def test_the_async_api_is_typed() -> None:
    import asyncio

    from caching.aio import AsyncCache, AsyncCacheClient, AsyncMemoryCache, AsyncNullCache
    from caching.aio import from_url as aio_from_url
    from caching.aio.cached import AsyncCached
    from caching.aio.onepass import AsyncOnePass

    async def calls() -> None:
        memory = AsyncMemoryCache(max_items=100)
        assert_type(await memory.set("k", {"id": 1}, 60), bool)
        assert_type(await memory.get("k"), Any)
        assert_type(await memory.get_multi(["k", b"j"]), dict[str | bytes, Any])
        assert_type(await memory.set_multi({"a": 1}), list[str | bytes])
        assert_type(await memory.incr("n", 2, initial_value=0), int | None)
        assert_type(await memory.ping(), dict[str, float | None])
        caches: list[AsyncCache] = [memory, AsyncNullCache(), aio_from_url("memory://")]
        client = AsyncCacheClient({"local": caches[0]}, "local")
        assert await client.set("k", 1) is True
        cached = AsyncCached(client, time=60)

        async def make() -> int:
            return 1

        assert_type(await cached.get_or_create("n", make), Any)
        async with AsyncOnePass(memory, "pass") as one_pass:
            assert_type(one_pass.acquired, bool)

    asyncio.run(calls())
