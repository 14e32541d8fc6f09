"""Timing for ``python -m caching bench`` (standard library only).

Kept in the package so that the installed command works without the
repository's ``benchmarks/`` directory.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

__all__ = ["per_call"]


def per_call(call: Callable[[], object], ops: int, rounds: int = 3) -> float:
    """Time ``call``: the best of ``rounds`` runs of ``ops`` calls.

    The best run is the one least disturbed by the rest of the machine; the
    loop's own cost (a few tens of nanoseconds) is included.

    :param call: the operation, taking no argument.
    :param ops: calls per run, ``>= 1``.
    :param rounds: runs, ``>= 1``.
    :returns: seconds per call.
    :raises ValueError: ``ops`` or ``rounds`` below 1.
    """
    if ops < 1 or rounds < 1:
        raise ValueError(f"ops and rounds must be >= 1, got {ops} and {rounds}")
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in itertools.repeat(None, ops):
            call()
        best = min(best, time.perf_counter() - started)
    return best / ops
