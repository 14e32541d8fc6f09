"""Fixtures shared by the whole suite: real memcached servers."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import freezegun
import pytest
from hypothesis import HealthCheck, settings

from caching.adapters.watch import ServerWatch
from tests import servers

# No per-example deadline: timing is not a pass/fail criterion on shared machines.
settings.register_profile(
    "caching", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100
)
settings.load_profile("caching")

# Frozen time is for the code under test, not for pytest's own timings.
freezegun.configure(extend_ignore_list=["_pytest.timing"])


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


@pytest.fixture(autouse=True)
def _no_server_watch_outlives_its_test() -> Iterator[None]:
    """Stop the adapters' server watches (caching.adapters.watch) a test
    left running, e.g. over a server it never started: their probes and log
    records belong to that test, not to the next one, which may count them."""
    yield
    for thread in threading.enumerate():
        watch = getattr(getattr(thread, "_target", None), "__self__", None)
        if isinstance(watch, ServerWatch):
            watch.close()
            thread.join(5)
