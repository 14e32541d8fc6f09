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
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from caching.adapters.base import MemcachedAdapter
from caching.adapters.pool import checkout
from caching.adapters.text_connection import TextConnection
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


# -- server specs, big batches, cancelled batches, replicas (the review's points)


def test_weighted_server_specs_are_batched_and_read_where_libmemcached_puts_keys(
    fleet: list[servers.Server],
) -> None:
    # pylibmc takes "host:port:weight" (ketama_weighted); the batch and read
    # connections once parsed it as host "host:port", port "weight", and
    # every batch failed on the healthy servers.
    specs = [f"{fleet[0].address}:2", f"{fleet[1].address}:1"]
    behaviors = {"ketama_weighted": True}
    adapter = builder("pylibmc")(specs, timeout=5.0, behaviors=behaviors)
    assert adapter.servers == [fleet[0].address, fleet[1].address]
    keys = [f"weighted-{uuid.uuid4().hex[:8]}-{i}" for i in range(100)]
    assert adapter.set_multi({key: key for key in keys}) == []
    plain = pylibmc.Client(specs, behaviors=behaviors)  # libmemcached's own placement
    assert {key: plain.get(key) for key in keys} == {key: key for key in keys}
    assert adapter.get_multi(keys) == {key: key for key in keys}
    assert adapter.get(keys[0]) == keys[0]
    held = _placed(fleet, keys)
    assert all(len(held[key]) == 1 for key in keys)
    assert 0 < sum(held[key] == [1] for key in keys) < len(keys)  # both servers hold some
    assert adapter.delete_multi(keys) is True
    assert _placed(fleet, keys) == {key: [] for key in keys}
    assert adapter.incr("weighted-counter", 2**40) is None  # a miss, not a failure
    adapter.close()


def test_a_bare_unix_socket_path_is_batched_and_read(tmp_path: Any) -> None:
    # pylibmc names a Unix socket by its bare path: once parsed as
    # "host:port" ("unexpected reply: ValueError") by the batch connection.
    import os
    import subprocess

    path = tmp_path / "memcached.sock"
    argv = [servers.find_binary("memcached"), "-s", str(path), "-a", "0600", "-U", "0"]
    if os.geteuid() == 0:
        argv += ["-u", "root"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not path.exists():
            assert process.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.02)
        adapter = builder("pylibmc")([str(path)], timeout=5.0)
        assert adapter.servers == [f"unix:{path}"]
        keys = [f"unix-{i}" for i in range(50)]
        assert adapter.set_multi(dict.fromkeys(keys, 7)) == []
        assert adapter.get_multi(keys) == dict.fromkeys(keys, 7)
        assert adapter.delete_multi(keys) is True
        assert adapter.get_multi(keys) == {}
        adapter.close()
    finally:
        process.terminate()
        process.wait(5)


def test_server_specs_are_read_as_pylibmc_reads_them() -> None:
    from caching.adapters.text_connection import address_of, connect

    assert address_of("127.0.0.1") == "127.0.0.1:11211"  # memcached's port
    assert address_of("127.0.0.1:5:3") == "127.0.0.1:5"  # no weight
    assert address_of("[::1]:5:2") == "[::1]:5"
    assert address_of("[::1]") == "[::1]:11211"
    assert address_of("/run/memcached.sock") == "unix:/run/memcached.sock"
    assert address_of("unix:/run/memcached.sock") == "unix:/run/memcached.sock"
    # What cannot be read is no server: a connection error, before any I/O.
    for nonsense in ("host:port", ":11211", "127.0.0.1:x"):
        with pytest.raises(OSError, match="not a memcached server address"):
            connect(nonsense, 1.0, 1.0)


