"""CacheDependency: wire keys to a master key, invalidate them with one call."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest

from caching import CacheDependency as LazyCacheDependency
from caching import MemoryCache, NullCache
from caching.contract import Cache
from caching.dependency import CacheDependency as WheezyPathCacheDependency
from caching.key_rules import key_bytes
from caching.patterns import CacheDependency
from caching.patterns.dependency import MAX_DEPENDENTS, dependent_key
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


def dep(master_key: str, *numbers: int) -> list[str]:
    return [dependent_key(master_key, i) for i in numbers]


def test_next_keys_count_from_one(cache: Cache) -> None:
    dependency = CacheDependency(cache)
    assert dependency.next_key("master") == dependent_key("master", 1)
    assert dependency.next_keys("master", 3) == dep("master", 2, 3, 4)
    assert dependency.next_key("master") == dependent_key("master", 5)
    assert cache.get("master") == 5  # the counter is the master key, as in wheezy


def test_dependent_key_format() -> None:
    digest = hashlib.sha1(b"product:1").hexdigest()
    key = dependent_key("product:1", 7)
    assert key == f"dep:{digest}:7"
    assert dependent_key(b"product:1", 7) == key  # a str and its UTF-8 bytes: one group
    assert dependent_key("x" * 250, 2**64 - 1) != dependent_key("x" * 249, 2**64 - 1)
    assert len(key_bytes(dependent_key("ключ" * 62, 2**64 - 1))) <= 66


def test_delete_removes_every_wired_item(cache: Cache) -> None:
    dependency = CacheDependency(cache, time=timedelta(minutes=5))
    cache.set_multi({"a": 1, "b": 2, "c": 3, "other": 4})
    assert dependency.add("master", "a") is True
    assert dependency.add_multi("master", ["b", "c"]) == []
    assert sorted(dependency.get_keys("master")) == sorted(
        [*dep("master", 1, 2, 3), "a", "b", "c", "master"]
    )
    assert dependency.delete("master") is True
    assert cache.get_multi(["a", "b", "c", "master", *dep("master", 1)]) == {}
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
    assert dependency.get_keys("master") == [*dep("master", 1), "master"]
    dependency.delete("master")
    assert cache.get("a") == 1  # the wire was gone: nothing to invalidate


def test_failing_counter_is_reported() -> None:
    dependency = CacheDependency(NullCache())
    assert dependency.next_keys("master", 2) == []
    assert dependency.next_key("master") == ""
    assert dependency.add("master", "a") is False
    assert dependency.add_multi("master", ["a"]) == ["master"]


# -- keys valid for every master key, groups that cannot be confused -----------


def test_a_master_key_of_249_bytes_wires_and_invalidates_20_items(cache: Cache) -> None:
    """wheezy's dependent key #10 of it is 251 bytes: its add raised after
    the item was stored, and every delete raised."""
    master = "m" * 249
    dependency = CacheDependency(cache, time=60)
    items = {f"item:{i}": i for i in range(20)}
    cache.set_multi(items)
    for key in list(items)[:12]:
        assert dependency.add(master, key) is True
    assert dependency.add_multi(master, list(items)[12:]) == []
    assert cache.get(master) == 20
    assert dependency.delete(master) is True
    assert cache.get_multi([*items, master, *dep(master, *range(1, 21))]) == {}


def test_a_master_key_of_250_bytes_with_multibyte_characters(cache: Cache) -> None:
    master = "é" * 125  # 250 bytes of UTF-8
    dependency = CacheDependency(cache, time=60)
    cache.set("page", "x")
    assert dependency.add(master, "page") is True
    assert dependency.delete(master) is True
    assert cache.get("page") is None


def test_groups_product_1_and_product_11_side_by_side(cache: Cache) -> None:
    """wheezy's dependent key #1 of product:1 is product:11, the counter of
    the other group: delete("product:1") raised TypeError."""
    dependency = CacheDependency(cache, time=60)
    one = {f"one:{i}": i for i in range(12)}
    eleven = {f"eleven:{i}": i for i in range(3)}
    cache.set_multi({**one, **eleven})
    assert dependency.add_multi("product:11", list(eleven)) == []
    for key in one:
        assert dependency.add("product:1", key) is True
    assert dependency.delete("product:1") is True
    assert cache.get_multi(list(one)) == {}
    assert cache.get_multi(list(eleven)) == eleven  # the other group is untouched
    assert cache.get("product:11") == 3  # and so is its counter
    assert dependency.delete("product:11") is True
    assert cache.get_multi([*one, *eleven, "product:1", "product:11"]) == {}


@pytest.mark.parametrize("foreign", ["not a number", b"\x00\xff", 3.5, [1, 2], -4, None], ids=repr)
def test_a_group_with_a_foreign_counter_can_be_deleted(cache: Cache, foreign: Any) -> None:
    cache.set("group", foreign)
    dependency = CacheDependency(cache)
    assert dependency.delete("group") is True
    assert cache.get("group") is None


@pytest.mark.parametrize("foreign", [42, 2.5, ["a"], "two words", "x" * 300, ""], ids=repr)
def test_a_dependent_key_holding_a_foreign_value_is_skipped(cache: Cache, foreign: Any) -> None:
    dependency = CacheDependency(cache, time=60)
    cache.set_multi({"a": 1, "b": 2})
    dependency.add_multi("group", ["a", "b"])
    cache.set(dependent_key("group", 1), foreign)  # someone else's item
    assert dependency.delete("group") is True
    assert cache.get_multi(["a", "b", "group"]) == {"a": 1}


def test_a_huge_counter_reads_only_the_last_dependents() -> None:
    cache = MemoryCache()
    dependency = CacheDependency(cache, time=60)
    cache.set("group", 2**64 - 1)  # corrupt, or a group never invalidated
    cache.set("page", "p")
    cache.set(dependent_key("group", 2**64 - 1), "page")
    reads: list[int] = []
    get_multi = cache.get_multi

    def counting(keys: Any, namespace: Any = None) -> Any:
        keys = list(keys)
        reads.append(len(keys))
        return get_multi(keys, namespace)

    cache.get_multi = counting  # type: ignore[method-assign]
    assert dependency.delete("group") is True
    assert cache.get_multi(["page", "group"]) == {}
    assert reads[:2] == [1, 2 * MAX_DEPENDENTS]  # new format and wheezy's, the last of each


# -- groups written in wheezy's format -----------------------------------------


def wheezy_add(cache: Cache, master_key: str, key: str, time: int = 60) -> bool:
    """What wheezy.caching's CacheDependency.add does (and this package's before 0.2)."""
    n = cache.incr(master_key, 1, None, 0)
    return cache.add(master_key + str(n), key, time)


def test_groups_written_in_wheezy_format_are_invalidated(cache: Cache) -> None:
    one = {f"one:{i}": i for i in range(12)}
    eleven = {f"eleven:{i}": i for i in range(3)}
    cache.set_multi({**one, **eleven, "new": 0})
    assert all(wheezy_add(cache, "product:11", key) for key in eleven)
    wired = [key for key in one if wheezy_add(cache, "product:1", key)]
    # wheezy's dependent key #1 of product:1 is product:11, the other group's
    # counter, and its #11 is product:111, the other group's #1: both adds fail
    assert "one:0" not in wired
    assert "one:10" not in wired
    dependency = CacheDependency(cache, time=60)
    assert dependency.add("product:1", "new") is True  # a new-format wire, same counter
    assert cache.get("product:1") == 13
    assert dependency.delete("product:1") is True
    assert cache.get_multi([*wired, "new", "product:1"]) == {}
    assert cache.get("product:11") == 3  # an int: a counter, not a wire; left alone
    # product:111 .. product:113 are dependent keys of both groups in wheezy's
    # format: they are invalidated with product:1 (a miss too many, never a
    # stale item)
    left = cache.get_multi(list(eleven))
    assert left.items() <= eleven.items()
    assert dependency.delete("product:11") is True
    assert cache.get_multi([*eleven, "product:11", "product:111"]) == {}


def test_wheezy_keys_off_reads_only_the_new_format(cache: Cache) -> None:
    cache.set_multi({"old": 1, "new": 2})
    assert wheezy_add(cache, "group", "old")
    dependency = CacheDependency(cache, time=60, wheezy_keys=False)
    dependency.add("group", "new")
    assert dependency.delete("group") is True
    assert cache.get_multi(["old", "new", "group1"]) == {"old": 1, "group1": "old"}
