"""NullCache: remembers nothing, answers as wheezy's, checks like every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from caching import InvalidKeyError, NullCache
from caching.contract import Cache


def test_is_a_cache() -> None:
    assert isinstance(NullCache(), Cache)


def test_stores_report_success_and_reads_miss() -> None:
    cache = NullCache()
    assert cache.set("k", 1) is True
    assert cache.add("k", 1) is True
    assert cache.add("k", 1) is True  # nothing was stored
    assert cache.replace("k", 1) is True
    assert cache.get("k") is None
    assert cache.set_multi({"a": 1}) == []
    assert cache.add_multi({"a": 1}) == []
    assert cache.replace_multi({"a": 1}) == []
    assert cache.get_multi(["a", "k"]) == {}
    assert cache.delete("k") is True
    assert cache.delete_multi(["a"]) is True
    assert cache.incr("n", initial_value=0) is None
    assert cache.decr("n", initial_value=5) is None
    assert cache.flush_all() is True


@pytest.mark.parametrize("key", ["a b", "", "x" * 251, "a\r\nflush_all"])
def test_checks_keys(key: str) -> None:
    cache = NullCache()
    for call in (
        lambda: cache.set(key, 1),
        lambda: cache.get(key),
        lambda: cache.delete(key),
        lambda: cache.incr(key),
        lambda: cache.set_multi({key: 1}),
        lambda: cache.get_multi([key]),
        lambda: cache.delete_multi([key]),
    ):
        with pytest.raises(InvalidKeyError):
            call()


def test_checks_times_and_counter_arguments() -> None:
    cache = NullCache()
    with pytest.raises(TypeError):
        cache.set("k", 1, 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cache.add_multi({"k": 1}, "10")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delta"):
        cache.incr("k", -1)
    with pytest.raises(ValueError, match="initial_value"):
        cache.decr("k", initial_value=-1)
    with pytest.raises(TypeError):
        cache.get_multi("ab")


@pytest.mark.parametrize(
    "time", [2**31, 2**64, timedelta(days=365 * 100)], ids=["2**31", "2**64", "100-years"]
)
def test_refuses_a_time_memcached_cannot_keep(time: int | timedelta) -> None:
    cache = NullCache()
    for call in (
        lambda: cache.set("k", 1, time),
        lambda: cache.add("k", 1, time),
        lambda: cache.replace("k", 1, time),
        lambda: cache.set_multi({"k": 1}, time),
        lambda: cache.add_multi({"k": 1}, time),
        lambda: cache.replace_multi({"k": 1}, time),
    ):
        with pytest.raises(ValueError, match="2038"):
            call()
    assert cache.set("k", 1, 2**31 - 1) is True
