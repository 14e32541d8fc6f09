"""A value the server refuses is no server failure: the call answers False,
nothing is logged, and the adapter stays up."""

from __future__ import annotations

import logging

import pytest

from tests import servers
from tests.adapters.conftest import Build

pytestmark = pytest.mark.memcached

BIG = b"x" * (2 * 1024 * 1024)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_refused_value_is_not_logged_and_leaves_the_adapter_up(
    build: Build, memcached_server: servers.Server, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = build(memcached_server.address, timeout=5.0)
    caplog.set_level(logging.WARNING)
    assert adapter.set("held", 1) is True
    assert adapter.replace("held", BIG) is False
    assert adapter.add("refused", BIG) is False
    assert adapter.set("refused", BIG) is False
    assert adapter.set_multi({"refused": BIG, "small": 2}) == ["refused"]
    assert warnings_of(caplog) == []
    assert adapter.get_multi(["held", "refused", "small"]) == {"held": 1, "small": 2}


def test_pylibmc_binary_replace_of_a_missing_key_is_false_not_a_failure(
    memcached_server: servers.Server, caplog: pytest.LogCaptureFixture
) -> None:
    pylibmc = pytest.importorskip("caching.pylibmc")
    # In binary mode libmemcached raises NotFound here (text mode answers False).
    adapter = pylibmc.MemcachedClient(memcached_server.address, binary=True)
    caplog.set_level(logging.WARNING)
    assert adapter.replace("missing", 1) is False
    assert adapter.replace_multi({"missing": 1}) == ["missing"]
    assert warnings_of(caplog) == []
    assert adapter.set("present", 1) is True
    assert adapter.replace("present", 2) is True
    assert adapter.get("present") == 2


class PoolOfOne:
    """A wheezy-style pool holding one client, which refuses a second
    checkout while the first is out (a bounded pool would wait forever)."""

    def __init__(self, client: object) -> None:
        self.client = client
        self.out = False

    def acquire(self) -> object:
        assert not self.out, "a second checkout while the first is out"
        self.out = True
        return self.client

    def get_back(self, client: object) -> None:
        self.out = False


def test_pylibmc_refused_set_drops_the_old_item_with_the_client_in_hand(
    memcached_server: servers.Server,
) -> None:
    pylibmc = pytest.importorskip("caching.pylibmc")
    pool = PoolOfOne(pylibmc.client_factory([memcached_server.address]))
    adapter = pylibmc.MemcachedClient(pool)
    for key in ("k", "m"):
        assert adapter.set(key, "old") is True
    assert adapter.set("k", BIG) is False
    assert adapter.set_multi({"m": BIG, "n": 1}) == ["m"]
    assert adapter.get_multi(["k", "m", "n"]) == {"n": 1}
    assert pool.out is False


def test_a_full_server_refuses_a_store_without_being_taken_for_down(
    build: Build, caplog: pytest.LogCaptureFixture
) -> None:
    # memcached -M answers "SERVER_ERROR out of memory storing object" when
    # it is full: a refusal of that one item (memcached also unlinks the old
    # one, as for a value over the item size). Taken for a failure, it made
    # pylibmc and pymemcache answer every call as a miss for a retry period.
    full = servers.memcached(memory_mb=2)
    full.argv += ["-M"]
    with servers.running(full):
        adapter = build(full.address)
        caplog.set_level(logging.WARNING)
        assert adapter.set("held", 1) is True
        stored = 0
        while adapter.set(f"fill-{stored}", "x" * 100_000):
            stored += 1
            assert stored < 1000, "memcached -M should fill up"
        assert stored > 0
        assert adapter.get("held") == 1, "a refusal must not make later calls miss"
        assert adapter.get(f"fill-{stored - 1}") == "x" * 100_000
        assert adapter.failures.down == frozenset()
        assert warnings_of(caplog) == []
        adapter.close()
