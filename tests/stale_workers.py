"""Work done in spawned child processes by the stale-while-revalidate tests
(kept free of pytest so that a child imports it quickly)."""

from __future__ import annotations

import threading
import time
from typing import Any

from caching import from_url
from caching.patterns import Cached

#: The key of the shared counter of creator runs, in the test's memcached.
RUNS = "swr:runs"


def creator(cache: Any, seconds: float) -> Any:
    """A creator that takes ``seconds`` and counts its runs on the server."""

    def create() -> str:
        run = cache.incr(RUNS, 1, initial_value=0)
        time.sleep(seconds)
        return f"v{run}"

    return create


def stale_hits(url: str, threads: int, start_at: float, results: Any) -> None:
    """``threads`` threads call ``get_or_create`` at wall-clock ``start_at``;
    each puts ``(value, seconds)`` in ``results``."""
    cache = from_url(url)
    cached = Cached(cache, time=1, stale=30)
    create = creator(cache, 0.3)
    barrier = threading.Barrier(threads)

    def call() -> None:
        barrier.wait()
        started = time.monotonic()
        value = cached.get_or_create("swr:item", create)
        results.put((value, time.monotonic() - started))

    time.sleep(max(0.0, start_at - time.time()))
    workers = [threading.Thread(target=call) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)


def soft_invalidator(url: str, ready: Any, done: Any) -> None:
    """Another process: configure the region, wait for ``ready``, make its
    values stale (``invalidate(hard=False)``), set ``done``."""
    from caching.regions import Region

    region = Region("soft_two_processes", time=60, stale=600, invalidation_check=0.2)
    region.configure(url)
    if not ready.wait(30):
        raise RuntimeError("never told to invalidate")
    if not region.invalidate(hard=False):
        raise RuntimeError("the soft invalidation was not confirmed")
    done.set()
