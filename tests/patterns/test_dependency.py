"""CacheDependency: wire keys to a master key, invalidate them with one call."""

from __future__ import annotations

from datetime import timedelta

from caching import CacheDependency as LazyCacheDependency
from caching.contract import Cache
from caching.dependency import CacheDependency as WheezyPathCacheDependency
from caching.patterns import CacheDependency
from tests.shared import Clock, backend, cache, clock, timed_backends

__all__ = ["backend", "cache", "clock"]


class Counting:
    """Counts the calls that reach a backend (round trips)."""

    def __init__(self, inner: Cache) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> object:
        self.calls.append(name)
        return getattr(self.inner, name)


def test_import_paths() -> None:
    assert LazyCacheDependency is CacheDependency is WheezyPathCacheDependency


def test_next_keys_count_from_one(cache: Cache) -> None:
    dependency = CacheDependency(cache)
    assert dependency.next_key("master") == "master1"
    assert dependency.next_keys("master", 3) == ["master2", "master3", "master4"]
    assert dependency.next_key("master") == "master5"


def test_delete_removes_every_wired_item(cache: Cache) -> None:
    dependency = CacheDependency(cache, time=timedelta(minutes=5))
    cache.set_multi({"a": 1, "b": 2, "c": 3, "other": 4})
    assert dependency.add("master", "a") is True
    assert dependency.add_multi("master", ["b", "c"]) == []
    assert sorted(dependency.get_keys("master")) == sorted(
        ["master1", "master2", "master3", "a", "b", "c", "master"]
    )
    assert dependency.delete("master") is True
    assert cache.get_multi(["a", "b", "c", "master", "master1"]) == {}
    assert cache.get("other") == 4


def test_delete_multi_invalidates_several_groups(cache: Cache) -> None:
    dependency = CacheDependency(cache)
    cache.set_multi({"a": 1, "b": 2, "c": 3})
    dependency.add("m1", "a")
    dependency.add("m2", "b")
    assert dependency.delete_multi(["m1", "m2", "unknown"]) is True
    assert cache.get_multi(["a", "b", "c"]) == {"c": 3}


def test_nothing_wired(cache: Cache) -> None:
    dependency = CacheDependency(cache)
    assert dependency.get_keys("none") == []
    assert dependency.get_multi_keys(["none"]) == []
    assert dependency.delete("none") is True
    assert dependency.add_multi("none", []) == []


def test_delete_takes_three_round_trips_whatever_the_group_size(cache: Cache) -> None:
    counting = Counting(cache)
    dependency = CacheDependency(counting)  # type: ignore[arg-type]
    dependency.add_multi("master", [f"k{i}" for i in range(50)])
    assert counting.calls == ["incr", "add_multi"]
    counting.calls.clear()
    dependency.delete("master")
    assert counting.calls == ["get_multi", "get_multi", "delete_multi"]


@timed_backends
def test_wires_expire_with_time(cache: Cache, clock: Clock) -> None:
    dependency = CacheDependency(cache, time=2)
    cache.set("a", 1)
    dependency.add("master", "a")
    clock.advance(3.1)
    assert dependency.get_keys("master") == ["master1", "master"]
    dependency.delete("master")
    assert cache.get("a") == 1  # the wire was gone: nothing to invalidate


def test_failing_counter_is_reported() -> None:
    from caching import NullCache

    dependency = CacheDependency(NullCache())
    assert dependency.next_keys("master", 2) == []
    assert dependency.add("master", "a") is False
    assert dependency.add_multi("master", ["a"]) == ["master"]
