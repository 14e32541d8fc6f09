"""``AsyncOnePass``: :class:`caching.patterns.onepass.OnePass` for asyncio
(``async with``).

The same pass: an item stored with the contract's atomic ``add`` under the
same key (:func:`~caching.patterns.onepass.pass_key`), holding a marker unique
to the holder, so async and sync callers of one memcached guard each other.
What differs is how waiters wait:

- in the holder's own event loop, waiters await an :class:`asyncio.Event`
  the holder sets when it leaves the pass: no polling, no thread;
- elsewhere (another process, another loop), they poll every
  :data:`~caching.patterns.onepass.POLL_INTERVAL` seconds with
  ``asyncio.sleep``, reading the pass key and the guarded key in one
  ``get_multi``, as the sync waiters do.

A holder cancelled inside the ``async with`` block (``asyncio.timeout``, a
client gone away) still releases the pass: the release runs in a task of its
own, shielded from a second cancellation, and wakes this loop's waiters
when done.
"""

from __future__ import annotations

import asyncio
import logging
import time as _time
import uuid
from datetime import timedelta
from types import TracebackType
from typing import Any

from caching.aio.contract import AsyncCache
from caching.expiry import seconds
from caching.key_rules import Key
from caching.patterns.onepass import (
    POLL_INTERVAL,
    _PassBase,
    _polls,
    _release_steps,
    _retry_delays,
)
from caching.steps import run_async

__all__ = ["AsyncOnePass"]

logger = logging.getLogger(__name__)


class _Holder:
    """The pass as held in this loop: its waiters await ``released``.
    ``orphaned``: the holder left it without the cache confirming the
    release (until ``expires``, a ``time.monotonic()`` second, when the pass
    key is surely gone), for a waiter of this loop to finish, as the sync
    ``OnePass``'s waiters do."""

    __slots__ = ("expires", "marker", "orphaned", "released")

    def __init__(self, marker: str, expires: float) -> None:
        self.marker = marker
        self.expires = expires
        self.orphaned = False
        self.released = asyncio.Event()


_Slot = tuple[int, int, str | None, Key]

#: (id(loop), id(cache), namespace, key) -> the pass a task of that loop holds.
_holders: dict[_Slot, _Holder] = {}


async def _release(cache: AsyncCache, key: Key, namespace: str | None, marker: str) -> bool:
    """The sync ``_release``, awaiting its steps and waits: delete the pass
    key if it still holds ``marker``, trying again for up to
    ``RELEASE_RETRY_SECONDS`` while the cache does not confirm it.
    :returns: whether the pass is known gone (or another holder's)."""
    for delay in _retry_delays():
        if delay:
            await asyncio.sleep(delay)
        if await run_async(_release_steps(key, namespace, marker), cache):
            return True
    return False


def _forget_expired(now: float) -> None:
    """Drop the orphaned holders whose pass keys have surely expired."""
    for slot in [slot for slot, h in _holders.items() if h.orphaned and h.expires < now]:
        del _holders[slot]


class AsyncOnePass(_PassBase[AsyncCache]):
    """One caller does the work; the others wait (``async with``)::

        async with AsyncOnePass(cache, "one_pass:" + key, guards=key) as one_pass:
            if one_pass.acquired:
                ...  # create the value and store it under key
            elif await one_pass.wait():
                value = one_pass.value or await cache.get(key)

    :param cache: any :class:`~caching.aio.contract.AsyncCache`.
    :param key: the pass key (not the key of the value it guards).
    :param time: how long the pass lives (``int`` seconds or ``timedelta``):
        how long a dead holder blocks others; also the default wait.
    :param namespace: passed to every cache call.
    :param guards: the key of the value the holder creates, or ``None``;
        when given, :meth:`wait` also returns as soon as it holds a value
        (then in :attr:`value`).
    """

    __slots__ = ()

    def _slot(self) -> _Slot:
        return (id(asyncio.get_running_loop()), id(self.cache), self.namespace, self.key)

    async def __aenter__(self) -> AsyncOnePass:
        """Try to take the pass; :attr:`acquired` tells whether this task holds it."""
        holder = _Holder(uuid.uuid4().hex, _time.monotonic() + seconds(self.time) + 1)
        if await self.cache.add(self.key, holder.marker, self.time, self.namespace):
            _holders[self._slot()] = holder
            self._holder = holder
            self.acquired = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Release the pass if this task holds it (also when the block raised
        or was cancelled): in a task of its own, shielded, so that a second
        cancellation cannot leave the pass held; this loop's waiters are
        woken when it is done."""
        holder: _Holder | None = self._holder
        if holder is None:
            return
        self._holder = None
        self.acquired = False
        slot = self._slot()
        release = asyncio.ensure_future(self._leave(slot, holder))
        await asyncio.shield(release)

    async def _leave(self, slot: _Slot, holder: _Holder) -> None:
        released = False
        try:
            released = await _release(self.cache, self.key, self.namespace, holder.marker)
        finally:
            if released and _holders.get(slot) is holder:
                del _holders[slot]
            holder.orphaned = not released  # kept for a waiter of this loop to finish
            holder.released.set()
        if not released:
            _forget_expired(_time.monotonic())
            logger.warning(
                "one-pass %r: the cache did not confirm its release; waiters "
                "elsewhere wait for the value or for the pass to expire (at most %s s)",
                self.key,
                seconds(self.time),
            )

    async def _read(self) -> Any:
        return await run_async(self._read_steps(), self.cache)

    async def _finish_release(self, holder: _Holder) -> None:
        """Delete the pass an orphaned holder of this loop left (only while
        it holds its marker), so the next caller can take it rather than
        wait for it to expire: the sync ``OnePass._wait_for``'s rule. One
        waiter claims the job; unconfirmed again, the holder is put back."""
        slot = self._slot()
        if _holders.get(slot) is not holder:
            return  # claimed by another waiter, or a new holder took the pass
        del _holders[slot]
        if not await _release(self.cache, self.key, self.namespace, holder.marker):
            _holders.setdefault(slot, holder)

    async def wait(self, timeout: float | timedelta | None = None) -> bool:
        """Wait until the pass held by another caller is over (as
        :meth:`caching.patterns.onepass.OnePass.wait`).

        :param timeout: seconds or ``timedelta``; defaults to the pass's ``time``.
        :returns: ``True`` as soon as the pass is released, expires or passes
            to another holder, or the guarded key holds a value (then in
            :attr:`value`); ``False`` when none of this happened in time.
        :raises RuntimeError: this task holds the pass itself.
        """
        wait = self._start_wait(timeout)
        expected = await self._read()
        if expected is None or self.value is not None:  # no pass, or the value is there
            return True
        for remaining in _polls(wait):
            holder = _holders.get(self._slot())
            if holder is not None and holder.marker == expected:
                try:
                    async with asyncio.timeout(remaining):
                        await holder.released.wait()
                except TimeoutError:
                    return False
                if holder.orphaned:
                    await self._finish_release(holder)
                return True
            await asyncio.sleep(min(POLL_INTERVAL, remaining))
            if self._over(await self._read(), expected):
                return True
        return False
