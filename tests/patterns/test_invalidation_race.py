"""An invalidation during a rebuild is never lost (issue 14, point 5).

A creator reads old data, pauses on an ``Event``; meanwhile the data changes
and the item is invalidated; then the creator stores. The next read must not
answer the old value: in threads on ``MemoryCache`` and on memcached, and
across two processes sharing a memcached.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from caching import MemoryCache, from_url
from caching.contract import Cache
from caching.patterns import Cached, key_builder
from tests import region_workers
from tests.shared import memcached_url

__all__ = ["memcached_url"]

DECORATORS = ["wraps_get_or_add", "wraps_get_or_set", "wraps_get_or_create"]


@pytest.fixture(params=["memory", "memcached"])
def store(request: pytest.FixtureRequest) -> Iterator[Cache]:
    if request.param == "memory":
        yield MemoryCache()
        return
    cache = from_url(request.getfixturevalue("memcached_url"))
    yield cache
    cache.close()  # type: ignore[attr-defined]


class Paused:
    """A creator that reads the row, then waits to be told to go on."""

    def __init__(self, db: dict[str, str]) -> None:
        self.db = db
        self.read = threading.Event()
        self.go = threading.Event()
        self.calls = 0

    def __call__(self, name: str) -> str:
        self.calls += 1
        row = self.db["row"]
        if self.calls == 1:  # only the first creator is held back
            self.read.set()
            assert self.go.wait(30)
        return f"{name}:{row}"


def _race(call: Callable[[], Any], paused: Paused, invalidate: Callable[[], Any]) -> Any:
    """Run ``call`` in a thread until its creator has read the row; change
    the row and ``invalidate``; let the creator store; return its answer."""
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(call()))
    thread.start()
    assert paused.read.wait(30)
    paused.db["row"] = "new"
    invalidate()
    paused.go.set()
    thread.join(30)
    assert not thread.is_alive()
    return answers[0]


@pytest.mark.parametrize("decorator", DECORATORS)
@pytest.mark.parametrize("how", ["fn.invalidate", "cached.invalidate", "dependency.delete"])
def test_an_invalidation_during_a_rebuild_is_not_lost(
    store: Cache, decorator: str, how: str
) -> None:
    cached = Cached(store, key_builder("race"), time=60)
    paused = Paused({"row": "old"})

    @getattr(cached, decorator)
    def listing(name: str) -> str:
        return paused(name)

    key = listing.key("tea")
    if how == "dependency.delete":
        cached.dependency.add("group", key)
    invalidate = {
        "fn.invalidate": lambda: listing.invalidate("tea"),
        "cached.invalidate": lambda: cached.invalidate(key),
        "dependency.delete": lambda: cached.dependency.delete("group"),
    }[how]

    assert _race(lambda: listing("tea"), paused, invalidate) == "tea:old"  # its own answer
    assert store.get(key) != "tea:old"  # not left in the cache
    assert listing("tea") == "tea:new"  # the next read: data read after the invalidation
    assert paused.calls == 2


class ReadsAfterStores:
    """``cache`` with, after each store, what a call beginning at that very
    moment reads of :attr:`key` (in :attr:`reads`)."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.key = ""
        self.reads: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cache, name)

    def set(self, key: str, value: Any, time: int = 0, namespace: str | None = None) -> bool:
        return self._read_after(self.cache.set(key, value, time, namespace))

    def add(self, key: str, value: Any, time: int = 0, namespace: str | None = None) -> bool:
        return self._read_after(self.cache.add(key, value, time, namespace))

    def set_multi(self, mapping: Any, time: int = 0, namespace: str | None = None) -> list[str]:
        return self._read_after(self.cache.set_multi(mapping, time, namespace))

    def _read_after(self, answer: Any) -> Any:
        self.reads.append(self.cache.get(self.key))
        return answer


@pytest.mark.parametrize("decorator", [*DECORATORS, "wraps_get_or_set_multi"])
def test_a_value_built_across_an_invalidation_is_never_readable(
    store: Cache, decorator: str
) -> None:
    # Before, the creator stored it, then read the marks again and deleted
    # it: a call that began in between, after the invalidation had returned,
    # took the old value. Now the marks are read before the store too.
    watched = ReadsAfterStores(store)
    cached = Cached(watched, time=60)  # type: ignore[arg-type]
    paused = Paused({"row": "old"})
    if decorator == "wraps_get_or_set_multi":

        @cached.wraps_get_or_set_multi(make_key=lambda i: f"item:{i}")
        def items(ids: list[int]) -> dict[int, str]:
            return {i: paused(str(i)) for i in ids}

        watched.key = "item:1"
        answer = _race(lambda: items([1]), paused, lambda: items.invalidate([1]))
        assert answer == {1: "1:old"}
        assert items([1]) == {1: "1:new"}
        old, new = "1:old", "1:new"
    else:

        @getattr(cached, decorator)
        def listing(name: str) -> str:
            return paused(name)

        watched.key = listing.key("tea")
        assert _race(lambda: listing("tea"), paused, lambda: listing.invalidate("tea")) == "tea:old"
        assert listing("tea") == "tea:new"
        old, new = "tea:old", "tea:new"
    assert new in watched.reads  # the reads saw the stores
    assert old not in watched.reads


