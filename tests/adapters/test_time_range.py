"""Times memcached cannot keep (CONTRACT.md, "Time"), against real servers.

memcached 1.6 reads exptime as a signed 32-bit number: the first test pins
what the server does with the times the contract refuses, so that a future
memcached that keeps them shows up here. Then every adapter, and
``CacheClient`` over one, refuses such a time with ``ValueError`` before any
I/O: the server counts no store, a fake server receives no byte.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from caching import CacheClient, MemoryCache
from caching.contract import Cache
from caching.expiry import MAX_EXPTIME
from tests import servers
from tests.adapters.conftest import Build
from tests.fake_server import FakeMemcached

pytestmark = pytest.mark.memcached

FAR = [2**31, 2**32, 2**64, "lands-past-2038", timedelta(days=365 * 100)]
FAR_IDS = ["2**31", "2**32", "2**64", "lands-past-2038", "100-years"]


def _time_of(far: int | timedelta | str) -> int | timedelta:
    if far == "lands-past-2038":
        return timedelta(seconds=MAX_EXPTIME + 60 - int(_time.time()))
    assert not isinstance(far, str)
    return far


def _stat(server: servers.Server, name: str) -> int:
    for line in servers.command(server.address, b"stats", b"END\r\n").split(b"\r\n"):
        if line.startswith(b"STAT %s " % name.encode()):
            return int(line.split()[2])
    raise AssertionError(f"no {name} in stats")


def _read(server: servers.Server, key: bytes) -> bytes:
    return servers.command(server.address, b"get " + key, b"END\r\n")


def test_memcached_reads_exptime_as_signed_32_bits(memcached_server: servers.Server) -> None:
    """The server's side of the rule, measured with raw commands."""
    readable = {
        MAX_EXPTIME: True,  # 2038-01-19 03:14:07 UTC: kept
        MAX_EXPTIME + 1: False,  # negative as 32 bits: stored, never readable
        2**32 - 1: False,
        2**32: True,  # wraps to 0: "never expires"
    }
    for exptime, kept in readable.items():
        key = b"raw-exptime-%d" % exptime
        stored = servers.command(memcached_server.address, b"set %s 0 %d 1\r\nv" % (key, exptime))
        assert stored == b"STORED\r\n", exptime
        assert (_read(memcached_server, key) != b"END\r\n") == kept, exptime
    # 2**64 does not parse: two replies to one command.
    reply = servers.command(
        memcached_server.address, b"set raw-exptime-64 0 %d 1\r\nv" % 2**64, b"ERROR\r\n"
    )
    assert reply == b"CLIENT_ERROR bad command line format\r\nERROR\r\n"


def _stores(cache: Cache, key: str, time: int | timedelta) -> list[Callable[[], Any]]:
    return [
        lambda: cache.set(key, "new", time),
        lambda: cache.add(key + ":missing", "new", time),
        lambda: cache.replace(key, "new", time),
        lambda: cache.set_multi({key: "new", key + ":missing": 1}, time),
        lambda: cache.add_multi({key + ":missing": 1}, time),
        lambda: cache.replace_multi({key: "new"}, time),
    ]


@pytest.mark.parametrize("far", FAR, ids=FAR_IDS)
def test_a_refused_time_sends_nothing_to_the_server(
    build: Build, memcached_server: servers.Server, far: int | timedelta | str
) -> None:
    adapter = build(memcached_server.address)
    key = f"refused-time:{_time.monotonic_ns()}"
    assert adapter.set(key, "old") is True
    sets = _stat(memcached_server, "cmd_set")
    for call in _stores(adapter, key, _time_of(far)):
        with pytest.raises(ValueError, match="2038"):
            call()
    assert _stat(memcached_server, "cmd_set") == sets
    assert adapter.get_multi([key, key + ":missing"]) == {key: "old"}
    # and the latest time memcached keeps is stored and readable
    assert adapter.set(key, "latest", MAX_EXPTIME) is True
    assert adapter.get(key) == "latest"


@pytest.mark.parametrize("far", FAR, ids=FAR_IDS)
def test_a_refused_time_sends_no_byte(build: Build, far: int | timedelta | str) -> None:
    with FakeMemcached(lifetime=30) as fake:
        adapter = build(fake.address)
        cache = CacheClient({"local": MemoryCache(), "shared": adapter}, "shared")
        assert cache.set("k", "old") is True  # connected
        received = fake.received
        for target in (adapter, cache):
            for call in _stores(target, "k", _time_of(far)):
                with pytest.raises(ValueError, match="2038"):
                    call()
        assert fake.received == received
        assert cache.get("k") == "old"
