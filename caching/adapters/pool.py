"""A thread-safe, fork-safe pool of memcached client objects.

pylibmc and pymemcache clients are not thread-safe: each call checks one out
with ``with checkout(pool) as client``, the one context manager that does so.
A :class:`Pool` keeps each client in a :class:`Lease` that it hands out
again and again, so the uncontended checkout makes no object: one list
``pop`` and, after the block, one ``append`` (both atomic under the GIL).
After ``os.fork()`` the child never touches its parent's clients (nor closes
them, which could send ``quit`` on the parent's sockets): an
``os.register_at_fork`` hook moves them aside, kept referenced, and the
child builds its own.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["Lease", "Pool", "PoolLike", "checkout"]

C = TypeVar("C")


class PoolLike(Protocol[C]):
    """What a pool offers: wheezy.caching's ``acquire``/``get_back``."""

    def acquire(self) -> C: ...

    def get_back(self, client: C) -> None: ...


class Lease(Generic[C]):
    """A client checked out for a ``with`` block: ``__enter__`` gives the
    client, ``__exit__`` (also when the block raises) hands the lease to
    ``give_back``.

    (A class rather than a generator-based context manager: it is on the
    path of every cache call.)
    """

    __slots__ = ("client", "give_back")

    def __init__(self, client: C, give_back: Callable[[Lease[C]], object]) -> None:
        self.client = client
        self.give_back = give_back

    def __enter__(self) -> C:
        return self.client

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        give_back = self.give_back  # a local (docs/PERFORMANCE.md, "Attribute loads")
        give_back(self)


def checkout(pool: PoolLike[C]) -> Lease[C]:
    """Check a client out of ``pool`` for a ``with`` block, and back in after it.

    :param pool: a :class:`Pool` (which reuses its leases), or any pool with
        wheezy.caching's ``acquire``/``get_back``.
    :returns: the lease, a context manager giving the client.
    """
    return lender(pool)()


def lender(pool: PoolLike[C]) -> Callable[[], Lease[C]]:
    """The callable behind :func:`checkout` for ``pool``, to look up once and
    call per checkout (``with lend() as client``)."""
    if isinstance(pool, Pool) and type(pool) is Pool:  # a subclass may change acquire/get_back
        return pool.checkout

    def lend() -> Lease[C]:
        return Lease(pool.acquire(), lambda lease: pool.get_back(lease.client))

    return lend


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
    :param max_idle: most clients kept for reuse; more are made under load,
        and those over ``max_idle`` idle ones are closed at the next checkout
        (or when given back through :meth:`get_back`).
    :param shared: hand every thread the same client (for python-memcached,
        whose ``Client`` is a ``threading.local``); still one per process.
    :param close: closes a client's connections; called on the clients
        dropped, and by :meth:`close`.
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
        # Idle leases; always this one list, so that a lease's give_back (its
        # bound append) stays right across close() and fork.
        self._idle: list[Lease[C]] = []
        _POOLS.add(self)

    def _forked(self) -> None:
        """In a fork's child: set the parent's clients aside, untouched."""
        _INHERITED.extend(self._idle)
        self._idle.clear()

    def checkout(self) -> Lease[C]:
        """An idle lease, or a new one around a new client (see :func:`checkout`)."""
        idle = self._idle
        if self.shared:
            if not idle:
                idle.append(Lease(self.factory(), _keep))
            return idle[0]
        try:
            lease = idle.pop()  # atomic under the GIL
        except IndexError:
            return Lease(self.factory(), idle.append)
        if len(idle) >= self.max_idle:  # more came back than are kept
            self._drop(self.max_idle - 1)
        return lease

    def _drop(self, keep: int) -> None:
        """Close idle clients until ``keep`` are left."""
        idle = self._idle
        while len(idle) > keep:
            try:
                lease = idle.pop(0)
            except IndexError:
                return
            if self._close is not None:
                self._close(lease.client)

    def acquire(self) -> C:
        """Check a client out (make one when none is idle)."""
        return self.checkout().client

    def get_back(self, client: C) -> None:
        """Return a client checked out by :meth:`acquire`."""
        if not self.shared:
            self._idle.append(Lease(client, self._idle.append))
            self._drop(self.max_idle)

    def close(self) -> None:
        """Close the idle clients (the pool stays usable)."""
        self._drop(0)

    def __del__(self) -> None:
        if hasattr(self, "_idle"):  # not when __init__ refused its arguments
            self.close()


def _keep(lease: Lease[Any]) -> None:
    """give_back of a shared lease: it stays where it is."""
