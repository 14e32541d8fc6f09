"""Counters over memcached's whole range on every adapter (issue 12, point
6): any ``delta`` in ``0 .. 2**64-1`` (pylibmc's ``incr`` takes a C ``int``:
its adapter sends a larger one through a ``gets``/``cas`` loop), with
memcached's answers, atomic under concurrency."""

from __future__ import annotations

import uuid

import pytest

from caching import MemoryCache
from caching.testing.threads import run_threads
from tests import servers
from tests.adapters.conftest import Build

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
