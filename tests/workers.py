"""Work done in child processes (``multiprocessing`` spawn) by the cross-process tests.

Each worker builds its own backend from a memcached URL, waits on a barrier
shared by every process, runs its threads together, and puts its results on a
queue. Kept free of pytest so that a spawned child imports it quickly.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable
from typing import Any

from caching import from_url
from caching.patterns import Cached, OnePass
from caching.patterns.lockout import Counter, Locker
from caching.patterns.onepass_handler import OnePassHandler
from caching.testing.threads import run_threads

HERD_CREATOR_SECONDS = 0.2

_SPAWN = multiprocessing.get_context("spawn")


def run_processes(target: Callable[..., Any], processes: int, *args: Any) -> list[Any]:
    """Run ``target(barrier, results, index, *args)`` in spawned processes; their results.

    :raises RuntimeError: a child failed or did not report within 60 s.
    """
    barrier = _SPAWN.Barrier(processes)
    results = _SPAWN.Queue()
    children = [
        _SPAWN.Process(target=_report, args=(target, barrier, results, index, *args))
        for index in range(processes)
    ]
    for child in children:
        child.start()
    try:
        reports = [results.get(timeout=60) for _ in children]
    except queue.Empty:
        raise RuntimeError("a child process did not report within 60 s") from None
    finally:
        for child in children:
            child.join(10)
            if child.is_alive():
                child.terminate()
    failures = [value for ok, value in reports if not ok]
    if failures:
        raise RuntimeError(f"child process failed: {failures[0]}")
    return [value for _, value in reports]


def _report(target: Callable[..., Any], barrier: Any, results: Any, *args: Any) -> None:
    try:
        results.put((True, target(barrier, *args)))
    except BaseException as exc:
        barrier.abort()
        results.put((False, repr(exc)))


# -- the herd ------------------------------------------------------------------


def herd(barrier: Any, index: int, url: str, key: str, threads: int) -> list[tuple[Any, float]]:
    """``threads`` threads call ``get_or_create(key)`` at once.

    The creator counts its calls in ``key + ":calls"`` and stores the time it
    finished in ``key + ":done"``. Returns each thread's (value, time it got
    the value).
    """
    cache = from_url(url)
    cached = Cached(cache, time=60, timeout=10)

    def create() -> str:
        cache.incr(key + ":calls", 1, None, 0)
        time.sleep(HERD_CREATOR_SECONDS)
        cache.set(key + ":done", time.time())
        return f"made by process {index}"

    def work(_: int) -> tuple[Any, float]:
        value = cached.get_or_create(key, create)
        return value, time.time()

    cache.get(key)  # connect before the start
    barrier.wait(30)
    return run_threads(threads, work)


# -- a holder that dies -------------------------------------------------------


def hold_pass(url: str, key: str, value: Any, life: int, holding: Any, seconds: float) -> None:
    """Take ``get_or_create``'s one-pass guard of ``key`` (as ``Cached`` names
    it) for ``life`` seconds and put ``"holding"`` on the queue ``holding``;
    ``seconds`` later store ``value`` under ``key`` (unless it is ``None``)
    and die by SIGKILL, leaving the pass behind: a holder killed before its
    release (or before it stored the value)."""
    cache = from_url(url)
    guard = Cached(cache)._pass_key(key)
    with OnePass(cache, guard, life) as one_pass:
        if not one_pass.acquired:
            holding.put("not acquired")
            return
        holding.put("holding")
        time.sleep(seconds)
        if value is not None:
            cache.set(key, value, 60)
        os.kill(os.getpid(), signal.SIGKILL)


def start_holder(
    url: str, key: str, value: Any, life: int, seconds: float
) -> multiprocessing.process.BaseProcess:
    """Spawn :func:`hold_pass`; return the process once it holds the pass.

    :raises RuntimeError: it did not take the pass within 60 s.
    """
    holding = _SPAWN.Queue()
    child = _SPAWN.Process(target=hold_pass, args=(url, key, value, life, holding, seconds))
    child.start()
    try:
        answer = holding.get(timeout=60)
    except queue.Empty:
        answer = "no answer within 60 s"
    if answer != "holding":
        child.kill()
        child.join(10)
        raise RuntimeError(f"the holder did not take the pass: {answer}")
    return child


# -- the lockout ---------------------------------------------------------------


class Context:
    """What a guarded call receives: the client's address."""

    def __init__(self, ip: str) -> None:
        self.ip = ip


def sign_in_lockouts(cache: Any, counts: list[int], alert: Any = None) -> dict[int, Any]:
    """One lockout of one address per threshold in ``counts``: ``count -> Lockout``."""
    locker = Locker(
        cache,
        forbid_action=lambda ctx: "locked",
        by_ip=lambda **terms: Counter(key_func=lambda ctx: ctx.ip, alert=alert, **terms),
    )
    return {
        count: locker.define(
            f"sign in {count}", by_ip={"count": count, "period": 60, "duration": 60}
        )
        for count in counts
    }


def lockout_failures(
    barrier: Any, index: int, url: str, counts: list[int], threads: int, failures: int
) -> bool:
    """``threads`` threads each fail ``failures`` sign-ins for one address,
    guarded by one lockout per threshold in ``counts``.

    Alerts are counted in the cache under ``"alerts:<lockout name>"``. A
    guarded call that raises fails the child (it never should).
    """
    cache = from_url(url)

    def alert(ctx: Context, name: str, counter: Counter) -> None:
        cache.incr(f"alerts:{name}".replace(" ", "_"), 1, None, 0)

    def sign_in(ctx: Context) -> bool:
        return False

    for lockout in sign_in_lockouts(cache, counts, alert).values():
        sign_in = lockout.guard(sign_in)

    def work(_: int) -> None:
        for _ in range(failures):
            sign_in(Context("10.0.0.1"))

    cache.get("alerts")
    barrier.wait(30)
    run_threads(threads, work)
    return True


# -- the one-pass log handler --------------------------------------------------


class ListHandler(logging.Handler):
    """Keeps the messages it handles."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def log_same_message(barrier: Any, index: int, url: str, threads: int, times: int) -> list[str]:
    """Log one shared message (and one of this process) many times; the messages
    that reached the inner handler."""
    inner = ListHandler()
    logger = logging.getLogger(f"tests.workers.onepass.{index}")
    logger.propagate = False
    logger.addHandler(OnePassHandler(inner, from_url(url), 60))

    def work(_: int) -> None:
        for _ in range(times):
            logger.warning("disk full on %s", "db1")
            logger.warning("process %d started", index)

    barrier.wait(30)
    run_threads(threads, work)
    return inner.messages


def log_while_down(barrier: Any, index: int, url: str, records: int, seconds: float) -> list[str]:
    """Log one message ``records`` times over ``seconds`` through a
    ``OnePassHandler`` on ``url`` (a server that is down); the messages that
    reached the inner handler."""
    inner = ListHandler()
    logger = logging.getLogger(f"tests.workers.onepass_down.{index}")
    logger.propagate = False
    logger.addHandler(OnePassHandler(inner, from_url(url), 60))
    barrier.wait(30)
    for _ in range(records):
        logger.error("disk full on %s", "db1")
        time.sleep(seconds / records)
    return inner.messages
