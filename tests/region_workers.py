"""Work done in spawned child processes by the region and invalidation tests.

Kept free of pytest so that a spawned child imports it quickly.
"""

from __future__ import annotations

import time
from typing import Any

from caching import from_url
from caching.patterns import Cached, key_builder

#: The "database" row the cached functions read, kept in the shared memcached.
ROW = "db:row"


def slow_creator(url: str, decorator: str, read: Any, go: Any, done: Any) -> str:
    """Call a decorated function whose creator reads :data:`ROW`, then sets
    ``read`` and waits for ``go`` before it returns (and so before it stores).

    :returns: what the call returned.
    """
    cache = from_url(url)
    cached = Cached(cache, key_builder("race"), time=60)

    @getattr(cached, decorator)
    def listing(name: str) -> Any:
        row = cache.get(ROW)
        read.set()
        if not go.wait(30):
            raise RuntimeError("never told to go on")
        return f"{name}:{row}"

    try:
        return str(listing("tea"))
    finally:
        done.set()
        cache.close()  # type: ignore[attr-defined]


def region_hits(
    url: str,
    check: float,
    start: Any,
    invalidated: Any,
    results: Any,
    calls: int,
    pause: float,
) -> None:
    """Configure a region over ``url`` and call a cached function in a loop.

    Puts on ``results``: ``("ready", None)`` once it has a hit; then, after
    ``invalidated`` is set, the seconds until a call ran the function again,
    and the calls made meanwhile.
    """
    from caching.regions import Region

    region = Region("shared", invalidation_check=check)
    counted: list[float] = []

    @region.cache_on_arguments
    def report(name: str) -> str:
        counted.append(time.monotonic())
        return f"report {name} #{len(counted)}"

    region.configure(url, time=60)
    report("x")
    report("x")
    results.put(("ready", len(counted)))
    if not start.wait(30):
        raise RuntimeError("never started")
    made = len(counted)
    for _ in range(calls):
        report("x")
        time.sleep(pause)
    results.put(("hits", len(counted) - made))
    if not invalidated.wait(30):
        raise RuntimeError("never invalidated")
    seen = time.monotonic()
    before = len(counted)
    deadline = seen + 30
    while len(counted) == before and time.monotonic() < deadline:
        report("x")
        time.sleep(0.01)
    results.put(("rerun", time.monotonic() - seen if len(counted) > before else None))


def reporting(target: str, results: Any, *args: Any) -> None:
    """Run ``globals()[target](*args)`` and put ``(True, answer)`` or
    ``(False, repr(error))`` on ``results``."""
    try:
        results.put((True, globals()[target](*args)))
    except BaseException as exc:
        results.put((False, repr(exc)))