@pytest.fixture
def small_socket_buffers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The adapter's own TCP connections get 4 KiB socket buffers, so that
    a batch whose replies outgrow them needs tens of thousands of keys, not
    hundreds of thousands (the deadlock needs the buffers of both ends full)."""
    connect = socket.create_connection

    def small(*args: Any, **kwargs: Any) -> socket.socket:
        sock = connect(*args, **kwargs)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        return sock

    monkeypatch.setattr(socket, "create_connection", small)


@pytest.mark.slow  # 4 KiB buffers: TCP's zero-window probes pace the transfer
@pytest.mark.parametrize("count", [1, 2])
def test_a_batch_whose_replies_outgrow_the_socket_buffers_completes(
    fleet: list[servers.Server], count: int, small_socket_buffers: None
) -> None:
    # Every command was sent before any reply was read: memcached stops
    # reading a connection whose replies it cannot send, so the request
    # never ended, the call timed out, the healthy server was marked failed
    # and its stored keys reported not stored.
    adapter = _adapter(fleet[:count], timeout=3.0)
    keys = [f"big-{i:06d}" for i in range(20_000)]
    assert adapter.set_multi(dict.fromkeys(keys, 1)) == []
    assert sum(servers.item_count(server) for server in fleet[:count]) == len(keys)
    assert adapter.get_multi(keys) == dict.fromkeys(keys, 1)  # one long get line each
    assert adapter.delete_multi(keys) is True
    assert sum(servers.item_count(server) for server in fleet[:count]) == 0
    assert adapter.failures.down == frozenset()
    adapter.close()


class _Cancel(BaseException):
    """As ``KeyboardInterrupt`` or ``gevent.Timeout``: no ``Exception``."""


def test_a_batch_cancelled_midway_leaves_no_connection_out_of_step(
    fleet: list[servers.Server], monkeypatch: pytest.MonkeyPatch
) -> None:

    adapter = _adapter(fleet[:2])
    keys = [f"cancel-{i}" for i in range(100)]
    assert adapter.set_multi(dict.fromkeys(keys, "warm")) == []  # both connections open
    held = _placed(fleet, keys)
    on_first = [key for key in keys if held[key] == [0]][:20]
    on_second = [key for key in keys if held[key] == [1]][:20]
    assert on_first
    assert on_second
    replies = TextConnection.replies
    calls: list[int] = []

    def cancelled(self: Any, *args: Any) -> bytes:
        calls.append(1)
        if len(calls) == 1:  # the first server's replies: cancelled
            raise _Cancel
        return replies(self, *args)

    monkeypatch.setattr(TextConnection, "replies", cancelled)
    # Both servers hold their replies until the next batch is on its way,
    # so that the second's old replies cannot be seen before it. The
    # cancelled batch is an add of held keys: its replies (NOT_STORED) tell
    # from the next batch's (STORED), and it changes no value, whichever of
    # the two connections memcached serves first when it resumes.
    fleet[0].pause()
    fleet[1].pause()
    try:
        with pytest.raises(_Cancel):
            adapter.add_multi({**dict.fromkeys(on_first, "old"), **dict.fromkeys(on_second, "old")})
    finally:
        fleet[0].resume()
    later = threading.Timer(0.3, fleet[1].resume)
    later.start()
    try:
        not_stored = adapter.set_multi(dict.fromkeys(on_second, "new"))
    finally:
        later.join()
        fleet[1].resume()
    assert not_stored == []
    assert adapter.get_multi(on_second) == dict.fromkeys(on_second, "new")
    assert adapter.set_multi(dict.fromkeys(on_first, "next")) == []
    assert adapter.get_multi(on_first) == dict.fromkeys(on_first, "next")
    adapter.close()


def test_a_meta_expiry_read_that_times_out_fails_the_count_and_keeps_the_item(
    fleet: list[servers.Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A counter from 2**63 that memcached misreads is counted by gets/cas,
    # the expiry read with mg <key> t. A timeout on that mg answered "no
    # expiry", and the cas wrote the counter to live forever.

    server = fleet[0]
    ask = TextConnection.ask
    asked: list[bytes] = []

    def held(self: Any, request: bytes, complete: Any) -> list[bytes]:
        if not request.startswith(b"mg "):
            return ask(self, request, complete)
        asked.append(request)
        server.pause()  # no answer within the timeout
        try:
            return ask(self, request, complete)
        finally:
            server.resume()

    monkeypatch.setattr(TextConnection, "ask", held)
    adapter = _adapter([server], timeout=1.0)
    key = f"caching-cli:ctr_:{9:035d}"
    _leave_a_dash_behind(server, b"caching-cli:prev:%035d" % 9)
    assert adapter.set(key, 2**64 - 1, time=100)
    assert adapter.incr(key, 1) is None  # failed, not raised
    assert asked  # the mg was sent (memcached misread the counter)
    assert 90 <= _ttl([server], key) <= 100
    adapter.close()
    fresh = _adapter([server])
    assert fresh.get(key) == 2**64 - 1  # as it was
    fresh.close()


def test_replicas_leave_the_batches_to_libmemcached(fleet: list[servers.Server]) -> None:
    # binary=True, num_replicas=1: libmemcached writes each key on its
    # server and a replica; the adapter's batches wrote the first alone.
    adapter = _adapter(fleet, binary=True, behaviors={"num_replicas": 1})
    keys = [f"replica-{i}" for i in range(30)]
    assert adapter.set_multi(dict.fromkeys(keys, "new-value")) == []
    with checkout(adapter.pool) as client:
        # libmemcached sends a replica's write quietly and may keep the last
        # ones in its buffer until the next command to that server.
        client.get_multi(keys)
    copies = {
        key: sum(
            b"new-value" in servers.command(server.address, b"get " + key.encode(), b"END\r\n")
            for server in fleet
        )
        for key in keys
    }
    assert max(copies.values()) == 2, copies
    assert sum(count == 2 for count in copies.values()) > len(keys) // 2, copies
    assert adapter.delete_multi(keys) is True
    adapter.close()
