"""caching.steps: one generator of cache calls run on a sync and an async
backend; a call's exception is thrown in at its step. And what rides on it:
AsyncCacheDependency deletes a group whose wire holds a foreign value, as the
sync one does."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from caching import MemoryCache
from caching.aio import AsyncMemoryCache, InLoop
from caching.aio.dependency import AsyncCacheDependency
from caching.errors import InvalidKeyError
from caching.patterns.dependency import dependent_key
from caching.steps import Steps, run, run_async


def script(log: list[Any]) -> Steps[str]:
    """Stores, reads, then tries an invalid key and recovers from its error."""
    log.append((yield ("set", ("k", 1))))
    log.append((yield ("get", ("k",))))
    try:
        yield ("get", ("two words",))
    except InvalidKeyError:
        log.append("refused")
    log.append((yield ("incr", ("k", 2))))
    return "done"


def test_the_same_steps_answer_the_same_on_a_sync_and_an_async_backend() -> None:
    sync_log: list[Any] = []
    async_log: list[Any] = []
    assert run(script(sync_log), MemoryCache()) == "done"
    assert asyncio.run(run_async(script(async_log), AsyncMemoryCache())) == "done"
    assert sync_log == async_log == [True, 1, "refused", 3]


def test_an_error_the_steps_do_not_catch_reaches_the_caller() -> None:
    def steps() -> Steps[None]:
        yield ("get", ("two words",))

    with pytest.raises(InvalidKeyError):
        run(steps(), MemoryCache())
    with pytest.raises(InvalidKeyError):
        asyncio.run(run_async(steps(), AsyncMemoryCache()))


def test_a_cancellation_is_thrown_into_the_steps_at_their_call() -> None:
    seen: list[str] = []

    class Slow:
        async def get(self, key: str) -> Any:
            await asyncio.sleep(10)

    def steps() -> Steps[None]:
        try:
            yield ("get", ("k",))
        finally:
            seen.append("left")

    async def main() -> None:
        task = asyncio.create_task(run_async(steps(), Slow()))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert seen == ["left"]


@pytest.mark.parametrize("foreign", [42, "two words", "x" * 300, ""], ids=repr)
def test_an_async_dependency_skips_a_wire_holding_a_foreign_value(foreign: Any) -> None:
    sync = MemoryCache()
    cache = InLoop(sync)

    async def body() -> bool:
        dependency = AsyncCacheDependency(cache, time=60)
        await cache.set_multi({"a": 1, "b": 2})
        await dependency.add_multi("group", ["a", "b"])
        await cache.set(dependent_key("group", 1), foreign)  # someone else's item
        return await dependency.delete("group")

    assert asyncio.run(body()) is True
    assert sync.get_multi(["a", "b", "group"]) == {"a": 1}
