"""An async pass holder whose release the cache did not confirm: a later
caller of its loop finishes the release (the sync ``OnePass``'s rule,
tests/patterns/test_onepass_failures.py) instead of waiting for the pass to
expire."""

from __future__ import annotations

import asyncio
import time

from caching.aio import AsyncMemoryCache
from caching.aio.cached import AsyncCached
from tests.patterns.test_onepass_failures import FailingRelease


def test_no_caller_of_the_holders_loop_waits_on_a_pass_it_could_not_release() -> None:
    # the holder's store and its release both failed (a server coming back)
    store = FailingRelease(failures=1000, lost_sets=("k",))
    cache = AsyncMemoryCache(cache=store)
    cached = AsyncCached(cache, time=60, timeout=20)
    calls: list[str] = []

    async def create(value: str) -> str:
        calls.append(value)
        await asyncio.sleep(0.05)
        return value

    async def main() -> tuple[str, list[str]]:
        first = await cached.get_or_create("k", lambda: create("first"))
        assert store.get("one_pass:k") is not None  # orphaned
        store.failures, store.lost_sets = 0, ()  # the server answers again
        later = await asyncio.gather(
            *(cached.get_or_create("k", lambda: create("second")) for _ in range(4))
        )
        return first, list(later)

    started = time.monotonic()
    first, later = asyncio.run(main())
    assert first == "first"
    assert later == ["second"] * 4
    assert calls == ["first", "second"]  # the dead pass was deleted and taken once
    assert time.monotonic() - started < 10  # far below the 20 s timeout
    assert store.get("one_pass:k") is None
