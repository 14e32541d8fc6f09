"""caching.adapters.watch.ServerWatch: the health of several servers that the
client library does not tell apart, found by probes from a thread of its own.
(The probes are injected here; tests/adapters/test_recovery.py runs the watch
against real servers.)"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
import warnings

import pytest

from caching.adapters.pymemcache import PymemcacheAdapter
from caching.adapters.watch import ServerWatch

SERVERS = ["127.0.0.1:1", "127.0.0.1:2"]


class Probes:
    """A probe whose answers the test sets: servers in ``down`` do not answer."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        self.made: list[str] = []

    def __call__(self, server: str, timeout: float) -> float | None:
        self.made.append(server)
        return None if server in self.down else 0.001


def watched(probes: Probes) -> tuple[PymemcacheAdapter, ServerWatch]:
    adapter = PymemcacheAdapter(SERVERS)
    watch = ServerWatch(adapter, interval=0.01, probe=probes)
    adapter._watch = watch
    return adapter, watch


def wait_for(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the watch did not get there in time"
        time.sleep(0.005)


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


@pytest.mark.parametrize("renewal", ["works", "raises"])
def test_the_server_that_failed_is_named_and_its_return_logged_once(
    caplog: pytest.LogCaptureFixture, renewal: str
) -> None:
    # A renewal that raises is logged, and the server is still back.
    caplog.set_level(logging.INFO, logger="caching.adapters")
    probes = Probes()
    probes.down.add(SERVERS[1])
    adapter, watch = watched(probes)
    renewed = threading.Event()

    def renew() -> None:
        renewed.set()
        if renewal == "raises":
            raise OSError("could not close a client")

    adapter._renew = renew  # type: ignore[method-assign]
    adapter._report(",".join(SERVERS), OSError("refused"))
    wait_for(lambda: adapter.failures.down == {SERVERS[1]})
    assert not renewed.is_set()
    probes.down.clear()
    wait_for(lambda: watch._thread is None)  # nothing down: the thread ends
    assert adapter.failures.down == frozenset()
    assert renewed.is_set(), "the pool must be renewed when the server is back"
    assert messages(caplog, logging.INFO) == [f"memcached server {SERVERS[1]} is back"]
    errors = [f"renewing the pool after {SERVERS[1]} failed"] if renewal == "raises" else []
    assert messages(caplog, logging.ERROR) == errors
    [warning] = messages(caplog, logging.WARNING)
    assert SERVERS[1] in warning
    assert SERVERS[0] not in warning
    assert "refused" in warning


def test_a_failed_call_while_every_server_answers_is_a_passing_fault(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="caching.adapters")
    probes = Probes()
    adapter, watch = watched(probes)
    adapter._report(",".join(SERVERS), TimeoutError("timed out"))
    wait_for(lambda: watch._thread is None)
    assert adapter.failures.down == frozenset()
    assert sorted(probes.made) == SERVERS
    assert messages(caplog, logging.WARNING) == [
        f"memcached server {','.join(SERVERS)} failed a call (timed out) but answers"
    ]
    assert messages(caplog, logging.INFO) == []


def test_a_server_known_by_the_call_is_the_only_one_probed() -> None:
    probes = Probes()
    probes.down.add(SERVERS[0])
    adapter, watch = watched(probes)
    adapter._report(SERVERS[0], OSError("refused"))
    wait_for(lambda: adapter.failures.down == {SERVERS[0]})
    assert set(probes.made) == {SERVERS[0]}
    watch.close()
    wait_for(lambda: watch._thread is None)


def test_the_thread_ends_with_the_adapter_even_while_a_server_is_down() -> None:
    probes = Probes()
    probes.down.add(SERVERS[0])
    adapter, watch = watched(probes)
    adapter._report(SERVERS[0], OSError("refused"))
    wait_for(lambda: len(probes.made) >= 3)  # still probing the server down
    del adapter
    with warnings.catch_warnings():
        # The collection also finalises what earlier tests of this worker
        # left (an unclosed socket warns): those warnings are theirs.
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    wait_for(lambda: watch._thread is None)


def _in_child(adapter: PymemcacheAdapter, probes: Probes) -> int:
    """Run in a fork's child: a failure there is watched by a thread of its own."""
    probes.down = {SERVERS[1]}
    adapter._report(SERVERS[1], OSError("refused"))
    deadline = time.monotonic() + 5
    while adapter.failures.down != {SERVERS[1]}:
        if time.monotonic() > deadline:
            return 1
        time.sleep(0.005)
    return 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forks_child_watches_with_a_thread_of_its_own() -> None:
    probes = Probes()
    probes.down.add(SERVERS[0])
    adapter, watch = watched(probes)
    adapter._report(SERVERS[0], OSError("refused"))
    wait_for(lambda: adapter.failures.down == {SERVERS[0]})
    assert watch._thread is not None  # the parent's thread, still probing
    pid = os.fork()
    if pid == 0:  # the child: the parent's thread is not running here
        os._exit(_in_child(adapter, probes))
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    watch.close()


def test_a_round_that_raises_is_logged_once_and_the_watch_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    probes = Probes()
    probes.down.add(SERVERS[0])
    adapter, watch = watched(probes)
    raised: list[str] = []

    def probe(server: str, timeout: float) -> float | None:
        if len(raised) < 3:
            raised.append(server)
            raise RuntimeError("a bug in a probe")
        return probes(server, timeout)

    watch._probe = probe
    adapter._report(SERVERS[0], OSError("refused"))
    wait_for(lambda: adapter.failures.down == {SERVERS[0]})  # probed again, found down
    assert raised == [SERVERS[0]] * 3
    assert messages(caplog, logging.ERROR) == ["a round of the memcached server watch failed"]
    watch.close()
    wait_for(lambda: watch._thread is None)
