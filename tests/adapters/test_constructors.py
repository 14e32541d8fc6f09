"""wheezy.caching's constructors keep working, and ``key_encode`` applies."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from caching.adapters.pool import Pool
from caching.encoding import hash_encode
from tests import servers
from tests.adapters.conftest import Build

pytestmark = pytest.mark.memcached


def test_pylibmc_over_a_wheezy_style_pool(memcached_server: servers.Server) -> None:
    from caching.pylibmc import MemcachedClient, client_factory

    pool = Pool(lambda: client_factory([memcached_server.address], binary=False))
    cache = MemcachedClient(pool)
    key = f"pool-{uuid.uuid4().hex}"
    assert cache.add(key, [1, 2]) is True
    assert cache.get_multi([key]) == {key: [1, 2]}
    assert cache.incr(f"{key}-n", initial_value=41) == 42


def test_python_memcached_takes_the_memcache_client_arguments(
    memcached_server: servers.Server,
) -> None:
    from caching.memcache import MemcachedClient

    cache = MemcachedClient([memcached_server.address], 0, socket_timeout=5.0, dead_retry=2)
    key = f"args-{uuid.uuid4().hex}"
    assert cache.set(key, "v") is True
    assert cache.get(key) == "v"
    assert cache.retry_timeout == 2


def test_key_encode_lets_any_key_through(build: Build, memcached_server: servers.Server) -> None:
    cache = build(memcached_server.address, timeout=5.0, key_encode=hash_encode(hashlib.sha1))
    key = f"a key with spaces {uuid.uuid4().hex} " + "x" * 300
    assert cache.set(key, 1) is True
    assert cache.get_multi([key]) == {key: 1}
    assert cache.incr(key) == 2
    assert cache.delete_multi([key]) is True
    assert cache.get(key) is None
