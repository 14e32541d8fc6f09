"""pylibmc's batches over several servers (issue 12, point 5) and its
counters keeping their expiry (issue 12, point 6), on real memcached servers.

The adapter sends each server's part of a ``_multi`` call on a connection of
its own, so it must put every key where libmemcached does: these tests write
through libmemcached (pylibmc's own ``set``/``get``) and read or change the
same items through the batches, and the other way round, for many keys, with
ketama and with modula distribution. A batch that sent a key elsewhere would
show up as a ``replace`` refused, an ``add`` stored, a value not read back, or
an item left over after ``delete_multi``.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from caching.adapters.base import MemcachedAdapter
from caching.adapters.pool import checkout
from tests import fake_server, servers
from tests.adapters.conftest import builder
from tests.adapters.test_counter_range import _leave_a_dash_behind

pytestmark = pytest.mark.memcached

pylibmc = pytest.importorskip("pylibmc")

#: Keys per placement test: about 130 on each of three servers.
KEYS = 400

#: The distributions the adapter follows: the client_factory default
#: (ketama) and libmemcached's own default (modula).
DISTRIBUTIONS = {
    "ketama": {},
    "modula": {"behaviors": {"ketama": False, "distribution": "modula"}},
}


@pytest.fixture(scope="module")
def three() -> Iterator[list[servers.Server]]:
    with (
        servers.running(servers.memcached()) as first,
        servers.running(servers.memcached()) as second,
        servers.running(servers.memcached()) as third,
    ):
        yield [first, second, third]


@pytest.fixture
def fleet(three: list[servers.Server]) -> list[servers.Server]:
    """The three servers, running and empty."""
    for server in three:
        if server.process is None:
            server.start()
        servers.flush(server)
    return three


def _adapter(fleet: list[servers.Server], **options: Any) -> MemcachedAdapter:
    options.setdefault("timeout", 5.0)
    return builder("pylibmc")([server.address for server in fleet], **options)


def _meta(address: str, line: bytes) -> bytes:
    """One meta command's one-line reply, straight from the server."""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(line + b"\r\n")
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = connection.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply[:-2]


def _holders(fleet: list[servers.Server], key: str) -> list[int]:
    """The indexes of the servers that hold ``key``."""
    return _placed(fleet, [key])[key]


def _placed(fleet: list[servers.Server], keys: list[str]) -> dict[str, list[int]]:
    """Each key -> the indexes of the servers that hold it, asked of each
    server directly (``mg <key>``, pipelined on one connection)."""
    holders: dict[str, list[int]] = {key: [] for key in keys}
    for index, server in enumerate(fleet):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
            connection.sendall(b"".join(b"mg %s\r\n" % key.encode() for key in keys))
            reply = b""
            while reply.count(b"\r\n") < len(keys):
                chunk = connection.recv(65536)
                assert chunk, "closed"
                reply += chunk
        for key, line in zip(keys, reply.split(b"\r\n"), strict=False):
            assert line in (b"HD", b"EN"), line
            if line == b"HD":
                holders[key].append(index)
    return holders


def _ttl(fleet: list[servers.Server], key: str) -> int:
    """Seconds left to ``key``'s item as memcached says (``mg <key> t``; -1:
    no expiry), read on the one server that holds it."""
    (holder,) = _holders(fleet, key)
    reply = _meta(fleet[holder].address, b"mg " + key.encode() + b" t")
    assert reply.startswith(b"HD t"), reply
    return int(reply[4:])


@pytest.mark.parametrize("distribution", list(DISTRIBUTIONS))
def test_batches_go_where_libmemcached_puts_each_key(
    fleet: list[servers.Server], distribution: str
) -> None:
    adapter = _adapter(fleet, **DISTRIBUTIONS[distribution])
    with checkout(adapter.pool) as client:
        expected = "consistent ketama" if distribution == "ketama" else "modula"
        assert client.behaviors["distribution"] == expected
    prefix = uuid.uuid4().hex
    keys = [f"{prefix}-{i}" for i in range(KEYS)]
    # Written by libmemcached, one key at a time: each on one server.
    for key in keys:
        assert adapter.set(key, "old")
    placed = _placed(fleet, keys)
    assert all(len(holders) == 1 for holders in placed.values()), placed
    assert {holders[0] for holders in placed.values()} == {0, 1, 2}
    # Changed through the batches: every key is found where it was put.
    assert adapter.replace_multi(dict.fromkeys(keys, "new")) == []
    assert sorted(adapter.add_multi(dict.fromkeys(keys, "added"))) == sorted(keys)
    assert [adapter.get(key) for key in keys] == ["new"] * KEYS  # libmemcached's reads
    assert _placed(fleet, keys) == placed  # no copy elsewhere
    assert adapter.delete_multi(keys) is True
    assert _placed(fleet, keys) == {key: [] for key in keys}
    # Written by the batches, read by libmemcached one key at a time.
    values = {key: f"value {i}" for i, key in enumerate(keys)}
    assert adapter.set_multi(values) == []
    assert [adapter.get(key) for key in keys] == list(values.values())
    assert _placed(fleet, keys) == placed
    # A large delta counts where the key is (meta arithmetic on its server).
    for key in keys[:40]:
        assert adapter.set(key, 7)
        assert adapter.incr(key, 2**40) == 7 + 2**40
        assert adapter.get(key) == 7 + 2**40
    assert _placed(fleet, keys) == placed
    adapter.close()


