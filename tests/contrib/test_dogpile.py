"""caching.contrib.dogpile: dogpile.cache's own shipped test suites
(dogpile.testing.fixtures) on the "caching" backend, over MemoryCache and
over a real memcached through each adapter, subclassed as dogpile's own
backends' tests do; and what only this backend adds."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from dogpile.cache import make_region
from dogpile.cache.api import NO_VALUE
from dogpile.testing.fixtures import _GenericBackendTestSuite, _GenericMutexTestSuite

from caching import MemoryCache
from caching.contrib.dogpile import CachingBackend
from tests import servers
from tests.adapters.conftest import NAMES

#: dogpile's suites build backends in setup_class, before any fixture runs;
#: the memcached classes point at the session's server from each test on.
_UNSET = "memcached://127.0.0.1:1?client=pymemcache"


class _OverMemcached:
    client: ClassVar[str]
    config_args: ClassVar[dict[str, Any]] = {"arguments": {"url": _UNSET}}

    @pytest.fixture(autouse=True)
    def _on_the_session_server(self, memcached_server: servers.Server) -> Iterator[None]:
        url = f"memcached://{memcached_server.address}?client={self.client}"
        type(self).config_args = {"arguments": {"url": url}}
        yield
        # dogpile's fixtures drop their backends unclosed: close the adapters'
        # connections (after dogpile's own teardown has deleted its keys).
        for owner in (self._backend_inst, getattr(self._region_inst, "backend", None)):
            close = getattr(getattr(owner, "cache", None), "close", None)
            if close is not None:
                close()


class TestMemoryBackend(_GenericBackendTestSuite):
    backend = "caching"
    config_args: ClassVar[dict[str, Any]] = {"arguments": {"url": "memory://"}}


class TestMemoryMutex(_GenericMutexTestSuite):
    backend = "caching"
    config_args: ClassVar[dict[str, Any]] = {"arguments": {"url": "memory://"}}


def _suites(name: str) -> tuple[type, type]:
    backend = type(
        f"TestMemcachedBackend_{name}",
        (_OverMemcached, _GenericBackendTestSuite),
        {"backend": "caching", "client": name},
    )
    mutex = type(
        f"TestMemcachedMutex_{name}",
        (_OverMemcached, _GenericMutexTestSuite),
        {"backend": "caching", "client": name},
    )
    return pytest.mark.memcached(backend), pytest.mark.memcached(mutex)


for _name in NAMES:
    for _suite in _suites(_name):
        globals()[_suite.__name__.replace("-", "_")] = _suite


def test_a_backend_object_is_used_as_it_is() -> None:
    cache = MemoryCache()
    region = make_region().configure("caching", arguments={"backend": cache})
    region.set("k", [1, 2])
    assert region.get("k") == [1, 2]
    assert cache.get("k") is not None  # dogpile's CachedValue, stored in the given backend


def test_keys_dogpile_makes_invalid_are_encoded() -> None:
    cache = MemoryCache()
    region = make_region().configure("caching", arguments={"backend": cache})
    long_key = "x" * 300
    region.set("a b", 1)
    region.set(long_key, 2)
    assert (region.get("a b"), region.get(long_key)) == (1, 2)
    assert cache.get("a%20b") is not None


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="'url' or 'backend'"):
        CachingBackend({})
    with pytest.raises(ValueError, match="unknown key_encode 'md5'"):
        CachingBackend({"url": "memory://", "key_encode": "md5"})


@pytest.mark.memcached
def test_a_down_server_answers_as_a_miss_and_the_creator_runs() -> None:
    dead = servers.memcached()  # never started
    region = make_region().configure(
        "caching", arguments={"url": f"memcached://{dead.address}?client=pymemcache"}
    )
    calls = []
    assert region.get("k") is NO_VALUE
    assert region.get_or_create("k", lambda: calls.append(1) or "made") == "made"
    assert calls == [1]


def _hold(url: str, held: Any, release: Any) -> None:
    backend = CachingBackend({"url": url})
    mutex = backend.get_mutex("shared")
    assert mutex is not None
    assert mutex.acquire()
    held.set()
    release.wait(10)
    mutex.release()


@pytest.mark.memcached
def test_the_lock_holds_across_processes(memcached_server: servers.Server) -> None:
    url = f"memcached://{memcached_server.address}?client=pymemcache"
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(url, held, release))
    holder.start()
    try:
        assert held.wait(30), "the other process did not take the lock"
        mutex = CachingBackend({"url": url}).get_mutex("shared")
        assert mutex is not None
        assert mutex.locked()
        assert not mutex.acquire(False)
        release.set()
        started = time.monotonic()
        assert mutex.acquire()  # waits for the other process's release
        assert time.monotonic() - started < 10
        mutex.release()
    finally:
        release.set()
        holder.join(30)
    assert holder.exitcode == 0


def _overlap(url: str, rounds: int, results: Any) -> None:
    """3 threads take the lock ``rounds`` times each; a shared counter on the
    server tells whether two holders were ever inside at once."""
    import threading

    backend = CachingBackend({"url": url})
    cache = backend.cache
    overlaps = 0

    def worker() -> None:
        nonlocal overlaps
        for _ in range(rounds):
            mutex = backend.get_mutex("together")
            assert mutex is not None
            mutex.acquire()
            if (cache.incr("inside", 1, None, 0) or 0) > 1:
                overlaps += 1
            cache.decr("inside", 1)
            mutex.release()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    results.put(overlaps)


@pytest.mark.memcached
@pytest.mark.parametrize("client", ["pymemcache", "pylibmc"])
def test_never_two_holders_across_processes(memcached_server: servers.Server, client: str) -> None:
    url = f"memcached://{memcached_server.address}?client={client}"
    context = multiprocessing.get_context("spawn")
    results: Any = context.Queue()
    workers = [context.Process(target=_overlap, args=(url, 150, results)) for _ in range(3)]
    for worker in workers:
        worker.start()
    overlaps = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(30)
    assert overlaps == [0, 0, 0]
