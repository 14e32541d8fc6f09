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
