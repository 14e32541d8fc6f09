"""Counters over memcached's whole range on every adapter (issue 12, point
6): any ``delta`` in ``0 .. 2**64-1`` (pylibmc's ``incr`` takes a C ``int``:
its adapter sends a larger one through a ``gets``/``cas`` loop), with
memcached's answers, atomic under concurrency."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from caching import MemoryCache
from caching.adapters.base import MemcachedAdapter
from caching.testing.threads import run_threads
from tests import servers
from tests.adapters.conftest import NAMES, Build, builder

pytestmark = pytest.mark.memcached

TOP = 2**64 - 1
DELTAS = [2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**40 + 7, 2**63, TOP - 1, TOP]


@pytest.mark.parametrize("delta", DELTAS)
def test_every_delta_answers_as_memcached(
    build: Build, memcached_server: servers.Server, delta: int
) -> None:
    adapter = build(memcached_server.address, timeout=5.0)
    reference = MemoryCache()
    key = uuid.uuid4().hex
    for cache in (adapter, reference):
        assert cache.set(key, 5) is True
    for call in ("incr", "decr", "incr", "incr", "decr", "decr"):
        answers = [getattr(cache, call)(key, delta) for cache in (adapter, reference)]
        assert answers[0] == answers[1], (call, delta)
    assert adapter.get(key) == reference.get(key)
    # Wrapped and floored exactly.
    assert adapter.set(key, 7) is True
    assert adapter.incr(key, delta) == (7 + delta) % 2**64
    assert adapter.decr(key, delta) == max(0, (7 + delta) % 2**64 - delta)
    # A miss, with and without initial_value; not a counter.
    missing = uuid.uuid4().hex
    assert adapter.incr(missing, delta) is None
    assert adapter.decr(missing, delta, initial_value=TOP) == TOP - delta
    assert adapter.incr(missing, delta) == (TOP - delta + delta) % 2**64
    assert adapter.set(key, "text") is True
    with pytest.raises(ValueError, match="not an int"):
        adapter.incr(key, delta)
    assert adapter.set(key, True) is True  # a bool counts as 1
    assert adapter.incr(key, delta) == (1 + delta) % 2**64


def test_large_deltas_are_atomic_under_concurrency(
    build: Build, memcached_server: servers.Server
) -> None:
    adapter = build(memcached_server.address, timeout=10.0)
    key = uuid.uuid4().hex
    delta, threads, each = 2**40 + 3, 4, 25
    assert adapter.set(key, 0) is True

    def work(index: int) -> list[int | None]:
        return [adapter.incr(key, delta) for _ in range(each)]

    answers = [answer for part in run_threads(threads, work) for answer in part]
    # Each increment seen by exactly one caller: the answers are the counter's
    # successive values, none lost or repeated.
    assert sorted(answers) == [delta * n for n in range(1, threads * each + 1)]
    assert adapter.get(key) == delta * threads * each


def _answers_as_memcached(adapter: MemcachedAdapter, delta: int) -> None:
    """The answers of a few calls by ``delta``, against the arithmetic."""
    key, missing = uuid.uuid4().hex, uuid.uuid4().hex
    assert adapter.set(key, 7) is True
    assert adapter.incr(key, delta) == (7 + delta) % 2**64
    assert adapter.decr(key, delta) == max(0, (7 + delta) % 2**64 - delta)
    assert adapter.incr(missing, delta) is None
    assert adapter.incr(missing, delta, initial_value=3) == (3 + delta) % 2**64
    assert adapter.set(key, "text") is True
    with pytest.raises(ValueError, match="not an int"):
        adapter.decr(key, delta)


@pytest.fixture(scope="module")
def pair() -> Iterator[list[servers.Server]]:
    with (
        servers.running(servers.memcached()) as first,
        servers.running(servers.memcached()) as second,
    ):
        yield [first, second]


@pytest.mark.parametrize(
    "behaviors",
    [{}, {"remove_failed": 1}],
    ids=["meta arithmetic on the key's server", "gets/cas where libmemcached moves keys"],
)
def test_pylibmc_over_several_servers_counts_large_deltas(
    pair: list[servers.Server], behaviors: dict[str, int]
) -> None:
    # Several servers: where the adapter places keys as libmemcached does, a
    # large delta goes to the key's server as meta arithmetic; where
    # libmemcached may move keys (remove_failed), through the gets/cas loop.
    # Either way memcached's answers, atomic.
    adapter = builder("pylibmc")(
        [server.address for server in pair], timeout=10.0, behaviors=behaviors
    )
    for delta in (2**31, 2**63, TOP):
        _answers_as_memcached(adapter, delta)
    key, delta, threads, each = uuid.uuid4().hex, 2**40 + 3, 4, 25
    assert adapter.set(key, 0) is True
    answers = run_threads(threads, lambda index: [adapter.incr(key, delta) for _ in range(each)])
    assert sorted(a for part in answers for a in part) == [
        delta * n for n in range(1, threads * each + 1)
    ]


def test_pylibmc_through_twemproxy_counts_by_cas(
    twemproxy: tuple[servers.Server, list[servers.Server]],
) -> None:
    # twemproxy closes the connection on a meta command: the adapter counts
    # by gets/cas instead, answers as memcached, and reports no failure.
    proxy, _ = twemproxy
    adapter = builder("pylibmc")(proxy.address, timeout=5.0)
    for delta in (2**31, TOP):
        _answers_as_memcached(adapter, delta)
    assert not adapter.failures.down
    assert adapter.set("after", 1) is True  # no hold-off


def test_a_large_delta_keeps_the_items_expiry(memcached_server: servers.Server) -> None:
    # incr/decr keep the item's expiry (CONTRACT.md), whatever the delta:
    # pylibmc's meta arithmetic does with one server.
    adapters = [builder(name)(memcached_server.address, timeout=5.0) for name in NAMES]
    keys = [uuid.uuid4().hex for _ in adapters]
    for adapter, key in zip(adapters, keys, strict=True):
        assert adapter.set(key, 1, time=1) is True
        assert adapter.incr(key, 2**40) == 2**40 + 1
        assert adapter.decr(key, TOP) == 0
    time.sleep(2.2)  # memcached's expiry is to the second
    assert [adapter.get(key) for adapter, key in zip(adapters, keys, strict=True)] == [None] * 3


def _leave_a_dash_behind(server: servers.Server, key: bytes) -> None:
    """Store and delete an item whose bytes hold a ``-`` just past where a
    20-digit counter of a key of the same length ends: the counter stored
    next reuses its memory."""
    import socket

    data = b"x" * 26 + b"-" + b"x" * 7
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(b"set %s 2304 0 %d\r\n%s\r\ndelete %s\r\n" % (key, len(data), data, key))
        reply = b""
        while reply.count(b"\r\n") < 2:
            reply += connection.recv(100)


@pytest.mark.memcached
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("options", [{}, {"serializer": "json", "secret": "k"}], ids=["", "json"])
def test_a_counter_from_2_63_counts_whatever_memory_memcached_reads_past_it(
    name: str, options: dict[str, str]
) -> None:
    # memcached 1.6.18's safe_strtoull() looks for a "-" in a value of 2**63
    # or more with strchr(), past the value's end (stored data is not NUL
    # terminated), into what an earlier item left in that memory: a "-" there
    # makes it answer CLIENT_ERROR non-numeric for a valid counter
    # (docs/FAILURES.md, "Counters from 2**63").
    server = servers.memcached()
    with servers.running(server):
        adapter = builder(name)(server.address, **options)
        for i, (down, delta, expected) in enumerate(
            [(False, 1, 0), (True, 5, 2**64 - 6), (False, 2**40, 2**40 - 1)]
        ):
            key = f"caching-cli:ctr_:{i:035d}"
            _leave_a_dash_behind(server, b"caching-cli:prev:%035d" % i)
            assert adapter.set(key, 2**64 - 1)
            answer = adapter.decr(key, delta) if down else adapter.incr(key, delta)
            assert (answer, adapter.get(key)) == (expected, expected)
        adapter.close()
