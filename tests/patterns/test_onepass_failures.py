"""OnePass and get_or_create when the holder cannot or does not release its
pass: a failed ``delete``, a holder killed with SIGKILL, a pass that expired
and went to another caller, and a fork while a pass is held (issue 17)."""

from __future__ import annotations

import logging
import os
import select
import signal
import threading
import time
from typing import Any

import pytest

from caching import MemoryCache, from_url
from caching.contract import Cache
from caching.key_rules import Key
from caching.patterns import Cached, OnePass
from caching.patterns import onepass as onepass_module
from tests.adapters.conftest import NAMES
from tests.shared import Clock, backend, cache, clock, memcached_url, timed_backends
from tests.workers import run_threads, start_holder

__all__ = ["backend", "cache", "clock", "memcached_url"]

PASS_PREFIX = "one_pass:"


class Calls:
    """A creator that counts its calls (thread-safe)."""

    def __init__(self, value: Any, seconds: float = 0.0) -> None:
        self.value = value
        self.seconds = seconds
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            self.count += 1
        time.sleep(self.seconds)
        return self.value


class FailingRelease(MemoryCache):
    """A cache whose ``delete`` of pass keys answers ``False`` while
    ``failures`` lasts (a failed release, as a failing server answers it);
    ``set`` of the keys in ``lost_sets`` answers ``False`` too (a value whose
    store failed). Counts the deletes of pass keys and the reads."""

    def __init__(self, failures: int = 10**9, lost_sets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.failures = failures
        self.lost_sets = lost_sets
        self.pass_deletes = 0
        self.gets: list[Key] = []
        self.get_multis: list[list[Key]] = []

    def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool:
        if isinstance(key, str) and key.startswith(PASS_PREFIX):
            self.pass_deletes += 1
            if self.pass_deletes <= self.failures:
                return False
        return super().delete(key, seconds, namespace)

    def set(self, key: Key, value: Any, time: Any = 0, namespace: str | None = None) -> bool:
        if key in self.lost_sets:
            return False
        return super().set(key, value, time, namespace)

    def get(self, key: Key, namespace: str | None = None) -> Any:
        self.gets.append(key)
        return super().get(key, namespace)

    def get_multi(self, keys: Any, namespace: str | None = None) -> dict[Key, Any]:
        self.get_multis.append(list(keys))
        return super().get_multi(self.get_multis[-1], namespace)


@pytest.fixture
def release_log(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A fresh rate limiter for the release warnings, on a clock the test
    moves (``clock[0]`` seconds)."""
    now = [1000.0]
    log = onepass_module._RateLimitedLog(onepass_module.RELEASE_LOG_PERIOD, lambda: now[0])
    monkeypatch.setattr(onepass_module, "_release_log", log)
    return now


def _release_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "caching.patterns.onepass" and r.levelno == logging.WARNING
    ]


# -- waiters return as soon as the value is there --------------------------------


def test_wait_with_guards_returns_when_the_value_is_stored_under_a_held_pass(
    cache: Cache,
) -> None:
    cache.add("one_pass:k", "marker of another process", 60)
    threading.Timer(0.2, cache.set, ("k", "theirs", 60)).start()
    with OnePass(cache, "one_pass:k", 60, guards="k") as one_pass:
        started = time.monotonic()
        assert one_pass.wait(20) is True
        waited = time.monotonic() - started
    assert one_pass.value == "theirs"
    assert cache.get("one_pass:k") == "marker of another process"  # never released
    assert waited < 10  # generous: the value was stored after 0.2 s


def test_get_or_create_waiter_gets_the_value_of_a_holder_that_never_releases(
    cache: Cache,
) -> None:
    """A holder in another process stored the value, then its ``delete`` of
    the pass failed (or it died): waiters take the value, they do not sit out
    ``timeout`` and create it again."""
    cached = Cached(cache, time=60, timeout=20)
    cache.add(cached._pass_key("k"), "marker of another process", 60)
    threading.Timer(0.2, cache.set, ("k", "theirs", 60)).start()
    create = Calls("mine")
    started = time.monotonic()
    results = run_threads(4, lambda _: cached.get_or_create("k", create))
    assert results == ["theirs"] * 4
    assert create.count == 0
    assert time.monotonic() - started < 10  # far below the 20 s timeout


def test_a_polling_waiter_reads_the_value_and_the_pass_in_one_round_trip() -> None:
    cache = FailingRelease()
    cache.add("one_pass:k", "marker of another process", 60)
    threading.Timer(0.1, cache.set, ("k", "theirs", 60)).start()
    with OnePass(cache, "one_pass:k", 60, guards="k") as one_pass:
        cache.gets.clear()
        assert one_pass.wait(20) is True
    assert one_pass.value == "theirs"
    assert cache.gets == []  # no separate read of either key
    assert len(cache.get_multis) >= 2  # polled
    assert all(keys == ["k", "one_pass:k"] for keys in cache.get_multis)


def test_waiters_in_the_holders_process_wake_at_once_when_its_release_fails() -> None:
    cache = FailingRelease()
    cached = Cached(cache, time=60, timeout=20)
    create = Calls("value", seconds=0.2)
    started = time.monotonic()
    results = run_threads(8, lambda _: cached.get_or_create("k", create))
    assert results == ["value"] * 8
    assert create.count == 1
    assert cache.pass_deletes >= 2  # the release was tried again
    assert time.monotonic() - started < 10  # nobody sat out the 20 s timeout


def test_no_caller_of_the_holders_process_waits_on_a_pass_it_could_not_release() -> None:
    """The holder's store and its release both failed (a server coming
    back): the pass stays, without a value. Later callers in this process
    know the pass is dead; they delete it (the cache answers again) and one
    of them takes it, rather than polling it for ``timeout``."""
    cache = FailingRelease(failures=1000, lost_sets=("k",))
    cached = Cached(cache, time=60, timeout=20)
    assert cached.get_or_create("k", Calls("first")) == "first"
    assert cache.get("one_pass:k") is not None  # orphaned
    cache.failures, cache.lost_sets = 0, ()  # the server answers again
    create = Calls("second", seconds=0.1)
    started = time.monotonic()
    results = run_threads(4, lambda _: cached.get_or_create("k", create))
    assert results == ["second"] * 4
    assert create.count == 1  # the dead pass was deleted and taken by one caller
    assert time.monotonic() - started < 10  # far below the 20 s timeout
    assert cache.get("one_pass:k") is None


def test_callers_create_themselves_when_a_dead_pass_of_this_process_cannot_be_deleted() -> None:
    cache = FailingRelease(lost_sets=("k",))  # every delete of a pass fails
    cached = Cached(cache, time=60, timeout=20)
    assert cached.get_or_create("k", Calls("first")) == "first"
    create = Calls("second")
    started = time.monotonic()
    assert cached.get_or_create("k", create) == "second"
    assert create.count == 1
    assert time.monotonic() - started < 10  # far below the 20 s timeout


# -- the release: retried, logged, never another holder's --------------------------


def test_a_failed_release_is_retried_briefly(
    caplog: pytest.LogCaptureFixture, release_log: list[float]
) -> None:
    cache = FailingRelease(failures=2)
    with OnePass(cache, "one_pass:k", 60) as one_pass:
        assert one_pass.acquired
    assert cache.pass_deletes == 3  # two failures, then released
    assert cache.get("one_pass:k") is None
    assert _release_warnings(caplog) == []
    assert (id(cache), None, "one_pass:k") not in onepass_module._holders


def test_a_release_that_keeps_failing_gives_up_and_is_logged_once_per_period(
    caplog: pytest.LogCaptureFixture, release_log: list[float]
) -> None:
    cache = FailingRelease()
    started = time.monotonic()
    with OnePass(cache, "one_pass:k", 60):
        pass
    took = time.monotonic() - started
    assert cache.pass_deletes >= 3
    assert took < 3  # bounded (RELEASE_RETRY_SECONDS is 0.08 s); generous on a loaded host
    assert cache.get("one_pass:k") is not None  # left to expire
    (warning,) = _release_warnings(caplog)
    assert "one_pass:k" in warning.getMessage()

    for key in ("one_pass:a", "one_pass:b"):
        with OnePass(cache, key, 60):
            pass
    assert len(_release_warnings(caplog)) == 1  # within the period: not again

    release_log[0] += onepass_module.RELEASE_LOG_PERIOD + 1
    with OnePass(cache, "one_pass:c", 60):
        pass
    warnings = _release_warnings(caplog)
    assert len(warnings) == 2
    assert "one_pass:c" in warnings[1].getMessage()
    assert "2 more" in warnings[1].getMessage()


def test_a_holder_does_not_release_a_pass_taken_by_another_after_a_flush(
    cache: Cache,
) -> None:
    """The server lost the pass (restart, flush) and another caller took it:
    the first holder's release leaves the new pass alone."""
    first = OnePass(cache, "pass", 60).__enter__()
    assert first.acquired
    assert cache.flush_all() is True
    second = OnePass(cache, "pass", 60).__enter__()
    assert second.acquired
    first.__exit__(None, None, None)
    assert cache.get("pass") is not None  # still the second holder's
    with OnePass(cache, "pass", 60) as third:
        assert third.acquired is False
    second.__exit__(None, None, None)
    assert cache.get("pass") is None


@timed_backends
def test_a_holder_does_not_release_a_pass_taken_by_another_after_it_expired(
    cache: Cache, clock: Clock
) -> None:
    first = OnePass(cache, "pass", 2).__enter__()
    assert first.acquired
    clock.advance(3.1)
    second = OnePass(cache, "pass", 60).__enter__()
    assert second.acquired
    first.__exit__(None, None, None)
    assert cache.get("pass") is not None  # still the second holder's
    second.__exit__(None, None, None)
    assert cache.get("pass") is None


# -- a holder killed with SIGKILL ---------------------------------------------------


def _url(server_address: str, name: str) -> str:
    """A URL of ``name`` with generous timeouts (a loaded machine stalls)."""
    return f"memcached://{server_address}?client={name}&timeout=5"


@pytest.mark.memcached
@pytest.mark.parametrize("name", NAMES)
def test_waiters_get_the_value_of_a_holder_killed_before_its_release(
    memcached_server: Any, name: str
) -> None:
    """The holder (another process) stores the value 1 s after taking the
    pass, then dies by SIGKILL: the pass stays for its 60 s, and the waiters,
    already waiting, take the value rather than create it again."""
    url = _url(memcached_server.address, name)
    cache = from_url(url)
    assert cache.flush_all() is True
    cached = Cached(cache, time=60, timeout=20)
    holder = start_holder(url, "killed", "stored by the holder", 60, 1.0)
    create = Calls("mine")
    started = time.monotonic()
    try:
        results = run_threads(4, lambda _: cached.get_or_create("killed", create))
    finally:
        holder.join(10)
    assert holder.exitcode == -signal.SIGKILL
    assert cache.get(cached._pass_key("killed")) is not None  # left behind
    assert results == ["stored by the holder"] * 4
    assert create.count == 0
    assert time.monotonic() - started < 10  # far below the 20 s timeout


@pytest.mark.memcached
def test_waiters_build_the_value_within_timeout_when_the_holder_dies_before_storing(
    memcached_url: str,
) -> None:
    timeout = 2
    cached = Cached(from_url(memcached_url), time=60, timeout=timeout)
    holder = start_holder(memcached_url, "killed", None, timeout, 0.3)
    create = Calls("made by a waiter")

    def work(_: int) -> tuple[Any, float]:
        started = time.monotonic()
        return cached.get_or_create("killed", create), time.monotonic() - started

    try:
        results = run_threads(4, work)
    finally:
        holder.join(10)
    assert holder.exitcode == -signal.SIGKILL
    assert [value for value, _ in results] == ["made by a waiter"] * 4
    assert create.count >= 1
    # Each waiter had a value within ``timeout`` (+ a generous margin for a
    # loaded machine: the poll, the creator and the store).
    assert max(took for _, took in results) < timeout + 3


# -- fork ----------------------------------------------------------------------------


@pytest.mark.memcached
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_fork_while_a_thread_holds_the_pass_gives_one_creator(memcached_url: str) -> None:
    """The child does not wait on the parent's in-process event (which
    nothing sets in the child): it polls the cache, reads the value the
    parent's holder stores, and never creates it a second time."""
    cache = from_url(memcached_url)
    cached = Cached(cache, time=60, timeout=20)
    holding, go = threading.Event(), threading.Event()

    def create() -> str:
        cache.incr("forked:calls", 1, None, 0)
        holding.set()
        go.wait(30)
        return "made by the parent"

    holder = threading.Thread(target=cached.get_or_create, args=("forked", create))
    holder.start()
    assert holding.wait(30)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        code = 1
        try:
            os.close(read)
            signal.alarm(60)  # a hang ends the child rather than the run
            started = time.monotonic()

            def create_again() -> str:
                cache.incr("forked:calls", 1, None, 0)
                return "made by the child"

            value = cached.get_or_create("forked", create_again)
            os.write(write, f"{value}|{time.monotonic() - started:.3f}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    try:
        time.sleep(0.3)  # the child is waiting now
        go.set()
        holder.join(30)
        ready, _, _ = select.select([read], [], [], 30)
        report = os.read(read, 1000).decode() if ready else "no report within 30 s"
    finally:
        os.close(read)
        go.set()
        if not os.waitpid(pid, os.WNOHANG)[0]:
            time.sleep(1)
            if not os.waitpid(pid, os.WNOHANG)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
    value, _, took = report.partition("|")
    assert value == "made by the parent", report
    assert cache.get("forked:calls") == 1
    assert float(took) < 10  # far below the 20 s timeout
