"""``OnePass``: the thundering-herd guard, built on the contract's atomic ``add``.

The first caller to ``add`` the pass key holds the pass; everybody else waits
for it to go away. ``add`` decides once across every thread and every process
that shares the cache (a memcached), so exactly one caller does the work.

How waiters learn that the pass is gone (wheezy.caching polls with a backoff
up to 0.8 s, so its waiters arrive about 150 ms late for a 200 ms creator):

- in the holder's own process, waiters block on an event that the holder sets
  when it leaves the pass: no polling, they wake at once;
- in other processes, waiters poll the pass key every :data:`POLL_INTERVAL`
  seconds (5 ms).
"""

from __future__ import annotations

import math
import threading
import time as _time
import uuid
from datetime import timedelta
from types import TracebackType

from caching.contract import Cache
from caching.expiry import Time, lifetime, seconds
from caching.key_rules import Key

__all__ = ["POLL_INTERVAL", "OnePass"]

#: Seconds between two reads of the pass key by a waiter in another process.
POLL_INTERVAL = 0.005


class _Holder:
    """The pass as held in this process: waiters here block on ``released``."""

    __slots__ = ("marker", "released")

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.released = threading.Event()


# (id(cache), namespace, key) -> the pass this process holds on that key.
_holders: dict[tuple[int, str | None, Key], _Holder] = {}
_holders_lock = threading.Lock()


class OnePass:
    """A solution to the thundering herd problem: one caller does the work.

    Typical use::

        with OnePass(cache, "one_pass:" + key) as one_pass:
            if one_pass.acquired:
                ...  # create the value and store it under key
            elif one_pass.wait():
                ...  # the holder is done: read key from the cache
            else:
                ...  # timed out: the holder is slow or gone

    The pass is an item stored with ``add(key, marker, time, namespace)``
    (``marker`` is a token unique to this pass), so it works across processes
    sharing a memcached. Leaving the ``with`` block deletes it, also when the
    body raises, so waiters wake at once; if the holder dies, the item expires
    after ``time`` seconds and the waiters go on.

    :param cache: any backend of the contract.
    :param key: the pass key (not the key of the value it guards).
    :param time: how long the pass lives, ``int`` seconds or ``timedelta``,
        i.e. how long a dead holder blocks others; also the default wait.
    :param namespace: passed to every cache call.
    """

    __slots__ = ("_holder", "acquired", "cache", "key", "namespace", "time")

    def __init__(
        self, cache: Cache, key: Key, time: Time = 10, namespace: str | None = None
    ) -> None:
        self.cache = cache
        self.key = key
        self.time = lifetime(time)
        self.namespace = namespace
        self.acquired = False
        self._holder: _Holder | None = None

    def _slot(self) -> tuple[int, str | None, Key]:
        return (id(self.cache), self.namespace, self.key)

    def __enter__(self) -> OnePass:
        """Try to take the pass; ``acquired`` tells whether this caller holds it."""
        holder = _Holder(uuid.uuid4().hex)
        if self.cache.add(self.key, holder.marker, self.time, self.namespace):
            with _holders_lock:
                _holders[self._slot()] = holder
            self._holder = holder
            self.acquired = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Release the pass (delete its key) if this caller holds it."""
        holder = self._holder
        if holder is None:
            return
        try:
            self.cache.delete(self.key, 0, self.namespace)
        finally:
            with _holders_lock:
                if _holders.get(self._slot()) is holder:
                    del _holders[self._slot()]
            holder.released.set()
            self._holder = None
            self.acquired = False

    def wait(self, timeout: float | timedelta | None = None) -> bool:
        """Wait until the pass held by another caller goes away.

        :param timeout: seconds (``int``/``float``) or ``timedelta``; defaults
            to the pass's ``time``.
        :returns: ``True`` as soon as the pass is released, expires or passes
            to another holder; ``False`` when it is still held after
            ``timeout``.
        :raises RuntimeError: this caller holds the pass itself.
        """
        if self.acquired:
            raise RuntimeError("wait() called by the holder of the pass")
        wait = seconds(self.time if timeout is None else timeout)
        expected = self.cache.get(self.key, self.namespace)
        if expected is None:
            return True
        deadline = _time.monotonic() + wait
        # The poll count bounds the wait even where monotonic() is frozen (tests).
        for _ in range(max(1, math.ceil(wait / POLL_INTERVAL))):
            remaining = deadline - _time.monotonic()
            if remaining <= 0:
                return False
            holder = _holders.get(self._slot())
            if holder is not None and holder.marker == expected:
                return holder.released.wait(remaining)
            _time.sleep(min(POLL_INTERVAL, remaining))
            if self.cache.get(self.key, self.namespace) != expected:
                return True
        return False

    def __repr__(self) -> str:
        state = "acquired" if self.acquired else "not acquired"
        return f"<OnePass {self.key!r} {state}>"
