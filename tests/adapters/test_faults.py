"""Server failures (CONTRACT.md, "Failures"): down at start, killed and
restarted, hung (SIGSTOP) and resumed. No contract call raises; each answers
"nothing happened" within a bounded time; the adapter comes back by itself;
the warning is logged once per server per period."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from caching import InvalidKeyError
from caching.adapters.base import MemcachedAdapter
from tests import servers
from tests.adapters.conftest import Build

pytestmark = [pytest.mark.memcached, pytest.mark.slow]

#: Generous bound on one call against a failed server (timeouts are 0.5 s).
BOUND = 3.0
#: Time allowed to be back to normal after the server returns.
RECOVERY = 10.0

NOTHING: dict[str, tuple[Callable[[MemcachedAdapter], Any], Any]] = {
    "get": (lambda c: c.get("k"), None),
    "get_multi": (lambda c: c.get_multi(["k", "j"]), {}),
    "set": (lambda c: c.set("k", 1), False),
    "add": (lambda c: c.add("a", 1), False),
    "replace": (lambda c: c.replace("k", 2), False),
    "set_multi": (lambda c: sorted(c.set_multi({"k": 1, "j": 2})), ["j", "k"]),
    "add_multi": (lambda c: c.add_multi({"x": 1}), ["x"]),
    "replace_multi": (lambda c: c.replace_multi({"k": 1}), ["k"]),
    "delete": (lambda c: c.delete("k"), False),
    "delete_multi": (lambda c: c.delete_multi(["k"]), False),
    "incr": (lambda c: c.incr("n", initial_value=0), None),
    "decr": (lambda c: c.decr("n"), None),
    "flush_all": (lambda c: c.flush_all(), False),
}


@pytest.fixture
def server() -> Iterator[servers.Server]:
    """A memcached of the test's own (not started)."""
    server = servers.memcached()
    try:
        yield server
    finally:
        server.stop()


def assert_nothing_happens(adapter: MemcachedAdapter) -> None:
    for name, (call, expected) in NOTHING.items():
        started = time.monotonic()
        assert call(adapter) == expected, name
        assert time.monotonic() - started < BOUND, name


def wait_until_back(adapter: MemcachedAdapter) -> float:
    """Seconds until both a write and a read work again."""
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY:
        if adapter.set("back", "yes") and adapter.get("back") == "yes":
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not back within {RECOVERY} s")


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING]


def test_down_at_start_builds_answers_nothing_and_recovers(
    build: Build, server: servers.Server, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = build(server.address)  # building never connects
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    assert_nothing_happens(adapter)
    assert_nothing_happens(adapter)
    periods = (time.monotonic() - started) / adapter.retry_timeout
    warnings = warnings_of(caplog)
    # 26 failed calls: one warning per retry period, not one per call.
    assert 1 <= len(warnings) <= 1 + int(periods), [r.getMessage() for r in warnings]
    assert server.address in warnings[0].getMessage()
    server.start()
    wait_until_back(adapter)
    assert adapter.incr("n", initial_value=0) == 1


def test_killed_mid_run_then_restarted(build: Build, server: servers.Server) -> None:
    server.start()
    adapter = build(server.address)
    assert adapter.set("k", 1) is True
    server.stop()
    assert_nothing_happens(adapter)
    server.start()
    wait_until_back(adapter)
    assert adapter.set_multi({"k": 1, "j": 2}) == []
    assert adapter.get_multi(["k", "j"]) == {"k": 1, "j": 2}


def test_hung_server_costs_a_bounded_wait_then_recovers(
    build: Build, server: servers.Server
) -> None:
    server.start()
    adapter = build(server.address)
    assert adapter.set("k", 1) is True
    server.pause()
    try:
        assert_nothing_happens(adapter)
    finally:
        server.resume()
    wait_until_back(adapter)
    assert adapter.get("k") == 1


def test_bad_input_still_raises_while_the_server_is_down(
    build: Build, server: servers.Server
) -> None:
    adapter = build(server.address)
    with pytest.raises(InvalidKeyError):
        adapter.set("a b", 1)
    with pytest.raises(TypeError):
        adapter.set("k", 1, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delta"):
        adapter.incr("n", -1)


@pytest.mark.parametrize("call", ["get", "get_multi", "set", "add", "incr"])
def test_each_call_alone_logs_the_failure(
    build: Build, server: servers.Server, caplog: pytest.LogCaptureFixture, call: str
) -> None:
    adapter = build(server.address)  # never started: connections are refused
    caplog.set_level(logging.WARNING)
    assert NOTHING[call][0](adapter) == NOTHING[call][1]
    warnings = warnings_of(caplog)
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert server.address in warnings[0].getMessage()
