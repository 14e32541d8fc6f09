"""Faults on the async memcached adapter: a server down, killed, hung
(SIGSTOP) and restarted. Every call returns within its timeout (a generous
bound: the machine is shared) and never raises; the adapter comes back by
itself; failures are logged once per server per period."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from caching.aio.memcached import AsyncMemcachedClient
from tests import servers

pytestmark = pytest.mark.memcached

TIMEOUT = 0.5
RETRY = 0.5
#: Generous bound on one call against a failed server (its timeout is 0.5 s).
BOUND = 3.0
LOGGER = "caching.aio.memcached"


@pytest.fixture
def server() -> Iterator[servers.Server]:
    """A memcached of this test's own (it is stopped and paused)."""
    with servers.running(servers.memcached()) as started:
        yield started


def adapter(*addresses: str) -> AsyncMemcachedClient:
    return AsyncMemcachedClient(
        list(addresses), connect_timeout=TIMEOUT, timeout=TIMEOUT, retry_timeout=RETRY
    )


async def every_call(cache: AsyncMemcachedClient) -> dict[str, Any]:
    """Each contract call once, each timed against :data:`BOUND`: their answers."""
    calls = {
        "set": lambda: cache.set("k", 1),
        "add": lambda: cache.add("a", 1),
        "replace": lambda: cache.replace("k", 2),
        "set_multi": lambda: cache.set_multi({"k": 1, "j": 2}),
        "get": lambda: cache.get("k"),
        "get_multi": lambda: cache.get_multi(["k", "j"]),
        "delete": lambda: cache.delete("k"),
        "delete_multi": lambda: cache.delete_multi(["k", "j"]),
        "incr": lambda: cache.incr("n", initial_value=0),
        "decr": lambda: cache.decr("n", initial_value=5),
        "flush_all": lambda: cache.flush_all(),
    }
    answers = {}
    for name, call in calls.items():
        started = time.monotonic()
        answers[name] = await call()
        assert time.monotonic() - started < BOUND, name
    return answers


NOTHING = {
    "set": False,
    "add": False,
    "replace": False,
    "set_multi": ["k", "j"],
    "get": None,
    "get_multi": {},
    "delete": False,
    "delete_multi": False,
    "incr": None,
    "decr": None,
    "flush_all": False,
}


async def back_within(cache: AsyncMemcachedClient, seconds: float) -> float:
    """Seconds until a set and a get are answered again (fails after ``seconds``)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if await cache.set("probe", "v") and await cache.get("probe") == "v":
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    pytest.fail(f"not back within {seconds} s")


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def test_down_at_start_answers_nothing_in_bounded_time_then_recovers(
    server: servers.Server, caplog: pytest.LogCaptureFixture
) -> None:
    server.stop()
    cache = adapter(server.address)

    async def body() -> None:
        started = time.monotonic()
        assert await every_call(cache) == NOTHING
        assert await every_call(cache) == NOTHING
        elapsed = time.monotonic() - started
        logged = warnings_of(caplog)
        assert 1 <= len(logged) <= elapsed / RETRY + 1
        assert all(server.address in record.getMessage() for record in logged)
        server.start()
        await back_within(cache, 10.0)
        assert any("is back" in r.getMessage() for r in caplog.records if r.name == LOGGER)
        await cache.close()

    with caplog.at_level(logging.INFO, logger=LOGGER):
        asyncio.run(body())


def test_killed_mid_run_then_restarted(server: servers.Server) -> None:
    cache = adapter(server.address)

    async def body() -> None:
        assert await cache.set("k", "before") is True
        server.stop()
        assert await every_call(cache) == NOTHING
        server.start()
        await back_within(cache, 10.0)
        assert await cache.get("k") is None  # a new server: the item went with the old
        await cache.close()

    asyncio.run(body())


def test_hung_server_costs_a_bounded_wait_then_recovers(server: servers.Server) -> None:
    cache = adapter(server.address)

    async def body() -> None:
        assert await cache.set("k", "kept") is True
        server.pause()
        try:
            started = time.monotonic()
            answers = await asyncio.gather(*(cache.get("k") for _ in range(50)))
            assert answers == [None] * 50
            assert time.monotonic() - started < BOUND
            assert await every_call(cache) == NOTHING
        finally:
            server.resume()
        await back_within(cache, 10.0)
        assert await cache.get("k") == "kept"
        await cache.close()

    asyncio.run(body())


def test_restart_while_serving_many_tasks(server: servers.Server) -> None:
    """100 tasks calling all along while the server is killed and started
    again: no call raises or outlasts the bound, and they are answered again."""
    cache = adapter(server.address)
    slowest = 0.0
    answered_after = 0

    async def worker(index: int, stop: float) -> None:
        nonlocal slowest, answered_after
        while time.monotonic() < stop:
            started = time.monotonic()
            stored = await cache.set(f"w{index}", index)
            value = await cache.get(f"w{index}")
            slowest = max(slowest, time.monotonic() - started)
            if stored and value == index and server.process is not None and restarted:
                answered_after += 1
            await asyncio.sleep(0.01)

    restarted = False

    async def body() -> None:
        nonlocal restarted
        stop = time.monotonic() + 6.0
        workers = [asyncio.create_task(worker(i, stop)) for i in range(100)]
        await asyncio.sleep(1.0)
        await asyncio.to_thread(server.stop)
        await asyncio.sleep(1.5)
        await asyncio.to_thread(server.start)
        restarted = True
        await asyncio.gather(*workers)
        await cache.close()

    asyncio.run(body())
    assert slowest < BOUND * 2  # a set and a get
    assert answered_after > 100


def test_one_of_two_servers_down_the_other_still_serves(
    server: servers.Server, memcached_server: servers.Server
) -> None:
    servers.flush(memcached_server)
    cache = adapter(server.address, memcached_server.address)

    async def body() -> None:
        try:
            keys = [f"k{i}" for i in range(60)]
            assert await cache.set_multi({key: key for key in keys}) == []
            server.stop()
            started = time.monotonic()
            found = await cache.get_multi(keys)
            assert time.monotonic() - started < BOUND
            live = [key for key in keys if cache._server_of(key.encode()).name != server.address]
            assert 0 < len(live) < len(keys)
            assert found == {key: key for key in live}
        finally:
            await cache.close()

    asyncio.run(body())


@pytest.mark.slow
def test_back_at_once_after_a_long_outage(server: servers.Server) -> None:
    """emcache's own reconnection backs off (1, 2, 4 ... 60 s): after 8 s
    down it would next try 7 s after the restart. The adapter tries the
    server on a fresh client once per retry period, so it is back within a
    period or two."""
    cache = adapter(server.address)

    async def body() -> None:
        try:
            assert await cache.set("k", 1) is True
            server.stop()
            stop = time.monotonic() + 8.0
            while time.monotonic() < stop:
                assert await cache.get("k") is None
                await asyncio.sleep(0.05)
            server.start()
            assert await back_within(cache, 3.0) < 3.0  # generous; emcache alone: about 7 s
        finally:
            await cache.close()

    asyncio.run(body())
