"""Stale-while-revalidate and events on the hit path, against dogpile.cache.

``python -m benchmarks.swr``: the ``get_or_create`` and decorated-function
hit paths of ``Cached`` on a ``MemoryCache``, without and with ``stale``, and
with an event listener subscribed, beside dogpile.cache's ``get_or_create``
and ``cache_on_arguments`` on its memory backend (with an
``expiration_time``, dogpile's own stale-serving setting), in one run. Then a
stale hit under a herd: 20 threads meet a stale item whose creator takes
300 ms; the waiting time of the callers that do not rebuild, and the
creator calls.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable

from benchmarks.harness import Row, compare, render
from caching import MemoryCache, events
from caching.patterns import Cached

OPS = 20_000


def _hits(stale: int, listener: bool) -> dict[str, Callable[[], object]]:
    cached = Cached(MemoryCache(), time=3600, stale=stale)

    @cached.wraps_get_or_create
    def page(n: int) -> str:
        return f"page {n}"

    cached.get_or_create("k", lambda: "v")
    page(1)
    get_or_create = cached.get_or_create
    create = lambda: "v"  # noqa: E731

    def by_key() -> None:
        for _ in range(OPS):
            get_or_create("k", create)

    def decorated() -> None:
        for _ in range(OPS):
            page(1)

    if listener:
        events.subscribe(lambda event: None)
    return {"get_or_create": by_key, "decorated": decorated}


def _dogpile() -> dict[str, Callable[[], object]] | None:
    try:
        from dogpile.cache import make_region
    except ImportError:
        return None
    region = make_region().configure("dogpile.cache.memory", expiration_time=3600)

    @region.cache_on_arguments()
    def page(n: int) -> str:
        return f"page {n}"

    region.get_or_create("k", lambda: "v")
    page(1)
    create = lambda: "v"  # noqa: E731

    def by_key() -> None:
        for _ in range(OPS):
            region.get_or_create("k", create)

    def decorated() -> None:
        for _ in range(OPS):
            page(1)

    return {"get_or_create": by_key, "decorated": decorated}


def hit_rows() -> list[Row]:
    plain, stale = _hits(0, False), _hits(600, False)
    peer = _dogpile()
    runs: dict[str, Callable[[], object]] = {}
    for op in ("get_or_create", "decorated"):
        runs[f"caching {op}"] = plain[op]
        runs[f"stale {op}"] = stale[op]
        if peer is not None:
            runs[f"dogpile {op}"] = peer[op]
    timed = compare(runs, OPS, clock="cpu")
    listened = _hits(600, True)  # subscribed last: it turns events on for all
    timed_listener = compare(
        {f"listener {op}": listened[op] for op in ("get_or_create", "decorated")}, OPS, clock="cpu"
    )
    rows = []
    for op in ("get_or_create", "decorated"):
        rows.append(
            Row(
                f"{op} hit",
                {
                    "caching": timed[f"caching {op}"],
                    "with stale": timed[f"stale {op}"],
                    "stale + listener": timed_listener[f"listener {op}"],
                    "dogpile": timed.get(f"dogpile {op}"),
                },
            )
        )
    return rows


def stale_herd(refresh: str) -> tuple[list[float], int]:
    """20 threads meet a stale item (300 ms creator): the non-rebuilding
    callers' seconds, and the creator calls."""
    cached = Cached(MemoryCache(), time=1, stale=30, refresh=refresh)
    calls = []

    def create() -> str:
        calls.append(1)
        time.sleep(0.3 if len(calls) > 1 else 0)
        return f"v{len(calls)}"

    cached.get_or_create("k", create)
    time.sleep(1.2)
    barrier = threading.Barrier(20)
    waits: list[tuple[str, float]] = []

    def call() -> None:
        barrier.wait()
        started = time.perf_counter()
        value = cached.get_or_create("k", create)
        waits.append((value, time.perf_counter() - started))

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(0.5)
    served = [seconds for value, seconds in waits if value == "v1"]
    return served, len(calls) - 1


def main(argv: list[str] | None = None) -> None:
    print(render("Hit paths (CPU ns per call; peers' ratio to caching)", hit_rows()))
    print()
    print("### A stale item met by 20 threads (300 ms creator)")
    print()
    print("| refresh | callers served stale | their wait: median | max | rebuilds |")
    print("| --- | --- | --- | --- | --- |")
    for refresh in ("inline", "background"):
        served, rebuilds = stale_herd(refresh)
        median = statistics.median(served) * 1000
        print(
            f"| {refresh} | {len(served)} | {median:.2f} ms | {max(served) * 1000:.2f} ms | "
            f"{rebuilds} |"
        )


if __name__ == "__main__":
    main()
