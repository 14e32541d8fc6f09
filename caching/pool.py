"""A thread-safe, fork-safe pool of memcached client objects.

pylibmc and pymemcache clients are not thread-safe: each call checks one out
through :class:`checkout`, the one context manager that does so (the
uncontended path of ``acquire`` and ``get_back`` is one list ``pop`` and one
``append``, atomic under the GIL). After ``os.fork()`` the child never
touches its parent's clients (nor closes them, which could send ``quit`` on
the parent's sockets): an ``os.register_at_fork`` hook moves them aside, kept
referenced, and the child builds its own.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["Pool", "PoolLike", "checkout"]

C = TypeVar("C")


class PoolLike(Protocol[C]):
    """What a pool offers: wheezy.caching's ``acquire``/``get_back``."""

    def acquire(self) -> C: ...

    def get_back(self, client: C) -> None: ...


class checkout(Generic[C]):  # noqa: N801 - used like a function: ``with checkout(pool)``
    """Check a client out of ``pool`` for the ``with`` block, and back in after it.

    (A class rather than a generator-based context manager: it is on the
    path of every cache call.)
    """

    __slots__ = ("client", "pool")

    def __init__(self, pool: PoolLike[C]) -> None:
        self.pool = pool

    def __enter__(self) -> C:
        self.client = self.pool.acquire()
        return self.client

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.pool.get_back(self.client)


# Clients inherited across a fork: kept alive, never used, never closed.
_INHERITED: list[Any] = []
_POOLS: weakref.WeakSet[Pool[Any]] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for pool in list(_POOLS):
        pool._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)


class Pool(Generic[C]):
    """Clients made on demand by ``factory`` and reused.

    Also usable wherever wheezy.caching expects a pool (``acquire`` and
    ``get_back``).

    :param factory: makes a new, unconnected client.
    :param max_idle: most clients kept for reuse; more are made under load and
        dropped when given back.
    :param shared: hand every thread the same client (for python-memcached,
        whose ``Client`` is a ``threading.local``); still one per process.
    :param close: closes a client's connections; called on the clients
        dropped when given back to a full pool, and by :meth:`close`.
    """

    def __init__(
        self,
        factory: Callable[[], C],
        max_idle: int = 16,
        shared: bool = False,
        close: Callable[[C], object] | None = None,
    ) -> None:
        if max_idle < 1:
            raise ValueError(f"max_idle must be >= 1, got {max_idle}")
        self.factory = factory
        self.max_idle = max_idle
        self.shared = shared
        self._close = close
        self._idle: list[C] = []
        _POOLS.add(self)

    def _forked(self) -> None:
        """In a fork's child: set the parent's clients aside, untouched."""
        _INHERITED.extend(self._idle)
        self._idle = []

    def acquire(self) -> C:
        """Check a client out (make one when none is idle)."""
        if self.shared:
            if not self._idle:
                self._idle.append(self.factory())
            return self._idle[0]
        try:
            return self._idle.pop()  # atomic under the GIL
        except IndexError:
            return self.factory()

    def get_back(self, client: C) -> None:
        """Return a client checked out by :meth:`acquire`."""
        if self.shared:
            return
        if len(self._idle) < self.max_idle:
            self._idle.append(client)
        elif self._close is not None:
            self._close(client)

    def close(self) -> None:
        """Close the idle clients (the pool stays usable)."""
        idle, self._idle = self._idle, []
        if self._close is not None:
            for client in idle:
                self._close(client)

    def __del__(self) -> None:
        if hasattr(self, "_idle"):  # not when __init__ refused its arguments
            self.close()
