"""Threads released together, for the concurrency tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["run_threads"]


def run_threads(threads: int, work: Callable[[int], Any], timeout: float = 60.0) -> list[Any]:
    """Run ``work(index)`` in ``threads`` threads released together by a barrier.

    :param threads: how many threads.
    :param work: called once in each thread with its index ``0 .. threads-1``.
    :param timeout: seconds to wait for each thread.
    :returns: the results of ``work``, by index.
    :raises BaseException: the first exception a thread raised.
    """
    start = threading.Barrier(threads)
    results: list[Any] = [None] * threads
    errors: list[BaseException] = []

    def body(index: int) -> None:
        start.wait()
        try:
            results[index] = work(index)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=body, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout)
    if errors:
        raise errors[0]
    return results
