"""Rate-limited reporting of cache server failures (CONTRACT.md, "Failures").

A server failure never raises out of a contract call; it is logged at WARNING
on the adapter's logger at most once per server per period, never once per
call. When a failed server answers again, that is logged at INFO, once per
recovery ("memcached server HOST:PORT is back").
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["FailureLog"]


class FailureLog:
    """Logs one WARNING per server per ``period`` seconds, and one INFO when
    a failed server is back.

    It also keeps which servers have failed and not answered since
    (:attr:`down`): the adapters' one health state per server, shared by
    every pooled connection.

    :param logger: where the warnings go (each adapter passes its module's
        logger, e.g. ``caching.adapters.pymemcache``).
    :param period: seconds during which further failures of the same server
        are not logged again; the adapters pass their retry period.
    :param clock: monotonic time in seconds; inject one in tests.
    """

    def __init__(
        self,
        logger: logging.Logger,
        period: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.period = period
        self._clock = clock
        self._last: dict[str, float] = {}
        self._down: set[str] = set()
        self._lock = threading.Lock()

    @property
    def down(self) -> frozenset[str]:
        """The servers reported failed that have not been :meth:`recovered` since."""
        return frozenset(self._down)

    def report(self, server: str, error: object, down: bool = True) -> bool:
        """Note a failure of ``server``; log it unless logged within the period.

        :param server: the server's address, as configured.
        :param error: the exception or reason, shown in the message.
        :param down: the server did not answer (it joins :attr:`down` until
            :meth:`recovered`); ``False`` for a server that answered with a
            reply that could not be read, which is logged but leaves its
            health alone.
        :returns: whether a warning was logged.
        """
        if down:
            with self._lock:
                self._down.add(server)
            message = "memcached server %s failed (%s); calls answer as misses until it is back"
        else:
            message = (
                "memcached server %s sent a reply that could not be read (%s); "
                "its connection was closed"
            )
        return self._warn(server, message, error)

    def passed(self, server: str, error: object) -> bool:
        """Log (unless logged within the period) a failed call on ``server``,
        which answered a probe since: a passing fault (a timeout of a busy
        server, say), which leaves its health alone.

        :returns: whether a warning was logged.
        """
        message = "memcached server %s failed a call (%s) but answers"
        return self._warn(server, message, error)

    def _warn(self, server: str, message: str, error: object) -> bool:
        now = self._clock()
        with self._lock:
            last = self._last.get(server)
            if last is not None and now - last < self.period:
                return False
            self._last[server] = now
        reason = str(error) or type(error).__name__  # some errors have no message
        self.logger.warning(message, server, reason)
        return True

    def recovered(self, server: str) -> bool:
        """Note that ``server`` answered; log it at INFO if it was down
        (:meth:`forget`, then :meth:`log_back`).

        :param server: the server's address, as given to :meth:`report`.
        :returns: whether it was down (and the INFO was logged): once per
            recovery, however many calls then answer.
        """
        if not self.forget(server):
            return False
        self.log_back(server)
        return True

    def forget(self, server: str) -> bool:
        """Take ``server`` out of :attr:`down`, without a log line (for an
        adapter that has more to do before it says so: :meth:`log_back`).

        :returns: whether it was down: ``True`` for one caller per recovery.
        """
        with self._lock:
            if server not in self._down:
                return False
            self._down.discard(server)
        return True

    def log_back(self, server: str) -> None:
        """Log at INFO that ``server``, :meth:`forget` just now, is back."""
        self.logger.info("memcached server %s is back", server)
