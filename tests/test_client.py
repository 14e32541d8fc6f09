"""CacheClient: routing by namespace."""

from __future__ import annotations

import pytest

from caching import CacheClient, MemoryCache, NullCache
from caching.contract import Cache


class CountingFlush(MemoryCache):
    flushes = 0

    def flush_all(self) -> bool:
        self.flushes += 1
        return super().flush_all()


def test_routes_each_call_to_its_namespace() -> None:
    local, shared = MemoryCache(), MemoryCache()
    client = CacheClient({"local": local, "shared": shared}, "shared")
    assert isinstance(client, Cache)
    client.set("k", "default")
    client.set("k", "local", namespace="local")
    assert shared.get("k") == "default"
    assert local.get("k") == "local"
    assert client.get("k") == "default"
    assert client.get_multi(["k"], namespace="local") == {"k": "local"}
    assert client.incr("n", namespace="local", initial_value=0) == 1
    assert shared.get("n") is None
    assert client.add_multi({"k": 1}, namespace="local") == ["k"]
    assert client.delete("k", namespace="local") is True
    assert local.get("k") is None
    assert client.delete_multi(["k"]) is True
    assert shared.get("k") is None


def test_unknown_namespace_raises_key_error_naming_it() -> None:
    client = CacheClient({"a": MemoryCache()}, "a")
    with pytest.raises(KeyError, match="'nope'"):
        client.get("k", namespace="nope")
    with pytest.raises(KeyError, match="'missing'"):
        CacheClient({"a": MemoryCache()}, "missing")


def test_flush_all_flushes_each_distinct_backend_once() -> None:
    shared = CountingFlush()
    other = CountingFlush()
    client = CacheClient({"a": shared, "b": shared, "c": other}, "a")
    shared.set("k", 1)
    assert client.flush_all() is True
    assert (shared.flushes, other.flushes) == (1, 1)
    assert shared.get("k") is None


def test_flush_all_reports_a_failed_backend() -> None:
    class Failing(NullCache):
        def flush_all(self) -> bool:
            return False

    client = CacheClient({"a": MemoryCache(), "b": Failing()}, "a")
    assert client.flush_all() is False
