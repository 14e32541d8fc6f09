"""``ping()`` of the adapters against live, down and hung (SIGSTOP) servers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from caching import CacheClient, MemoryCache
from tests import servers
from tests.adapters.conftest import Build

pytestmark = pytest.mark.memcached

#: The adapters' answer timeout in these tests, and a generous bound on a ping.
TIMEOUT = 0.5
BOUND = 5.0


@pytest.fixture
def server() -> Iterator[servers.Server]:
    """A memcached of the test's own, started."""
    with servers.running(servers.memcached()) as server:
        yield server


def test_a_live_server_gives_a_float(build: Build, server: servers.Server) -> None:
    answers = build(server.address, timeout=TIMEOUT).ping()
    assert list(answers) == [server.address]
    seconds = answers[server.address]
    assert isinstance(seconds, float)
    assert 0.0 < seconds < BOUND


def test_a_down_server_gives_none_and_nothing_raises(build: Build) -> None:
    down = f"127.0.0.1:{servers.free_port()}"
    adapter = build(down, timeout=TIMEOUT)
    started = time.monotonic()
    assert adapter.ping() == {down: None}
    assert time.monotonic() - started < BOUND


def test_a_hung_server_gives_none_within_the_timeout(build: Build, server: servers.Server) -> None:
    adapter = build(server.address, timeout=TIMEOUT)
    server.pause()
    try:
        started = time.monotonic()
        assert adapter.ping() == {server.address: None}
        took = time.monotonic() - started
    finally:
        server.resume()
    assert took < TIMEOUT + BOUND
    assert isinstance(adapter.ping()[server.address], float)


def test_each_server_answers_for_itself(build: Build, server: servers.Server) -> None:
    down = f"127.0.0.1:{servers.free_port()}"
    answers = build([server.address, down], timeout=TIMEOUT).ping()
    assert set(answers) == {server.address, down}
    assert isinstance(answers[server.address], float)
    assert answers[down] is None


def test_cache_client_pings_every_namespace(build: Build, server: servers.Server) -> None:
    shared = build(server.address, timeout=TIMEOUT)
    client = CacheClient({"local": MemoryCache(), "shared": shared, "again": shared}, "local")
    answers = client.ping()
    assert set(answers) == {"local/memory", f"shared/{server.address}", f"again/{server.address}"}
    assert all(isinstance(seconds, float) for seconds in answers.values())


def test_a_foreign_pool_is_pinged_through_a_client(server: servers.Server) -> None:
    pylibmc = pytest.importorskip("caching.pylibmc")

    class Pool:
        def __init__(self, address: str) -> None:
            self.client = pylibmc.client_factory(address)

        def acquire(self) -> object:
            return self.client

        def get_back(self, client: object) -> None:
            pass

    adapter = pylibmc.MemcachedClient(Pool(server.address))
    assert isinstance(adapter.ping()[server.address], float)
    server.stop()
    assert adapter.ping() == {server.address: None}
