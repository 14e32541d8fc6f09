"""from_url: schemes, options and clear errors."""

from __future__ import annotations

import pytest

from caching import MemoryCache, NullCache, from_url
from caching.url import parse_servers


def test_memory_url_with_options() -> None:
    cache = from_url("memory://?max_items=10&copy_values=true&max_item_size=0")
    assert isinstance(cache, MemoryCache)
    assert (cache.max_items, cache.copy_values, cache.max_item_size) == (10, True, None)
    assert isinstance(from_url("memory://"), MemoryCache)


def test_null_url() -> None:
    assert isinstance(from_url("null://"), NullCache)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://localhost", "unknown cache URL scheme"),
        ("memory://?max_items=ten", "bad value for option 'max_items'"),
        ("memory://?colour=blue", "unknown option 'colour'"),
        ("memory://?max_items=1&max_items=2", "given twice"),
        ("memory://host", "takes no host"),
        ("null://?x=1", "takes no host, path or option"),
        ("memory://?copy_values=maybe", "expected true or false"),
        ("memcached://", "no server"),
        ("memcached://h:99999", "bad port"),
        ("memcached://h:1,", "bad server"),
        ("memcached://h:1?client=redis-py", "unknown memcached client 'redis-py'"),
        ("memory://#frag", "must not have a fragment"),
    ],
)
def test_bad_urls_name_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_url(url)


def test_parse_servers() -> None:
    url = "memcached://a:1,b,unix:/tmp/mc.sock"
    assert parse_servers(url, "a:1,b,unix:/tmp/mc.sock") == ["a:1", "b:11211", "unix:/tmp/mc.sock"]


def test_url_must_be_a_string() -> None:
    with pytest.raises(TypeError):
        from_url(b"memory://")  # type: ignore[arg-type]


def test_unix_socket_server_in_a_memcached_url() -> None:
    cache = from_url("memcached://unix:/run/memcached.sock?client=pymemcache")
    assert cache.servers == ["unix:/run/memcached.sock"]  # type: ignore[attr-defined]