@pytest.mark.parametrize("multi", [False, True])
def test_a_refresh_across_a_mark_that_expires_leaves_no_old_value(multi: bool) -> None:
    # The key was invalidated (its mark lives 60 s) and built again; a
    # refresh reads the mark, and it expires while the refresh builds. A
    # mark gone is no invalidation (one always writes a new token): the
    # refresh stores its value. Before, it stored nothing and left the item
    # it was to replace for its 600 s.
    now = [1_000.0]
    store = MemoryCache(clock=lambda: now[0])
    cached = Cached(store, time=600)
    db = {"row": "v1"}

    def build(name: str) -> str:
        value = f"{name}:{db['row']}"
        if db["row"] == "v2":
            now[0] += 61  # the mark expires during the refresh
        return value

    if multi:

        @cached.wraps_get_or_set_multi(make_key=lambda i: f"item:{i}")
        def items(ids: list[int]) -> dict[int, str]:
            return {i: build(str(i)) for i in ids}

        items.invalidate([1])
        assert items([1]) == {1: "1:v1"}
        db["row"] = "v2"
        assert items.refresh([1]) == {1: "1:v2"}
        assert store.get("item:1") != "1:v1"
        assert items([1]) == {1: "1:v2"}
    else:

        @cached.wraps_get_or_set(make_key=lambda name: f"listing:{name}")
        def listing(name: str) -> str:
            return build(name)

        listing.invalidate("tea")
        assert listing("tea") == "tea:v1"
        db["row"] = "v2"
        assert listing.refresh("tea") == "tea:v2"
        assert store.get("listing:tea") != "tea:v1"
        assert listing("tea") == "tea:v2"


@pytest.mark.parametrize("pattern", ["get_or_set", "get_or_add", "get_or_create"])
def test_a_group_deleted_while_a_wired_item_is_built(store: Cache, pattern: str) -> None:
    cached = Cached(store, time=60)
    paused = Paused({"row": "old"})

    def call() -> Any:
        return getattr(cached, pattern)("page", lambda: paused("page"), lambda: "group")

    assert _race(call, paused, lambda: cached.dependency.delete("group")) == "page:old"
    assert store.get("page") != "page:old"
    assert call() == "page:new"


def test_an_invalidation_during_a_multi_rebuild_is_not_lost(store: Cache) -> None:
    cached = Cached(store, time=60)
    paused = Paused({"row": "old"})

    @cached.wraps_get_or_set_multi(make_key=lambda i: f"item:{i}")
    def items(ids: list[int]) -> dict[int, str]:
        return {i: paused(str(i)) for i in ids}

    answer = _race(lambda: items([1]), paused, lambda: items.invalidate([1]))
    assert answer == {1: "1:old"}
    assert store.get("item:1") != "1:old"
    assert items([1]) == {1: "1:new"}


def test_refresh_during_a_rebuild_and_without_any(store: Cache) -> None:
    cached = Cached(store, key_builder("race"), time=60)
    db = {"row": "old"}
    calls: list[str] = []

    @cached
    def listing(name: str) -> str:
        calls.append(name)
        return f"{name}:{db['row']}"

    assert listing("tea") == "tea:old"
    db["row"] = "new"
    assert listing("tea") == "tea:old"  # cached
    assert listing.refresh("tea") == "tea:new"
    assert listing("tea") == "tea:new"
    assert calls == ["tea", "tea"]


@pytest.mark.memcached
@pytest.mark.parametrize("decorator", DECORATORS)
def test_an_invalidation_from_another_process_during_a_rebuild(
    memcached_url: str, decorator: str
) -> None:
    spawn = multiprocessing.get_context("spawn")
    cache = from_url(memcached_url)
    cache.set(region_workers.ROW, "old")
    cached = Cached(cache, key_builder("race"), time=60)

    @getattr(cached, decorator)
    def listing(name: str) -> str:
        return f"{name}:{cache.get(region_workers.ROW)}"

    read, go, done = spawn.Event(), spawn.Event(), spawn.Event()
    results = spawn.Queue()
    child = spawn.Process(
        target=region_workers.reporting,
        args=("slow_creator", results, memcached_url, decorator, read, go, done),
    )
    child.start()
    try:
        assert read.wait(30), "the other process's creator did not start"
        cache.set(region_workers.ROW, "new")
        listing.invalidate("tea")  # in this process, while the other one builds
        go.set()
        assert results.get(timeout=30) == (True, "tea:old")  # the other process's own answer
    finally:
        go.set()
        child.join(30)
    assert done.is_set()
    assert cache.get(listing.key("tea")) != "tea:old"
    assert listing("tea") == "tea:new"
    cache.close()  # type: ignore[attr-defined]
