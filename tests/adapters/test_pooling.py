"""Every call gives its pooled client back, whether it succeeds, meets a
failed server or raises; the next call reuses it."""

from __future__ import annotations

import gc
import warnings
import weakref
from typing import Any

import pytest

from caching.adapters.base import MemcachedAdapter
from caching.adapters.pool import Pool
from tests import servers
from tests.adapters.conftest import NAMES, builder

pytestmark = pytest.mark.memcached

CALLS = {
    "get": lambda c: c.get("k"),
    "get_multi str": lambda c: c.get_multi(["k", "j"]),
    "get_multi bytes": lambda c: c.get_multi([b"k", "j\u00e9"]),
    "set": lambda c: c.set("k", "abc"),
    "add": lambda c: c.add("k", 1),
    "set_multi": lambda c: c.set_multi({"k": "abc", "j": 2}),
    "delete": lambda c: c.delete("j"),
    "incr": lambda c: c.incr("n", initial_value=0),
}


def _idle(adapter: MemcachedAdapter) -> list[Any]:
    pool = adapter.pool
    assert isinstance(pool, Pool)
    return pool._idle


def _calls_including_raising_ones(adapter: MemcachedAdapter) -> None:
    # The session's memcached is shared: the contract suite leaves "n" holding
    # non-counters, on which the "incr" call would raise.
    adapter.delete("n")
    for call in CALLS.values():
        call(adapter)
    adapter.set("text", "abc")
    with pytest.raises(ValueError, match="not an int"):
        adapter.incr("text")  # raises from inside the checked-out call


@pytest.mark.parametrize("name", NAMES)
def test_one_client_serves_calls_in_turn(name: str, memcached_server: servers.Server) -> None:
    adapter = builder(name)(memcached_server.address, timeout=5.0)
    _calls_including_raising_ones(adapter)
    idle = list(_idle(adapter))
    assert len(idle) == 1
    _calls_including_raising_ones(adapter)
    assert _idle(adapter) == idle


@pytest.mark.parametrize("name", NAMES)
def test_client_comes_back_after_a_server_failure(name: str) -> None:
    down = servers.memcached()  # never started: connections are refused
    adapter = builder(name)(down.address, timeout=0.5)
    for call in CALLS.values():
        call(adapter)
    assert len(_idle(adapter)) == 1


class ChurningPool:
    """A foreign pool that makes a client per checkout and drops it when
    it comes back (weakly recording each, to see whether it is freed)."""

    def __init__(self, address: str) -> None:
        from caching.adapters.pylibmc import client_factory

        self.make = lambda: client_factory([address])
        self.made: list[weakref.ref[Any]] = []

    def acquire(self) -> Any:
        client = self.make()
        self.made.append(weakref.ref(client))
        return client

    def get_back(self, client: Any) -> None:
        client.disconnect_all()


def test_a_client_a_foreign_pool_drops_is_freed(memcached_server: servers.Server) -> None:
    # The pylibmc adapter remembers the clients of a foreign pool it used
    # (to keep a fork's child off them), but must not keep them alive.
    pytest.importorskip("pylibmc")
    from caching.adapters.pylibmc import PylibmcAdapter

    pool = ChurningPool(memcached_server.address)
    adapter = PylibmcAdapter(pool)
    for i in range(50):
        assert adapter.set(f"churn-{i}", i)
        assert adapter.get(f"churn-{i}") == i
    with warnings.catch_warnings():  # what earlier tests left unclosed is theirs
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    alive = [ref for ref in pool.made if ref() is not None]
    assert len(pool.made) == 100
    assert alive == []


class CheckingPool:
    """A foreign pool that checks each client's connection as it hands it
    out, as pools that verify health do: with the server down, ``acquire``
    raises the library's own error."""

    def __init__(self, address: str) -> None:
        from caching.adapters.pylibmc import client_factory

        self.make = lambda: client_factory([address])

    def acquire(self) -> Any:
        client = self.make()
        client.get_stats()  # raises pylibmc's error when the server is down
        return client

    def get_back(self, client: Any) -> None:
        client.disconnect_all()


def test_a_pool_that_cannot_hand_out_a_client_gives_what_a_failure_gives() -> None:
    # a checkout raising the library's error is a server failure: a miss,
    # not an exception out of the contract call (docs/FAILURES.md)
    from caching.adapters.pylibmc import PylibmcAdapter

    down = servers.memcached()  # never started: connections are refused
    adapter = PylibmcAdapter(CheckingPool(down.address))
    assert adapter.get("k") is None
    assert adapter.set("k", 1) is False
    assert adapter.get_multi(["a", "b"]) == {}
