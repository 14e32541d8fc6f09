"""``python -m caching stats`` against a real memcached, through twemproxy,
and with no server."""

from __future__ import annotations

import json

import pytest

from caching import from_url
from tests import servers
from tests.cli.runner import caching_cli, one_line_error

pytestmark = pytest.mark.memcached


def test_a_real_memcached_shows_its_own_counters() -> None:
    with servers.running(servers.memcached()) as server:
        cache = from_url(f"memcached://{server.address}?client=pymemcache")
        assert cache.set("a", 1)
        for key in ("a", "a", "a", "missing"):
            cache.get(key)
        result = caching_cli("stats", f"memcached://{server.address}")
        assert result.returncode == 0, result.stderr
        header, row = result.stdout.splitlines()[1:3]
        assert header.split("  ")[0] == "server"
        assert "hit ratio" in header
        assert row.startswith(server.address)
        assert "75.0%" in row.split()  # 3 hits, 1 miss
        data = json.loads(caching_cli("stats", f"memcached://{server.address}", "--json").stdout)
        stats = data["servers"][server.address]
        assert (stats["get_hits"], stats["get_misses"], stats["curr_items"]) == ("3", "1", "1")


def test_watch_shows_what_changed_since_the_last_table() -> None:
    with servers.running(servers.memcached()) as server:
        url = f"memcached://{server.address}"
        result = caching_cli("stats", url, "--watch", "0.2", "--count", "2")
        assert result.returncode == 0, result.stderr
        tables = [line for line in result.stdout.splitlines() if line.startswith(server.address)]
        assert len(tables) == 2
        assert "(+0)" in tables[1]  # nothing read in between


def test_twemproxy_is_named_a_proxy_that_does_not_forward_stats(
    twemproxy: tuple[servers.Server, list[servers.Server]],
) -> None:
    proxy, _ = twemproxy
    result = caching_cli("stats", f"memcached://{proxy.address}")
    assert result.returncode == 0, result.stderr
    assert f"{proxy.address}: answers memcached's version but not its stats" in result.stdout
    assert "twemproxy" in result.stdout


def test_an_unreachable_server_is_one_line_and_a_failure() -> None:
    dead = servers.memcached()  # never started
    result = caching_cli("stats", f"memcached://{dead.address}")
    assert result.returncode == 3
    assert f"cannot connect to memcached at {dead.address}" in one_line_error(result)


def test_an_in_process_url_has_no_server_to_ask() -> None:
    result = caching_cli("stats", "memory://")
    assert result.returncode == 2
    assert "needs a memcached:// URL" in one_line_error(result)
