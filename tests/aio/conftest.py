"""Fixtures of the async tests: the loop thread of the contract suite's
facade, and two memcached servers for the several-server backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import servers
from tests.aio.runner import LoopThread


@pytest.fixture(scope="session")
def aio_loop() -> Iterator[LoopThread]:
    runner = LoopThread()
    yield runner
    runner.stop()


@pytest.fixture(scope="session")
def memcached_pair() -> Iterator[list[servers.Server]]:
    """Two memcached servers of their own for the session."""
    with (
        servers.running(servers.memcached()) as first,
        servers.running(servers.memcached()) as second,
    ):
        yield [first, second]
