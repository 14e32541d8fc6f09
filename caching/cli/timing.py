"""Timing for ``python -m caching bench`` (standard library only).

Kept in the package so that the installed command works without the
repository's ``benchmarks/`` directory; it follows the same method as
``benchmarks/harness.py``: the garbage collector paused, implementations
timed in turns, the best round kept, in-process work on the thread's CPU
clock (which other processes on a busy machine do not inflate).
"""

from __future__ import annotations

import gc
import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["CLOCKS", "CallFailedError", "best_in_turns", "gc_paused", "per_call"]

#: ``wall`` for anything that waits on a server, ``cpu`` for in-process work.
CLOCKS: dict[str, Callable[[], int]] = {"cpu": time.thread_time_ns, "wall": time.perf_counter_ns}


class CallFailedError(Exception):
    """The call named ``name`` raised while it was timed (the cause is chained)."""

    def __init__(self, name: str, cause: Exception) -> None:
        super().__init__(f"{name}: {type(cause).__name__}: {cause}")
        self.name = name
        self.reason = f"{type(cause).__name__}: {cause}"


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the garbage collector (if it runs) for the block."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def per_call(call: Callable[[], object], ops: int, clock: str = "wall") -> float:
    """One run of ``ops`` calls of ``call``, in nanoseconds per call.

    :param call: the operation, taking no argument.
    :param ops: calls in the run, ``>= 1``.
    :param clock: a name of :data:`CLOCKS`.
    :raises ValueError: ``ops`` below 1.
    """
    if ops < 1:
        raise ValueError(f"ops must be >= 1, got {ops}")
    now = CLOCKS[clock]
    started = now()
    for _ in itertools.repeat(None, ops):
        call()
    return (now() - started) / ops


def best_in_turns(
    calls: dict[str, Callable[[], object]], ops: int, rounds: int = 3, clock: str = "wall"
) -> dict[str, float]:
    """Best nanoseconds per call of each of ``calls``, timed in turns.

    Each round runs every call once, back to back, so that a burst of load
    falls on all of them rather than on one; the garbage collector is paused.

    :param calls: name -> operation.
    :param ops: calls per run.
    :param rounds: runs of each, ``>= 1``; the best is kept.
    :raises ValueError: ``ops`` or ``rounds`` below 1.
    :raises CallFailedError: one of ``calls`` raised.
    """
    if ops < 1 or rounds < 1:
        raise ValueError(f"ops and rounds must be >= 1, got {ops} and {rounds}")
    best = dict.fromkeys(calls, float("inf"))
    with gc_paused():
        for _ in range(rounds):
            for name, call in calls.items():
                try:
                    best[name] = min(best[name], per_call(call, ops, clock))
                except Exception as exc:
                    raise CallFailedError(name, exc) from exc
    return best
