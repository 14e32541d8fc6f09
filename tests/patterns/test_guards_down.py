"""The guards while their shared memcached is down, on each adapter.

A down server is a memcached of the test's own that is never started (or
started later): connections are refused, and the adapters answer "nothing
happened" fast. Lockouts: ``on_failure="local"`` locks after ``count``
failures in one process, ``"open"`` never locks, ``"closed"`` forbids at
once; none raises; ``"local"`` goes back to the shared cache once it
answers. ``OnePassHandler``: a message passes exactly once per process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from caching.adapters.base import MemcachedAdapter
from caching.patterns.lockout import Counter, Locker, Lockout
from tests import servers
from tests.adapters.conftest import NAMES, builder
from tests.workers import log_while_down, run_processes, run_threads

pytestmark = pytest.mark.memcached

#: Generous bound on one guarded call while the server is down (each cache
#: call fails within about 0.2 s; a loaded 2-core machine adds its delays).
BOUND = 3.0
#: Time allowed for an adapter to reach a server that was started.
RECOVERY = 10.0
#: A short retry period, so the tests see the guards try the cache again.
RETRY = 0.3


def options(name: str) -> dict[str, float]:
    """Small timeouts (python-memcached has one socket timeout, for connecting too)."""
    if name == "python-memcached":
        return {"timeout": 0.2, "retry_timeout": 0.5}
    return {"connect_timeout": 0.2, "timeout": 0.2, "retry_timeout": 0.5}


@pytest.fixture(params=NAMES)
def adapter_name(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def server() -> Iterator[servers.Server]:
    """A memcached of the test's own, not started: it is down."""
    server = servers.memcached()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def adapter(adapter_name: str, server: servers.Server) -> MemcachedAdapter:
    return builder(adapter_name)(server.address, **options(adapter_name))


class Ctx:
    def __init__(self, ip: str) -> None:
        self.ip = ip


def lockout_of(cache: Any, on_failure: str, count: int = 3, alerts: list[str] | None = None) -> Any:
    def alert(ctx: Ctx, name: str, counter: Counter) -> None:
        if alerts is not None:
            alerts.append(ctx.ip)

    locker = Locker(
        cache,
        forbid_action=lambda ctx: "forbidden",
        on_failure=on_failure,
        retry_period=RETRY,
        by_ip=lambda **terms: Counter(key_func=lambda ctx: ctx.ip, alert=alert, **terms),
    )
    return locker.define("sign in", by_ip={"count": count, "period": 60, "duration": 60})


class SignIn:
    """A sign-in that always fails, guarded by ``lockout``; counts its runs."""

    def __init__(self, lockout: Lockout) -> None:
        self.runs = 0

        @lockout.forbid_locked
        @lockout.guard
        def sign_in(ctx: Ctx) -> bool:
            self.runs += 1
            return False

        self.call = sign_in

    def __call__(self, ctx: Ctx) -> Any:
        started = time.monotonic()
        answer = self.call(ctx)
        assert time.monotonic() - started < BOUND
        return answer


def wait_until_back(adapter: MemcachedAdapter) -> None:
    deadline = time.monotonic() + RECOVERY
    while not (adapter.set("back", 1) and adapter.get("back") == 1):
        assert time.monotonic() < deadline, f"not back within {RECOVERY} s"
        time.sleep(0.05)
    time.sleep(RETRY)  # and the guards' retry period has passed


def test_local_locks_after_count_failures_in_one_process(adapter: MemcachedAdapter) -> None:
    alerts: list[str] = []
    sign_in = SignIn(lockout_of(adapter, "local", 3, alerts))
    attacker = Ctx("10.0.0.1")
    assert [sign_in(attacker) for _ in range(3)] == [False, False, False]
    assert [sign_in(attacker) for _ in range(5)] == ["forbidden"] * 5
    assert sign_in.runs == 3
    assert alerts == ["10.0.0.1"]
    assert sign_in(Ctx("10.0.0.2")) is False  # another address is not locked


@pytest.mark.parametrize(("count", "locked"), [(40, True), (41, False)])
def test_local_counts_threads_exactly(adapter: MemcachedAdapter, count: int, locked: bool) -> None:
    alerts: list[str] = []
    lockout = lockout_of(adapter, "local", count, alerts)
    sign_in = lockout.guard(lambda ctx: False)

    def work(_: int) -> None:
        for _ in range(5):
            sign_in(Ctx("10.0.0.1"))

    run_threads(8, work)  # 40 failures
    assert lockout.locked(Ctx("10.0.0.1")) is locked
    assert len(alerts) == int(locked)


def test_open_never_locks(adapter: MemcachedAdapter) -> None:
    alerts: list[str] = []
    sign_in = SignIn(lockout_of(adapter, "open", 3, alerts))
    assert [sign_in(Ctx("10.0.0.1")) for _ in range(10)] == [False] * 10
    assert sign_in.runs == 10
    assert alerts == []


def test_closed_forbids_at_once_then_opens_when_the_cache_is_back(
    adapter: MemcachedAdapter, server: servers.Server
) -> None:
    sign_in = SignIn(lockout_of(adapter, "closed", 3))
    assert [sign_in(Ctx("10.0.0.1")) for _ in range(5)] == ["forbidden"] * 5
    assert sign_in(Ctx("10.0.0.2")) == "forbidden"
    assert sign_in.runs == 0  # the guarded function never ran
    time.sleep(RETRY)
    assert sign_in(Ctx("10.0.0.1")) == "forbidden"  # tried again: still down
    server.start()
    wait_until_back(adapter)
    assert [sign_in(Ctx("10.0.0.1")) for _ in range(4)] == [False, False, False, "forbidden"]
    assert sign_in.runs == 3


def test_local_goes_back_to_the_shared_cache(
    adapter: MemcachedAdapter, adapter_name: str, server: servers.Server
) -> None:
    alerts: list[str] = []
    sign_in = SignIn(lockout_of(adapter, "local", 3, alerts))
    locked_here, counted_here = Ctx("10.0.0.1"), Ctx("10.0.0.2")
    for _ in range(3):
        sign_in(locked_here)
    sign_in(counted_here)
    sign_in(counted_here)
    server.start()
    wait_until_back(adapter)
    # another process (a lockout of its own) shares the cache from now on
    other = lockout_of(builder(adapter_name)(server.address, **options(adapter_name)), "local")
    fresh = Ctx("10.0.0.3")
    assert [sign_in(fresh) for _ in range(4)] == [False, False, False, "forbidden"]
    assert other.locked(fresh) is True  # counted and locked in the shared cache
    assert adapter.get("lock:c:sign_in:by_ip:10.0.0.3") == 1
    # a lock set in this process while the cache was down is still honoured here
    assert sign_in(locked_here) == "forbidden"
    assert other.locked(locked_here) is False
    # a counter made in this process during the outage keeps counting here
    assert sign_in(counted_here) is False  # its third failure: locked here
    assert sign_in(counted_here) == "forbidden"
    assert alerts == ["10.0.0.1", "10.0.0.3", "10.0.0.2"]


def test_onepass_handler_passes_a_message_once_per_process(
    adapter_name: str, server: servers.Server
) -> None:
    """100 identical records in 1 s in each of 2 processes sharing the down server."""
    query = "&".join(f"{name}={value}" for name, value in options(adapter_name).items())
    url = f"memcached://{server.address}?client={adapter_name}&{query}"
    results = run_processes(log_while_down, 2, url, 100, 1.0)
    assert results == [["disk full on db1"], ["disk full on db1"]]
