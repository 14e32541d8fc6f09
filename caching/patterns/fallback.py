"""What the guards fall back on while their shared cache fails.

The contract never raises for a server failure; the guards learn of one from
an answer that only a failure gives (a counter that cannot be created, a
``delete_multi`` that answers ``False``, an ``add`` that fails on a key a
``get`` then misses). :class:`Fallback` remembers such a failure for a retry
period, during which the guard leaves the shared cache alone (or asks it as
well as its own store), and holds the guard's in-process store: a
:class:`~caching.memory.MemoryCache` of this process only, made afresh in a
child process after a fork (a store copied from the parent could be copied
while another thread held its lock, and the child is another process).

Used by :class:`caching.patterns.lockout.Lockout` (``on_failure="local"``
and ``"closed"``) and :class:`caching.patterns.onepass_handler.OnePassHandler`.
"""

from __future__ import annotations

import math
import os
import threading
import time as _time
from collections.abc import Callable
from datetime import timedelta

from caching.expiry import MAX_RELATIVE, Time, seconds
from caching.memory import MemoryCache

__all__ = ["DEFAULT_RETRY_PERIOD", "Fallback", "local_time"]

#: Seconds a shared cache that failed is treated as failing before it is
#: tried again (the adapters' own default retry period).
DEFAULT_RETRY_PERIOD = 1.0


def local_time(time: Time) -> int:
    """A lifetime for the in-process store: relative whole seconds.

    :param time: ``int`` seconds or ``timedelta`` as the patterns keep them
        (:func:`caching.expiry.lifetime`); a ``timedelta`` over 30 days is
        capped at 30 days, the longest relative time.
    :returns: ``1`` .. ``2592000`` seconds, or ``0`` (no expiry) for ``0``.
    """
    if isinstance(time, timedelta):
        return min(max(1, math.ceil(time.total_seconds())), MAX_RELATIVE)
    return min(time, MAX_RELATIVE)


class Fallback:
    """The failure state of one shared cache, as one guard sees it, and the
    guard's in-process store.

    :param retry_period: seconds (``float`` or ``timedelta``) during which a
        shared cache that failed is treated as failing; then it is tried
        again.
    :param clock: monotonic time in seconds (default :func:`time.monotonic`);
        it also drives the expiry of the in-process store, so a test that
        injects it controls both.
    :param max_items: most items the in-process store keeps (least recently
        used dropped first), so a flood of distinct keys cannot grow the
        process without bound.
    :raises TypeError: ``retry_period`` is not seconds or ``timedelta``.
    :raises ValueError: ``retry_period`` is negative.
    """

    def __init__(
        self,
        retry_period: float | timedelta = DEFAULT_RETRY_PERIOD,
        clock: Callable[[], float] | None = None,
        max_items: int = 100_000,
    ) -> None:
        period = seconds(retry_period)
        if period < 0:
            raise ValueError(f"retry_period must be >= 0 seconds, got {period}")
        self.retry_period = period
        self.clock = clock or _time.monotonic
        self.max_items = max_items
        #: a failure was seen and no success since (the next call should
        #: check the shared cache answers before it trusts a miss)
        self.suspect = False
        self._failing_until = -math.inf
        # the monotonic time until which the local store may hold live items
        self._local_until = -math.inf
        self._local: MemoryCache | None = None
        self._pid = -1
        self._lock = threading.Lock()

    def failing(self) -> bool:
        """Whether the shared cache failed within the last retry period."""
        return self.clock() < self._failing_until

    def fail(self) -> bool:
        """Note a failure of the shared cache: it is failing for a retry period.

        :returns: whether it was thought healthy until now (a new outage).
        """
        was_healthy = not self.suspect
        self.suspect = True
        self._failing_until = self.clock() + self.retry_period
        return was_healthy

    def succeed(self) -> bool:
        """Note that the shared cache answered a call that tells (it works).

        :returns: whether it was thought failing until now (it is back).
        """
        was_suspect = self.suspect
        self.suspect = False
        self._failing_until = -math.inf
        return was_suspect

    def local(self) -> MemoryCache:
        """This process's own store (made on first use, and again after a fork)."""
        local, pid = self._local, os.getpid()
        if local is None or self._pid != pid:
            if local is not None:  # a fork's child: a parent's thread may have held the lock
                self._lock = threading.Lock()
            with self._lock:
                if self._local is None or self._pid != pid:
                    self._local = MemoryCache(max_items=self.max_items, clock=self.clock)
                    self._pid = pid
                    self._local_until = -math.inf
                local = self._local
        return local

    def used_local(self, time: int) -> None:
        """Note that an item was stored locally for ``time`` seconds (``0``: no expiry)."""
        # + 1: the store counts whole seconds
        until = self.clock() + time + 1 if time else math.inf
        if until > self._local_until:
            self._local_until = until

    def local_live(self) -> bool:
        """Whether the local store of this process may hold a live item."""
        if self._local is None:  # the common case: never used
            return False
        return self._pid == os.getpid() and self.clock() < self._local_until
