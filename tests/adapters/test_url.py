"""``from_url`` for memcached: building never connects; options; missing extras."""

from __future__ import annotations

import importlib
import sys

import pytest

from caching import MissingExtraError, from_url
from caching.adapters import ADAPTERS, adapter_class
from caching.adapters.base import MemcachedAdapter
from tests import servers


@pytest.mark.parametrize("client", list(ADAPTERS))
def test_building_never_connects(client: str) -> None:
    port = servers.free_port()  # nothing listens there
    adapter = from_url(f"memcached://127.0.0.1:{port}?client={client}&timeout=0.2")
    assert type(adapter) is adapter_class(client)
    assert adapter.get("k") is None  # the first call answers as a failure would
    assert adapter.set("k", 1) is False


def test_default_client_is_pylibmc_and_servers_are_listed() -> None:
    adapter = from_url("memcached://127.0.0.1:1,127.0.0.1:2")
    assert type(adapter).__module__ == "caching.adapters.pylibmc"
    assert isinstance(adapter, MemcachedAdapter)
    assert adapter.servers == ["127.0.0.1:1", "127.0.0.1:2"]


@pytest.mark.parametrize("client", ["pylibmc", "pymemcache"])
def test_options(client: str) -> None:
    adapter = from_url(
        f"memcached://127.0.0.1:1?client={client}"
        "&connect_timeout=0.1&timeout=0.2&retry_timeout=3&pool_size=4"
    )
    assert isinstance(adapter, MemcachedAdapter)
    assert adapter.retry_timeout == 3
    assert adapter.pool.max_idle == 4  # type: ignore[attr-defined]


def test_python_memcached_options() -> None:
    adapter = from_url(
        "memcached://127.0.0.1:1?client=python-memcached&timeout=0.2&retry_timeout=3"
    )
    assert isinstance(adapter, MemcachedAdapter)
    assert adapter.retry_timeout == 3
    with pytest.raises(ValueError, match="pool_size"):
        from_url("memcached://127.0.0.1:1?client=python-memcached&pool_size=2")


@pytest.mark.parametrize(
    ("query", "option"),
    [("timeout=-1", "timeout"), ("timeout=soon", "timeout"), ("pool_size=0", "pool_size")],
)
def test_bad_option_values_name_the_option(query: str, option: str) -> None:
    with pytest.raises(ValueError, match=option):
        from_url(f"memcached://127.0.0.1:1?client=pymemcache&{query}")


@pytest.mark.parametrize(
    ("client", "library", "extra"),
    [
        ("pylibmc", "pylibmc", "pylibmc"),
        ("pymemcache", "pymemcache", "pymemcache"),
        ("python-memcached", "memcache", "memcache"),
    ],
)
def test_missing_library_names_the_extra(
    client: str, library: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module(ADAPTERS[client][0])
    cached = [
        getattr(module, name) for name in ("_library", "_client_class") if hasattr(module, name)
    ]
    for function in cached:
        function.cache_clear()
    monkeypatch.setitem(sys.modules, library, None)  # import fails
    try:
        with pytest.raises(MissingExtraError, match=rf"caching-toolkit\[{extra}\]"):
            from_url(f"memcached://127.0.0.1:1?client={client}")
    finally:
        for function in cached:
            function.cache_clear()
