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


class _StopOn:
    """A MemoryCache whose ``method`` raises ``StopIteration`` (a client
    library that leaks one from an iterator it drives)."""

    def __init__(self, method: str) -> None:
        self.inner = MemoryCache()
        self.method = method

    def __getattr__(self, name: str) -> Any:
        if name == self.method:

            def stop(*args: Any) -> Any:
                raise StopIteration("from the client")

            return stop
        return getattr(self.inner, name)


def test_a_stop_iteration_a_call_raises_reaches_the_caller_as_itself() -> None:
    """A sync backend call raising StopIteration: run raises that very
    StopIteration (before: the generator turned it into RuntimeError
    'generator raised StopIteration'), and steps catching it still can. (An
    async call cannot: a coroutine turns it into RuntimeError itself.)"""

    def steps() -> Steps[None]:
        yield ("get", ("k",))

    def caught() -> Steps[str]:
        try:
            yield ("get", ("k",))
        except StopIteration:
            return "caught"
        return "not raised"

    with pytest.raises(StopIteration, match="from the client"):
        run(steps(), _StopOn("get"))
    assert run(caught(), _StopOn("get")) == "caught"


def _no_key(item: Any) -> str:
    return next(iter(()))  # a key builder that leaks StopIteration


def test_a_stop_iteration_the_steps_own_code_raises_reaches_the_caller_as_itself() -> None:
    """User code the steps run (a key builder, should_cache) raising
    StopIteration: the sync multi paths raise it as the direct calls did
    (before: RuntimeError 'generator raised StopIteration'); a RuntimeError
    of its own stays one."""
    from caching.patterns import Cached

    multi = Cached(MemoryCache()).wraps_get_or_set_multi(make_key=_no_key)(lambda ids: {})
    with pytest.raises(StopIteration):
        multi.get_multi([1])
    with pytest.raises(StopIteration):
        multi.set_multi({1: 1})
    refusing = Cached(MemoryCache(), should_cache=lambda value: next(iter(())))
    with pytest.raises(StopIteration):
        refusing.get_or_set_multi(str, lambda missing: {i: i for i in missing}, [1])

    def broken() -> Steps[None]:
        yield ("get", ("k",))
        raise RuntimeError("its own") from KeyError("why")

    with pytest.raises(RuntimeError, match="its own") as raised:
        run(broken(), MemoryCache())
    assert isinstance(raised.value.__cause__, KeyError)  # its cause kept


@pytest.mark.parametrize("method", ["get_multi", "delete_multi", "add"])
def test_a_lockout_lets_a_stop_iteration_through_as_itself(method: str) -> None:
    from caching.patterns.lockout import Counter, Locker

    locker = Locker(
        _StopOn(method),
        forbid_action=lambda ctx: "forbidden",
        by_ip=lambda **t: Counter(key_func=lambda ctx: ctx, **t),
    )
    lockout = locker.define("sign in", by_ip={"count": 1, "period": 60, "duration": 60})

    def calls() -> None:  # the method is called by one of them
        lockout.incr("10.0.0.1")
        lockout.incr("10.0.0.1")
        lockout.locked("10.0.0.1")
        lockout.reset("10.0.0.1")

    with pytest.raises(StopIteration, match="from the client"):
        calls()


def test_a_dependency_lets_a_stop_iteration_through_as_itself() -> None:
    from caching.patterns.dependency import CacheDependency

    with pytest.raises(StopIteration, match="from the client"):
        CacheDependency(_StopOn("incr")).add("master", "k")
