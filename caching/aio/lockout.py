"""``AsyncLocker``/``AsyncLockout``: :mod:`caching.patterns.lockout` for asyncio.

The same lockout over an :class:`~caching.aio.contract.AsyncCache`: the same
:class:`~caching.patterns.lockout.Counter` terms, the same keys
(``c:sign_in:by_ip:10.0.0.7``, ``lock:`` + counter key), the same counting
(``add`` then ``incr``, the lock taken with ``add``), the same ``on_failure``
modes, retry period and alerts. Those decisions are the sync lockout's steps
(:class:`caching.patterns.lockout._LockoutBase`), run here by awaiting each
cache call (:func:`caching.steps.run_async`), so nothing blocks the
event loop and a sync and an async service sharing a memcached count on the
same counters and honour each other's locks. ``"local"`` mode's in-process
store is a :class:`~caching.memory.MemoryCache`, which never blocks, called
inline.

What is async-specific:

* ``guard``, ``quota`` and ``forbid_locked`` return ``async def`` wrappers:
  the guarded function's result is awaited when it is awaitable (an
  ``async def``, or a callable answering a coroutine), and so is the result
  of ``forbid_action`` and of a counter's ``alert``;
* ``locked``, ``incr``, ``reset`` and ``force_reset`` are coroutines;
* a call cancelled mid-way raises ``CancelledError``: an event counted on
  some counters only stays counted there (as with a sync caller killed
  mid-way).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from caching.aio.contract import AsyncCache
from caching.patterns.decorators import apply_decorator
from caching.patterns.lockout import (
    Action,
    Counter,
    NullLocker,
    NullLockout,
    _LockerBase,
    _LockoutBase,
)
from caching.steps import run_async

__all__ = ["AsyncLocker", "AsyncLockout", "AsyncNullLocker", "AsyncNullLockout"]


async def _answer(result: Any) -> Any:
    """``result``, awaited when it is awaitable."""
    if inspect.isawaitable(result):
        return await result
    return result


class AsyncLocker(_LockerBase[AsyncCache]):
    """:class:`caching.patterns.lockout.Locker` over an async cache: the same
    arguments (``cache`` an :class:`~caching.aio.contract.AsyncCache`;
    ``forbid_action`` and the counters' ``alert`` may be sync or ``async``).

    :raises ValueError: ``on_failure`` is not one of
        :data:`~caching.patterns.lockout.ON_FAILURE`, or ``retry_period`` is
        negative.
    :raises TypeError: ``on_failure`` is not a ``str``.
    """

    def define(self, name: str, **terms: dict[str, Any]) -> AsyncLockout:
        """As :meth:`caching.patterns.lockout.Locker.define`.

        :returns: an :class:`AsyncLockout` keying its counters as the sync one.
        :raises KeyError: a term the locker does not know.
        """
        return self._define(AsyncLockout, name, terms)


class AsyncLockout(_LockoutBase[AsyncCache]):
    """:class:`caching.patterns.lockout.Lockout` for coroutine functions;
    each method answers as the sync method of its name, as a coroutine.

    Made by :meth:`AsyncLocker.define`, or by hand with the sync
    constructor's arguments (``cache`` an async cache).
    """

    def guard(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate ``async def func(ctx, ...) -> bool``: a failure counts, a
        success resets the counters that support ``reset``.

        :returns: an ``async def`` wrapper answering ``func``'s (awaited) result.
        """

        @functools.wraps(func)
        async def guard_wrapper(ctx: Any, *args: Any, **kwargs: Any) -> Any:
            succeed = await _answer(func(ctx, *args, **kwargs))
            if succeed:
                await self.reset(ctx)
            else:
                await self.incr(ctx)
            return succeed

        return guard_wrapper

    def quota(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate ``async def func(ctx, ...) -> bool``: each success counts."""

        @functools.wraps(func)
        async def quota_wrapper(ctx: Any, *args: Any, **kwargs: Any) -> Any:
            succeed = await _answer(func(ctx, *args, **kwargs))
            if succeed:
                await self.incr(ctx)
            return succeed

        return quota_wrapper

    def forbid_locked(self, wrapped: Any = None, action: Action | None = None) -> Any:
        """Decorate ``async def func(ctx, ...)``: while any counter's lock is
        set, answer ``action(ctx)`` (default: the locker's ``forbid_action``;
        awaited when awaitable) instead. One ``get_multi`` per call while the
        cache works; while it fails, see :meth:`locked`."""
        forbid = action or self.forbid_action

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            async def forbid_locked_wrapper(ctx: Any, *args: Any, **kwargs: Any) -> Any:
                if await self.locked(ctx):
                    return await _answer(forbid(ctx))
                return await _answer(func(ctx, *args, **kwargs))

            return forbid_locked_wrapper

        return apply_decorator(wrapped, decorate)

    async def locked(self, ctx: Any) -> bool:
        """Whether a lock of ``ctx`` is set (as the sync ``Lockout.locked``)."""
        return await run_async(self._locked_steps(ctx), self.cache)

    async def reset(self, ctx: Any) -> None:
        """Remove the counters of ``ctx`` that support reset, and their locks."""
        await run_async(self._delete_steps(ctx, True), self.cache)

    async def force_reset(self, ctx: Any) -> None:
        """Remove every counter of ``ctx`` and its lock."""
        await run_async(self._delete_steps(ctx, False), self.cache)

    async def incr(self, ctx: Any) -> None:
        """Count one event of ``ctx`` on every counter and lock those that
        reach their ``count``; the alert of each lock this call engaged is
        called (and awaited when awaitable) once.

        :raises: the first exception an alert raised, once every alert due
            was called.
        """
        engaged: list[Counter] = await run_async(self._incr_steps(ctx), self.cache)
        first: Exception | None = None
        for counter in engaged:
            if counter.alert is not None:
                try:
                    await _answer(counter.alert(ctx, self.name, counter))
                except Exception as error:  # the other locks' alerts are due too
                    if first is None:
                        first = error
        if first is not None:
            raise first


class AsyncNullLocker(NullLocker):
    """A locker whose lockouts never count nor lock (the signature of
    :class:`AsyncLocker`): :meth:`define` answers an :class:`AsyncNullLockout`."""

    def define(self, name: str, **terms: dict[str, Any]) -> AsyncNullLockout:  # type: ignore[override]
        """Return an :class:`AsyncNullLockout`."""
        return AsyncNullLockout()


class AsyncNullLockout:
    """A lockout that does nothing: its decorators return the function as is
    (:class:`~caching.patterns.lockout.NullLockout`'s), its calls are
    coroutines answering at once."""

    guard = NullLockout.guard
    quota = NullLockout.quota
    forbid_locked = NullLockout.forbid_locked

    async def locked(self, ctx: Any) -> bool:
        """Never locked."""
        return False

    async def reset(self, ctx: Any) -> None:
        """Nothing to reset."""

    async def force_reset(self, ctx: Any) -> None:
        """Nothing to reset."""

    async def incr(self, ctx: Any) -> None:
        """Nothing is counted."""
