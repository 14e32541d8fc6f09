"""Fixtures shared by the whole suite: real memcached servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import servers


@pytest.fixture(scope="session")
def memcached_server() -> Iterator[servers.Server]:
    """One memcached for the session, on a free loopback port."""
    with servers.running(servers.memcached()) as server:
        yield server


@pytest.fixture(scope="session")
def twemproxy(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[servers.Server, list[servers.Server]]]:
    """A twemproxy in front of two memcached servers of its own:
    ``(proxy, [backend, backend])``."""
    directory = str(tmp_path_factory.mktemp("twemproxy"))
    with (
        servers.running(servers.memcached()) as first,
        servers.running(servers.memcached()) as second,
        servers.running(servers.nutcracker([first, second], directory)) as proxy,
    ):
        yield proxy, [first, second]
