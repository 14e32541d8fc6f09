"""One round trip per server for each ``_multi`` call (issue 12, point 5),
counted by a loopback relay (tests/relay.py) in front of real memcached
servers, with the answers unchanged: the keys not stored listed exactly, and a
value over the item size failing alone."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from caching.adapters.base import MemcachedAdapter
from tests import servers
from tests.adapters.conftest import NAMES, Build, builder
from tests.adapters.pools import EagerPool
from tests.relay import Relay, relay

pytestmark = pytest.mark.memcached

VALUE = "v" * 100
BATCH = 10


@pytest.fixture
def relayed(memcached_server: servers.Server) -> Iterator[Relay]:
    with relay(memcached_server.address) as running:
        yield running


@pytest.fixture
def built() -> Iterator[Callable[[MemcachedAdapter], MemcachedAdapter]]:
    """Closes the adapters a test builds (their connections to the relay)."""
    made: list[MemcachedAdapter] = []
    yield lambda adapter: made.append(adapter) or adapter
    for adapter in made:
        adapter.close()


def _warm(adapter: MemcachedAdapter) -> None:
    """Connect every connection a call can use (the connect is no round trip
    of the call)."""
    assert adapter.set("warm", 1)
    assert adapter.get_multi(["warm", "warm2"]) == {"warm": 1}


def _trips(relay_: Relay, call: Callable[[], Any]) -> tuple[int, Any]:
    relay_.reset()
    answer = call()
    return relay_.bursts, answer


def test_each_multi_call_is_one_round_trip(build: Build, relayed: Relay, built: Any) -> None:
    adapter = built(build(relayed.address, timeout=5.0))
    _warm(adapter)
    prefix = uuid.uuid4().hex
    keys: list[str | bytes] = [f"{prefix}-{i}" for i in range(BATCH)]
    live = keys[: BATCH // 2]
    batch: dict[str | bytes, Any] = dict.fromkeys(keys, VALUE)

    assert _trips(relayed, lambda: adapter.set_multi(dict.fromkeys(live, VALUE))) == (1, [])
    # The keys not stored, exactly: the live ones for add, the missing ones
    # for replace.
    trips, refused = _trips(relayed, lambda: adapter.add_multi(batch))
    assert (trips, sorted(refused)) == (1, sorted(live))
    trips, refused = _trips(relayed, lambda: adapter.replace_multi(batch))
    assert (trips, sorted(refused)) == (1, [])
    assert _trips(relayed, lambda: adapter.get_multi(keys)) == (1, batch)
    assert _trips(relayed, lambda: adapter.delete_multi(keys)) == (1, True)
    trips, refused = _trips(relayed, lambda: adapter.replace_multi(batch))
    assert (trips, sorted(refused)) == (1, sorted(keys))
    assert adapter.get_multi(keys) == {}
    # A single store stays one round trip (the relay counts what it should).
    assert _trips(relayed, lambda: adapter.set(keys[0], VALUE)) == (1, True)


@pytest.mark.parametrize("mode", ["set", "add", "replace"])
def test_a_value_over_the_item_size_fails_alone(build: Build, relayed: Relay, mode: str) -> None:
    adapter = build(relayed.address, timeout=5.0)
    prefix = uuid.uuid4().hex
    keys = [f"{prefix}-{i}" for i in range(4)]
    big = f"{prefix}-big"
    if mode == "replace":
        assert adapter.set_multi(dict.fromkeys([*keys, big], "old")) == []
    batch: dict[str, Any] = dict.fromkeys(keys, VALUE)
    batch[big] = b"x" * (2 * 1024 * 1024)
    assert getattr(adapter, f"{mode}_multi")(batch) == [big]
    kept: dict[str, Any] = dict.fromkeys(keys, VALUE)
    if mode == "replace":  # memcached unlinks the old item on a refused set only
        kept[big] = "old"
    assert adapter.get_multi([*keys, big]) == kept


@pytest.fixture(scope="module")
def pair() -> Iterator[list[servers.Server]]:
    with (
        servers.running(servers.memcached()) as first,
        servers.running(servers.memcached()) as second,
    ):
        yield [first, second]


@pytest.mark.parametrize("name", NAMES)
def test_one_round_trip_per_server_involved(
    name: str, pair: list[servers.Server], built: Any
) -> None:
    with relay(pair[0].address) as one, relay(pair[1].address) as two:
        adapter = built(builder(name)([one.address, two.address], timeout=5.0))
        prefix = uuid.uuid4().hex
        keys = [f"{prefix}-{i}" for i in range(40)]  # on both servers
        for key in keys:  # every connection made, each server's keys known
            adapter.set(key, VALUE)
        batch: dict[str | bytes, Any] = dict.fromkeys(keys, VALUE)
        calls: dict[str, Callable[[], Any]] = {
            "set_multi": lambda: adapter.set_multi(batch),
            "add_multi": lambda: sorted(adapter.add_multi(batch)),
            "replace_multi": lambda: adapter.replace_multi(batch),
            "get_multi": lambda: len(adapter.get_multi(keys)),
            "delete_multi": lambda: adapter.delete_multi(keys),
        }
        expected = {
            "set_multi": [],
            "add_multi": sorted(keys),
            "replace_multi": [],
            "get_multi": len(keys),
            "delete_multi": True,
        }
        one.reset()
        two.reset()
        assert len(adapter.get_multi(keys)) == len(keys)  # every adapter, pylibmc too
        assert (one.bursts, two.bursts) == (1, 1)
        for call, run in calls.items():
            one.reset()
            two.reset()
            assert run() == expected[call], call
            assert (one.bursts, two.bursts) == (1, 1), call


def _batches(adapter: MemcachedAdapter, prefix: str, rounds: int = 100) -> tuple[int, int]:
    """``rounds`` set_multi/get_multi of distinct values: (wrong values, failed calls)."""
    wrong = failed = 0
    for i in range(rounds):
        batch: dict[str | bytes, Any] = {f"{prefix}-{i}-{j}": f"{prefix} {i} {j}" for j in range(5)}
        if adapter.set_multi(batch) != []:
            failed += 1
        found = adapter.get_multi(list(batch))
        if len(found) != len(batch):
            failed += 1
        wrong += sum(found[key] != value for key, value in batch.items() if key in found)
    return wrong, failed


@pytest.mark.parametrize("foreign", [False, True], ids=["own pool", "foreign pool"])
def test_a_forked_child_batches_on_connections_of_its_own(
    memcached_server: servers.Server, foreign: bool
) -> None:
    # pylibmc's batches go on a connection of each pooled client's own: a
    # child never writes on its parent's, nor closes it.
    if foreign:
        pylibmc = pytest.importorskip("caching.pylibmc")
        pool = EagerPool(lambda: pylibmc.client_factory([memcached_server.address]), 2)
        adapter: MemcachedAdapter = pylibmc.MemcachedClient(pool)
    else:
        adapter = builder("pylibmc")(memcached_server.address, timeout=5.0)
    prefix = uuid.uuid4().hex
    assert _batches(adapter, f"{prefix}-before", 5) == (0, 0)  # the parent's connection made
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.close(read)
            os.write(write, json.dumps(_batches(adapter, f"{prefix}-child")).encode())
        finally:
            os._exit(0)
    os.close(write)
    parent = _batches(adapter, f"{prefix}-parent")
    with os.fdopen(read) as pipe:
        reported = pipe.read()
    assert os.waitpid(pid, 0)[1] == 0
    assert json.loads(reported) == [0, 0]
    assert parent == (0, 0)
    assert _batches(adapter, f"{prefix}-after", 5) == (0, 0)  # still in step after the child exits


def test_a_batch_after_a_server_restart_goes_on_a_new_connection(build: Build) -> None:
    # The restarted server closed every connection: the batch notices before
    # sending (nothing is lost, nothing reported), on every adapter.
    with servers.running(servers.memcached()) as server:
        adapter = build(server.address, timeout=5.0)
        assert adapter.set_multi({"a": 1, "b": 2}) == []
        server.restart()
        assert adapter.set_multi({"a": 1, "b": 2}) == []
        assert adapter.add_multi({"a": 1, "c": 3}) == ["a"]
        # Read on new connections (pylibmc's own fail once after a restart).
        reader = build(server.address, timeout=5.0)
        assert reader.get_multi(["a", "b", "c"]) == {"a": 1, "b": 2, "c": 3}
        adapter.close()
        reader.close()
