"""The restart scenario of issue 17, for threads and for spawned processes.

Threads call ``Cached(cache, time=60).get_or_create`` on a few keys (a 50 ms
creator), deleting a key now and then, while memcached is killed and started
again on the same port. Each thread notes the slowest call, the calls that
raised and the values that were not the creator's. Kept free of pytest so
that a spawned child imports it quickly.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from caching import from_url
from caching.patterns import Cached
from caching.testing.threads import run_threads

#: Seconds the creator of a value takes.
CREATOR_SECONDS = 0.05
#: Chance that a call deletes its key first ("now and then").
DELETE_CHANCE = 0.02
#: Seconds a thread pauses between two calls (a request's own work).
PAUSE = 0.005

_SPAWN = multiprocessing.get_context("spawn")


@dataclass
class Outcome:
    """What the threads of one process saw."""

    worst: float = 0.0
    #: seconds after the start at which the worst call began
    worst_at: float = 0.0
    calls: int = 0
    errors: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    def merge(self, other: Outcome) -> Outcome:
        worst, worst_at = max((self.worst, self.worst_at), (other.worst, other.worst_at))
        return Outcome(
            worst,
            worst_at,
            self.calls + other.calls,
            self.errors + other.errors,
            self.wrong + other.wrong,
        )


def value_of(key: str) -> str:
    return f"value of {key}"


def run_calls(cache: Any, prefix: str, threads: int, keys: int, seconds: float) -> Outcome:
    """``threads`` threads call ``get_or_create`` for ``seconds`` seconds."""
    cached = Cached(cache, time=60)
    started = time.monotonic()
    stop_at = started + seconds

    def work(index: int) -> Outcome:
        rng = random.Random(f"{prefix}-{index}")
        seen = Outcome()
        while time.monotonic() < stop_at:
            key = f"{prefix}:{rng.randrange(keys)}"

            def create(key: str = key) -> str:
                time.sleep(CREATOR_SECONDS)
                return value_of(key)

            if rng.random() < DELETE_CHANCE:
                cache.delete(key)
            begun = time.monotonic()
            try:
                value = cached.get_or_create(key, create)
            except Exception as exc:  # noted: no call may raise
                seen.errors.append(repr(exc))
                value = value_of(key)
            took = time.monotonic() - begun
            if took > seen.worst:
                seen.worst, seen.worst_at = took, begun - started
            if value != value_of(key):
                seen.wrong.append(f"{key}: {value!r}")
            seen.calls += 1
            time.sleep(PAUSE)
        return seen

    outcome = Outcome()
    for seen in run_threads(threads, work, timeout=seconds + 60):
        outcome = outcome.merge(seen)
    return outcome


@dataclass
class Timeline:
    """When the server goes down and comes back, in seconds after the start."""

    kill: float
    restart: float
    total: float


def restart_server(server: Any, timeline: Timeline, started: float) -> None:
    """Stop ``server`` at ``timeline.kill`` and start it at
    ``timeline.restart`` (seconds after ``started``, a monotonic time)."""
    time.sleep(max(0.0, started + timeline.kill - time.monotonic()))
    server.stop()
    time.sleep(max(0.0, started + timeline.restart - time.monotonic()))
    server.start()


def in_threads(
    cache: Any, server: Any, timeline: Timeline, prefix: str, threads: int, keys: int
) -> Outcome:
    """The scenario in this process; the server restarted by another thread."""
    started = time.monotonic()
    controller = threading.Thread(target=restart_server, args=(server, timeline, started))
    controller.start()
    try:
        return run_calls(cache, prefix, threads, keys, timeline.total)
    finally:
        controller.join(30)


def _process(
    barrier: Any, results: Any, url: str, prefix: str, threads: int, keys: int, seconds: float
) -> None:
    try:
        # The adapters' warnings go nowhere (not to logging's last resort,
        # which would print each child's to the test run's stderr).
        logging.getLogger("caching").addHandler(logging.NullHandler())
        cache = from_url(url)
        cache.get(f"{prefix}:warm")  # connect before the start
        barrier.wait(60)
        results.put((True, run_calls(cache, prefix, threads, keys, seconds)))
    except BaseException as exc:
        barrier.abort()
        results.put((False, repr(exc)))


def in_processes(
    url: str,
    server: Any,
    timeline: Timeline,
    prefix: str,
    processes: int,
    threads: int,
    keys: int,
    restart: Callable[[Any, Timeline, float], None] = restart_server,
) -> Outcome:
    """The scenario in ``processes`` spawned processes sharing the server
    (through ``url``); this process restarts it.

    :raises RuntimeError: a child failed or did not report in time.
    """
    barrier = _SPAWN.Barrier(processes + 1)
    results = _SPAWN.Queue()
    args = (barrier, results, url, prefix, threads, keys, timeline.total)
    children = [_SPAWN.Process(target=_process, args=args) for _ in range(processes)]
    for child in children:
        child.start()
    try:
        barrier.wait(60)
        restart(server, timeline, time.monotonic())
        reports = [results.get(timeout=timeline.total + 60) for _ in children]
    except queue.Empty:
        raise RuntimeError("a child process did not report in time") from None
    finally:
        for child in children:
            child.join(10)
            if child.is_alive():
                child.terminate()
    failures = [value for ok, value in reports if not ok]
    if failures:
        raise RuntimeError(f"child process failed: {failures[0]}")
    outcome = Outcome()
    for _, seen in reports:
        outcome = outcome.merge(seen)
    return outcome