def test_a_down_server_fails_only_its_own_keys_in_a_batch(fleet: list[servers.Server]) -> None:
    adapter = _adapter(fleet, retry_timeout=1.0)
    prefix = uuid.uuid4().hex
    keys = [f"{prefix}-{i}" for i in range(60)]
    for key in keys:  # libmemcached places them; the holders are asked directly
        assert adapter.set(key, 1)
    on_down = sorted(key for key in keys if _holders(fleet, key) == [1])
    assert 0 < len(on_down) < len(keys)
    fleet[1].stop()
    try:
        for attempt in range(3):  # the first meets the failure, the next a known-down server
            started = time.monotonic()
            assert sorted(adapter.set_multi(dict.fromkeys(keys, 2))) == on_down, attempt
            assert sorted(adapter.add_multi(dict.fromkeys(keys, 3))) == sorted(keys), attempt
            assert adapter.delete_multi(on_down) is False
            assert time.monotonic() - started < 3.0  # no call waits for the server
        live = [key for key in keys if key not in on_down]
        assert adapter.get_multi(live) == dict.fromkeys(live, 2)
    finally:
        fleet[1].start()
    # Back: its keys are batched to it again (the watch sees it back).
    deadline = time.monotonic() + 10
    while adapter.set_multi(dict.fromkeys(keys, 4)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert adapter.set_multi(dict.fromkeys(keys, 4)) == []
    assert adapter.get_multi(keys) == dict.fromkeys(keys, 4)
    adapter.close()


@pytest.mark.parametrize("count", [1, 2], ids=["one server", "two servers"])
def test_a_counter_counted_past_2_63_by_a_large_delta_keeps_its_expiry(
    fleet: list[servers.Server], count: int
) -> None:
    # With two servers the large delta went through gets/cas, which wrote
    # the counter without its expiry; with one, the count of a counter from
    # 2**63 that memcached 1.6.18 misreads as non-numeric did (the base's
    # _count_from_2_63). Both now keep it (memcached's mg <key> t).
    used = fleet[:count]
    adapter = _adapter(used)
    key = uuid.uuid4().hex
    assert adapter.set(key, 5, time=100)
    assert adapter.incr(key, 2**63) == 2**63 + 5
    assert 90 <= _ttl(used, key) <= 100
    assert adapter.decr(key, 2**40) == 2**63 + 5 - 2**40
    assert 90 <= _ttl(used, key) <= 100
    # A counter from 2**63 where memcached reads a "-" past its value
    # (docs/FAILURES.md, "Counters from 2**63"), counted by a large and by a
    # small delta.
    for i, delta in enumerate([2**40, 1]):
        key = f"caching-cli:ctr_:{i:035d}"
        for server in used:
            _leave_a_dash_behind(server, b"caching-cli:prev:%035d" % i)
        assert adapter.set(key, 2**64 - 1, time=100)
        assert adapter.incr(key, delta) == delta - 1
        assert adapter.get(key) == delta - 1
        assert 90 <= _ttl(used, key) <= 100, delta
    # An item without an expiry stays without one.
    key = f"caching-cli:ctr_:{2:035d}"
    for server in used:
        _leave_a_dash_behind(server, b"caching-cli:prev:%035d" % 2)
    assert adapter.set(key, 2**64 - 1)
    assert adapter.incr(key, 2**40) == 2**40 - 1
    assert _ttl(used, key) == -1
    adapter.close()


def test_the_fallback_key_by_key_where_libmemcached_moves_keys(
    fleet: list[servers.Server],
) -> None:
    # With failed servers ejected (remove_failed), libmemcached moves a
    # failed server's keys: the adapter cannot follow, and leaves the
    # batches to libmemcached, with the same answers.
    adapter = _adapter(fleet, behaviors={"remove_failed": 1})
    prefix = uuid.uuid4().hex
    keys = [f"{prefix}-{i}" for i in range(30)]
    assert adapter.set_multi(dict.fromkeys(keys[:10], 1)) == []
    assert sorted(adapter.add_multi(dict.fromkeys(keys, 2))) == sorted(keys[:10])
    assert adapter.get_multi(keys) == {**dict.fromkeys(keys, 2), **dict.fromkeys(keys[:10], 1)}
    assert adapter.delete_multi(keys) is True
    assert [key for key in keys if _holders(fleet, key)] == []
    with checkout(adapter.pool) as client:
        assert not getattr(client, "_caching_pipes", None)  # never batched itself
    adapter.close()


@pytest.mark.parametrize("mode", ["garbage", "cut", "stall"])
def test_a_misbehaving_server_fails_only_its_own_keys_in_a_batch(
    memcached_server: servers.Server, mode: str
) -> None:
    # One of two servers answers a batch out of step (garbage, a reply cut
    # by a closed connection, half a reply then silence): its keys fail,
    # the other server's are stored, nothing raises; once it is fixed the
    # next batches are whole again (the connection was replaced).
    with fake_server.running() as fake:
        adapter = builder("pylibmc")(
            [memcached_server.address, fake.address], timeout=0.3, retry_timeout=0.05
        )
        prefix = uuid.uuid4().hex
        keys = [f"{prefix}-{i}" for i in range(40)]
        for key in keys:  # libmemcached places them
            assert adapter.set(key, 1)
        on_fake = sorted(key for key in keys if key.encode() in fake.items)
        assert 0 < len(on_fake) < len(keys)
        fake.mode = mode
        assert sorted(adapter.set_multi(dict.fromkeys(keys, 2))) == on_fake
        assert adapter.delete_multi(on_fake) is False
        fake.mode = "fixed"
        deadline = time.monotonic() + 5
        while adapter.set_multi(dict.fromkeys(keys, 3)) and time.monotonic() < deadline:
            time.sleep(0.06)  # past the retry wait of a failed connection
        assert adapter.set_multi(dict.fromkeys(keys, 3)) == []
        assert adapter.get_multi(keys) == dict.fromkeys(keys, 3)
        assert all(fake.items[key.encode()][1] == b"3" for key in on_fake)
        adapter.close()


@pytest.mark.parametrize("mode", ["set", "add", "replace"])
def test_a_value_over_the_item_size_fails_alone_over_several_servers(
    fleet: list[servers.Server], mode: str
) -> None:
    adapter = _adapter(fleet)
    prefix = uuid.uuid4().hex
    keys = [f"{prefix}-{i}" for i in range(20)]  # on every server
    big = f"{prefix}-big"
    if mode == "replace":
        assert adapter.set_multi(dict.fromkeys([*keys, big], "old")) == []
    batch: dict[str, Any] = dict.fromkeys(keys, "v" * 100)
    batch[big] = b"x" * (2 * 1024 * 1024)
    assert getattr(adapter, f"{mode}_multi")(batch) == [big]
    kept: dict[str, Any] = dict.fromkeys(keys, "v" * 100)
    if mode == "replace":  # memcached unlinks the old item on a refused set only
        kept[big] = "old"
    assert adapter.get_multi([*keys, big]) == kept
    adapter.close()


def test_a_hung_server_costs_one_timeout_then_its_keys_fail_at_once(
    fleet: list[servers.Server],
) -> None:
    adapter = _adapter(fleet[:2], timeout=2.0, retry_timeout=5.0)
    prefix = uuid.uuid4().hex
    keys = [f"{prefix}-{i}" for i in range(40)]
    for key in keys:
        assert adapter.set(key, 1)
    on_hung = sorted(key for key in keys if _holders(fleet, key) == [1])
    assert 0 < len(on_hung) < len(keys)
    fleet[1].pause()
    try:
        started = time.monotonic()
        assert sorted(adapter.set_multi(dict.fromkeys(keys, 2))) == on_hung
        first = time.monotonic() - started
        started = time.monotonic()
        assert sorted(adapter.set_multi(dict.fromkeys(keys, 3))) == on_hung
        second = time.monotonic() - started
    finally:
        fleet[1].resume()
    assert first < 6.0  # one timeout (2 s)
    assert second < 1.0  # no wait: the server's keys fail at once
    live = [key for key in keys if key not in on_hung]
    assert adapter.get_multi(live) == dict.fromkeys(live, 3)
    adapter.close()
