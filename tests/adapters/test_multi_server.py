"""Several servers (CONTRACT.md, "Multi-server"): consistent hashing spreads
keys evenly, dropping a server moves only its keys, and a dead server costs
only the keys that live on it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests import servers
from tests.adapters.conftest import CONSISTENT, builder

pytestmark = [pytest.mark.memcached, pytest.mark.slow]

KEYS = [f"key-{i}" for i in range(3000)]
#: Generous timeouts where the test checks placement, not speed.
PATIENT = {"timeout": 5.0}


@pytest.fixture(scope="module")
def three() -> Iterator[list[servers.Server]]:
    started = [servers.memcached().start() for _ in range(3)]
    try:
        yield started
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def fleet(three: list[servers.Server]) -> list[servers.Server]:
    """The three servers, running and empty."""
    for server in three:
        if server.process is None:
            server.start()
        servers.flush(server)
    return three


def addresses(fleet: list[servers.Server]) -> list[str]:
    return [server.address for server in fleet]


@pytest.mark.parametrize("name", CONSISTENT)
def test_keys_spread_evenly(name: str, fleet: list[servers.Server]) -> None:
    adapter = builder(name)(addresses(fleet), **PATIENT)
    assert adapter.set_multi(dict.fromkeys(KEYS, 1)) == []
    counts = [servers.item_count(server) for server in fleet]
    assert sum(counts) == len(KEYS)
    assert all(650 <= count <= 1350 for count in counts), counts


@pytest.mark.parametrize("name", CONSISTENT)
def test_dropping_one_of_three_servers_keeps_two_thirds_of_keys(
    name: str, fleet: list[servers.Server]
) -> None:
    build = builder(name)
    assert build(addresses(fleet), **PATIENT).set_multi(dict.fromkeys(KEYS, 1)) == []
    kept = len(build(addresses(fleet)[:2], **PATIENT).get_multi(KEYS))
    assert 0.55 * len(KEYS) <= kept <= 0.78 * len(KEYS), kept


def test_python_memcached_hashes_modulo_n(fleet: list[servers.Server]) -> None:
    """Documented: with modulo hashing, dropping one of three servers keeps
    only about a third of the keys where they were."""
    build = builder("python-memcached")
    assert build(addresses(fleet), **PATIENT).set_multi(dict.fromkeys(KEYS, 1)) == []
    counts = [servers.item_count(server) for server in fleet]
    assert all(count > 500 for count in counts), counts
    kept = len(build(addresses(fleet)[:2], **PATIENT).get_multi(KEYS))
    assert kept < 0.5 * len(KEYS), kept


@pytest.mark.parametrize("name", [*CONSISTENT, "python-memcached"])
def test_one_dead_server_costs_only_its_keys(name: str, fleet: list[servers.Server]) -> None:
    adapter = builder(name)(addresses(fleet), timeout=2.0)
    keys = KEYS[:300]
    assert adapter.set_multi(dict.fromkeys(keys, 1)) == []
    fleet[2].stop()
    started = time.monotonic()
    hits = sum(adapter.get(key) == 1 for key in keys)
    found = adapter.get_multi(keys)
    stored = sum(adapter.set(key, 2) for key in keys[:60])
    assert time.monotonic() - started < 15
    # The other two servers hold about 2/3 of the keys and still serve them.
    assert hits >= 0.5 * len(keys), hits
    assert len(found) >= 0.5 * len(keys), len(found)
    assert stored >= 24, stored  # about 40 of 60 belong to the live servers


@pytest.mark.parametrize("name", [*CONSISTENT, "python-memcached"])
def test_a_keys_str_and_bytes_forms_live_on_one_server(
    name: str, fleet: list[servers.Server]
) -> None:
    """Whichever form a call is given (and get_multi hands plain str keys to
    the library as they are), an item is looked for where it was stored."""
    adapter = builder(name)(addresses(fleet), **PATIENT)
    keys = KEYS[:200]
    for key in keys[:100]:
        assert adapter.set(key, key) is True
    assert adapter.set_multi({key.encode(): key for key in keys[100:]}) == []
    assert adapter.get_multi(keys) == {key: key for key in keys}
    assert adapter.get_multi([key.encode() for key in keys]) == {key.encode(): key for key in keys}
    assert all(adapter.get(key.encode()) == key for key in keys[:100])
    assert all(adapter.get(key) == key for key in keys[100:])
