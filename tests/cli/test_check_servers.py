"""``python -m caching check`` against a real memcached and through twemproxy."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from caching.adapters import ADAPTERS
from caching.cli.check import RULES
from tests import servers
from tests.cli.runner import caching_cli, memcached_url

pytestmark = pytest.mark.memcached

CLIENTS = list(ADAPTERS)


def _statuses(stdout: str) -> dict[str, str]:
    rows = [line.split(None, 1) for line in stdout.splitlines() if line.startswith("  ")]
    return {rest.split("  ")[0].strip(): status for status, rest in rows}


@pytest.fixture(scope="module")
def memcached() -> Iterator[servers.Server]:
    """A memcached of this module's own: ``check --flush`` empties it."""
    with servers.running(servers.memcached()) as server:
        yield server


@pytest.mark.parametrize("client", CLIENTS)
def test_real_memcached_honours_every_rule(memcached: servers.Server, client: str) -> None:
    result = caching_cli("check", memcached_url(memcached.address, client), "--flush")
    assert result.returncode == 0, result.stdout + result.stderr
    expected = {rule.name: "ok" for rule in RULES} | {"foreign pickle": "warn"}
    assert _statuses(result.stdout) == expected
    assert "was unpickled (code ran)" in result.stdout
    assert result.stdout.rstrip().endswith("warnings: foreign pickle")
    assert re.search(rf"^ping: {memcached.address} \d+(\.\d)? (µs|ms)$", result.stdout, re.M)
    assert result.stderr == ""


@pytest.mark.parametrize(
    "settings", ["serializer=json", "secret_env=CACHING_CHECK_SECRET", "serializer=msgpack"]
)
@pytest.mark.parametrize("client", CLIENTS)
def test_a_safe_setting_refuses_the_foreign_pickle(
    memcached: servers.Server, client: str, settings: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHING_CHECK_SECRET", "check-secret")
    url = memcached_url(memcached.address, client) + "&" + settings
    result = caching_cli("check", url)
    assert result.returncode == 0, result.stdout + result.stderr
    statuses = _statuses(result.stdout)
    assert statuses["foreign pickle"] == "ok"
    assert statuses["values"] == "ok"
    assert "an unsigned pickle from any host is a miss" in result.stdout
    if "serializer" in settings:
        assert f"the {settings.split('=')[1]} data model reads back equal" in result.stdout


@pytest.mark.parametrize("client", CLIENTS)
def test_twemproxy_honours_the_rules_but_refuses_flush_all(
    twemproxy: tuple[servers.Server, list[servers.Server]], client: str
) -> None:
    proxy, _ = twemproxy
    result = caching_cli("check", memcached_url(proxy.address, client), "--flush")
    assert result.returncode == 0, result.stdout + result.stderr
    expected = {rule.name: "ok" for rule in RULES} | {"flush_all": "no", "foreign pickle": "warn"}
    assert _statuses(result.stdout) == expected
    assert "refused here: flush_all" in result.stdout


def test_bench_on_memcached_with_small_ops(memcached: servers.Server) -> None:
    result = caching_cli("bench", "--url", memcached_url(memcached.address), "--ops", "20")
    assert result.returncode == 0, result.stderr
    assert "| get (hit) | " in result.stdout
    assert "left out" not in result.stdout
