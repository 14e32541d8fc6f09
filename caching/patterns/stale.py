"""Stale-while-revalidate: how ``Cached(..., stale=...)`` stores a value, and
the small thread pool that refreshes values in the background.

An item stored with a stale period holds a :class:`Fresh`: the value, and
the wall-clock time until which it is fresh. The item itself lives on the
backend for ``time + stale`` seconds, so every process that reads it agrees
on when it went stale (their clocks agreeing, as memcached's expiry needs
too). See docs/PATTERNS.md, "Stale-while-revalidate".
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["INLINE", "BACKGROUND", "REFRESH_MODES", "REFRESH_THREADS", "Fresh", "run_in_background"]

logger = logging.getLogger(__name__)

#: ``refresh=`` modes: the caller that wins the pass rebuilds and waits
#: (``"inline"``), or the rebuild runs on the pool and every caller gets the
#: stale value at once (``"background"``).
INLINE = "inline"
BACKGROUND = "background"
REFRESH_MODES = (INLINE, BACKGROUND)

#: Threads of the background pool (per process).
REFRESH_THREADS = 4

#: Most rebuilds queued or running on the pool (per process); past it, a
#: stale value is served without a rebuild until the queue drains.
MAX_QUEUED = 256


class Fresh:
    """A value stored with a stale period.

    :param value: the value as ``Cached`` stores it.
    :param until: wall-clock time (``time.time()``, seconds) until which it is
        fresh; after it, stale until the item expires.
    :param made: wall-clock time it was stored (a soft invalidation makes the
        values made before it stale).
    """

    __slots__ = ("made", "until", "value")

    def __init__(self, value: Any, until: float, made: float) -> None:
        self.value = value
        self.until = until
        self.made = made

    def __reduce__(self) -> tuple[Any, ...]:
        return (Fresh, (self.value, self.until, self.made))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fresh):
            return NotImplemented
        return (self.value, self.until, self.made) == (other.value, other.until, other.made)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Fresh({self.value!r}, until={self.until!r}, made={self.made!r})"


_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """This process's pool (a fork's child makes its own: threads do not
    survive a fork)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(REFRESH_THREADS, thread_name_prefix="caching-refresh")
            _pool_pid = os.getpid()
        return _pool


_queued = 0


def run_in_background(
    job: Callable[[], Any], on_error: Callable[[BaseException], Any]
) -> Future[Any] | None:
    """Run ``job()`` on the refresh pool; an exception it raises goes to
    ``on_error`` (never lost silently).

    :returns: the job's future (tests wait on it), or ``None`` when
        :data:`MAX_QUEUED` jobs are queued or running already (not run).
    """
    global _queued
    with _pool_lock:
        if _pool_pid != os.getpid():
            _queued = 0  # a fork's child: the parent's jobs do not run here
        if _queued >= MAX_QUEUED:
            return None
        _queued += 1

    def run() -> Any:
        global _queued
        try:
            return job()
        except BaseException as exc:  # handed on, never lost
            on_error(exc)
            return None
        finally:
            with _pool_lock:
                _queued -= 1

    return _executor().submit(run)
