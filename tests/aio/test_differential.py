"""The differential test (tests/test_differential.py: seeded random calls
against ``MemoryCache``) on the async memcached adapter, one and two servers,
through the contract suite's facade: 0 divergences."""

from __future__ import annotations

import random
import uuid

import pytest

from caching import MemoryCache
from caching.contract import Cache
from tests import servers
from tests.aio.backends import emcache_at
from tests.aio.runner import Blocking, LoopThread
from tests.test_differential import SEEDS, STEPS, answer, random_call

pytestmark = pytest.mark.memcached


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("count", [1, 2])
def test_same_calls_same_answers(
    count: int,
    seed: int,
    memcached_server: servers.Server,
    memcached_pair: list[servers.Server],
    aio_loop: LoopThread,
) -> None:
    addresses = [memcached_server.address] if count == 1 else [s.address for s in memcached_pair]
    backend = emcache_at(addresses)
    adapter: Cache = Blocking(backend, aio_loop)  # type: ignore[assignment]
    reference = MemoryCache()
    rng = random.Random(seed)
    prefix = uuid.uuid4().hex[:8] + "-"
    divergences = []
    try:
        for step in range(STEPS):
            described, call = random_call(rng, prefix)
            expected = answer(call, reference)
            got = answer(call, adapter)
            if got != expected:
                divergences.append((step, described, expected, got))
    finally:
        aio_loop.run(backend.close())
    assert divergences == []
