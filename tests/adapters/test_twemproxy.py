"""Through twemproxy: everything but ``flush_all`` (the contract suite runs
through it too, see tests/contract/backends.py). The proxy closes the
connection on ``flush_all``: the adapter answers ``False`` and stays online."""

from __future__ import annotations

import pytest

from tests import servers
from tests.adapters.conftest import builder

pytestmark = pytest.mark.memcached

TEXT_ADAPTERS = ["pymemcache", "python-memcached"]


@pytest.mark.parametrize("name", TEXT_ADAPTERS)
def test_flush_all_through_twemproxy_is_false_and_the_adapter_stays_online(
    name: str, twemproxy: tuple[servers.Server, list[servers.Server]]
) -> None:
    proxy, backends = twemproxy
    adapter = builder(name)(proxy.address, timeout=5.0)
    assert adapter.set("kept", "yes") is True
    assert adapter.flush_all() is False
    assert adapter.get("kept") == "yes"  # nothing was flushed, and no hold-off
    assert adapter.set("after", 1) is True
    assert adapter.incr("after") == 2
    for backend in backends:
        servers.flush(backend)
    assert adapter.get("kept") is None


@pytest.mark.parametrize("name", TEXT_ADAPTERS)
def test_items_live_on_the_proxys_servers(
    name: str, twemproxy: tuple[servers.Server, list[servers.Server]]
) -> None:
    proxy, backends = twemproxy
    adapter = builder(name)(proxy.address, timeout=5.0)
    keys = {f"behind-{name}-{i}": i for i in range(20)}
    assert adapter.set_multi(keys) == []
    assert adapter.get_multi(keys) == keys
    for key in keys:
        holders = [
            backend
            for backend in backends
            if servers.command(backend.address, f"get {key}".encode(), b"END\r\n") != b"END\r\n"
        ]
        assert len(holders) == 1, key  # stored once, on one of the proxy's servers
