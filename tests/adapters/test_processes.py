"""Fork safety and counters shared by processes (CONTRACT.md, "Concurrency")."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

import pytest

from tests import servers
from tests.adapters.conftest import Build

pytestmark = pytest.mark.memcached

# Generous timeouts: these tests check answers, not speed, on a busy machine.
PROCESSES = 4
INCREMENTS = 200


def _in_child(work: Callable[[], bool]) -> int:
    """Fork; the child runs ``work`` and exits 0 when it returned True."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            code = 0 if work() else 1
        finally:
            os._exit(code)
    return pid


def _exit_code(pid: int) -> int:
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _round_trips(adapter: object, prefix: str, sign: int) -> Callable[[], bool]:
    def work() -> bool:
        cache = adapter
        return all(
            cache.set(f"{prefix}-{i}", sign * i) and cache.get(f"{prefix}-{i}") == sign * i  # type: ignore[attr-defined]
            for i in range(300)
        )

    return work


def test_child_and_parent_never_share_a_connection(
    build: Build, memcached_server: servers.Server
) -> None:
    adapter = build(memcached_server.address, timeout=5.0)
    prefix = uuid.uuid4().hex
    assert adapter.set(f"{prefix}-warm", 1) is True  # the parent holds a live connection
    child = _in_child(_round_trips(adapter, f"{prefix}-child", 1))
    # Interleaved on one socket, the answers of parent and child would mix.
    parent_ok = _round_trips(adapter, f"{prefix}-parent", -1)()
    assert _exit_code(child) == 0
    assert parent_ok
    assert adapter.get(f"{prefix}-child-299") == 299
    assert adapter.get(f"{prefix}-warm") == 1


def test_first_increments_from_several_processes_lose_nothing(
    build: Build, memcached_server: servers.Server
) -> None:
    adapter = build(memcached_server.address, timeout=5.0)
    key = f"counter-{uuid.uuid4().hex}"
    assert adapter.get(key) is None

    def work() -> bool:
        return all(adapter.incr(key, initial_value=0) is not None for _ in range(INCREMENTS))

    children = [_in_child(work) for _ in range(PROCESSES)]
    assert [_exit_code(pid) for pid in children] == [0] * PROCESSES
    assert adapter.get(key) == PROCESSES * INCREMENTS
