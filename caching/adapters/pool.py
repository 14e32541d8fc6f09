"""A thread-safe, fork-safe pool of memcached client objects.

pylibmc and pymemcache clients are not thread-safe: each call checks one out
with ``with checkout(pool) as client``, the one context manager that does so.
A :class:`Pool` keeps each client in a :class:`Lease` that it hands out
again and again, so the uncontended checkout makes no object: one list
``pop`` and, after the block, one ``append`` (both atomic under the GIL).
After ``os.fork()`` the child never touches its parent's clients (nor closes
them, which could send ``quit`` on the parent's sockets): an
``os.register_at_fork`` hook moves them aside, kept alive for the child's
whole life (:func:`keep_forever`: not even the child's interpreter
finalization frees them, which in libmemcached sends ``quit`` and shuts the
shared socket down), and the child builds its own.

:meth:`Pool.renew` retires every client made so far (the idle ones at once,
those checked out when they come back): the adapters call it when a failed
server answers again, so that no pooled client still carrying the old
failure, or a socket from before it, is used again.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["Lease", "Pool", "PoolLike", "checkout", "keep_forever", "process_id"]

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


# Clients inherited across a fork where ctypes is missing (keep_forever).
_INHERITED: list[Any] = []
_POOLS: weakref.WeakSet[Pool[Any]] = weakref.WeakSet()
_PID = os.getpid()


def process_id() -> int:
    """``os.getpid()`` without a system call: kept up to date across forks
    by an ``os.register_at_fork`` hook (which runs before any other code of
    the child that could ask)."""
    return _PID


def keep_forever(objects: list[Any]) -> None:
    """Never free ``objects`` in this process, not even when the interpreter
    finalizes: they are a parent's clients, inherited across a fork.

    Freeing a pylibmc client runs libmemcached's ``memcached_free``, which
    sends ``quit`` and shuts the socket down: on a socket shared with the
    parent, that closes the parent's connection (measured: a child that
    exits with ``sys.exit`` made its parent's next call fail). A list in a
    module is cleared at finalization, so each object gets one reference
    that nothing owns (``Py_IncRef``). Where ``ctypes`` is missing they are
    only kept in a list, which holds them until finalization.
    """
    try:
        import ctypes

        incref = ctypes.pythonapi.Py_IncRef
    except (ImportError, AttributeError):  # pragma: no cover - CPython has both
        _INHERITED.extend(objects)
        return
    for item in objects:
        incref(ctypes.py_object(item))


def _after_fork_in_child() -> None:
    global _PID
    _PID = os.getpid()
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
        # Idle leases. A lease's give_back is the bound append of the list it
        # was made for: one list across close() and fork, a new one after
        # renew() (the leases of the old one give back to _retire instead).
        self._idle: list[Lease[C]] = []
        # Every lease not closed yet, idle or checked out (the shared lease
        # excepted); touched only when a lease is made or closed.
        self._leases: set[Lease[C]] = set()
        # Leases of the clients that acquire() handed out, by id(client).
        self._acquired: dict[int, Lease[C]] = {}
        self._renewing = threading.Lock()
        _POOLS.add(self)

    def _forked(self) -> None:
        """In a fork's child: set the parent's clients aside, untouched, for good."""
        inherited = [lease.client for lease in self._leases | set(self._idle)]
        self._leases.clear()
        self._acquired.clear()
        self._idle.clear()
        self._renewing = threading.Lock()  # a parent's thread may have held it
        keep_forever(inherited)

    def _new_lease(self) -> Lease[C]:
        """A lease around a new client (under the lock of :meth:`renew`, so
        that it gives back to the idle list of its time)."""
        client = self.factory()
        with self._renewing:
            lease = Lease(client, self._idle.append)
            self._leases.add(lease)
        return lease

    def _retire(self, lease: Lease[C]) -> None:
        """give_back of a lease checked out before :meth:`renew`: close it."""
        self._leases.discard(lease)
        if self._close is not None:
            self._close(lease.client)

    def renew(self) -> None:
        """Retire every client made so far: close the idle ones now and those
        checked out when they come back; later checkouts get new clients.

        For a failed server that answers again: a pooled client may still
        hold the failure (libmemcached's per-client retry wait) or a socket
        opened before it, and must not answer for the server any more.
        Costs nothing on the checkout path. With ``shared``, the one client
        is replaced.
        """
        with self._renewing:
            if self.shared:
                if self._idle:
                    old = self._idle[0]
                    self._idle[0] = Lease(self.factory(), _keep)  # one atomic store
                    if self._close is not None:
                        self._close(old.client)
                return
            retired, self._idle = self._idle, []
            for lease in list(self._leases):
                lease.give_back = self._retire
            # A lease given back while this ran went to the old list, which
            # nothing checks out of any more.
            while retired:
                self._retire(retired.pop())

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
            return self._new_lease()
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
            self._retire(lease)

    def acquire(self) -> C:
        """Check a client out (make one when none is idle)."""
        lease = self.checkout()
        if not self.shared:
            self._acquired[id(lease.client)] = lease
        return lease.client

    def get_back(self, client: C) -> None:
        """Return a client checked out by :meth:`acquire` (or any client of
        the pool's kind, which it then keeps)."""
        if self.shared:
            return
        lease = self._acquired.pop(id(client), None)
        if lease is None or lease.client is not client:
            lease = Lease(client, self._idle.append)
            self._leases.add(lease)
        lease.give_back(lease)
        self._drop(self.max_idle)

    def close(self) -> None:
        """Close the idle clients (the pool stays usable)."""
        self._drop(0)

    def __del__(self) -> None:
        if hasattr(self, "_idle"):  # not when __init__ refused its arguments
            self.close()


def _keep(lease: Lease[Any]) -> None:
    """give_back of a shared lease: it stays where it is."""
