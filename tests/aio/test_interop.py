"""The async adapter and the sync ones share one item format and, on
several servers, one placement: an item written by a sync adapter reads back
through the async one, with every serializer setting, and the other way
round; keys land on the server the sync pymemcache adapter uses."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests import servers
from tests.adapters.conftest import NAMES, builder
from tests.adapters.test_codec import DATA, MODES
from tests.adapters.test_values_across import VALUES
from tests.aio.backends import emcache_at

pytestmark = pytest.mark.memcached

SETTINGS: dict[str, dict[str, Any]] = {"plain": {}, **MODES}


def _values(setting: str) -> list[Any]:
    return VALUES if setting == "plain" else DATA


def _same(got: Any, value: Any) -> bool:
    return bool(got == value) and type(got) is type(value)


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("name", NAMES)
def test_items_cross_between_sync_and_async(
    name: str, setting: str, memcached_server: servers.Server
) -> None:
    options = SETTINGS[setting]
    sync = builder(name)(memcached_server.address, timeout=5.0, **options)
    prefix = f"x-{uuid.uuid4().hex[:12]}"
    values = _values(setting)
    written = {f"{prefix}-s{i}": value for i, value in enumerate(values)}
    for key, value in written.items():
        assert sync.set(key, value) is True, (key, value)
    async_written = {f"{prefix}-a{i}": value for i, value in enumerate(values)}

    async def body() -> None:
        cache = emcache_at([memcached_server.address], **options)
        try:
            for key, value in written.items():
                assert _same(await cache.get(key), value), (name, setting, value)
            found = await cache.get_multi(list(written))
            assert found == {k: v for k, v in written.items() if v is not None}
            for key, value in async_written.items():
                assert await cache.set(key, value) is True, (key, value)
            assert await cache.incr(f"{prefix}-n", 2, initial_value=2**64 - 3) == 2**64 - 1
        finally:
            await cache.close()

    asyncio.run(body())
    for key, value in async_written.items():
        assert _same(sync.get(key), value), (name, setting, value)
    assert sync.incr(f"{prefix}-n") == 0  # wraps at 2**64, as the contract says


def test_keys_are_placed_as_the_sync_pymemcache_adapter_places_them(
    memcached_pair: list[servers.Server],
) -> None:
    for server in memcached_pair:
        servers.flush(server)
    addresses = [server.address for server in memcached_pair]
    pooled = builder("pymemcache")(addresses, timeout=5.0)
    alone = {address: builder("pymemcache")(address, timeout=5.0) for address in addresses}
    keys = [f"placed-{i}" for i in range(200)] + ["caf\u00e9-1", "caf\u00e9-2"]
    for key in keys:
        assert pooled.set(key, key) is True
    where = {key: next(a for a, one in alone.items() if one.get(key) == key) for key in keys}
    assert set(where.values()) == set(addresses)  # both servers hold some

    async def body() -> None:
        cache = emcache_at(addresses)
        try:
            for key in keys:
                assert cache._server_of(key.encode()).name == where[key]
            assert await cache.get_multi(keys) == {key: key for key in keys}
            assert await cache.set_multi({f"{key}-async": key for key in keys}) == []
        finally:
            await cache.close()

    asyncio.run(body())
    # The async writes: the sync adapter finds each on the server it hashes it to.
    for key in keys:
        assert pooled.get(f"{key}-async") == key
    assert pooled.get_multi([f"{key}-async" for key in keys]) == {
        f"{key}-async": key for key in keys
    }
