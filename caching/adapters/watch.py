"""One health state per server when a client library cannot tell which of
several servers a call went to (pylibmc and pymemcache over several servers).

Those libraries keep a failed server's state in each pooled client:
libmemcached a retry wait inside each pylibmc client, pymemcache's
``HashClient`` a dead node per client. Once the server answers one of them,
the others keep failing until their own waits end. A failed call cannot say
which server it was for, so the adapter asks the servers themselves:
a :class:`ServerWatch` probes them (memcached's ``version``, on connections
of its own: :func:`caching.adapters.health.round_trip`) from a thread of its
own, so that no call waits for a probe.

- A failed call makes the watch probe every server it may have gone to; those
  that do not answer are reported down (logged at WARNING once per period,
  under their own address). A call that failed while every server answers is
  logged as a passing fault.
- While a server is down, it is probed every :data:`PROBE_INTERVAL` seconds.
  The first probe answered marks it back: logged at INFO once, and every
  pooled client is retired (the adapter's ``_recovered``), so that no later
  call fails only because its client still holds the old failure.
- The thread ends when no server is down, and when the adapter is gone (it
  holds the adapter weakly); a fork's child starts its own on its first failure.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from caching.adapters.health import round_trip

if TYPE_CHECKING:
    from caching.adapters.base import MemcachedAdapter

__all__ = ["PROBE_INTERVAL", "ServerWatch"]

_log = logging.getLogger(__name__)

#: Seconds between two probes of a server that is down: a server back is
#: noticed, and every pooled client renewed, within about this long.
PROBE_INTERVAL = 0.25


class ServerWatch:
    """Finds which servers failed and when each is back, for ``adapter``.

    :param adapter: the adapter whose ``servers``, ``ping_timeout`` (seconds
        a probe waits), ``failures`` (:class:`~caching.adapters.failures.FailureLog`)
        and ``_recovered(server)`` the watch uses; held weakly.
    :param interval: seconds between probes of a server that is down.
    :param probe: ``probe(server, timeout) -> seconds | None``; injected in tests.
    """

    def __init__(
        self,
        adapter: MemcachedAdapter,
        interval: float = PROBE_INTERVAL,
        probe: Callable[[str, float], float | None] = round_trip,
    ) -> None:
        self._adapter = weakref.ref(adapter)
        self.interval = interval
        self._probe = probe
        self._lock = threading.Lock()
        #: Servers a failed call may have gone to -> that call's error.
        self._suspects: dict[str, object] = {}
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._closed = False

    def suspect(self, servers: Iterable[str], error: object) -> None:
        """A call that may have gone to any of ``servers`` failed with
        ``error``: probe them (in the watch's thread; returns at once)."""
        with self._lock:
            for server in servers:
                self._suspects[server] = error
            self._closed = False
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._watch, name="caching-server-watch", daemon=True
                )
                self._thread.start()

    def close(self) -> None:
        """Stop probing (the adapter is closed); a later failure starts again."""
        with self._lock:
            self._closed = True

    def _watch(self) -> None:
        logged = False
        try:
            while True:
                try:
                    if not self._round():
                        return
                except Exception:  # a bug: logged once, and the watch goes on
                    if not logged:
                        _log.exception("a round of the memcached server watch failed")
                        logged = True
                time.sleep(self.interval)
        finally:  # also on a BaseException: a later failure starts a new watch
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None

    def _round(self) -> bool:
        """Probe the suspects and the servers down; whether to go on."""
        adapter = self._adapter()
        with self._lock:
            suspects, self._suspects = self._suspects, {}
            if adapter is None or self._closed or not (suspects or adapter.failures.down):
                self._thread = None
                return False
        try:
            self._probe_all(adapter, suspects)
        except Exception:  # the next round probes them again
            with self._lock:
                self._suspects = {**suspects, **self._suspects}
            raise
        return True

    def _probe_all(self, adapter: MemcachedAdapter, suspects: dict[str, object]) -> None:
        """Probe ``suspects`` and the servers down: report those that do not
        answer, mark back those down that do, log the passing faults."""
        down = adapter.failures.down
        for server in adapter.servers:
            if server not in suspects and server not in down:
                continue
            if self._probe(server, adapter.ping_timeout) is None:
                adapter.failures.report(server, suspects.get(server, "no answer to a probe"))
            elif server in down:
                adapter._recovered(server)
        self._passed(adapter, suspects, down)

    def _passed(
        self, adapter: MemcachedAdapter, suspects: dict[str, object], down: frozenset[str]
    ) -> None:
        """Log each failed call that no server down (before or after the
        probes) explains as a passing fault."""
        explained = down | adapter.failures.down
        by_error: dict[int, tuple[object, list[str]]] = {}
        for server, error in suspects.items():
            by_error.setdefault(id(error), (error, []))[1].append(server)
        for error, servers in by_error.values():
            if not explained.intersection(servers):
                adapter.failures.passed(",".join(servers), error)
